/**
 * Task lists -> Task/Block nodes. Checks that each task names exactly one known module, that its
 * arguments fit the module's schema, and that its expressions and templates parse.
 */
import type { ValidateFunction } from 'ajv';
import { nearest } from './patterns.js';
import { compileSchema, reportErrors } from './validate.js';
import { pointerJoin } from './yaml-file.js';
import { META_ACTIONS, type Block, type Meta, type MetaAction, type Task, type TaskNode } from './model.js';
import { checkFirstFound, loopingOf, unknownLoopHint } from './loops.js';
import { asList, LOOP_KEYWORDS, checkExprList, noteTemplate, noteTemplates, scopeOf, whenOf, type TaskLoadContext } from './task-scope.js';
import { findModule, moduleNames } from '../modules/registry.js';
import { isTemplate } from '../vars/template.js';
import type { AnyModule } from '../modules/types.js';
import { MAGIC_VARS } from '../vars/context.js';
import { testedNames } from '../vars/expr.js';

const TASK_KEYWORDS = new Set([
  'name', 'when', 'loop_control', 'register', 'notify', 'listen', 'tags', 'changed_when', 'failed_when',
  'ignore_errors', 'retries', 'until', 'delay', 'run_once', 'delegate_to', 'no_log', 'check_mode', 'diff',
  'become', 'become_user', 'vars', 'args', 'environment', 'block', 'rescue', 'always', ...Object.keys(LOOP_KEYWORDS),
]);

/** Task-list entries that load other files (load/includes.ts). */
export const INCLUDE_ENTRIES = new Set(['include_tasks', 'import_tasks', 'include_role', 'import_role', 'include_vars']);

/** Keys that are not a task's in tsplay (or anymore in Ansible), with what to write instead. */
const KEYWORD_HINTS: Record<string, string> = {
  include: "'include:' was removed from Ansible; use include_tasks (dynamic: decided per host at run time) or import_tasks (static: loaded with the playbook)",
  import_playbook: 'import_playbook is a playbook entry: write it at the top level of the playbook, beside the plays',
  local_action: "use 'delegate_to: controller' on the task",
};

/** `ansible.builtin.import_tasks` and `import_tasks` are the same keyword, as modules are. */
export function bareKeyword(key: string): string {
  return key.replace(/^ansible\.(builtin|legacy)\./, '');
}

const argValidators = new Map<string, ValidateFunction>();

export function loadTaskList(raw: unknown, pointer: string, ctx: TaskLoadContext, scopeNames: string[]): TaskNode[] {
  if (!Array.isArray(raw)) return [];
  return raw
    .map((item, i) => loadTaskNode(item as Record<string, unknown>, pointerJoin(pointer, i), ctx, scopeNames))
    .filter((t): t is TaskNode => t !== undefined);
}

