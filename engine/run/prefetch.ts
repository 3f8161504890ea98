/**
 * Probe-ahead: when a host task is about to probe, the probes of the tasks that follow it on the
 * same host (and of its own remaining loop items) are started with it and sent as one exec
 * (connect/batch.ts). A converged run then reads a host in one round trip instead of one per task.
 *
 * What keeps it exact: the window holds only target-host tasks with the same connection and the
 * same variables (it ends after a task that registers a result, and at a block, a controller
 * module, a delegated or run_once task); a cached probe is used only when the task's rendered
 * arguments and options are the ones it was probed with; and any apply on the host drops every
 * cached probe of that host, since the change may be what a later probe reads. After such a drop
 * the next window is small and grows again while its probes are used (slow start), so a first run,
 * where every task changes something, does not probe the same files over and over.
 */
import { LocalConnection } from '../connect/local.js';
import { ProbeBatch } from '../connect/batch.js';
import type { Task, TaskNode } from '../load/model.js';
import { findModule } from '../modules/registry.js';
import type { AnyModule } from '../modules/types.js';
import { evalCondition } from '../vars/expr.js';
import { renderValue, type Vars } from '../vars/template.js';
import { selectedByTags } from './tags.js';
import type { Prepared, TaskEnv } from './task-env.js';

const MAX_WINDOW = 64;

/** Probes already started for a host's upcoming tasks, by task id and loop item. */
export class ProbeCache {
  private entries = new Map<string, { sig: string; observed: Promise<unknown> }>();
  /** How many probes the next window may start. */
  limit = MAX_WINDOW;

  put(key: string, sig: string, observed: Promise<unknown>): void {
    observed.catch(() => undefined); // an unused probe's failure is nobody's
    this.entries.set(key, { sig, observed });
  }

  take(key: string, sig: string): Promise<unknown> | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key);
    return hit.sig === sig ? hit.observed : undefined;
  }

  /** The size of the window starting now; the one after may be twice as large. */
  nextWindow(): number {
    const size = this.limit;
    this.limit = Math.min(MAX_WINDOW, size * 2);
    return size;
  }

  /** The host changed: what was read before may be stale, and reading ahead was wasted. */
  invalidate(): void {
    if (this.entries.size === 0) return;
    this.entries.clear();
    this.limit = 1;
  }
}

const caches = new WeakMap<object, ProbeCache>();

export function probeCacheOf(host: object): ProbeCache {
  let c = caches.get(host);
  if (!c) caches.set(host, (c = new ProbeCache()));
  return c;
}

/** The key of one probe: the task and, in a loop, the item. */
export function probeKey(task: Task, vars: Vars): string {
  return task.loop === undefined ? task.id : `${task.id}#${String(vars.ansible_loop_index)}`;
}

function batchable(mod: AnyModule): boolean {
  return mod.runsOn === 'target' && !mod.probeWaits;
}

type PrepareFn = (env: TaskEnv, task: Task, vars: Vars) => Promise<Prepared>;
type VarsFn = (env: TaskEnv, task: Task, extra?: Vars) => Vars;

/** From run/task.ts, passed in rather than imported: task.ts imports this file. */
export interface Lookahead {
  prepare: PrepareFn;
  varsFor: VarsFn;
}

/** The probe result for `current`: cached, started now with the probes of what follows, or alone. */
export function probe(env: TaskEnv, task: Task, vars: Vars, current: Prepared, look: Lookahead): Promise<unknown> {
  const cache = probeCacheOf(env.host);
  const key = probeKey(task, vars);
  const hit = cache.take(key, current.sig);
  if (hit) return hit;
  const alone = (): Promise<unknown> => current.mod.probe(current.ctx, current.args as never);
  if (!env.following || !batchable(current.mod) || current.ctx.conn instanceof LocalConnection || task.delegateTo || task.runOnce) {
    return alone();
  }
  const size = cache.nextWindow();
  return size <= 1 ? alone() : startWindow(env, task, vars, current, cache, size, look);
}

async function startWindow(env: TaskEnv, task: Task, vars: Vars, current: Prepared, cache: ProbeCache, size: number, look: Lookahead): Promise<unknown> {
  const upcoming = await upcomingProbes(env, task, vars, current, size - 1, look);
  if (upcoming.length === 0) return current.mod.probe(current.ctx, current.args as never);
  const batch = new ProbeBatch(current.ctx.conn);
  const start = (p: Prepared): Promise<unknown> => batch.track(() => p.mod.probe({ ...p.ctx, conn: batch.connection }, p.args as never));
  const mine = start(current);
  for (const u of upcoming) cache.put(u.key, u.prepared.sig, start(u.prepared));
  batch.release();
  return mine;
}

interface Upcoming {
  key: string;
  prepared: Prepared;
}

/** The probes that follow `task` on this host, as far as they can be known now. */
async function upcomingProbes(env: TaskEnv, task: Task, vars: Vars, current: Prepared, max: number, look: Lookahead): Promise<Upcoming[]> {
  const out: Upcoming[] = [];
  const conn = current.ctx.conn;
  const add = async (t: Task, itemVars: Vars): Promise<boolean> => {
    if (out.length >= max) return false;
    if (t.when && !evalCondition(t.when, itemVars)) return true;
    const prepared = await look.prepare(env, t, itemVars);
    if (prepared.ctx.conn !== conn || !batchable(prepared.mod)) return false;
    out.push({ key: probeKey(t, itemVars), prepared });
    return true;
  };
  try {
    // The rest of this task's own loop.
    if (task.loop !== undefined) {
      const items = renderValue(task.loop, vars);
      const index = Number(vars.ansible_loop_index);
      if (!Array.isArray(items)) return out;
      for (let i = index + 1; i < items.length; i++) {
        if (!(await add(task, look.varsFor(env, task, { [task.loopVar]: items[i] as unknown, ansible_loop_index: i })))) return out;
      }
    }
    if (task.register) return out;
    for (const node of env.following ?? []) {
      if (!eligible(node)) return out;
      if (!selectedByTags(env.run, node)) continue;
      if (node.loop === undefined) {
        if (!(await add(node, look.varsFor(env, node)))) return out;
      } else {
        const items = renderValue(node.loop, look.varsFor(env, node));
        if (!Array.isArray(items)) return out;
        for (const [i, item] of (items as unknown[]).entries()) {
          if (!(await add(node, look.varsFor(env, node, { [node.loopVar]: item, ansible_loop_index: i })))) return out;
        }
      }
      if (node.register) return out;
    }
  } catch {
    // Something ahead cannot be known yet (a variable set later, a bad argument): probe up to
    // here; that task reports its own error when its turn comes.
  }
  return out;
}

function eligible(node: TaskNode): node is Task {
  if (node.kind !== 'task' || node.delegateTo || node.runOnce) return false;
  const mod = findModule(node.module);
  return mod !== undefined && batchable(mod);
}
