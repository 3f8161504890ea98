/**
 * A host's outcome changes here and nowhere else: a task's result, a failure outside any module
 * (a block's `when` that cannot be evaluated), a host gone unreachable. Stats, the failed and
 * unreachable flags and the first error move together, so the recap, the report and the exit
 * code (all read from the stats) cannot disagree with what the run did to the host.
 */
import { formatPlace, type Place } from '../errors.js';
import { NO_LOG_HIDDEN, type Recap, type TaskOutcome } from './events.js';
import type { HostState, RunState } from './state.js';

export type HostEvent =
  /** A task ended on the host (its outcome is counted by status). */
  | { kind: 'task'; outcome: TaskOutcome; title: string; place: Place }
  /** The host failed outside any module, e.g. a block's `when` could not be evaluated. */
  | { kind: 'failed'; message: string; place: Place; hint?: string }
  /** The connection failed before any task (gathering facts). */
  | { kind: 'unreachable'; message: string };

export function recordOutcome(run: RunState, host: HostState, event: HostEvent): void {
  const s = host.stats;
  if (event.kind === 'unreachable') return unreachable(run, host, event.message);
  if (event.kind === 'failed') {
    s.failed++;
    fail(host, `${formatPlace(event.place)}: ${event.message}`);
    run.bus.emit('hostFailed', host.name, event.message, event.place, event.hint);
    return;
  }
  const { outcome } = event;
  if (outcome.ignored) {
    s.ignored++;
    return;
  }
  switch (outcome.status) {
    case 'changed':
      s.changed++;
      s.ok++; // Ansible counts changed tasks as ok too
      return;
    case 'ok':
      s.ok++;
      return;
    case 'skipped':
      s.skipped++;
      return;
    case 'failed':
      s.failed++;
      // The recap's FAILED HOSTS, the report's firstError and `report merge` show this line.
      fail(host, `${formatPlace(event.place)}: ${event.title}: ${outcome.censored ? NO_LOG_HIDDEN : (outcome.msg ?? 'failed')}`);
      return;
    case 'unreachable':
      unreachable(run, host, outcome.msg ?? 'unreachable');
      return;
  }
}

function fail(host: HostState, message: string): void {
  host.failed = true;
  host.firstError ??= message;
}

function unreachable(run: RunState, host: HostState, message: string): void {
  host.stats.unreachable++;
  host.unreachable = true;
  host.firstError ??= message;
  run.bus.emit('hostUnreachable', host.name, message);
}

/** What a rescue undoes: the failure of its block. */
export interface Checkpoint {
  failed: number;
  firstError?: string;
}

export function checkpoint(host: HostState): Checkpoint {
  return { failed: host.stats.failed, firstError: host.firstError };
}

/** A rescue section takes over: the block's failure counts as rescued, not failed (as Ansible). */
export function rescue(host: HostState, before: Checkpoint): void {
  host.failed = false;
  host.firstError = before.firstError;
  host.stats.failed = before.failed;
  host.stats.rescued++;
}

/**
 * meta: clear_host_errors: a failed host goes on to the next plays. Its failure stays counted:
 * the recap, the report and the exit code still say it failed.
 */
export function clearFailure(host: HostState): void {
  host.failed = false;
}

/**
 * Runs `section` on a host even if it has failed (a block's always, a notified handler): the
 * host's earlier failure stands afterwards, and so does any failure recorded inside.
 */
export async function despiteFailure<T>(host: HostState, section: () => Promise<T>): Promise<T> {
  const failedBefore = host.failed;
  host.failed = false;
  try {
    return await section();
  } finally {
    host.failed = failedBefore || host.failed;
  }
}

/** The recap of the selected hosts, read from their recorded outcomes. */
export function recapOf(run: RunState, selected: Set<string>, elapsedMs: number): Recap {
  const hosts = [...selected].map((h) => run.hosts.get(h)).filter((h): h is HostState => h !== undefined);
  return {
    hosts: new Map(hosts.map((h) => [h.name, h.stats])),
    firstErrors: new Map(hosts.filter((h) => h.firstError && (h.failed || h.unreachable)).map((h) => [h.name, h.firstError!])),
    elapsedMs,
    check: run.options.check,
    interrupted: run.options.signal.aborted,
    warnings: run.warnings,
  };
}
