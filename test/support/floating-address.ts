/**
 * Where a floating address is, seen from outside the namespaces: which hosts carry it on eth0,
 * what MAC a client's neighbour table holds for it, and a sampler that records both holders every
 * few milliseconds during a switch (two hosts at once is what the test looks for).
 */
import { ipAsync } from './network-namespaces';
import { sleep } from './witness-process';

/** Whether `ns` has `address` (no prefix) on eth0. */
export async function carries(ns: string, address: string): Promise<boolean> {
  const links = JSON.parse(await ipAsync(['-n', ns, '-j', 'addr', 'show', 'dev', 'eth0'])) as {
    addr_info: { local: string }[];
  }[];
  return links.some((link) => link.addr_info.some((info) => info.local === address));
}

/** The MAC `ns`'s neighbour table holds for `address`, or undefined (no entry, or one without). */
export async function neighbourMac(ns: string, address: string): Promise<string | undefined> {
  const entries = JSON.parse(await ipAsync(['-n', ns, '-j', 'neigh', 'show', address, 'dev', 'eth0'])) as {
    lladdr?: string;
  }[];
  return entries[0]?.lladdr;
}

export interface Sample {
  /** Milliseconds since the sampler started. */
  readonly at: number;
  readonly holders: readonly string[];
}

/** Samples which of `hosts` carry `address` every `everyMs` until `stop()`, which returns them all. */
export function sampleHolders(
  hosts: Record<string, string>,
  address: string,
  everyMs: number,
): { stop(): Promise<Sample[]> } {
  const samples: Sample[] = [];
  const started = Date.now();
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now() - started;
      const names = Object.keys(hosts);
      const carried = await Promise.all(names.map((name) => carries(hosts[name]!, address)));
      samples.push({ at, holders: names.filter((_, k) => carried[k]) });
      await sleep(everyMs);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}