function loadTaskNode(raw: Record<string, unknown>, pointer: string, ctx: TaskLoadContext, scopeOuter: string[]): TaskNode | undefined {
  const { doc, diags } = ctx;
  // Variables the entry's `when` tests with has(vars.x) may be absent from what it guards.
  const tested = testedNames(raw.when === undefined || raw.when === null ? [] : Array.isArray(raw.when) ? raw.when : [raw.when]);
  const outerNames = tested.length > 0 ? [...scopeOuter, ...tested] : scopeOuter;
  const includeKey = Object.keys(raw).find((k) => INCLUDE_ENTRIES.has(bareKeyword(k)));
  if (includeKey) {
    if (ctx.include) return ctx.include(includeKey, raw, pointer, ctx, outerNames);
    diags.add(`${bareKeyword(includeKey)} cannot be used here`, doc.keyPlaceOf(pointerJoin(pointer, includeKey)), 'includes and imports belong in the task lists of a play or a role');
    return undefined;
  }
  const common = scopeOf(raw, pointer, ctx, outerNames);
  const scopeNames = [...outerNames, ...Object.keys(common.vars)];
  const looping = loopingOf(raw, pointer, ctx, scopeNames);
  // A looping task's name may read the loop variable (Ansible shows it per item too).
  const taskNames = [...scopeNames, ...looping.loopNames];
  if (common.name && isTemplate(common.name)) noteTemplate(common.name, pointerJoin(pointer, 'name'), ctx, taskNames);

  if ('block' in raw) {
    if (ctx.handlers) {
      diags.add('a block is not supported in handlers', doc.keyPlaceOf(pointerJoin(pointer, 'block')), 'a handler is one task; give each task its own name (or listen:)');
      return undefined;
    }
    if (looping.loop !== undefined) diags.add('a block cannot loop', doc.keyPlaceOf(pointerJoin(pointer, Object.keys(raw).find((k) => k === 'loop' || k.startsWith('with_'))!)), 'put the tasks in a file and loop over include_tasks of it');
    for (const key of Object.keys(raw)) {
      if (!TASK_KEYWORDS.has(key)) diags.add(`unknown key '${key}' in block`, doc.keyPlaceOf(pointerJoin(pointer, key)), 'a block holds block/rescue/always and keywords such as when, tags, vars, become');
    }
    const sub = { ...ctx, tags: common.tags };
    const block: Block = {
      ...common,
      when: whenOf(raw, pointer, ctx, scopeNames),
      kind: 'block',
      block: loadTaskList(raw.block, pointerJoin(pointer, 'block'), sub, scopeNames),
      rescue: loadTaskList(raw.rescue, pointerJoin(pointer, 'rescue'), sub, scopeNames),
      always: loadTaskList(raw.always, pointerJoin(pointer, 'always'), sub, scopeNames),
    };
    return block;
  }
  if ('meta' in raw || 'ansible.builtin.meta' in raw) return loadMeta(raw, pointer, ctx, common, scopeNames);

  const candidates = Object.keys(raw).filter((k) => !TASK_KEYWORDS.has(k));
  const known = candidates.filter((k) => findModule(k));
  for (const key of candidates.filter((k) => !findModule(k))) {
    diags.add(`unknown module or keyword '${key}'`, doc.keyPlaceOf(pointerJoin(pointer, key)), KEYWORD_HINTS[bareKeyword(key)] ?? unknownLoopHint(key) ?? closest(key));
  }
  if (known.length === 0) {
    if (candidates.length === 0) diags.add('task has no module', common.place, `add one module key, e.g. 'command: echo hi'; modules: ${moduleNames().join(', ')}`);
    return undefined;
  }
  if (known.length > 1) {
    diags.add(`task names more than one module: ${known.join(', ')}`, common.place, 'split it into one task per module');
    return undefined;
  }
  const moduleName = known[0]!;
  const mod = findModule(moduleName)!;
  const argsPointer = pointerJoin(pointer, moduleName);
  const args = normalizeArgs(mod, raw[moduleName], raw.args, argsPointer, ctx);
  if (args) {
    checkArgs(mod, args, argsPointer, ctx);
    noteTemplates(args, argsPointer, ctx, taskNames);
    for (const ref of mod.controllerFiles?.(args as never) ?? []) {
      if (isTemplate(ref.name)) continue;
      ctx.files.push({ ref, place: doc.placeOf(argsPointer), baseDir: ctx.baseDir, role: ctx.role, scopeNames: taskNames });
    }
  }
  checkFirstFound(looping, pointer, ctx, mod.controllerFiles?.((args ?? {}) as never)[0]?.kind ?? 'files');
  const register = raw.register as string | undefined;
  if (register && MAGIC_VARS.includes(register)) {
    diags.add(`register: '${register}' is a reserved variable`, doc.placeOf(pointerJoin(pointer, 'register')), `tsplay sets '${register}' itself, so the result would never be seen; choose another name, e.g. ${register}_result`);
  }
  const resultNames = register ? [...taskNames, register, 'result'] : [...taskNames, 'result'];
  const { loopNames: _names, ...loop } = looping;
  const task: Task = {
    ...common,
    when: whenOf(raw, pointer, ctx, taskNames),
    kind: 'task',
    // The canonical name (`ansible.builtin.copy` -> `copy`): later layers look the module up by it.
    module: mod.name,
    args: args ?? {},
    ...loop,
    register,
    notify: asList(raw.notify),
    listen: asList(raw.listen),
    changedWhen: exprList(raw.changed_when, pointerJoin(pointer, 'changed_when'), ctx, resultNames),
    failedWhen: exprList(raw.failed_when, pointerJoin(pointer, 'failed_when'), ctx, resultNames),
    retries: raw.retries as number | undefined,
    until: exprList(raw.until, pointerJoin(pointer, 'until'), ctx, resultNames),
    delay: (raw.delay as number | undefined) ?? 5,
    runOnce: (raw.run_once as boolean | undefined) ?? false,
    delegateTo: raw.delegate_to as string | undefined,
    diff: raw.diff as boolean | undefined,
  };
  if (task.until && task.retries === undefined) task.retries = 3;
  return task;
}

const META_KEYWORDS = new Set(['name', 'meta', 'ansible.builtin.meta', 'when', 'tags']);

