/**
 * The scheduler: plays in order, hosts in serial batches, tasks in parallel across hosts up to
 * --forks. Linear waits for every host at each top-level task; free lets each host run ahead.
 * A failed or unreachable host stops only itself (unless any_errors_fatal / max_fail_percentage).
 */
import { TaskError } from '../errors.js';
import { matchHosts } from '../load/patterns.js';
import type { Block, Include, Meta, Play, Scope, TaskNode } from '../load/model.js';
import { evalCondition, ExprError } from '../vars/expr.js';
import { TemplateError } from '../vars/template.js';
import { envOf, going, isActive, stopping, type BatchState } from './batch.js';
import { runOnceShard } from './rendezvous.js';
import { secrets } from '../secrets.js';
import type { TaskInfo } from './events.js';
import { gatherFacts } from './facts.js';
import { runTaskOn } from './host-task.js';
import { expandInclude } from './includes.js';
import { checkpoint, clearFailure, despiteFailure, recordOutcome, rescue } from './outcome.js';
import { hostState, type HostState, type RunState } from './state.js';
import { selectedByTags } from './tags.js';
import { taskTitle, varsFor } from './task.js';
import type { TaskEnv } from './task-env.js';
import { assignTemplated } from '../vars/context.js';

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
  const ended = { play: false };
  for (const batch of batches(hosts, play.serial)) {
    if (run.aborted || ended.play) return;
    await runBatch(run, play, batch, onceBy, ended);
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

async function runBatch(run: RunState, play: Play, batch: string[], onceBy: number | undefined, endedPlay: { play: boolean }): Promise<void> {
  const bs: BatchState = { play, batch, once: new Map(), onceBy, exposed: new Map(), ended: new Set(), endedPlay, cleared: false };
  try {
    await runSections(run, bs);
  } finally {
    if (bs.cleared) bs.batch.forEach((h) => clearFailure(hostState(run, h)));
  }
}

async function runSections(run: RunState, bs: BatchState): Promise<void> {
  const { play, batch } = bs;
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
        await Promise.all(states.filter((h) => going(bs, h)).map((h) => runNodes(run, bs, h, [node], [], after)));
        checkFailureLimits(run, play, states);
      }
    }
    if (bs.endedPlay.play) return;
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
    if (!going(bs, host) || stopping(run)) return false;
    let ok: boolean;
    if (node.kind === 'block') ok = await runBlock(run, bs, host, node, scopes);
    else if (node.kind === 'include') ok = await runInclude(run, bs, host, node, scopes);
    else if (node.kind === 'meta') ok = await runMeta(run, bs, host, node, scopes);
    else ok = await runTaskOn(run, bs, host, node, scopes, false, [...nodes.slice(i + 1), ...after]);
    if (!ok) return false;
  }
  return true;
}

/** A `when` outside any module (a block's, an include's, a meta's): false, or the host failed on it. */
function holds(run: RunState, env: TaskEnv, node: Block | Meta, host: HostState): boolean | undefined {
  if (!node.when) return true;
  try {
    return evalCondition(node.when, varsFor(env, node));
  } catch (err) {
    if (!(err instanceof ExprError || err instanceof TemplateError)) throw err;
    recordOutcome(run, host, { kind: 'failed', message: `${node.name ?? node.kind}: ${err.message}`, place: node.place, hint: err.hint });
    return undefined;
  }
}

