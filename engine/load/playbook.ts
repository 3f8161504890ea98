/**
 * Playbook -> Plays. Everything is validated here, before any host is contacted: schema, modules
 * and their arguments, expressions, templates, roles, handlers, and variables templates read.
 */
import { dirname, resolve } from 'node:path';
import { formatPlace, type Diagnostics, type Place } from '../errors.js';
import { exprNames } from '../vars/expr.js';
import { isTemplate, referencedNames, TemplateError } from '../vars/template.js';
import { MAGIC_VARS, FACT_NAMES } from '../vars/context.js';
import { candidatePaths, findControllerFile } from './files.js';
import { inventoryVarsOf, loadVarsFile, LOCALHOST_NAMES, type Inventory, type VarMap } from './inventory.js';
import { tasksIn, type Play, type Playbook, type TaskNode } from './model.js';
import { editDistance, matchHosts, PatternError, suggestion } from './patterns.js';
import { expandRoles, parseRoleRef, roleSearchPath } from './roles.js';
import { asList, loadTaskList, type TaskLoadContext } from './tasks.js';
import { validateAt, validators } from './validate.js';
import { isVaultFile } from './vault.js';
import { findModule } from '../modules/registry.js';
import { loadYamlFile, pointerJoin, type LoadedYaml } from './yaml-file.js';
import { dict } from '../dict.js';
import { readTextFile, TextFileError } from '../text.js';

interface RawPlay {
  name?: string;
  hosts: string | string[];
  vars?: VarMap;
  vars_files?: string[];
  roles?: unknown[];
  pre_tasks?: unknown[];
  tasks?: unknown[];
  post_tasks?: unknown[];
  handlers?: unknown[];
  serial?: number | string | Array<number | string>;
  strategy?: 'linear' | 'free';
  any_errors_fatal?: boolean;
  max_fail_percentage?: number;
  gather_facts?: boolean;
  become?: boolean;
  become_user?: string;
  connection?: 'ssh' | 'local';
  check_mode?: boolean;
  tags?: unknown;
  force_handlers?: boolean;
}

/** How a play's `hosts:` name that matches nothing is reported: an error with --strict, else a warning. */
export interface PatternPolicy {
  strict: boolean;
  warn: (message: string) => void;
}

/** The pattern policy, and where roles are looked for after the playbook's own places (roles_path). */
export interface PlaybookLoadOptions extends PatternPolicy {
  rolesPath?: string[];
}

export function loadPlaybook(file: string, inv: Inventory, extraVars: VarMap, diags: Diagnostics, cwd: string, patterns: PlaybookLoadOptions = { strict: true, warn: () => {} }): Playbook | undefined {
  const path = resolve(cwd, file);
  const doc = loadYamlFile(path, diags);
  if (!doc) return undefined;
  if (doc.value === null || doc.value === undefined) {
    diags.add('playbook is empty', { file: path, line: 1, col: 1 }, 'a playbook is a list of plays: - hosts: workers');
    return undefined;
  }
  if (!validateAt(validators.playbook, doc.value, doc, diags, 'play')) return undefined;
  const dir = dirname(path);
  const plays = (doc.value as RawPlay[]).map((raw, i) => loadPlay(raw, pointerJoin('', i), doc, inv, diags, dir, cwd, patterns));
  const playbook: Playbook = { file: path, dir, plays };
  checkVariables(playbook, inv, extraVars, diags);
  return playbook;
}

// Filled per play while loading, read by checkVariables.
const playTemplates = new WeakMap<Play, Pick<TaskLoadContext, 'templates' | 'files'>>();

