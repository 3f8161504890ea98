/** The validated model the scheduler runs: plays, tasks and blocks with their source places. */
import type { Place } from '../errors.js';
import type { VarMap } from './inventory.js';

export type Expr = string | boolean;

export interface Scope {
  /** Unique id (file:line:col) used for run_once sharing and reports. */
  id: string;
  name?: string;
  place: Place;
  when?: Expr[];
  /** Effective tags, inherited from play, role and blocks. */
  tags: string[];
  vars: VarMap;
  become?: boolean;
  becomeUser?: string;
  noLog?: boolean;
  checkMode?: boolean;
  ignoreErrors?: boolean;
  role?: RoleInstance;
  /** Where `files/` and `templates/` are looked up when not in a role. */
  baseDir: string;
}

export interface Task extends Scope {
  kind: 'task';
  module: string;
  args: Record<string, unknown>;
  loop?: unknown;
  loopVar: string;
  loopLabel?: string;
  register?: string;
  notify: string[];
  listen: string[];
  changedWhen?: Expr[];
  failedWhen?: Expr[];
  retries?: number;
  until?: Expr[];
  delay: number;
  runOnce: boolean;
  delegateTo?: string;
  diff?: boolean;
}

export interface Block extends Scope {
  kind: 'block';
  block: TaskNode[];
  rescue: TaskNode[];
  always: TaskNode[];
}

export type TaskNode = Task | Block;

export interface RoleInstance {
  name: string;
  dir: string;
  defaults: VarMap;
  vars: VarMap;
}

export interface Play {
  name: string;
  place: Place;
  hosts: string | string[];
  /** The play's own tags (its tasks inherit them). */
  tags: string[];
  vars: VarMap;
  varsFiles: VarMap; // merged content of vars_files
  roleDefaults: VarMap;
  roleVars: VarMap;
  /** Sections run in order; handlers are flushed after each. */
  sections: TaskNode[][];
  handlers: Task[];
  serial: Array<number | string>;
  strategy: 'linear' | 'free';
  anyErrorsFatal: boolean;
  maxFailPercentage?: number;
  gatherFacts: boolean;
  become?: boolean;
  becomeUser?: string;
  connection?: 'ssh' | 'local';
  checkMode?: boolean;
  forceHandlers: boolean;
  baseDir: string;
}

export interface Playbook {
  file: string;
  dir: string;
  plays: Play[];
}

/** Every task under these nodes, blocks' block/rescue/always included, in order. */
export function* tasksIn(nodes: TaskNode[]): Generator<Task> {
  for (const n of nodes) {
    if (n.kind === 'task') yield n;
    else yield* tasksIn([...n.block, ...n.rescue, ...n.always]);
  }
}
