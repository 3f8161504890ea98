/**
 * Task lists -> Task/Block nodes. Checks that each task names exactly one known module, that its
 * arguments fit the module's schema, and that its expressions and templates parse.
 */
import type { ValidateFunction } from 'ajv';
import type { Diagnostics, Place } from '../errors.js';
import { editDistance } from './patterns.js';
import { compileSchema, reportErrors } from './validate.js';
import type { LoadedYaml } from './yaml-file.js';
import { pointerJoin } from './yaml-file.js';
import type { Block, Expr, RoleInstance, Task, TaskNode } from './model.js';
import { findModule, moduleNames } from '../modules/registry.js';
import { checkExpr, ExprError } from '../vars/expr.js';
import { checkTemplate, isTemplate, TemplateError } from '../vars/template.js';
import type { AnyModule, ControllerFileRef } from '../modules/types.js';
import { MAGIC_VARS } from '../vars/context.js';

const TASK_KEYWORDS = new Set([
  'name', 'when', 'loop', 'loop_control', 'register', 'notify', 'listen', 'tags', 'changed_when', 'failed_when',
  'ignore_errors', 'retries', 'until', 'delay', 'run_once', 'delegate_to', 'no_log', 'check_mode', 'diff',
  'become', 'become_user', 'vars', 'args', 'block', 'rescue', 'always',
]);

const JINJA_ONLY_KEYWORDS: Record<string, string> = {
  with_items: "use 'loop:' instead of with_items",
  with_dict: "use 'loop:' over a list of {key, value} objects",
  include_tasks: 'include_tasks is not supported yet; split the work into roles',
  import_tasks: 'import_tasks is not supported yet; split the work into roles',
  local_action: "use 'delegate_to: controller' on the task",
};

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
}

const argValidators = new Map<string, ValidateFunction>();

export function loadTaskList(raw: unknown, pointer: string, ctx: TaskLoadContext, scopeNames: string[]): TaskNode[] {
  if (!Array.isArray(raw)) return [];
  return raw
    .map((item, i) => loadTaskNode(item as Record<string, unknown>, pointerJoin(pointer, i), ctx, scopeNames))
    .filter((t): t is TaskNode => t !== undefined);
}

