/**
 * One serial batch of a play, as every part of the scheduler sees it: the hosts, what they share
 * (run_once results), and what meta directives and public role includes changed for them.
 */
import type { VarMap } from '../load/inventory.js';
import type { Play, Scope, TaskNode } from '../load/model.js';
import type { TaskOutcome } from './events.js';
import type { HostState, RunState } from './state.js';
import type { TaskEnv } from './task-env.js';

/** After Ctrl-C (or any_errors_fatal) no new task starts. */
export function stopping(run: RunState): boolean {
  return run.aborted || run.options.signal.aborted;
}

export function isActive(h: HostState): boolean {
  return !h.failed && !h.unreachable;
}

export interface BatchState {
  play: Play;
  batch: string[];
  /** run_once results, shared by every host of the batch. */
  once: Map<string, Promise<TaskOutcome>>;
  /** Sharded: the shard that runs run_once tasks. */
  onceBy?: number;
  /** Per host: defaults and vars of roles it included with `public: true`. */
  exposed: Map<string, { defaults: VarMap; vars: VarMap }>;
  /** meta: end_host: hosts done with this play (not failed; their handlers do not run, as in Ansible). */
  ended: Set<string>;
  /** meta: end_play: no host runs anything more of this play, in this batch or the next. */
  endedPlay: { play: boolean };
  /** meta: clear_host_errors: failed hosts that go on to the next plays (not the rest of this one, as in Ansible). */
  cleared: boolean;
}

/** The host still runs this play: not failed, unreachable or ended by meta. */
export function going(bs: BatchState, h: HostState): boolean {
  return isActive(h) && !bs.ended.has(h.name) && !bs.endedPlay.play;
}

export function envOf(run: RunState, bs: BatchState, host: HostState, scopes: Scope[], following?: TaskNode[]): TaskEnv {
  return { run, play: bs.play, batch: bs.batch, host, scopes, following, exposed: bs.exposed.get(host.name) };
}
