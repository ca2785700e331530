/**
 * `witness sync --group G`: "sync now" (design §21.2). The witness asks the standby in its next
 * heartbeat answer and answers once the standby reports the run; this prints it, and exits 1 when
 * the run failed.
 */

import type { SyncNowConfig } from '../config/sync-command-config';
import type { SyncNowResponse__Output } from '../gen/witness/v1/SyncNowResponse';
import { answerOf, CallFailure, connectAdmin } from './admin-connection';

/** Time beyond the witness's own wait for the answer to come back. */
const ANSWER_MARGIN_MS = 10_000;

export async function runSyncNow(config: SyncNowConfig, out: (text: string) => void): Promise<void> {
  const admin = connectAdmin(config);
  try {
    const request = { group: config.group, timeoutMs: config.timeout };
    const deadline = { deadline: Date.now() + config.timeout + ANSWER_MARGIN_MS };
    const answer = await answerOf<SyncNowResponse__Output>('SyncNow', config.witness, (done) =>
      admin.client.SyncNow(request, admin.metadata(), deadline, done),
    );
    out(renderSyncRun(answer, config.json === 'true'));
    if (answer.run !== null && !answer.run.ok) {
      throw new CallFailure(`the sync on ${answer.node} failed: ${failureOf(answer.run)}`);
    }
  } finally {
    admin.close();
  }
}

export function renderSyncRun(answer: SyncNowResponse__Output, json: boolean): string {
  if (json) return JSON.stringify(answer);
  const run = answer.run;
  if (run === null) return `${answer.group}: ${answer.node} reported no run`;
  const status = run.ok ? 'succeeded' : `failed (${failureOf(run)})`;
  const lines = [`${answer.group}: sync on ${answer.node} ${status} in ${run.durationMs} ms`];
  if (run.outputTail !== '') lines.push('--- output (tail) ---', run.outputTail.replace(/\n$/, ''));
  return lines.join('\n');
}

function failureOf(run: NonNullable<SyncNowResponse__Output['run']>): string {
  return run.error !== '' ? run.error : `exit ${run.exitCode}`;
}