function loadTaskNode(raw: Record<string, unknown>, pointer: string, ctx: TaskLoadContext, outerNames: string[]): TaskNode | undefined {
  const { doc, diags } = ctx;
  const place = doc.placeOf(pointer);
  const id = `${place.file}:${place.line}:${place.col}`;
  const tags = [...ctx.tags, ...asList(raw.tags)];
  const vars = (raw.vars as Record<string, unknown> | undefined) ?? {};
  const scopeNames = [...outerNames, ...Object.keys(vars)];
  const common = {
    id,
    name: raw.name as string | undefined,
    place,
    // Checked once below, per kind: a task's `when` also sees its loop variable.
    when: undefined as Expr[] | undefined,
    tags,
    vars,
    become: raw.become as boolean | undefined,
    becomeUser: raw.become_user as string | undefined,
    noLog: raw.no_log as boolean | undefined,
    checkMode: raw.check_mode as boolean | undefined,
    ignoreErrors: raw.ignore_errors as boolean | undefined,
    role: ctx.role,
    baseDir: ctx.baseDir,
  };
  // A looping task's name may read the loop variable (Ansible shows it per item too).
  const nameScope = raw.loop !== undefined ? [...scopeNames, (raw.loop_control as { loop_var?: string } | undefined)?.loop_var ?? 'item'] : scopeNames;
  if (common.name && isTemplate(common.name)) noteTemplate(common.name, pointerJoin(pointer, 'name'), ctx, nameScope);
  noteTemplates(vars, pointerJoin(pointer, 'vars'), ctx, scopeNames);

  if ('block' in raw) {
    for (const key of Object.keys(raw)) {
      if (!TASK_KEYWORDS.has(key)) diags.add(`unknown key '${key}' in block`, doc.keyPlaceOf(pointerJoin(pointer, key)), 'a block holds block/rescue/always and keywords such as when, tags, vars, become');
    }
    const sub = { ...ctx, tags };
    const block: Block = {
      ...common,
      when: exprList(raw.when, pointerJoin(pointer, 'when'), ctx, scopeNames),
      kind: 'block',
      block: loadTaskList(raw.block, pointerJoin(pointer, 'block'), sub, scopeNames),
      rescue: loadTaskList(raw.rescue, pointerJoin(pointer, 'rescue'), sub, scopeNames),
      always: loadTaskList(raw.always, pointerJoin(pointer, 'always'), sub, scopeNames),
    };
    return block;
  }

  const candidates = Object.keys(raw).filter((k) => !TASK_KEYWORDS.has(k));
  const known = candidates.filter((k) => findModule(k));
  for (const key of candidates.filter((k) => !findModule(k))) {
    diags.add(`unknown module or keyword '${key}'`, doc.keyPlaceOf(pointerJoin(pointer, key)), JINJA_ONLY_KEYWORDS[key] ?? closest(key));
  }
  if (known.length === 0) {
    if (candidates.length === 0) diags.add('task has no module', place, `add one module key, e.g. 'command: echo hi'; modules: ${moduleNames().join(', ')}`);
    return undefined;
  }
  if (known.length > 1) {
    diags.add(`task names more than one module: ${known.join(', ')}`, place, 'split it into one task per module');
    return undefined;
  }
  const moduleName = known[0]!;
  const mod = findModule(moduleName)!;
  const loopControl = (raw.loop_control as { loop_var?: string; label?: string } | undefined) ?? {};
  const loopVar = loopControl.loop_var ?? 'item';
  const taskNames = raw.loop !== undefined ? [...scopeNames, loopVar, 'ansible_loop_index'] : scopeNames;
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
  if (isTemplate(raw.loop)) noteTemplate(raw.loop, pointerJoin(pointer, 'loop'), ctx, scopeNames);
  else if (raw.loop !== undefined) noteTemplates(raw.loop, pointerJoin(pointer, 'loop'), ctx, scopeNames);
  const register = raw.register as string | undefined;
  if (register && MAGIC_VARS.includes(register)) {
    diags.add(`register: '${register}' is a reserved variable`, doc.placeOf(pointerJoin(pointer, 'register')), `tsplay sets '${register}' itself, so the result would never be seen; choose another name, e.g. ${register}_result`);
  }
  const resultNames = register ? [...taskNames, register, 'result'] : [...taskNames, 'result'];
  const task: Task = {
    ...common,
    when: exprList(raw.when, pointerJoin(pointer, 'when'), ctx, taskNames),
    kind: 'task',
    // The canonical name (`ansible.builtin.copy` -> `copy`): later layers look the module up by it.
    module: mod.name,
    args: args ?? {},
    loop: raw.loop,
    loopVar,
    loopLabel: loopControl.label,
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

function noteTemplates(value: unknown, pointer: string, ctx: TaskLoadContext, scopeNames: string[]): void {
  if (isTemplate(value)) noteTemplate(value, pointer, ctx, scopeNames);
  else if (Array.isArray(value)) value.forEach((v, i) => noteTemplates(v, pointerJoin(pointer, i), ctx, scopeNames));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) noteTemplates(v, pointerJoin(pointer, k), ctx, scopeNames);
  }
}

function noteTemplate(source: string, pointer: string, ctx: TaskLoadContext, scopeNames: string[]): void {
  const place = ctx.doc.placeOf(pointer);
  try {
    checkTemplate(source);
    ctx.templates.push({ source, place, scopeNames });
  } catch (err) {
    if (err instanceof TemplateError) ctx.diags.add(err.message, place, err.hint);
    else throw err;
  }
}

function exprList(value: unknown, pointer: string, ctx: TaskLoadContext, scopeNames: string[]): Expr[] | undefined {
  return checkExprList(value, ctx.doc, pointer, ctx, scopeNames);
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

function closest(name: string): string {
  const near = [...moduleNames(), ...TASK_KEYWORDS].filter((m) => editDistance(m, name) <= 2);
  return near.length ? `did you mean '${near[0]}'?` : `known modules: ${moduleNames().join(', ')}`;
}
