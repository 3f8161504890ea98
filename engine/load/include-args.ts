/**
 * What an include or import entry may say: the keywords it takes (an import's apply to each
 * imported task; an include's to the include itself), its arguments (file, name, tasks_from,
 * public, ...), and `apply:`, the keywords an include gives the included tasks. Every mistake is
 * reported with its place and what to write instead.
 */
import type { Expr, Include, RoleFiles, Scope } from './model.js';
import { asList, checkExprList, noteTemplates, type TaskLoadContext } from './task-scope.js';
import { pointerJoin } from './yaml-file.js';
import { isTemplate } from '../vars/template.js';

/** Keywords of the scope an import gives its tasks (Ansible applies them to each). */
export const IMPORT_KEYWORDS = ['name', 'when', 'tags', 'vars', 'become', 'become_user', 'no_log', 'check_mode', 'ignore_errors', 'environment'];
/** Keywords of an include itself. */
export const INCLUDE_KEYWORDS = ['name', 'when', 'tags', 'vars', 'ignore_errors', 'no_log', 'loop', 'loop_control', 'with_items', 'with_list', 'with_dict', 'with_fileglob', 'with_first_found'];
/** What `apply:` may give the included tasks. */
const APPLY_KEYWORDS = ['tags', 'when', 'become', 'become_user', 'no_log', 'ignore_errors', 'check_mode', 'environment'];

const ROLE_ARGS = ['name', 'tasks_from', 'vars_from', 'defaults_from', 'handlers_from', 'allow_duplicates', 'rolespec_validate'];

export function keywordHint(kind: string, key: string): string {
  if (kind.startsWith('import_')) {
    if (['loop', 'loop_control'].includes(key) || key.startsWith('with_')) return `an import is loaded once, with the playbook, so it cannot loop; use ${kind.replace('import_', 'include_')} to loop`;
    return `${kind} takes ${IMPORT_KEYWORDS.join(', ')}; they apply to each imported task`;
  }
  if (key === 'apply') return `apply is an argument of ${kind}: ${kind}: { ${kind === 'include_tasks' ? 'file: FILE' : 'name: ROLE'}, apply: { ... } }`;
  if (APPLY_KEYWORDS.includes(key)) return `keywords on ${kind} apply to the include itself, not to the included tasks (as in Ansible); to give them to the included tasks write them under apply:, e.g. apply: { ${key}: ... }`;
  return `${kind} takes ${INCLUDE_KEYWORDS.join(', ')}`;
}

export type Args = Record<string, unknown>;

/** `import_tasks: file.yml`, `{ file: ..., apply: ... }`; `include_role: { name: ..., tasks_from: ... }` (or name=... k=v). */
export function argsOf(kind: string, value: unknown, pointer: string, ctx: TaskLoadContext): Args | undefined {
  const place = ctx.doc.placeOf(pointer);
  const role = kind.endsWith('_role');
  let args: Args;
  if (typeof value === 'string') {
    args = role ? (keyValues(value) ?? { name: value }) : { file: value };
  } else if (value && typeof value === 'object' && !Array.isArray(value)) {
    args = value as Args;
  } else {
    ctx.diags.add(`${kind} needs ${role ? 'a role name' : 'a file name'}`, place, role ? `${kind}: { name: ROLE }` : `${kind}: tasks/file.yml`);
    return undefined;
  }
  const known = role ? [...ROLE_ARGS, ...(kind === 'include_role' ? ['apply', 'public'] : [])] : ['file', ...(kind === 'include_tasks' ? ['apply'] : [])];
  let ok = true;
  for (const k of Object.keys(args)) {
    if (known.includes(k)) continue;
    ok = false;
    ctx.diags.add(`unknown argument '${k}' of ${kind}`, ctx.doc.keyPlaceOf(pointerJoin(pointer, k)), `${kind} takes ${known.join(', ')}`);
  }
  const name = role ? args.name : args.file;
  if (typeof name !== 'string' || name === '') {
    ctx.diags.add(`${kind} needs ${role ? 'name: (the role)' : 'a file name'}`, place, role ? `${kind}: { name: ROLE }` : `${kind}: tasks/file.yml`);
    return undefined;
  }
  for (const k of ['tasks_from', 'vars_from', 'defaults_from', 'handlers_from']) {
    if (args[k] !== undefined && typeof args[k] !== 'string') {
      ctx.diags.add(`${k} of ${kind} must be a file name`, ctx.doc.placeOf(pointerJoin(pointer, k)), `${k}: install (tasks/install.yml of the role)`);
      ok = false;
    } else if (isTemplate(args[k])) {
      ctx.diags.add(`${k} of ${kind} cannot be a template`, ctx.doc.placeOf(pointerJoin(pointer, k)), 'name the file literally; choose between files with when:');
      ok = false;
    }
  }
  for (const k of ['public', 'allow_duplicates', 'rolespec_validate']) {
    if (args[k] !== undefined && typeof args[k] !== 'boolean') {
      ctx.diags.add(`${k} of ${kind} must be true or false`, ctx.doc.placeOf(pointerJoin(pointer, k)));
      ok = false;
    }
  }
  if (args.allow_duplicates === false) {
    ctx.diags.add(`allow_duplicates: false is not supported on ${kind}`, ctx.doc.placeOf(pointerJoin(pointer, 'allow_duplicates')), 'an imported or included role runs each time it is named; list the role under roles: to run it once');
    ok = false;
  }
  if (!role && isTemplate(name) && kind === 'import_tasks') {
    ctx.diags.add('import_tasks is loaded with the playbook: its file name cannot be a template', ctx.doc.placeOf(pointer), 'use include_tasks for a file chosen per host at run time');
    ok = false;
  }
  if (role && isTemplate(name) && kind === 'import_role') {
    ctx.diags.add('import_role is loaded with the playbook: its role name cannot be a template', ctx.doc.placeOf(pointer), 'use include_role for a role chosen per host at run time');
    ok = false;
  }
  return ok ? args : undefined;
}

