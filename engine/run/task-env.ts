/**
 * What a task runs with: the run, its play, batch and host, and the enclosing scopes. Its own
 * file so that run/task.ts and run/prefetch.ts (which prepares upcoming tasks) share the types
 * without importing each other.
 */
import type { VarMap } from '../load/inventory.js';
import type { Play, Scope, TaskNode } from '../load/model.js';
import type { AnyModule, ModuleContext } from '../modules/types.js';
import type { HostState, RunState } from './state.js';

export interface TaskEnv {
  run: RunState;
  play: Play;
  batch: string[];
  host: HostState;
  /** Enclosing blocks and roles, outermost first. */
  scopes: Scope[];
  /** What runs after this task on this host at the same level: its probes may be read ahead. */
  following?: TaskNode[];
  /** Defaults and vars of roles this host included with `public: true` earlier in the play. */
  exposed?: { defaults: VarMap; vars: VarMap };
}

/** A task ready to probe: its module, arguments after templating, and context. */
export interface Prepared {
  mod: AnyModule;
  args: Record<string, unknown>;
  ctx: ModuleContext;
  check: boolean;
  /** What the probe depends on besides the host: a probe read ahead is used only if this matches. */
  sig: string;
}
