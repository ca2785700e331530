/** The sidecar's decisions as text, for `witness tables` and the docs: what runs, then the VOLTTRON view. */
import { ACTIVE_TABLE, SIMPLE_TABLE, STANDBY_TABLE, type TableRow } from './behaviour-tables';
import { ACTIVE_RULES, type DecisionRow, RULE_NAMES, SIMPLE_RULES, STOPPED_RULES } from './decision-rules';

const NAME_WIDTH = Math.max(...[...RULE_NAMES].map((name) => name.length));

function ruleList<C>(title: string, rows: readonly DecisionRow<C>[]): string {
  return `${title}\n${rows.map((r) => `  ${r.name.padEnd(NAME_WIDTH)}  ${r.outcome.padEnd(12)}  ${r.why}`).join('\n')}`;
}

function volttronTable<A extends string>(title: string, table: readonly TableRow<A>[]): string {
  const header = `  ${'peer'.padEnd(6)} ${'witness'.padEnd(8)} ${'action'.padEnd(13)} why`;
  const row = (r: TableRow<A>): string =>
    `  ${r.peer.padEnd(6)} ${r.witness.padEnd(8)} ${r.action.padEnd(13)} ${r.why}` +
    (r.except === undefined ? '' : `\n  ${''.padEnd(29)}except: ${r.except}`);
  return `${title}\n${header}\n${table.map(row).join('\n')}`;
}

export function describeTables(): string {
  const simple = Object.entries(SIMPLE_TABLE)
    .map(([when, r]) => `  ${when.padEnd(18)} ${r.action.padEnd(13)} ${r.why}`)
    .join('\n');
  return [
    'What the sidecar decides by: for its mode and workload, the first row whose condition holds decides,',
    'and the action it names carries the row name (`rule`) and its reason (`why`).',
    '',
    ruleList('Standard mode, workload starting, running or stopping', ACTIVE_RULES),
    '',
    ruleList('Standard mode, workload stopped', STOPPED_RULES),
    '',
    ruleList('Simple mode (no witness)', SIMPLE_RULES),
    '',
    'The same decisions as the VOLTTRON tables:',
    '',
    volttronTable('The node running the workload ("up" = holds a valid lease from that side)', ACTIVE_TABLE),
    '',
    volttronTable('The node not running it ("down" = silent for the timeout and every promise run out)', STANDBY_TABLE),
    '',
    `Simple mode (no witness)\n${simple}`,
  ].join('\n');
}