function keyValues(text: string): Args | undefined {
  if (!/^\s*\w+=/.test(text)) return undefined;
  const out: Args = {};
  for (const m of text.matchAll(/(\w+)=("([^"]*)"|'([^']*)'|(\S+))/g)) out[m[1]!] = m[3] ?? m[4] ?? m[5];
  for (const k of ['public', 'allow_duplicates', 'rolespec_validate']) if (typeof out[k] === 'string') out[k] = /^(yes|true|on|1)$/i.test(out[k]);
  return out;
}

export function roleFilesOf(args: Args): RoleFiles {
  return { tasks: args.tasks_from as string | undefined, vars: args.vars_from as string | undefined, defaults: args.defaults_from as string | undefined, handlers: args.handlers_from as string | undefined };
}

export interface Apply {
  tags: string[];
  when?: Expr[];
  scope: Include['apply'];
}

export function applyOf(value: unknown, pointer: string, ctx: TaskLoadContext, names: string[]): Apply | undefined {
  if (value === undefined || value === null) return { tags: [], scope: {} };
  if (typeof value !== 'object' || Array.isArray(value)) {
    ctx.diags.add('apply must be a mapping of task keywords', ctx.doc.placeOf(pointer), 'apply: { tags: [install], become: true }');
    return undefined;
  }
  const raw = value as Args;
  let ok = true;
  for (const k of Object.keys(raw)) {
    if (APPLY_KEYWORDS.includes(k)) continue;
    ok = false;
    ctx.diags.add(`'${k}' is not supported in apply`, ctx.doc.keyPlaceOf(pointerJoin(pointer, k)), `apply takes ${APPLY_KEYWORDS.join(', ')}`);
  }
  if (!ok) return undefined;
  if (raw.environment !== undefined) noteTemplates(raw.environment, pointerJoin(pointer, 'environment'), ctx, names);
  const scope: Include['apply'] = {};
  if (raw.become !== undefined) scope.become = raw.become as boolean;
  if (raw.become_user !== undefined) scope.becomeUser = raw.become_user as string;
  if (raw.no_log !== undefined) scope.noLog = raw.no_log as boolean;
  if (raw.ignore_errors !== undefined) scope.ignoreErrors = raw.ignore_errors as boolean;
  if (raw.check_mode !== undefined) scope.checkMode = raw.check_mode as boolean;
  if (raw.environment !== undefined) scope.environment = raw.environment as Scope['environment'];
  return { tags: asList(raw.tags), when: checkExprList(raw.when, ctx.doc, pointerJoin(pointer, 'when'), ctx, names), scope };
}
