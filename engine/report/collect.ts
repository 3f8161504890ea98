/**
 * Collects the run into the plan report model (`tsplay.report/v1`), the input of the JSON and
 * Markdown reports and of `report merge`. Every string is masked as it is collected.
 */
import type { Recap, RunListener, Status } from '../run/events.js';
import { secrets } from '../secrets.js';
import { dict } from '../dict.js';
import { unifiedDiff } from './diff.js';

export const REPORT_SCHEMA = 'tsplay.report/v1';

export interface ReportChange {
  summary: string;
  /** Unified diff text, when the change has one. */
  diff?: string;
}

export interface ReportTask {
  play: string;
  task: string;
  host: string;
  status: Status;
  ignored?: boolean;
  handler?: boolean;
  msg?: string;
  unpredictable?: string;
  /** The task's warnings (what a human must look at, e.g. a forged CSR left pending). */
  warnings?: string[];
  changes: ReportChange[];
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  playbook: string;
  check: boolean;
  startedAt: string;
  elapsedMs: number;
  interrupted: boolean;
  exitCode: number;
  hosts: Record<string, { ok: number; changed: number; failed: number; skipped: number; unreachable: number; rescued: number; ignored: number; firstError?: string }>;
  tasks: ReportTask[];
}

export function reportCollector(exitCodeOf: (recap: Recap) => number): RunListener & { report(): Report | undefined } {
  const m = (s: string): string => secrets.redact(s);
  let playbook = '';
  let check = false;
  let play = '';
  const startedAt = new Date().toISOString();
  const tasks: ReportTask[] = [];
  let final: Report | undefined;
  return {
    runStart(info) {
      playbook = info.playbook;
      check = info.check;
    },
    playStart(p) {
      play = p.name;
    },
    taskEnd(info, host, outcome) {
      const censored = outcome.censored === true;
      tasks.push({
        play: m(play),
        task: m(info.title),
        host,
        status: outcome.status,
        ...(outcome.ignored ? { ignored: true } : {}),
        ...(info.handler ? { handler: true } : {}),
        ...(outcome.msg && !censored && outcome.status !== 'ok' ? { msg: m(outcome.msg) } : {}),
        ...(outcome.unpredictable ? { unpredictable: m(outcome.unpredictable) } : {}),
        ...(outcome.warnings?.length ? { warnings: censored ? ['(hidden: no_log)'] : outcome.warnings.map(m) } : {}),
        changes: censored ? (outcome.changes.length ? [{ summary: '(hidden: no_log)' }] : []) : outcome.changes.map((c) => ({ summary: m(c.summary), ...(c.diff ? { diff: m(unifiedDiff(c.diff)) } : {}) })),
      });
    },
    runEnd(recap) {
      const hosts: Report['hosts'] = dict();
      for (const [h, s] of recap.hosts) hosts[h] = { ...s, ...(recap.firstErrors.has(h) ? { firstError: m(recap.firstErrors.get(h)!) } : {}) };
      // Hosts finish tasks in any order; per host the order is the run's. Group by host so two
      // runs of the same plan give the same report.
      const order = [...recap.hosts.keys()];
      const sorted = tasks.map((t, i) => ({ t, i })).sort((a, b) => order.indexOf(a.t.host) - order.indexOf(b.t.host) || a.i - b.i).map((x) => x.t);
      final = { schema: REPORT_SCHEMA, playbook, check, startedAt, elapsedMs: recap.elapsedMs, interrupted: recap.interrupted, exitCode: exitCodeOf(recap), hosts, tasks: sorted };
    },
    report: () => final,
  };
}
