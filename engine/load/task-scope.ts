/**
 * What every entry of a task list shares while it loads (a task, a block, an include, a meta
 * directive): the load context, the scope keywords (when, tags, vars, become, environment, ...),
 * and the notes of templates and expressions for the variable check. tasks.ts and includes.ts
 * both build on it, so a keyword means the same thing wherever it is written.
 */
import type { Diagnostics, Place } from '../errors.js';
import type { VarMap } from './inventory.js';
import type { Expr, LoopForm, RoleInstance, Scope, Task, TaskNode } from './model.js';
import { pointerJoin, type LoadedYaml } from './yaml-file.js';
import type { ControllerFileRef } from '../modules/types.js';
import { checkExpr, ExprError } from '../vars/expr.js';
import { checkTemplate, isTemplate, TemplateError } from '../vars/template.js';

/** What the play being loaded gathers from every task list: import_role adds to it as `roles:` does. */
export interface PlayParts {
  defaults: VarMap;
  vars: VarMap;
  handlers: Task[];
  /** Variables that become defined during the play (a public include_role's defaults and vars). */
  names: Set<string>;
  roleSearchPath: string[];
}

/** Loads an include_tasks / import_tasks / include_role / import_role entry (load/includes.ts). */
export type IncludeLoader = (key: string, raw: Record<string, unknown>, pointer: string, ctx: TaskLoadContext, scopeNames: string[]) => TaskNode | undefined;

export interface TaskLoadContext {
  doc: LoadedYaml;
  diags: Diagnostics;
  baseDir: string;
  role?: RoleInstance;
  tags: string[];
  /** Every template string and expression seen, with its place, for the variable check. */
  templates: Array<{ source: string; place: Place; scopeNames: string[] }>;
  /** Controller files tasks read, checked to exist before the run. */
  files: Array<{ ref: ControllerFileRef; place: Place; baseDir: string; role?: RoleInstance; scopeNames: string[] }>;
  /** Files (and roles) being loaded around this list, outermost first: an import of one is a cycle. */
  chain?: string[];
  /** The play being loaded; absent when a lone task list is loaded (a module's example). */
  play?: PlayParts;
  /** Passed in rather than imported: includes.ts loads task lists with tasks.ts. */
  include?: IncludeLoader;
  /** Loading handlers: they are tasks (import_tasks of tasks too); dynamic includes are refused. */
  handlers?: boolean;
  /** when: added to every task loaded here (an import's, or an include's `apply`): Ansible checks it per task. */
  inheritedWhen?: Expr[];
}

/** The loop keywords, with the form each gives. */
export const LOOP_KEYWORDS: Readonly<Record<string, LoopForm>> = {
  loop: 'loop',
  with_items: 'items',
  with_list: 'list',
  with_dict: 'dict',
  with_fileglob: 'fileglob',
  with_first_found: 'first_found',
};

/** The names a looping entry's body (its vars, name, arguments) reads besides the scope's. */
export function loopNamesOf(raw: Record<string, unknown>): string[] {
  if (!Object.keys(raw).some((k) => Object.hasOwn(LOOP_KEYWORDS, k) || k.startsWith('with_'))) return [];
  return [(raw.loop_control as { loop_var?: string } | undefined)?.loop_var ?? 'item', 'ansible_loop_index'];
}

/**
 * The scope keywords of an entry at `pointer`, `when` excluded (checked per kind: a task's also
 * sees its loop variable). `tags` are the effective ones: the context's and the entry's own.
 */
export function scopeOf(raw: Record<string, unknown>, pointer: string, ctx: TaskLoadContext, scopeNames: string[]): Omit<Scope, 'when'> {
  const place = ctx.doc.placeOf(pointer);
  const vars = (raw.vars as VarMap | undefined) ?? {};
  // Read per item, as Ansible templates them lazily: a looping entry's vars may use its loop variable.
  const loopNames = loopNamesOf(raw);
  noteTemplates(vars, pointerJoin(pointer, 'vars'), ctx, [...scopeNames, ...loopNames]);
  const environment = raw.environment as Scope['environment'];
  if (environment !== undefined) noteTemplates(environment, pointerJoin(pointer, 'environment'), ctx, [...scopeNames, ...Object.keys(vars), ...loopNames]);
  return {
    id: `${place.file}:${place.line}:${place.col}`,
    name: raw.name as string | undefined,
    place,
    tags: [...ctx.tags, ...asList(raw.tags)],
    vars,
    become: raw.become as boolean | undefined,
    becomeUser: raw.become_user as string | undefined,
    noLog: raw.no_log as boolean | undefined,
    checkMode: raw.check_mode as boolean | undefined,
    ignoreErrors: raw.ignore_errors as boolean | undefined,
    role: ctx.role,
    baseDir: ctx.baseDir,
    ...(environment !== undefined ? { environment } : {}),
  };
}

/** The entry's `when`, after the conditions it inherits from an import or an `apply`. */
export function whenOf(raw: Record<string, unknown>, pointer: string, ctx: TaskLoadContext, scopeNames: string[]): Expr[] | undefined {
  const own = checkExprList(raw.when, ctx.doc, pointerJoin(pointer, 'when'), ctx, scopeNames);
  if (!ctx.inheritedWhen?.length) return own;
  return [...ctx.inheritedWhen, ...(own ?? [])];
}

export function noteTemplates(value: unknown, pointer: string, ctx: TaskLoadContext, scopeNames: string[]): void {
  if (isTemplate(value)) noteTemplate(value, pointer, ctx, scopeNames);
  else if (Array.isArray(value)) value.forEach((v, i) => noteTemplates(v, pointerJoin(pointer, i), ctx, scopeNames));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) noteTemplates(v, pointerJoin(pointer, k), ctx, scopeNames);
  }
}

export function noteTemplate(source: string, pointer: string, ctx: TaskLoadContext, scopeNames: string[]): void {
  const place = ctx.doc.placeOf(pointer);
  try {
    checkTemplate(source);
    ctx.templates.push({ source, place, scopeNames });
  } catch (err) {
    if (err instanceof TemplateError) ctx.diags.add(err.message, place, err.hint);
    else throw err;
  }
}

/**
 * A condition keyword (when, until, ...) as a list: each expression must parse, and is noted for
 * the variable check. `doc` and `pointer` say where it is written.
 */
export function checkExprList(value: unknown, doc: LoadedYaml, pointer: string, ctx: Pick<TaskLoadContext, 'diags' | 'templates'>, scopeNames: string[]): Expr[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = (Array.isArray(value) ? value : [value]) as Expr[];
  list.forEach((expr, i) => {
    if (typeof expr !== 'string') return;
    const place = doc.placeOf(Array.isArray(value) ? pointerJoin(pointer, i) : pointer);
    try {
      checkExpr(expr);
      ctx.templates.push({ source: `@cel:${expr}`, place, scopeNames });
    } catch (err) {
      if (err instanceof ExprError) ctx.diags.add(err.message, place, err.hint);
      else throw err;
    }
  });
  return list;
}

export function asList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}
