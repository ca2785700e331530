/** Reading a program's /metrics in tests: the text, and the value of one series in it. */
import http from 'node:http';

/** GET http://127.0.0.1:PORT/PATH: status and body; rejects after `timeoutMs`. */
export function httpGet(port: number, path: string, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('timeout', () => request.destroy(new Error(`GET :${port}${path}: no answer in ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

export async function scrape(port: number): Promise<string> {
  const { status, body } = await httpGet(port, '/metrics');
  if (status !== 200) throw new Error(`GET /metrics: HTTP ${status}: ${body}`);
  return body;
}

/**
 * The value of the series `name{labels}` (labels given as they appear, e.g. `rule="grant-new-epoch"`,
 * in any order among others); undefined when the scrape has no such series.
 */
export function sample(text: string, name: string, ...labels: string[]): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)/.exec(line);
    if (match === null || match[1] !== name) continue;
    const present = new Set([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => m[0]));
    if (labels.every((label) => present.has(label))) return Number(match[3]);
  }
  return undefined;
}

/** Every metric family a scrape declares (its # TYPE lines). */
export function families(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1] as string));
}
