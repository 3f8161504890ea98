/**
 * Compare one unsharded run's report with the merged report of its shards: the same hosts, per
 * host the same tasks with the same status and changes, the same stats. The one expected
 * difference: outside the shard that ran them, run_once tasks are skipped ("run by shard K"),
 * where one run shares the run_once outcome with every host (so ok/changed move to skipped); and
 * a run_once task's changes may name the host that ran it (the play's first host in one run,
 * shard 0's first host when sharded), so for those tasks only the status is compared.
 */
import type { Report } from '../../engine/report/collect.js';

export type AnyReport = Report & { shard?: { index: number; count: number } };

export interface Comparison {
  mismatches: string[];
  /** Host-task pairs skipped because another shard ran the run_once task. */
  skippedRunOnce: number;
}

const RUN_BY = /^run by shard \d+$/;

export function compareWithUnsharded(single: AnyReport, merged: AnyReport, _shards: number): Comparison {
  const mismatches: string[] = [];
  let skippedRunOnce = 0;
  const hostsA = Object.keys(single.hosts).sort();
  const hostsB = Object.keys(merged.hosts).sort();
  if (hostsA.join() !== hostsB.join()) mismatches.push(`hosts differ: ${hostsA.join(',')} vs ${hostsB.join(',')}`);
  if (single.check !== merged.check) mismatches.push('check mode differs');
  if (single.exitCode !== merged.exitCode) mismatches.push(`exit code ${single.exitCode} vs ${merged.exitCode}`);
  const runOnce = new Set(merged.tasks.filter((t) => t.status === 'skipped' && RUN_BY.test(t.msg ?? '')).map((t) => `${t.play}\0${t.task}`));
  for (const host of hostsA) {
    const a = single.tasks.filter((t) => t.host === host);
    const b = merged.tasks.filter((t) => t.host === host);
    const expected = { ...single.hosts[host]! };
    delete expected.firstError;
    if (a.length !== b.length) mismatches.push(`${host}: ${a.length} tasks vs ${b.length}`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const x = a[i]!;
      const y = b[i]!;
      const where = `${host} #${i} ${x.play} / ${x.task}`;
      if (x.play !== y.play || x.task !== y.task) mismatches.push(`${where}: task is ${y.play} / ${y.task}`);
      if (y.status === 'skipped' && RUN_BY.test(y.msg ?? '') && x.status !== 'skipped') {
        skippedRunOnce++;
        if (x.status === 'ok' || x.status === 'changed') expected.ok--;
        if (x.status === 'changed') expected.changed--;
        expected.skipped++;
        continue;
      }
      if (x.status !== y.status || !!x.ignored !== !!y.ignored) mismatches.push(`${where}: ${x.status} vs ${y.status}`);
      if (runOnce.has(`${x.play}\0${x.task}`)) continue;
      const cx = x.changes.map((c) => c.summary).join('\n');
      const cy = y.changes.map((c) => c.summary).join('\n');
      if (cx !== cy) mismatches.push(`${where}: changes differ:\n${cx}\n---\n${cy}`);
    }
    const got = { ...merged.hosts[host]! };
    delete got.firstError;
    if (JSON.stringify(expected) !== JSON.stringify(got)) mismatches.push(`${host}: stats ${JSON.stringify(expected)} vs ${JSON.stringify(got)}`);
    if (single.hosts[host]?.firstError !== merged.hosts[host]?.firstError) mismatches.push(`${host}: first error differs`);
  }
  return { mismatches, skippedRunOnce };
}
