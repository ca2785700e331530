/**
 * Standby freshness's options and wire fields (design §21): bad values are refused naming the
 * key (configuration) or the field (INVALID_ARGUMENT), good ones reach the options.
 */
import { expect } from 'chai';
import { loadSidecarConfig } from '../../src/config/sidecar-config';
import { toSidecarOptions } from '../../src/config/to-sidecar-options';
import { loadGroupConfig } from '../../src/config/operator-config';
import { SYNC_COMMAND } from '../../src/config/sync-command-config';
import { loadWitnessConfig } from '../../src/config/witness-config';
import type { SyncReport__Output } from '../../src/gen/witness/v1/SyncReport';
import { fromWireSyncReport, MAX_OUTPUT_TAIL_BYTES } from '../../src/wire/sync-report';
import { WireError } from '../../src/wire/wire-error';
import { configError } from '../support/config-error';

const SIDECAR = ['--group', 'g1', '--node', 'a', '--peer-node', 'b'];
const witness = (args: string[]) => loadWitnessConfig(args, { WITNESS_GROUPS_FILE: '/etc/fw/groups.yaml' });
const RUN = { requestId: '0', ok: true, exitCode: 0, durationMs: 5, outputTail: '', error: '' };

describe('standby freshness: options and wire fields (design §21)', () => {
  it('witness serve: --max-sync-age and --sync-alert-after are durations, unset by default', () => {
    expect(witness([])).to.deep.include({ maxSyncAge: null, syncAlertAfter: null });
    expect(witness(['--max-sync-age', '30m', '--sync-alert-after', '10m'])).to.deep.include({
      maxSyncAge: 1_800_000,
      syncAlertAfter: 600_000,
    });
    for (const [flag, key] of [
      ['--max-sync-age', 'maxSyncAge'],
      ['--sync-alert-after', 'syncAlertAfter'],
    ] as const) {
      const error = configError(() => witness([flag, 'soon']));
      expect(error.key).to.equal(key);
      expect(error.message).to.match(new RegExp(`^${key}: must be `));
    }
  });

  it('witness sidecar: --sync-cmd with its interval and timeout; none by default', () => {
    expect(toSidecarOptions(loadSidecarConfig(SIDECAR, {})).sync).to.equal(undefined);
    const options = toSidecarOptions(
      loadSidecarConfig([...SIDECAR, '--sync-cmd', 'rsync -a x/ y/', '--sync-interval', '30s'], {}),
    );
    expect(options.sync).to.deep.equal({ command: 'rsync -a x/ y/', intervalMs: 30_000, timeoutMs: 3_600_000 });
    const error = configError(() => loadSidecarConfig([...SIDECAR, '--sync-interval', '1ms'], {}));
    expect(error.key).to.equal('syncInterval');
    expect(configError(() => loadSidecarConfig([...SIDECAR, '--sync-timeout', 'x'], {})).key).to.equal('syncTimeout');
  });

  it('witness sync: the group is required, --timeout at most 1h', () => {
    expect(configError(() => loadGroupConfig(SYNC_COMMAND, [], {})).key).to.equal('group');
    expect(configError(() => loadGroupConfig(SYNC_COMMAND, ['--group', 'g1', '--timeout', '2h'], {})).key).to.equal(
      'timeout',
    );
    expect(loadGroupConfig(SYNC_COMMAND, ['--group', 'g1'], {}).timeout).to.equal(60_000);
  });

  it('a SyncReport is read field by field, and a malformed one is refused naming the field', () => {
    const good: SyncReport__Output = { synced: true, ageMs: '1500', lastRun: RUN };
    expect(fromWireSyncReport('sync', good)).to.deep.equal({
      synced: true,
      ageMs: 1500,
      lastRun: { ...RUN, requestId: 0n },
    });
    const refused = (report: SyncReport__Output): WireError => {
      try {
        fromWireSyncReport('sync', report);
      } catch (error) {
        expect(error).to.be.instanceOf(WireError);
        expect((error as WireError).kind).to.equal('invalid-argument');
        return error as WireError;
      }
      throw new Error('expected a WireError');
    };
    const long = { ...good, lastRun: { ...RUN, outputTail: 'x'.repeat(MAX_OUTPUT_TAIL_BYTES + 1) } };
    expect(refused(long).field).to.equal('sync.last_run.output_tail');
    expect(refused({ ...good, ageMs: '99999999999999999' }).field).to.equal('sync.age_ms');
    expect(refused({ ...good, lastRun: { ...RUN, requestId: 'x' } }).field).to.equal('sync.last_run.request_id');
  });
});
