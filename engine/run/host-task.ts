/**
 * One task on one host, as the scheduler runs it: the events around it, run_once sharing,
 * register and notify, and its outcome recorded. What the task does is run/task.ts.
 */
import { UnreachableError } from '../connect/types.js';
import type { Scope, Task, TaskNode } from '../load/model.js';
import { secrets } from '../secrets.js';
import { envOf, going, type BatchState } from './batch.js';
import { NO_LOG_HIDDEN, type TaskInfo, type TaskOutcome } from './events.js';
import { recordOutcome } from './outcome.js';
import type { HostState, RunState } from './state.js';
import { selectedByTags } from './tags.js';
import { executeTask, taskTitle, varsFor } from './task.js';
import { assignResolved } from '../vars/context.js';

export async function runTaskOn(run: RunState, bs: BatchState, host: HostState, task: Task, scopes: Scope[], handler: boolean, following?: TaskNode[]): Promise<boolean> {
  if (!handler && !selectedByTags(run, task)) return true;
  const env = envOf(run, bs, host, scopes, following);
  let title: string;
  try {
    title = taskTitle(task, varsFor(env, task));
  } catch {
    title = taskTitle(task, undefined);
  }
  const info: TaskInfo = { task, title, handler };
  run.bus.emit('taskStart', info, host.name);
  let outcome: TaskOutcome;
  if (task.runOnce && bs.onceBy !== undefined && bs.onceBy !== run.options.shard?.index) {
    const reason = `run by shard ${bs.onceBy}`;
    outcome = { status: 'skipped', msg: reason, changes: [], result: { skipped: true, changed: false, skip_reason: reason } };
  } else {
    try {
      outcome = await run.forks.run(async () => {
        if (!task.runOnce) return executeTask(env, task);
        const shared = await runOnceShared(bs, [...scopes.map((s) => s.id), task.id].join(' > '), () => executeTask(env, task));
        // The other hosts share the outcome, not its warnings: those are said once, by the host that ran it.
        return shared.first ? shared.outcome : { ...shared.outcome, warnings: undefined };
      });
    } catch (err) {
      if (!(err instanceof UnreachableError)) throw err;
      outcome = { status: 'unreachable', msg: err.message, hint: err.hint, changes: [], result: { unreachable: true, msg: err.message } };
    }
  }
  if (outcome.status === 'failed' && task.ignoreErrors) outcome.ignored = true;
  if (outcome.censored && outcome.status !== 'skipped') learnNoLogResult(outcome.result);
  if (outcome.status !== 'unreachable') {
    if (task.register) assignResolved(host.facts, { [task.register]: outcome.result });
    if (outcome.status === 'changed') for (const n of task.notify) host.notified.add(n);
  }
  run.bus.emit('taskEnd', info, host.name, outcome);
  for (const w of outcome.warnings ?? []) {
    run.warnings++;
    run.bus.emit('warn', `[${host.name}] ${title}: ${outcome.censored ? NO_LOG_HIDDEN : w}`);
  }
  recordOutcome(run, host, { kind: 'task', outcome, title, place: task.place });
  return going(bs, host);
}

/** `key`: the task and the scopes it runs in, so a file imported or included twice has two run_once tasks. */
export async function runOnceShared(bs: BatchState, key: string, exec: () => Promise<TaskOutcome>): Promise<{ outcome: TaskOutcome; first: boolean }> {
  const existing = bs.once.get(key);
  if (existing) return { outcome: await existing, first: false };
  const p = exec();
  bs.once.set(key, p);
  return { outcome: await p, first: true };
}

/**
 * What a no_log task produced is secret wherever it shows later (its stdout registered and
 * echoed, say). Its messages (`msg`, `skip_reason`) are tsplay's words about it, and flags and
 * counters are not values.
 */
export function learnNoLogResult(result: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(result)) {
    if (k === 'msg' || k === 'skip_reason' || typeof v === 'boolean') continue;
    if (k === 'results' && Array.isArray(v)) {
      for (const r of v as unknown[]) if (r && typeof r === 'object') learnNoLogResult(r as Record<string, unknown>);
    }
    else if (typeof v !== 'number') secrets.add(v);
  }
}
