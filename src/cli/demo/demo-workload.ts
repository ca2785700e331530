/**
 * The demo's workload: a Node.js one-liner that says, once a second, which node it serves as and
 * under which epoch (the sidecar gives it WITNESS_NODE and WITNESS_EPOCH), and that reports its
 * start to a file, so the demo learns its PID (to show it, and to make sure it is gone at the end)
 * from the workload itself rather than from a log.
 */
import fs from 'node:fs';

export interface WorkloadStart {
  readonly node: string;
  readonly epoch: string;
  readonly pid: number;
}

const SCRIPT = `
const fs = require('node:fs');
const { WITNESS_NODE: node, WITNESS_EPOCH: epoch } = process.env;
fs.appendFileSync(process.argv[1], JSON.stringify({ node, epoch, pid: process.pid }) + '\\n');
const say = () => console.log('serving as ' + node + ' epoch ' + epoch);
say();
setInterval(say, 1000);
process.on('SIGTERM', () => process.exit(0));
`;

/** The workload's command line, for after a sidecar's `--`. */
export function workloadCommand(reportFile: string): string[] {
  return [process.execPath, '-e', SCRIPT, reportFile];
}

/** Every start reported so far, oldest first. */
export function readWorkloadStarts(reportFile: string): WorkloadStart[] {
  let text: string;
  try {
    text = fs.readFileSync(reportFile, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as WorkloadStart];
      } catch {
        return []; // a line still being written
      }
    });
}
