/**
 * The scheduler: plays in order, hosts in serial batches, tasks in parallel across hosts up to
 * --forks. Linear waits for every host at each top-level task; free lets each host run ahead.
 * A failed or unreachable host stops only itself (unless any_errors_fatal / max_fail_percentage).
 */
import { UnreachableError } from '../connect/types.js';
import { matchHosts } from '../load/patterns.js';
import type { Block, Play, Scope, Task, TaskNode } from '../load/model.js';
import { evalCondition, ExprError } from '../vars/expr.js';
import { TemplateError } from '../vars/template.js';
import { runOnceShard } from './rendezvous.js';
import { secrets } from '../secrets.js';
import { NO_LOG_HIDDEN, type TaskInfo, type TaskOutcome } from './events.js';
import { gatherFacts } from './facts.js';
import { checkpoint, despiteFailure, recordOutcome, rescue } from './outcome.js';
import { hostState, type HostState, type RunState } from './state.js';
import { selectedByTags } from './tags.js';
import { executeTask, taskTitle, varsFor } from './task.js';
import type { TaskEnv } from './task-env.js';

/** `selected`: this run's hosts; `unsharded`: all hosts of the run before --shard split them. */
export async function runPlay(run: RunState, play: Play, selected: Set<string>, unsharded = selected): Promise<void> {
  const matched = matchHosts(run.inventory, play.hosts);
  const hosts = matched.filter((h) => selected.has(h) && isActive(hostState(run, h)));
  // Sharded: the play's run_once tasks run in one shard only (shard 0 unless it has none of the
  // play's hosts); the others skip them. They are cluster-wide setup, not this shard's work.
  const onceBy = run.options.shard ? runOnceShard(matched.filter((h) => unsharded.has(h)), run.options.shard.count) : undefined;
  run.bus.emit('playStart', play, hosts);
  if (hosts.length === 0) {
    run.bus.emit('warn', `play '${play.name}': no hosts matched`);
    return;
  }
  for (const batch of batches(hosts, play.serial)) {
    if (run.aborted) return;
    await runBatch(run, play, batch, onceBy);
    if (run.aborted) return;
  }
}

function batches(hosts: string[], serial: Array<number | string>): string[][] {
  if (serial.length === 0) return [hosts];
  const out: string[][] = [];
  let i = 0;
  let step = 0;
  while (i < hosts.length) {
    const spec = serial[Math.min(step, serial.length - 1)]!;
    const size = typeof spec === 'string' && spec.endsWith('%') ? Math.max(1, Math.floor((hosts.length * Number(spec.slice(0, -1))) / 100)) : Number(spec);
    out.push(hosts.slice(i, i + size));
    i += size;
    step++;
  }
  return out;
}

/** After Ctrl-C (or any_errors_fatal) no new task starts. */
function stopping(run: RunState): boolean {
  return run.aborted || run.options.signal.aborted;
}

function isActive(h: HostState): boolean {
  return !h.failed && !h.unreachable;
}

interface BatchState {
  play: Play;
  batch: string[];
  /** run_once results, shared by every host of the batch. */
  once: Map<string, Promise<TaskOutcome>>;
  /** Sharded: the shard that runs run_once tasks. */
  onceBy?: number;
}

async function runBatch(run: RunState, play: Play, batch: string[], onceBy: number | undefined): Promise<void> {
  const bs: BatchState = { play, batch, once: new Map(), onceBy };
  const states = batch.map((h) => hostState(run, h));
  if (play.gatherFacts) {
    await Promise.all(states.map((h) => run.forks.run(() => gatherFacts(run, h))));
  }
  for (const section of play.sections) {
    if (play.strategy === 'free') {
      await Promise.all(states.map((h) => runNodes(run, bs, h, section, [])));
    } else {
      for (const [i, node] of section.entries()) {
        if (stopping(run)) break;
        const after = section.slice(i + 1);
        await Promise.all(states.filter(isActive).map((h) => runNodes(run, bs, h, [node], [], after)));
        checkFailureLimits(run, play, states);
      }
    }
    await flushHandlers(run, bs, states);
    if (stopping(run)) return;
  }
}

function checkFailureLimits(run: RunState, play: Play, states: HostState[]): void {
  const failed = states.filter((h) => h.failed || h.unreachable).length;
  if (failed === 0) return;
  if (play.anyErrorsFatal) {
    run.bus.emit('warn', `any_errors_fatal: stopping play '${play.name}' after a host failed`);
    run.aborted = true;
  } else if (play.maxFailPercentage !== undefined && (failed / states.length) * 100 > play.maxFailPercentage) {
    run.bus.emit('warn', `max_fail_percentage ${play.maxFailPercentage}% exceeded (${failed}/${states.length} hosts failed): stopping`);
    run.aborted = true;
  }
}