async function runInclude(run: RunState, bs: BatchState, host: HostState, inc: Include, scopes: Scope[]): Promise<boolean> {
  if (!selectedByTags(run, inc)) return true;
  const env = envOf(run, bs, host, scopes);
  let title: string;
  try {
    title = taskTitle(inc, varsFor(env, inc));
  } catch {
    title = taskTitle(inc, undefined);
  }
  const info: TaskInfo = { task: inc, title, handler: false };
  run.bus.emit('taskStart', info, host.name);
  let expansion: ReturnType<typeof expandInclude>;
  try {
    expansion = expandInclude(env, inc);
  } catch (err) {
    const e = err as Error & { hint?: string };
    if (!(err instanceof ExprError || err instanceof TemplateError || err instanceof TaskError)) throw err;
    expansion = { blocks: [], counted: 0, handlers: [], outcome: { status: 'failed', msg: e.message, hint: e.hint, changes: [], result: { failed: true, changed: false, msg: e.message } } };
  }
  const { outcome } = expansion;
  if (outcome.status === 'failed' && inc.ignoreErrors) outcome.ignored = true;
  if (inc.noLog) outcome.censored = true;
  run.bus.emit('taskEnd', info, host.name, outcome);
  if (outcome.status !== 'ok') recordOutcome(run, host, { kind: 'task', outcome, title, place: inc.place });
  for (let i = 0; i < expansion.counted; i++) recordOutcome(run, host, { kind: 'task', outcome, title, place: inc.place });
  if (expansion.facts) {
    // Secret-named variables among them are secret from now on, as set_fact's are.
    secrets.addFromVars(expansion.facts);
    assignTemplated(host.facts, expansion.facts);
  }
  for (const h of expansion.handlers) if (!bs.play.handlers.some((known) => known.id === h.id)) bs.play.handlers.push(h);
  for (const block of expansion.blocks) {
    if (!(await runBlock(run, bs, host, block, scopes))) return false;
  }
  if (expansion.exposed) {
    const mine = bs.exposed.get(host.name) ?? { defaults: {}, vars: {} };
    bs.exposed.set(host.name, { defaults: { ...mine.defaults, ...expansion.exposed.defaults }, vars: { ...mine.vars, ...expansion.exposed.vars } });
  }
  return going(bs, host);
}

/** meta: a directive to the scheduler, for this host (clear_host_errors and end_play: for the batch). */
async function runMeta(run: RunState, bs: BatchState, host: HostState, meta: Meta, scopes: Scope[]): Promise<boolean> {
  if (!selectedByTags(run, meta)) return true;
  const when = holds(run, envOf(run, bs, host, scopes), meta, host);
  if (when === undefined) return false;
  if (!when) return true;
  run.bus.emit('log', host.name, 1, `meta: ${meta.action}`);
  switch (meta.action) {
    case 'flush_handlers':
      await flushHandlers(run, bs, [host]);
      return isActive(host);
    case 'end_host':
      bs.ended.add(host.name);
      return false;
    case 'end_play':
      bs.endedPlay.play = true;
      return false;
    case 'clear_host_errors':
      bs.cleared = true;
      return true;
  }
}

async function runBlock(run: RunState, bs: BatchState, host: HostState, block: Block, scopes: Scope[]): Promise<boolean> {
  if (!selectedByTags(run, block) && !hasSelectedChild(run, block)) return true;
  const when = holds(run, envOf(run, bs, host, scopes), block, host);
  if (when === undefined) return false;
  if (!when) return true;
  const inner = [...scopes, block];
  const before = checkpoint(host);
  // A host that meta ended goes to no rescue and no always: it is done with the play.
  const ended = (): boolean => !going(bs, host) && isActive(host);
  let ok = await runNodes(run, bs, host, block.block, inner);
  if (stopping(run) || ended()) return false;
  if (!ok && block.rescue.length > 0 && !host.unreachable) {
    rescue(host, before);
    ok = await runNodes(run, bs, host, block.rescue, inner);
  }
  if (block.always.length > 0 && !host.unreachable && !ended()) {
    const alwaysOk = await despiteFailure(host, () => runNodes(run, bs, host, block.always, inner));
    ok = ok && alwaysOk;
  }
  return ok && going(bs, host);
}

/** A block runs when it or something under it is selected; an include is selected by its own tags. */
function hasSelectedChild(run: RunState, block: Block): boolean {
  return [...block.block, ...block.rescue, ...block.always].some((n) => selectedByTags(run, n) || (n.kind === 'block' && hasSelectedChild(run, n)));
}

/**
 * Handlers run once per host, in definition order, for the hosts that notified them. A host
 * that failed after notifying still gets its handlers: a notified restart must not be lost.
 */
async function flushHandlers(run: RunState, bs: BatchState, states: HostState[]): Promise<void> {
  if (run.options.signal.aborted && !run.options.forceHandlers) return;
  for (let round = 0; round < 10; round++) {
    const pending = states.filter((h) => h.notified.size > 0 && !h.unreachable && !bs.ended.has(h.name));
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
