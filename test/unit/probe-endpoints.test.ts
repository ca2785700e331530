/** The probe endpoints on a real socket (127.0.0.1, port 0): what each path and method answers. */
import http from 'node:http';
import { expect } from 'chai';
import { Counter } from 'prom-client';
import { programRegistry } from '../../src/http/metrics-registry';
import { ProbeEndpoints } from '../../src/http/probe-endpoints';
import { serveProbes } from '../../src/http/serve-probes';
import { ConfigError } from '../../src/config/load-config';
import { createLogger } from '../../src/log/logger';

interface Answer {
  readonly status: number;
  readonly type: string;
  readonly body: string;
}

function ask(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

describe('probe endpoints (/metrics, /healthz, /readyz)', () => {
  let endpoints: ProbeEndpoints;
  let notReady: string | undefined;
  const registry = programRegistry('probe_test_');
  const hits = new Counter({ name: 'probe_test_hits_total', help: 'Hits.', registers: [registry] });

  before(async () => {
    endpoints = await ProbeEndpoints.listen('127.0.0.1', 0, { registry, notReadyBecause: () => notReady });
  });
  after(() => endpoints.close());

  it('binds the port the kernel picked for port 0', () => {
    expect(endpoints.port).to.be.within(1, 65535);
  });

  it('GET /metrics: the registry in the exposition format, with its content type', async () => {
    hits.inc(3);
    const answer = await ask(endpoints.port, '/metrics');
    expect(answer.status).to.equal(200);
    expect(answer.type).to.equal(registry.contentType);
    expect(answer.body).to.match(/^probe_test_hits_total 3$/m);
    expect(answer.body).to.match(/^probe_test_process_cpu_seconds_total /m);
  });

  it('leaves out the default gauges named like counters (promtool refuses them)', async () => {
    const answer = await ask(endpoints.port, '/metrics');
    expect(answer.body).to.match(/^# TYPE probe_test_nodejs_active_handles gauge$/m);
    expect(answer.body).not.to.include('nodejs_active_handles_total');
  });

  it('GET /healthz: 200 ok', async () => {
    expect(await ask(endpoints.port, '/healthz')).to.include({ status: 200, body: 'ok\n' });
  });

  it('GET /readyz: 200 when ready, 503 with the one-line reason when not', async () => {
    notReady = undefined;
    expect(await ask(endpoints.port, '/readyz')).to.include({ status: 200, body: 'ready\n' });
    notReady = 'the store cannot write';
    expect(await ask(endpoints.port, '/readyz')).to.include({ status: 503, body: 'the store cannot write\n' });
    notReady = undefined;
  });

  it('HEAD: the status without a body', async () => {
    notReady = 'starting';
    expect(await ask(endpoints.port, '/readyz', 'HEAD')).to.include({ status: 503, body: '' });
    notReady = undefined;
  });

  it('an unknown path: 404; a query string is ignored', async () => {
    expect((await ask(endpoints.port, '/')).status).to.equal(404);
    expect((await ask(endpoints.port, '/metrics/x')).status).to.equal(404);
    expect((await ask(endpoints.port, '/healthz?verbose=1')).status).to.equal(200);
  });

  it('a method other than GET or HEAD: 405', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      expect((await ask(endpoints.port, '/metrics', method)).status, method).to.equal(405);
    }
  });

  it('--metrics-listen on a port in use: a ConfigError naming metricsListen', async () => {
    const logger = createLogger('test', 'silent');
    const sources = { registry, notReadyBecause: () => undefined };
    try {
      await serveProbes(`127.0.0.1:${endpoints.port}`, sources, logger);
      expect.fail('bound a port in use');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).key).to.equal('metricsListen');
      expect((error as ConfigError).message).to.include('EADDRINUSE');
    }
  });

  it("--metrics-listen '': serves nothing", async () => {
    const logger = createLogger('test', 'silent');
    expect(await serveProbes('', { registry, notReadyBecause: () => undefined }, logger)).to.equal(undefined);
  });
});
