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
  /** `environment:` exported to commands (a mapping, or a template giving one); inner over outer. */
  environment?: Record<string, unknown> | string;
  /** An included role's defaults (include_role without `public`): below every other layer, in its tasks only. */
  defaults?: VarMap;
}

/**
 * How `loop` values become items: `loop` (a list, as is) or one of the `with_*` forms Ansible
 * still reads (with_items flattens one level, with_dict gives {key, value} items, with_fileglob
 * and with_first_found find controller files).
 */
export type LoopForm = 'loop' | 'items' | 'list' | 'dict' | 'fileglob' | 'first_found';

/** What a task or an include loops over. */
export interface Looping {
  loop?: unknown;
  loopForm?: LoopForm;
  loopVar: string;
  loopLabel?: string;
}

export interface Task extends Scope, Looping {
  kind: 'task';
  module: string;
  args: Record<string, unknown>;
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

/**
 * include_tasks / include_role: dynamic. Its `when`, loop and tags are the include's own; the
 * included tasks get its `vars` (and the loop variable) and, through `apply`, keywords of a block
 * around them. import_tasks / import_role are static: they load as blocks.
 */
export interface Include extends Scope, Looping {
  kind: 'include';
  what: IncludeTarget;
  /** apply: scope keywords of the block around the included tasks (its tags and when are in the tasks). */
  apply: Pick<Scope, 'become' | 'becomeUser' | 'noLog' | 'ignoreErrors' | 'checkMode' | 'environment'>;
  /** What the include runs, when its name is known at load; else it is loaded at run time. */
  nodes?: TaskNode[];
}

export type IncludeTarget =
  | { kind: 'tasks'; file: string; origin: IncludeOrigin }
  | { kind: 'role'; role: string; from: RoleFiles; public: boolean; origin: IncludeOrigin }
  | { kind: 'vars'; vars: VarsSource; origin: IncludeOrigin };

/** include_vars: a file, or a directory's files (sorted, recursively to `depth`; 0: all), maybe under one name. */
export interface VarsSource {
  file?: string;
  dir?: string;
  name?: string;
  depth: number;
  filesMatching?: string;
  ignoreFiles: string[];
  extensions: string[];
  ignoreUnknownExtensions: boolean;
  /** merge: a dictionary the host has is merged with the file's (recursively); unset: hash_behaviour of ansible.cfg. */
  hashBehaviour?: 'replace' | 'merge';
}

/** Which files of a role an import_role / include_role reads (tasks_from, ...); unset: main. */
export interface RoleFiles {
  tasks?: string;
  vars?: string;
  defaults?: string;
  handlers?: string;
}

/** Where an include was written, to load its file at run time as it would have been at load. */
export interface IncludeOrigin {
  /** The directory of the file holding the include (first place a relative name is looked for). */
  dir: string;
  /** Tags the included tasks inherit: the enclosing play's, role's and blocks', and apply's. */
  tags: string[];
  /** apply's `when`, added to each included task. */
  when?: Expr[];
  /** Files (and roles) being loaded around this one, outermost first, for the cycle error. */
  chain: string[];
  roleSearchPath: string[];
}

/** meta: a directive to the scheduler, not a module. */
export type MetaAction = 'flush_handlers' | 'end_host' | 'end_play' | 'clear_host_errors';
export const META_ACTIONS: readonly MetaAction[] = ['flush_handlers', 'end_host', 'end_play', 'clear_host_errors'];

export interface Meta extends Scope {
  kind: 'meta';
  action: MetaAction;
}

export type TaskNode = Task | Block | Include | Meta;

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
  environment?: Record<string, unknown> | string;
}

export interface Playbook {
  file: string;
  dir: string;
  plays: Play[];
}

/**
 * Every task under these nodes, blocks' block/rescue/always and what includes loaded at load
 * included, in order.
 */
export function* tasksIn(nodes: TaskNode[]): Generator<Task> {
  for (const n of nodes) {
    if (n.kind === 'task') yield n;
    else if (n.kind === 'block') yield* tasksIn([...n.block, ...n.rescue, ...n.always]);
    else if (n.kind === 'include') yield* tasksIn(n.nodes ?? []);
  }
}

/** The nodes directly under a node (a block's sections, what an include loaded). */
export function childrenOf(node: TaskNode): TaskNode[] {
  if (node.kind === 'block') return [...node.block, ...node.rescue, ...node.always];
  if (node.kind === 'include') return node.nodes ?? [];
  return [];
}
