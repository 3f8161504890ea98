/**
 * `tsplay report merge`: the JSON reports of N shards -> one report and one recap, as if one
 * controller had run every host. The exit code is recomputed from the merged host stats, so it is
 * the code a single run would have returned.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { REPORT_SCHEMA, type Report } from '../report/collect.js';
import reportSchema from '../schema/report.schema.json' with { type: 'json' };
import type { HostStats, Recap } from '../run/events.js';
import type { Shard } from '../run/rendezvous.js';
import { dict, own } from '../dict.js';

/** A shard's report carries its place: `shard: {index, count}` (absent in an unsharded run). */
export type ShardedReport = Report & { shard?: Shard };

export function withShard(report: Report, shard: Shard | undefined): ShardedReport {
  return shard ? { ...report, shard: { index: shard.index, count: shard.count } } : report;
}

export class MergeError extends Error {
  constructor(
    message: string,
    /** true: a file was not there (bad options), false: the reports do not fit together. */
    readonly missingFile = false,
  ) {
    super(message);
  }
}

export interface ReportFile {
  file: string;
  report: ShardedReport;
}

/** Files as given; a directory stands for its shard-*.json files (what `tsplay job` writes). */
export function expandReportPaths(paths: string[]): string[] {
  return paths.flatMap((p) => {
    if (!existsSync(p)) throw new MergeError(`${p}: no such file`, true);
    if (!statSync(p).isDirectory()) return [p];
    const files = readdirSync(p).filter((f) => /^shard-\d+\.json$/.test(f)).sort((a, b) => shardNumber(a) - shardNumber(b));
    if (files.length === 0) throw new MergeError(`${p}: no shard-*.json report in this directory`, true);
    return files.map((f) => join(p, f));
  });
}

const shardNumber = (f: string): number => Number(/\d+/.exec(f)![0]);

let validate: ValidateFunction | undefined;

export function readReport(file: string): ReportFile {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new MergeError(`${file}: not JSON (${(err as Error).message}); give the .json reports the shards wrote with --report`);
  }
  // startedAt's date-time format is only informative here (ajv has no formats without ajv-formats).
  validate ??= new Ajv({ strict: false, validateFormats: false }).compile(reportSchema);
  if (!validate(data)) {
    const first = validate.errors?.[0];
    throw new MergeError(`${file}: not a ${REPORT_SCHEMA} report (${first ? `${first.instancePath || '/'} ${first.message}` : 'invalid'})`);
  }
  return { file, report: data as ShardedReport };
}

export interface Merged {
  report: Report;
  recap: Recap;
  /** "shards 0-3 of 4" or "2 reports" */
  summary: string;
}

const byName = new Intl.Collator('en', { numeric: true }).compare;

export function mergeReports(inputs: ReportFile[], exitCodeOf: (recap: Recap) => number): Merged {
  if (inputs.length === 0) throw new MergeError('no report to merge');
  const first = inputs[0]!;
  for (const { file, report } of inputs.slice(1)) {
    if (report.playbook !== first.report.playbook) throw new MergeError(`${file} is a run of ${report.playbook}, ${first.file} of ${first.report.playbook}: merge the shards of one run`);
    if (report.check !== first.report.check) throw new MergeError(`${first.file} is ${mode(first.report)} and ${file} ${mode(report)}: merge the shards of one run`);
  }
  const summary = checkShards(inputs);
  const owner = new Map<string, string>();
  for (const { file, report } of inputs) {
    for (const host of Object.keys(report.hosts)) {
      const other = owner.get(host);
      if (other !== undefined) throw new MergeError(`host ${host} is in two reports: ${other} and ${file} (each host must be run by exactly one shard)`);
      owner.set(host, file);
    }
  }
  const order = [...owner.keys()].sort(byName);
  // Host names are data: `toString` or `__proto__` is a host like any other, never a prototype's.
  const hosts: Report['hosts'] = dict();
  for (const h of order) hosts[h] = own(inputs.find((i) => Object.hasOwn(i.report.hosts, h))!.report.hosts, h)!;
  const rank = new Map(order.map((h, i) => [h, i]));
  const tasks = inputs
    .flatMap((i) => i.report.tasks)
    .map((t, i) => ({ t, i }))
    .sort((a, b) => (rank.get(a.t.host) ?? Infinity) - (rank.get(b.t.host) ?? Infinity) || a.i - b.i)
    .map((x) => x.t);
  const starts = inputs.map((i) => Date.parse(i.report.startedAt));
  const start = Math.min(...starts);
  const elapsedMs = Math.max(...inputs.map((i, n) => starts[n]! - start + i.report.elapsedMs));
  const recap: Recap = {
    hosts: new Map(order.map((h) => [h, stats(hosts[h]!)])),
    firstErrors: new Map(order.filter((h) => hosts[h]!.firstError !== undefined).map((h) => [h, hosts[h]!.firstError!])),
    elapsedMs,
    check: first.report.check,
    interrupted: inputs.some((i) => i.report.interrupted),
    warnings: tasks.reduce((n, t) => n + (t.warnings?.length ?? 0), 0),
  };
  const report: Report = {
    schema: REPORT_SCHEMA,
    playbook: first.report.playbook,
    check: first.report.check,
    startedAt: new Date(start).toISOString(),
    elapsedMs,
    interrupted: recap.interrupted,
    exitCode: exitCodeOf(recap),
    hosts,
    tasks,
  };
  return { report, recap, summary };
}

const mode = (r: Report): string => (r.check ? 'a check-mode plan' : 'a real run');

function stats(s: Report['hosts'][string]): HostStats {
  return { ok: s.ok, changed: s.changed, failed: s.failed, skipped: s.skipped, unreachable: s.unreachable, rescued: s.rescued, ignored: s.ignored };
}

/** Sharded reports must be one set: the same N, each index once, none missing. */
function checkShards(inputs: ReportFile[]): string {
  const sharded = inputs.filter((i) => i.report.shard);
  if (sharded.length === 0) return `${inputs.length} report${inputs.length === 1 ? '' : 's'}`;
  const count = sharded[0]!.report.shard!.count;
  const seen = new Map<number, string>();
  for (const { file, report } of sharded) {
    const s = report.shard!;
    if (s.count !== count) throw new MergeError(`${file} is shard ${s.index}/${s.count}, ${sharded[0]!.file} shard ${sharded[0]!.report.shard!.index}/${count}: merge the shards of one run`);
    const other = seen.get(s.index);
    if (other !== undefined) throw new MergeError(`shard ${s.index}/${count} given twice: ${other} and ${file}`);
    seen.set(s.index, file);
  }
  const missing = [...Array(count).keys()].filter((i) => !seen.has(i));
  if (missing.length > 0) {
    throw new MergeError(`missing the report of shard${missing.length === 1 ? '' : 's'} ${missing.map((i) => `${i}/${count}`).join(', ')}: its hosts are not in any report (did that shard run, and was its report collected?)`);
  }
  const extra = inputs.length - sharded.length;
  return `shards 0-${count - 1} of ${count}${extra ? ` and ${extra} unsharded report${extra === 1 ? '' : 's'}` : ''}`;
}