function loadPlay(raw: RawPlay, pointer: string, doc: LoadedYaml, inv: Inventory, diags: Diagnostics, dir: string, cwd: string, patterns: PlaybookLoadOptions): Play {
  const place = doc.placeOf(pointer);
  const hostsPlace = doc.placeOf(pointerJoin(pointer, 'hosts'));
  const unmatched = (term: string): void => {
    const message = `host pattern '${term}' names no group or host in the inventory`;
    if (patterns.strict) diags.add(message, hostsPlace, suggestion(inv, term));
    else patterns.warn(`${formatPlace(hostsPlace)}: ${message}; ignoring it (--strict makes this an error). ${suggestion(inv, term)}`);
  };
  try {
    matchHosts(inv, raw.hosts, { unmatched });
  } catch (err) {
    if (!(err instanceof PatternError)) throw err;
    diags.add(err.message, doc.placeOf(pointerJoin(pointer, 'hosts')), err.hint);
  }
  const varsFiles: VarMap = dict();
  (raw.vars_files ?? []).forEach((f, i) => Object.assign(varsFiles, loadVarsFile(resolve(dir, f), diags, doc.placeOf(pointerJoin(pointerJoin(pointer, 'vars_files'), i)))));
  const playTags = asList(raw.tags);
  const shared = { diags, tags: playTags, templates: [] as TaskLoadContext['templates'], files: [] as TaskLoadContext['files'] };
  const ctx: TaskLoadContext = { ...shared, doc, baseDir: dir };
  const roleRefs = (raw.roles ?? []).map((r, i) => parseRoleRef(r, doc, pointerJoin(pointerJoin(pointer, 'roles'), i)));
  const roles = expandRoles(roleRefs, roleSearchPath(dir, cwd, patterns.rolesPath ?? []), shared, diags);
  const section = (key: 'pre_tasks' | 'tasks' | 'post_tasks' | 'handlers'): TaskNode[] => loadTaskList(raw[key], pointerJoin(pointer, key), ctx, []);
  const handlers = [...roles.handlers, ...section('handlers').filter((h) => h.kind === 'task')];
  const play: Play = {
    name: raw.name ?? String(raw.hosts),
    place,
    hosts: raw.hosts,
    tags: playTags,
    vars: raw.vars ?? {},
    varsFiles,
    roleDefaults: roles.defaults,
    roleVars: roles.vars,
    sections: [section('pre_tasks'), [...roles.nodes, ...section('tasks')], section('post_tasks')],
    handlers,
    serial: raw.serial === undefined ? [] : Array.isArray(raw.serial) ? raw.serial : [raw.serial],
    strategy: raw.strategy ?? 'linear',
    anyErrorsFatal: raw.any_errors_fatal ?? false,
    maxFailPercentage: raw.max_fail_percentage,
    gatherFacts: raw.gather_facts ?? false,
    become: raw.become,
    becomeUser: raw.become_user,
    connection: raw.connection,
    checkMode: raw.check_mode,
    forceHandlers: raw.force_handlers ?? false,
    baseDir: dir,
  };
  checkNotify(play, diags);
  checkDelegates(play, inv, diags);
  playTemplates.set(play, shared);
  return play;
}

function checkNotify(play: Play, diags: Diagnostics): void {
  const known = new Set(play.handlers.flatMap((h) => [h.name ?? '', ...h.listen]));
  for (const task of play.sections.flatMap((section) => [...tasksIn(section)])) {
    for (const name of task.notify) {
      if (known.has(name)) continue;
      const near = [...known].filter((k) => k && editDistance(k, name) <= 3);
      diags.add(`notify names no handler: '${name}'`, task.place, near.length ? `did you mean '${near[0]}'?` : 'define it under handlers: with that name (or listen:)');
    }
  }
}

/**
 * delegate_to names the controller, an inventory host, or localhost / 127.0.0.1 / ::1, which are
 * the controller when the inventory has no such host (Ansible's implicit localhost). A templated
 * name is checked at run time.
 */
function checkDelegates(play: Play, inv: Inventory, diags: Diagnostics): void {
  for (const task of [...play.sections.flatMap((section) => [...tasksIn(section)]), ...play.handlers]) {
    const target = task.delegateTo;
    if (!target || target === 'controller' || LOCALHOST_NAMES.has(target) || isTemplate(target) || inv.hosts.has(target)) continue;
    const near = [...inv.hosts.keys()].filter((h) => editDistance(h, target) <= 2);
    diags.add(`delegate_to names no host: '${target}'`, task.place, near.length ? `did you mean '${near[0]}'?` : "use an inventory host name, or 'controller' for the machine running tsplay");
  }
}

