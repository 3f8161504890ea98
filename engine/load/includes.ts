/**
 * import_tasks / import_role (static) and include_tasks / include_role (dynamic), as Ansible
 * documents them:
 *
 * - An import is loaded with the playbook, as if its tasks were written in its place: a block
 *   with the import's vars, tags, become, ..., and its `when` added to every task (Ansible checks
 *   it per task, so a task that changes the condition skips the tasks after it). An imported
 *   role's defaults and vars are the play's, as with `roles:`. A cycle is an error naming it.
 * - An include is a task of its own: its when, loop and tags decide whether (and how often) it
 *   runs, per host, at run time. The included tasks get its vars and loop variable, and `apply`'s
 *   keywords; not its tags. An included role's defaults and vars are its tasks' only, unless
 *   `public: true` (then also the tasks after the include). When the name is a literal, the file
 *   is loaded and validated here, with its own positions; a templated name is resolved per host
 *   at run time and its file validated then (loadIncludeAtRunTime).
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Diagnostics } from '../errors.js';
import type { Block, Include, IncludeOrigin, Scope, TaskNode } from './model.js';
import { checkFirstFound, loopingOf } from './loops.js';
import { applyOf, argsOf, IMPORT_KEYWORDS, INCLUDE_KEYWORDS, keywordHint, roleFilesOf, type Args } from './include-args.js';
import { loadIncludeVars } from './include-vars.js';
import { expandRole, type RoleRef, type RoleSink } from './roles.js';
import { bareKeyword, loadTaskList } from './tasks.js';
import { checkExprList, noteTemplate, scopeOf, whenOf, type PlayParts, type TaskLoadContext } from './task-scope.js';
import { validateAt, validators } from './validate.js';
import { loadYamlFile, pointerJoin, type LoadedYaml } from './yaml-file.js';
import { isTemplate } from '../vars/template.js';
import { dict } from '../dict.js';

/** More nested includes than this at run time is taken for a recursion that never stops. */
export const MAX_INCLUDE_DEPTH = 64;

/** The IncludeLoader of load/tasks.ts: one include or import entry of a task list. */
export function loadInclude(key: string, raw: Record<string, unknown>, pointer: string, ctx: TaskLoadContext, scopeNames: string[]): TaskNode | undefined {
  const kind = bareKeyword(key) as 'import_tasks' | 'include_tasks' | 'import_role' | 'include_role' | 'include_vars';
  const dynamic = kind.startsWith('include_');
  const keyPlace = ctx.doc.keyPlaceOf(pointerJoin(pointer, key));
  if (ctx.handlers && kind !== 'import_tasks') {
    ctx.diags.add(`${kind} is not supported in handlers`, keyPlace, 'a handler is a task; import_tasks of a file of handler tasks works (it is static)');
    return undefined;
  }
  if (kind === 'include_vars') return loadIncludeVars(key, raw, pointer, ctx, scopeNames);
  const allowed = dynamic ? INCLUDE_KEYWORDS : IMPORT_KEYWORDS;
  let ok = true;
  for (const k of Object.keys(raw)) {
    if (k === key || allowed.includes(k)) continue;
    ok = false;
    ctx.diags.add(`'${k}' is not supported on ${kind}`, ctx.doc.keyPlaceOf(pointerJoin(pointer, k)), keywordHint(kind, k));
  }
  const args = argsOf(kind, raw[key], pointerJoin(pointer, key), ctx);
  if (!args || !ok) return undefined;
  const argsPointer = pointerJoin(pointer, key);
  if (kind === 'import_tasks' || kind === 'import_role') return loadImport(kind, args, raw, pointer, argsPointer, ctx, scopeNames);
  const namePointer = typeof raw[key] === 'string' ? argsPointer : pointerJoin(argsPointer, kind === 'include_tasks' ? 'file' : 'name');
  return loadDynamic(kind, args, raw, { entry: pointer, args: argsPointer, name: namePointer }, ctx, scopeNames);
}

function chainOf(ctx: TaskLoadContext): string[] {
  return ctx.chain ?? [ctx.doc.file];
}

/** The play's parts, or a sink of its own when a lone task list is loaded. */
function partsOf(ctx: TaskLoadContext): PlayParts {
  return (ctx.play ??= { defaults: dict(), vars: dict(), handlers: [], names: new Set(), roleSearchPath: [join(ctx.baseDir, 'roles')] });
}

