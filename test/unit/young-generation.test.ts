/**
 * keepYoungGenerationSmall (src/sidecar/young-generation.ts) relies on V8 reading its growth
 * factor at run time: in a fresh node process, after enough allocation to grow the young
 * generation by default, it is still at its initial size. If a node upgrade ends that, this fails
 * instead of the sidecar's memory quietly growing back (test/bench/README.md).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';

const MODULE = path.join(__dirname, '../../src/sidecar/young-generation.js');

/** The young generation's size in MB after churning through short-lived objects. */
function youngGenerationMbAfterChurn(keepSmall: boolean): number {
  const script = `
    if (${keepSmall}) require(${JSON.stringify(MODULE)}).keepYoungGenerationSmall();
    let kept = [];
    for (let i = 0; i < 2e6; i++) { kept.push({ i, s: 'x' + i }); if (kept.length > 1000) kept = []; }
    const young = require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(young.space_size / 1048576));
  `;
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}

describe('keepYoungGenerationSmall', () => {
  it('keeps the young generation at its initial 1 MB per semi-space, where it grows by default', () => {
    expect(youngGenerationMbAfterChurn(false), 'by default').to.be.greaterThan(2);
    expect(youngGenerationMbAfterChurn(true), 'kept small').to.be.at.most(2);
  });
});