/** Every variable a template or expression reads must be defined somewhere the run can see. */
function checkVariables(playbook: Playbook, inv: Inventory, extraVars: VarMap, diags: Diagnostics): void {
  const global = new Set<string>([...MAGIC_VARS, ...Object.keys(extraVars)]);
  for (const host of inv.hosts.keys()) Object.keys(inventoryVarsOf(inv, host)).forEach((n) => global.add(n));
  // Registered results and set_fact values survive into later plays, so collect them playbook-wide.
  for (const play of playbook.plays) collectRuntimeNames(play, global);
  for (const play of playbook.plays) {
    const known = new Set([...global, ...Object.keys(play.vars), ...Object.keys(play.varsFiles), ...Object.keys(play.roleDefaults), ...Object.keys(play.roleVars)]);
    if (play.gatherFacts) FACT_NAMES.forEach((n) => known.add(n));
    const seen = playTemplates.get(play)!;
    const report = (names: Set<string>, scope: string[], place: Place, what: string): void => {
      for (const name of names) {
        if (known.has(name) || scope.includes(name)) continue;
        // A fact read by a play that gathers none: Ansible gathers by default, tsplay does not.
        if (!play.gatherFacts && FACT_NAMES.includes(name)) {
          diags.add(`undefined variable '${name}' in ${what}: it is a fact, and this play gathers none`, place, 'set gather_facts: true on the play (tsplay does not gather facts unless asked; Ansible does by default)');
          continue;
        }
        const near = [...known, ...scope].filter((k) => editDistance(k, name) <= 2);
        diags.add(`undefined variable '${name}' in ${what}`, place, near.length ? `did you mean '${near[0]}'?` : `define it in vars, group_vars or with -e ${name}=...; or give a fallback {{default ${name} "..."}}`);
      }
    };
    for (const t of seen.templates) {
      if (t.source.startsWith('@cel:')) report(exprNames(t.source.slice(5)), t.scopeNames, t.place, 'expression');
      else report(referencedNames(t.source), t.scopeNames, t.place, 'template');
    }
    for (const f of seen.files) {
      const found = findControllerFile(f.ref.kind, f.ref.name, f.baseDir, f.role);
      if (!found) {
        diags.add(`${f.ref.kind === 'templates' ? 'template' : 'file'} '${f.ref.name}' not found on the controller`, f.place, `looked in: ${candidatePaths(f.ref.kind, f.ref.name, f.baseDir, f.role).join(', ')}`);
        continue;
      }
      // Ansible decrypts a vaulted src/template file; tsplay would ship the ciphertext.
      if (isVaultFile(found)) {
        diags.add(`${f.ref.kind === 'templates' ? 'template' : 'file'} '${f.ref.name}' is vault-encrypted, and tsplay does not decrypt controller files`, f.place, 'decrypt the file (ansible-vault decrypt) and keep its secrets as !vault values or in an encrypted vars file, read with {{ name }}');
        continue;
      }
      if (!f.ref.template) continue;
      let text: string;
      try {
        text = readTextFile(found);
      } catch (err) {
        if (!(err instanceof TextFileError)) throw err;
        diags.add(err.message, err.place, err.hint);
        continue;
      }
      try {
        report(referencedNames(text), [...f.scopeNames, ...Object.keys(f.role?.defaults ?? {}), ...Object.keys(f.role?.vars ?? {})], { file: found, line: 1, col: 1 }, `template ${f.ref.name}`);
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        const line = /line (\d+)/.exec(err.message);
        diags.add(err.message, { file: found, line: line ? Number(line[1]) : 1, col: 1 }, err.hint);
      }
    }
  }
}

function collectRuntimeNames(play: Play, into: Set<string>): void {
  for (const task of [...play.sections.flatMap((section) => [...tasksIn(section)]), ...play.handlers]) {
    if (task.register) into.add(task.register);
    findModule(task.module)?.definesVars?.(task.args as never).forEach((k) => into.add(k));
  }
}