function loadImport(kind: 'import_tasks' | 'import_role', args: Args, raw: Args, pointer: string, argsPointer: string, ctx: TaskLoadContext, scopeNames: string[]): Block | undefined {
  const scope = scopeOf(raw, pointer, ctx, scopeNames);
  const names = [...scopeNames, ...Object.keys(scope.vars)];
  const own = checkExprList(raw.when, ctx.doc, pointerJoin(pointer, 'when'), ctx, names);
  const inheritedWhen = [...(ctx.inheritedWhen ?? []), ...(own ?? [])];
  const inner: TaskLoadContext = { ...ctx, tags: scope.tags, inheritedWhen };
  let nodes: TaskNode[];
  if (kind === 'import_tasks') {
    const loaded = loadTaskFile(args.file as string, argsPointer, inner, names);
    if (!loaded) return undefined;
    nodes = loaded;
  } else {
    const parts = partsOf(ctx);
    nodes = expandRole(roleRef(args, raw, argsPointer, ctx), { from: roleFilesOf(args) }, parts.roleSearchPath, { ...inner, tags: scope.tags }, parts, ctx.diags);
  }
  const what = kind === 'import_tasks' ? String(args.file) : String(args.name);
  return { ...scope, name: scope.name ?? `${kind} ${what}`, kind: 'block', block: nodes, rescue: [], always: [] };
}

function roleRef(args: Args, raw: Args, argsPointer: string, ctx: TaskLoadContext): RoleRef {
  // The include's own vars are the role's parameters; its other keywords are the block's (import)
  // or the include's (include), so none is the role block's.
  return { role: String(args.name), vars: (raw.vars as RoleRef['vars'] | undefined) ?? {}, tags: [], place: ctx.doc.placeOf(argsPointer), doc: ctx.doc, pointer: argsPointer };
}

function loadDynamic(kind: 'include_tasks' | 'include_role', args: Args, raw: Args, at: { entry: string; args: string; name: string }, ctx: TaskLoadContext, scopeNames: string[]): Include | undefined {
  const { entry: pointer, args: argsPointer, name: namePointer } = at;
  const scope = scopeOf(raw, pointer, ctx, scopeNames);
  const names = [...scopeNames, ...Object.keys(scope.vars)];
  const { loopNames, ...looping } = loopingOf(raw, pointer, ctx, names);
  checkFirstFound(looping, pointer, ctx, 'files');
  const bodyNames = [...names, ...loopNames];
  const when = whenOf(raw, pointer, ctx, bodyNames);
  const apply = applyOf(args.apply, pointerJoin(argsPointer, 'apply'), ctx, bodyNames);
  if (!apply) return undefined;
  const name = kind === 'include_tasks' ? String(args.file) : String(args.name);
  const parts = partsOf(ctx);
  const origin: IncludeOrigin = { dir: dirname(ctx.doc.file), tags: [...ctx.tags, ...apply.tags], when: apply.when, chain: chainOf(ctx), roleSearchPath: parts.roleSearchPath };
  const pub = args.public === true;
  const inc: Include = {
    ...scope,
    name: scope.name ?? `${kind} ${name}`,
    when,
    kind: 'include',
    what: kind === 'include_tasks' ? { kind: 'tasks', file: name, origin } : { kind: 'role', role: name, from: roleFilesOf(args), public: pub, origin },
    ...looping,
    apply: apply.scope,
  };
  if (isTemplate(name)) {
    noteTemplate(name, namePointer, ctx, bodyNames);
    return inc;
  }
  const inner: TaskLoadContext = { ...ctx, tags: origin.tags, inheritedWhen: apply.when, chain: origin.chain };
  if (kind === 'include_tasks') {
    const path = resolveTaskFile(name, origin.dir, ctx.role, ctx.baseDir);
    // Including a file that is being loaded is a recursion (a when decides when it stops): it is
    // already being validated, and is loaded again for each level at run time.
    if (path && origin.chain.includes(path)) return inc;
    const nodes = loadTaskFile(name, argsPointer, inner, bodyNames);
    return nodes ? { ...inc, nodes } : undefined;
  }
  const sink: RoleSink = { defaults: dict(), vars: dict(), handlers: parts.handlers };
  const nodes = expandRole({ ...roleRef(args, raw, argsPointer, ctx), tags: [] }, { from: roleFilesOf(args), scoped: true }, parts.roleSearchPath, inner, sink, ctx.diags);
  if (pub) for (const b of nodes) [...Object.keys(b.defaults ?? {}), ...Object.keys(b.role?.vars ?? {})].forEach((n) => parts.names.add(n));
  return { ...inc, nodes };
}

/**
 * Where a task file named by an import or include is: beside the file naming it, then (in a
 * role) in the role's tasks/, then beside the playbook (or the role).
 */
