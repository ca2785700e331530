/**
 * deploy/systemd's units pass `systemd-analyze verify`, and keep what the deployment relies on:
 * restarts on failure, the whole control group stopped with the unit, the hardening.
 *
 * verify refuses a unit whose ExecStart binary does not exist, and the units name /usr/bin/node
 * and /opt/failover-witness, where deploy/systemd/README.md installs them. So copies are verified,
 * with ExecStart pointing at this process's node and this checkout (whose dist/src/cli/main.js
 * must exist), the template instantiated as failover-sidecar@app-a.service.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { DEPLOY_DIR, REPO_ROOT } from '../support/deploy-files';
import { unitSetting } from '../support/systemd-unit';
import { requireTool } from '../support/require-tool';
import { SYSTEMD_ANALYZE_TOOL, verifyUnits } from '../support/systemd-analyze';

const UNIT_DIR = path.join(DEPLOY_DIR, 'systemd');
const UNITS = {
  'failover-witness.service': 'failover-witness.service',
  'failover-sidecar@.service': 'failover-sidecar@app-a.service',
};
const INSTALLED_NODE = '/usr/bin/node';
const INSTALLED_TREE = '/opt/failover-witness';

const readUnit = (name: string): string => fs.readFileSync(path.join(UNIT_DIR, name), 'utf8');

/** The unit as it would run from this checkout. */
function localCopy(unit: string): string {
  return unit
    .replaceAll(`ExecStart=${INSTALLED_NODE} `, `ExecStart=${process.execPath} `)
    .replaceAll(INSTALLED_TREE, REPO_ROOT);
}

describe('deploy/systemd: units', function () {
  // systemd-analyze loads the unit's dependencies: a second or two on a busy machine.
  this.timeout(60_000);
  let dir = '';

  before(function () {
    requireTool(this, SYSTEMD_ANALYZE_TOOL);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'units-'));
    for (const [source, copy] of Object.entries(UNITS))
      fs.writeFileSync(path.join(dir, copy), localCopy(readUnit(source)));
  });

  after(() => {
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [source, copy] of Object.entries(UNITS)) {
    it(`${source} passes systemd-analyze verify, without a warning`, () => {
      const script = localCopy(unitSetting(readUnit(source), 'ExecStart')).split(/\s+/)[1] ?? '';
      expect(fs.existsSync(script), script).to.equal(true);
      expect(verifyUnits(dir, [`./${copy}`])).to.deep.equal({ status: 0, problems: '' });
    });
  }

  it('restart-keeps-workload.conf, added to the sidecar unit, passes verify and keeps what design §9.8 needs', () => {
    const dropIn = readUnit('restart-keeps-workload.conf');
    const merged = `${localCopy(readUnit('failover-sidecar@.service'))}\n${dropIn.replace(/^[\s\S]*?\[Service\]/, '[Service]')}`;
    fs.writeFileSync(path.join(dir, 'failover-sidecar@app-b.service'), merged);
    expect(verifyUnits(dir, ['./failover-sidecar@app-b.service'])).to.deep.equal({ status: 0, problems: '' });
    expect(unitSetting(dropIn, 'KillMode'), 'the watchdog and the workload outlive the exit').to.equal('process');
    expect(unitSetting(dropIn, 'RestartForceExitStatus'), 'the exit status of a kept restart').to.equal('75');
    expect(unitSetting(dropIn, 'RestartSec'), 'the next process starts at once').to.equal('100ms');
    expect(unitSetting(dropIn, 'ExecReload'), 'reload signals the sidecar alone').to.equal('/bin/kill -USR2 $MAINPID');
    expect(unitSetting(dropIn, 'Environment'), 'the epoch record on persistent storage').to.equal(
      'WITNESS_SIDECAR_STATE_DIR=%S/failover-sidecar/%i/sidecar',
    );
  });

  it('verify reports a unit it cannot read: an unknown key, a bad kill mode', () => {
    const broken = localCopy(readUnit('failover-witness.service'))
      .replace('KillMode=control-group', 'KillMode=control-groups')
      .replace('PrivateTmp=yes', 'PrivateTemp=yes');
    fs.writeFileSync(path.join(dir, 'broken.service'), broken);
    const { problems } = verifyUnits(dir, ['./broken.service']);
    expect(problems)
      .to.match(/kill mode/i)
      .and.to.match(/Unknown key 'PrivateTemp'/);
  });
});

describe('deploy/systemd: what the units keep', () => {
  for (const source of Object.keys(UNITS)) {
    const unit = readUnit(source);
    it(`${source}: restarts on failure but not on a configuration error, stops its whole control group`, () => {
      expect(unitSetting(unit, 'Restart')).to.equal('on-failure');
      expect(unitSetting(unit, 'RestartPreventExitStatus')).to.equal('2');
      expect(unitSetting(unit, 'KillMode')).to.equal('control-group');
    });

    it(`${source}: runs hardened, as an unprivileged user of its own`, () => {
      for (const [key, value] of Object.entries({
        DynamicUser: 'yes',
        NoNewPrivileges: 'yes',
        ProtectSystem: 'strict',
        ProtectHome: 'yes',
        PrivateTmp: 'yes',
        CapabilityBoundingSet: '',
      })) {
        expect(unitSetting(unit, key), key).to.equal(value);
      }
    });

    it(`${source}: its TLS key comes as a credential, the flag naming the credentials directory`, () => {
      const [name] = unitSetting(unit, 'LoadCredential').split(':');
      const words = unitSetting(unit, 'ExecStart').split(/\s+/);
      expect(words[words.indexOf('--tls-key') + 1]).to.equal(`%d/${name}`);
    });
  }

  it('failover-witness.service keeps its store in its StateDirectory', () => {
    const unit = readUnit('failover-witness.service');
    const words = unitSetting(unit, 'ExecStart').split(/\s+/);
    expect(words[words.indexOf('--data-dir') + 1]).to.equal(`%S/${unitSetting(unit, 'StateDirectory')}`);
  });
});
