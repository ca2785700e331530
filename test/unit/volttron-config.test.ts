import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSidecarConfig } from '../../src/config/sidecar-config';

describe('--volttron-config', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'volttron-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (content: unknown): string => {
    const file = path.join(dir, 'failover.config');
    fs.writeFileSync(file, JSON.stringify(content));
    return file;
  };

  it("maps the agent's keys and reports each mapping", () => {
    const file = write({
      agent_id: 'secondary',
      simple_behavior: false,
      remote_vip: 'tcp://10.0.0.1:7101',
      remote_serverkey: 'abc',
      agent_vip_identity: 'platform.driver',
      heartbeat_period: 10,
      timeout: 120,
    });
    const report: string[] = [];
    const config = loadSidecarConfig(['--volttron-config', file], {}, [], (line) => report.push(line));
    expect(config).to.include({
      role: 'secondary',
      node: 'secondary',
      mode: 'standard',
      peer: '10.0.0.1:7101',
      group: 'platform.driver',
      heartbeat: 10_000,
      timeout: 120_000,
      lease: 120_000,
      peerLease: 120_000,
    });
    expect(report.join('\n')).to.match(/remote_vip .* -> peer "10.0.0.1:7101"/);
    expect(report.join('\n')).to.match(/remote_serverkey -> not used/);
  });

  it('lets flags override what it mapped', () => {
    const file = write({ agent_id: 'primary', simple_behavior: true });
    const config = loadSidecarConfig(
      ['--volttron-config', file, '--mode', 'standard', '--node', 'n1', '--group', 'g1'],
      {},
    );
    expect(config).to.include({ role: 'primary', node: 'n1', mode: 'standard' });
  });

  it('names the bad key', () => {
    expect(() => loadSidecarConfig(['--volttron-config', write({ remote_vip: '10.0.0.1' })], {})).to.throw(
      /remote_vip must look like tcp:\/\/host:port/,
    );
    expect(() => loadSidecarConfig(['--volttron-config', write({ agent_id: 'third' })], {})).to.throw(
      /agent_id must be/,
    );
    expect(() => loadSidecarConfig(['--volttron-config', path.join(dir, 'missing.json')], {})).to.throw(/cannot read/);
  });
});