export function taskFileCandidates(name: string, dir: string, role: Scope['role'], baseDir: string): string[] {
  if (isAbsolute(name)) return [name];
  const out = [resolve(dir, name)];
  if (role) out.push(join(role.dir, 'tasks', name));
  out.push(resolve(baseDir, name), join(baseDir, 'tasks', name));
  return [...new Set(out)];
}

export function resolveTaskFile(name: string, dir: string, role: Scope['role'], baseDir: string): string | undefined {
  return taskFileCandidates(name, dir, role, baseDir).find((p) => existsSync(p));
}

function loadTaskFile(name: string, pointer: string, ctx: TaskLoadContext, scopeNames: string[]): TaskNode[] | undefined {
  const place = ctx.doc.placeOf(pointer);
  const path = resolveTaskFile(name, dirname(ctx.doc.file), ctx.role, ctx.baseDir);
  if (!path) {
    ctx.diags.add(`task file '${name}' not found`, place, `looked in: ${taskFileCandidates(name, dirname(ctx.doc.file), ctx.role, ctx.baseDir).join(', ')}`);
    return undefined;
  }
  const chain = chainOf(ctx);
  if (chain.includes(path)) {
    const base = dirname(chain[0]!);
    ctx.diags.add(`import cycle: ${[...chain.slice(chain.indexOf(path)), path].map((f) => relative(base, f) || f).join(' -> ')}`, place, 'an import is loaded with the playbook, so this never ends; remove one of the imports, or use include_tasks with a when that stops it');
    return undefined;
  }
  const doc = loadYamlFile(path, ctx.diags, place);
  if (!doc) return undefined;
  return loadTasksOf(doc, { ...ctx, chain: [...chain, path] }, scopeNames);
}

function loadTasksOf(doc: LoadedYaml, ctx: TaskLoadContext, scopeNames: string[]): TaskNode[] | undefined {
  if (doc.value === null || doc.value === undefined) return [];
  if (!validateAt(validators.taskList, doc.value, doc, ctx.diags, 'task list')) return undefined;
  return loadTaskList(doc.value, '', { ...ctx, doc }, scopeNames);
}

/** What an include loads at run time: its tasks, and what roles in them bring to the play. */
export interface LoadedInclude {
  nodes: TaskNode[];
  /** Handlers of the roles it included: they join the play's. */
  handlers: RoleSink['handlers'];
  /** Defaults and vars of roles it imports: the included tasks' (a play's are fixed by now). */
  defaults: RoleSink['defaults'];
  vars: RoleSink['vars'];
}

/**
 * An include whose name is known only now (`name`, rendered for one host): loaded and validated
 * as at load, with the file's own positions. Problems come back as `diags`; the variable check
 * is the run's (strict templates).
 */
export function loadIncludeAtRunTime(inc: Include, name: string, diags: Diagnostics): LoadedInclude | undefined {
  if (inc.what.kind === 'vars') throw new Error('include_vars loads no tasks');
  const { origin } = inc.what;
  const parts: PlayParts = { defaults: dict(), vars: dict(), handlers: [], names: new Set(), roleSearchPath: origin.roleSearchPath };
  const place = inc.place;
  // A stand-in document for messages about the include itself: they point at the include.
  const doc: LoadedYaml = { file: place.file, value: null, placeOf: () => place, keyPlaceOf: () => place };
  const ctx: TaskLoadContext = { doc, diags, baseDir: inc.baseDir, role: inc.role, tags: origin.tags, templates: [], files: [], chain: origin.chain, play: parts, include: loadInclude, inheritedWhen: origin.when };
  let nodes: TaskNode[] | undefined;
  if (inc.what.kind === 'tasks') {
    const path = resolveTaskFile(name, origin.dir, inc.role, inc.baseDir);
    if (!path) {
      diags.add(`task file '${name}' not found`, place, `looked in: ${taskFileCandidates(name, origin.dir, inc.role, inc.baseDir).join(', ')}`);
      return undefined;
    }
    const fileDoc = loadYamlFile(path, diags, place);
    nodes = fileDoc ? loadTasksOf(fileDoc, { ...ctx, chain: [...origin.chain, path] }, []) : undefined;
  } else {
    const sink: RoleSink = { defaults: parts.defaults, vars: parts.vars, handlers: parts.handlers };
    const ref: RoleRef = { role: name, vars: inc.vars, tags: [], place, doc, pointer: '' };
    nodes = expandRole(ref, { from: inc.what.from, scoped: true }, origin.roleSearchPath, ctx, sink, diags);
  }
  if (!nodes || !diags.empty) return undefined;
  return { nodes, handlers: parts.handlers, defaults: parts.defaults, vars: parts.vars };
}