/** Runs nodes on one host; returns false when the host failed (so a block goes to rescue). */
/** `after`: what follows `nodes` at the same level (the rest of the section, under linear). */
async function runNodes(run: RunState, bs: BatchState, host: HostState, nodes: TaskNode[], scopes: Scope[], after: TaskNode[] = []): Promise<boolean> {
  for (const [i, node] of nodes.entries()) {
    if (!isActive(host) || stopping(run)) return false;
    const ok = node.kind === 'block' ? await runBlock(run, bs, host, node, scopes) : await runTaskOn(run, bs, host, node, scopes, false, [...nodes.slice(i + 1), ...after]);
    if (!ok) return false;
  }
  return true;
}

async function runBlock(run: RunState, bs: BatchState, host: HostState, block: Block, scopes: Scope[]): Promise<boolean> {
  if (!selectedByTags(run, block) && !hasSelectedChild(run, block)) return true;
  const env: TaskEnv = { run, play: bs.play, batch: bs.batch, host, scopes };
  if (block.when) {
    let holds: boolean;
    try {
      holds = evalCondition(block.when, varsFor(env, block));
    } catch (err) {
      if (!(err instanceof ExprError || err instanceof TemplateError)) throw err;
      recordOutcome(run, host, { kind: 'failed', message: `${block.name ?? 'block'}: ${err.message}`, place: block.place, hint: err.hint });
      return false;
    }
    if (!holds) return true;
  }
  const inner = [...scopes, block];
  const before = checkpoint(host);
  let ok = await runNodes(run, bs, host, block.block, inner);
  if (stopping(run)) return false;
  if (!ok && block.rescue.length > 0 && !host.unreachable) {
    rescue(host, before);
    ok = await runNodes(run, bs, host, block.rescue, inner);
  }
  if (block.always.length > 0 && !host.unreachable) {
    const alwaysOk = await despiteFailure(host, () => runNodes(run, bs, host, block.always, inner));
    ok = ok && alwaysOk;
  }
  return ok && isActive(host);
}

function hasSelectedChild(run: RunState, block: Block): boolean {
  return [...block.block, ...block.rescue, ...block.always].some((n) => selectedByTags(run, n) || (n.kind === 'block' && hasSelectedChild(run, n)));
}

async function runTaskOn(run: RunState, bs: BatchState, host: HostState, task: Task, scopes: Scope[], handler: boolean, following?: TaskNode[]): Promise<boolean> {
  if (!handler && !selectedByTags(run, task)) return true;
  const env: TaskEnv = { run, play: bs.play, batch: bs.batch, host, scopes, following };
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
        const shared = await runOnceShared(bs, task, () => executeTask(env, task));
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
    if (task.register) host.facts[task.register] = outcome.result;
    if (outcome.status === 'changed') for (const n of task.notify) host.notified.add(n);
  }
  run.bus.emit('taskEnd', info, host.name, outcome);
  for (const w of outcome.warnings ?? []) {
    run.warnings++;
    run.bus.emit('warn', `[${host.name}] ${title}: ${outcome.censored ? NO_LOG_HIDDEN : w}`);
  }
  recordOutcome(run, host, { kind: 'task', outcome, title, place: task.place });
  return isActive(host);
}

async function runOnceShared(bs: BatchState, task: Task, exec: () => Promise<TaskOutcome>): Promise<{ outcome: TaskOutcome; first: boolean }> {
  const existing = bs.once.get(task.id);
  if (existing) return { outcome: await existing, first: false };
  const p = exec();
  bs.once.set(task.id, p);
  return { outcome: await p, first: true };
}

/**
 * What a no_log task produced is secret wherever it shows later (its stdout registered and
 * echoed, say). Its messages (`msg`, `skip_reason`) are tsplay's words about it, and flags and
 * counters are not values.
 */
function learnNoLogResult(result: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(result)) {
    if (k === 'msg' || k === 'skip_reason' || typeof v === 'boolean') continue;
    if (k === 'results' && Array.isArray(v)) {
      for (const r of v as unknown[]) if (r && typeof r === 'object') learnNoLogResult(r as Record<string, unknown>);
    }
    else if (typeof v !== 'number') secrets.add(v);
  }
}

/**
 * Handlers run once per host, in definition order, for the hosts that notified them. A host
 * that failed after notifying still gets its handlers: a notified restart must not be lost.
 */
async function flushHandlers(run: RunState, bs: BatchState, states: HostState[]): Promise<void> {
  if (run.options.signal.aborted && !run.options.forceHandlers) return;
  for (let round = 0; round < 10; round++) {
    const pending = states.filter((h) => h.notified.size > 0 && !h.unreachable);
    if (pending.length === 0) return;
    const notified = new Map(pending.map((h) => [h.name, new Set(h.notified)]));
    pending.forEach((h) => h.notified.clear());
    for (const handler of bs.play.handlers) {
      const names = [handler.name ?? '', ...handler.listen];
      const targets = pending.filter((h) => names.some((n) => notified.get(h.name)!.has(n)));
      await Promise.all(
        targets.map((h) => despiteFailure(h, () => runTaskOn(run, bs, h, handler, [], true))),
      );
    }
  }
}
