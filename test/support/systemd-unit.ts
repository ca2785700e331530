/** Settings of a systemd unit file, read as the deploy tests need them: `Key=value` lines. */

/** The one value of `key=` in a unit file; an error when it is absent or set twice. */
export function unitSetting(unit: string, key: string): string {
  const values = unitSettings(unit, key);
  if (values.length !== 1) throw new Error(`${key}= is set ${values.length} times, expected once`);
  return values[0] as string;
}

/** Every value of `key=`, in order. */
export function unitSettings(unit: string, key: string): string[] {
  return unit
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}