/** meta: flush_handlers | end_host | end_play | clear_host_errors, a directive to the scheduler. */
function loadMeta(raw: Record<string, unknown>, pointer: string, ctx: TaskLoadContext, common: Omit<Meta, 'when' | 'kind' | 'action'>, scopeNames: string[]): Meta | undefined {
  const key = 'meta' in raw ? 'meta' : 'ansible.builtin.meta';
  let ok = true;
  for (const k of Object.keys(raw)) {
    if (META_KEYWORDS.has(k)) continue;
    ctx.diags.add(`'${k}' on meta is not supported`, ctx.doc.keyPlaceOf(pointerJoin(pointer, k)), 'meta takes only name, when and tags');
    ok = false;
  }
  const action = raw[key];
  if (typeof action !== 'string' || !(META_ACTIONS as readonly string[]).includes(action)) {
    ctx.diags.add(`meta: ${JSON.stringify(action)} is not supported`, ctx.doc.placeOf(pointerJoin(pointer, key)), `tsplay's meta actions: ${META_ACTIONS.join(', ')}`);
    return undefined;
  }
  return ok ? { ...common, kind: 'meta', action: action as MetaAction, when: whenOf(raw, pointer, ctx, scopeNames) } : undefined;
}

/** `command: ls -l` (free form), `file: path=/x state=directory` (k=v), or a mapping. */
function normalizeArgs(mod: AnyModule, value: unknown, extra: unknown, pointer: string, ctx: TaskLoadContext): Record<string, unknown> | undefined {
  let args: Record<string, unknown>;
  if (value === null || value === undefined) args = {};
  else if (typeof value === 'string' || typeof value === 'number') {
    const text = String(value);
    if (mod.freeForm) args = { [mod.freeForm]: text };
    else {
      const pairs = parseKeyValues(text);
      if (!pairs) {
        ctx.diags.add(`module '${mod.name}' takes a mapping of arguments, not a string`, ctx.doc.placeOf(pointer), `write it as a mapping, e.g.\n    ${mod.name}:\n      ${Object.keys(mod.schema.properties)[0] ?? 'arg'}: ...`);
        return undefined;
      }
      args = pairs;
    }
  } else if (typeof value === 'object' && !Array.isArray(value)) args = { ...(value as Record<string, unknown>) };
  else {
    ctx.diags.add(`arguments of '${mod.name}' must be a mapping`, ctx.doc.placeOf(pointer));
    return undefined;
  }
  if (extra && typeof extra === 'object') Object.assign(args, extra);
  for (const [alias, name] of Object.entries(mod.aliases ?? {})) {
    if (!(alias in args)) continue;
    if (name in args) {
      ctx.diags.add(`'${mod.name}' arguments: give only one of ${name} and ${alias}`, ctx.doc.keyPlaceOf(pointerJoin(pointer, alias)), `${alias} is another name for ${name}`);
      return undefined;
    }
    // Stored under the argument's own name: everything after load sees one name.
    args[name] = args[alias];
    delete args[alias];
  }
  return args;
}

function parseKeyValues(text: string): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  const re = /(\w+)=("([^"]*)"|'([^']*)'|(\S+))/g;
  let consumed = '';
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out[m[1]!] = m[3] ?? m[4] ?? m[5];
    consumed += m[0];
  }
  return consumed.replace(/\s/g, '').length === text.replace(/\s/g, '').length && Object.keys(out).length > 0 ? out : undefined;
}

/** Template strings stand in as placeholders: their types are known only per host, at run time. */
function checkArgs(mod: AnyModule, args: Record<string, unknown>, pointer: string, ctx: TaskLoadContext): void {
  let validate = argValidators.get(mod.name);
  if (!validate) {
    validate = compileSchema(mod.schema);
    argValidators.set(mod.name, validate);
  }
  const templated = new Set<string>();
  const placeholder = withPlaceholders(args, '', templated);
  if (validate(placeholder)) return;
  const real = (validate.errors ?? []).filter((e) => !templated.has(e.instancePath));
  if (real.length === 0) return;
  reportErrors(real, ctx.doc, ctx.diags, `'${mod.name}' arguments`, pointer);
}

function withPlaceholders(value: unknown, path: string, templated: Set<string>): unknown {
  if (isTemplate(value)) {
    templated.add(path);
    return '{{template}}';
  }
  if (Array.isArray(value)) return value.map((v, i) => withPlaceholders(v, `${path}/${i}`, templated));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = withPlaceholders(v, `${path}/${k}`, templated);
    return out;
  }
  return value;
}

function exprList(value: unknown, pointer: string, ctx: TaskLoadContext, scopeNames: string[]): Task['when'] {
  return checkExprList(value, ctx.doc, pointer, ctx, scopeNames);
}

function closest(name: string): string {
  const near = nearest([...moduleNames(), ...TASK_KEYWORDS, ...INCLUDE_ENTRIES, 'meta'], name);
  return near.length ? `did you mean '${near[0]}'?` : `known modules: ${moduleNames().join(', ')}`;
}
