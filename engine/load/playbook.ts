/**
 * Playbook -> Plays. Everything is validated here, before any host is contacted: schema, modules
 * and their arguments, expressions, templates, roles, handlers, and variables templates read.
 */
import { dirname, relative, resolve } from 'node:path';
import { formatPlace, type Diagnostics, type Place } from '../errors.js';
import { exprNames } from '../vars/expr.js';
import { isTemplate, referencedNames, renderString, TemplateError } from '../vars/template.js';
import { MAGIC_VARS, FACT_NAMES } from '../vars/context.js';
import { candidatePaths, findControllerFile } from './files.js';
import { inventoryVarsOf, loadVarsFile, LOCALHOST_NAMES, type Inventory, type VarMap } from './inventory.js';
import { tasksIn, type Expr, type Play, type Playbook, type Task, type TaskNode } from './model.js';
import { editDistance, matchHosts, PatternError, suggestion } from './patterns.js';
import { expandRoles, parseRoleRef, roleSearchPath } from './roles.js';
import { loadInclude } from './includes.js';
import { loadTaskList } from './tasks.js';
import { asList, checkExprList, noteTemplates, type PlayParts, type TaskLoadContext } from './task-scope.js';
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
  environment?: Record<string, unknown> | string;
}

interface RawImport {
  import_playbook: string;
  name?: string;
  vars?: VarMap;
  tags?: unknown;
  when?: unknown;
}

/** What an import_playbook gives the plays it imports (Ansible's PlaybookInclude). */
interface ImportedBy {
  vars: VarMap;
  tags: string[];
  when: Expr[];
  chain: string[];
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
  const plays = loadPlays(path, { inv, extraVars, diags, cwd, patterns }, { vars: {}, tags: [], when: [], chain: [] });
  if (!plays) return undefined;
  const playbook: Playbook = { file: path, dir: dirname(path), plays };
  checkVariables(playbook, inv, extraVars, diags);
  return playbook;
}

interface PlaybookLoad {
  inv: Inventory;
  extraVars: VarMap;
  diags: Diagnostics;
  cwd: string;
  patterns: PlaybookLoadOptions;
}

/** The plays of one playbook file, import_playbook entries replaced by the plays they import. */
function loadPlays(path: string, load: PlaybookLoad, by: ImportedBy, origin?: Place): Play[] | undefined {
  const { diags } = load;
  const doc = loadYamlFile(path, diags, origin);
  if (!doc) return undefined;
  if (doc.value === null || doc.value === undefined) {
    diags.add('playbook is empty', { file: path, line: 1, col: 1 }, 'a playbook is a list of plays: - hosts: workers');
    return undefined;
  }
  if (!validateAt(validators.playbook, doc.value, doc, diags, 'play')) return undefined;
  const dir = dirname(path);
  const chain = [...by.chain, path];
  const plays: Play[] = [];
  (doc.value as Array<RawPlay | RawImport>).forEach((raw, i) => {
    const pointer = pointerJoin('', i);
    if ('import_playbook' in raw) plays.push(...importPlaybook(raw, pointer, doc, dir, load, { ...by, chain }));
    else plays.push(loadPlay(raw, pointer, doc, dir, load, { ...by, chain }));
  });
  return plays;
}

/**
 * import_playbook: static, as in Ansible. Its vars override the imported plays' own, its tags
 * join theirs, and its when is added to each of their tasks. The name may use extra vars only:
 * nothing else is known when playbooks are read.
 */
function importPlaybook(raw: RawImport, pointer: string, doc: LoadedYaml, dir: string, load: PlaybookLoad, by: ImportedBy): Play[] {
  const { diags } = load;
  const at = doc.placeOf(pointerJoin(pointer, 'import_playbook'));
  let name = raw.import_playbook;
  if (isTemplate(name)) {
    try {
      name = renderString(name, load.extraVars);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      diags.add(`import_playbook: ${err.message}`, at, 'the name of an imported playbook can use extra vars (-e) only: it is read before any host or play');
      return [];
    }
  }
  const path = resolve(dir, name);
  if (by.chain.includes(path)) {
    const base = dirname(by.chain[0]!);
    diags.add(`import_playbook cycle: ${[...by.chain.slice(by.chain.indexOf(path)), path].map((f) => relative(base, f)).join(' -> ')}`, at, 'remove one of the imports');
    return [];
  }
  const scope = { diags, templates: [] as TaskLoadContext['templates'] };
  const when = checkExprList(raw.when, doc, pointerJoin(pointer, 'when'), scope, Object.keys(raw.vars ?? {})) ?? [];
  const plays = loadPlays(path, load, { vars: { ...by.vars, ...(raw.vars ?? {}) }, tags: [...by.tags, ...asList(raw.tags)], when: [...by.when, ...when], chain: by.chain }, at) ?? [];
  // The import's own expressions are checked with the first play it imports.
  if (plays[0]) playTemplates.get(plays[0])!.templates.push(...scope.templates);
  return plays;
}

// Filled per play while loading, read by checkVariables.
const playTemplates = new WeakMap<Play, Pick<TaskLoadContext, 'templates' | 'files'> & { names: Set<string> }>();

/**
 * A play's handlers are tasks; an import_tasks among them gives its tasks, with the import's
 * vars and keywords (its when is in each task already).
 */
function handlerTasks(nodes: TaskNode[], outer?: Pick<Task, 'vars' | 'become' | 'becomeUser' | 'noLog' | 'checkMode' | 'ignoreErrors' | 'environment'>): Task[] {
  return nodes.flatMap((n): Task[] => {
    if (n.kind === 'task') {
      if (!outer) return [n];
      return [{ ...n, vars: { ...outer.vars, ...n.vars }, become: n.become ?? outer.become, becomeUser: n.becomeUser ?? outer.becomeUser, noLog: n.noLog ?? outer.noLog, checkMode: n.checkMode ?? outer.checkMode, ignoreErrors: n.ignoreErrors ?? outer.ignoreErrors, environment: n.environment ?? outer.environment }];
    }
    if (n.kind !== 'block') return [];
    const merged = { vars: { ...outer?.vars, ...n.vars }, become: n.become ?? outer?.become, becomeUser: n.becomeUser ?? outer?.becomeUser, noLog: n.noLog ?? outer?.noLog, checkMode: n.checkMode ?? outer?.checkMode, ignoreErrors: n.ignoreErrors ?? outer?.ignoreErrors, environment: n.environment ?? outer?.environment };
    return handlerTasks(n.block, merged);
  });
}

function loadPlay(raw: RawPlay, pointer: string, doc: LoadedYaml, dir: string, load: PlaybookLoad, by: ImportedBy): Play {
  const { inv, diags, cwd, patterns } = load;
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
  const playTags = [...by.tags, ...asList(raw.tags)];
  const parts: PlayParts = { defaults: dict(), vars: dict(), handlers: [], names: new Set(), roleSearchPath: roleSearchPath(dir, cwd, patterns.rolesPath ?? []) };
  const shared = { diags, tags: playTags, templates: [] as TaskLoadContext['templates'], files: [] as TaskLoadContext['files'], chain: by.chain, play: parts, include: loadInclude, inheritedWhen: by.when.length ? by.when : undefined };
  const ctx: TaskLoadContext = { ...shared, doc, baseDir: dir };
  if (raw.environment !== undefined) noteTemplates(raw.environment, pointerJoin(pointer, 'environment'), ctx, Object.keys(raw.vars ?? {}));
  const roleRefs = (raw.roles ?? []).map((r, i) => parseRoleRef(r, doc, pointerJoin(pointerJoin(pointer, 'roles'), i)));
  const roles = expandRoles(roleRefs, parts.roleSearchPath, shared, diags);
  const section = (key: 'pre_tasks' | 'tasks' | 'post_tasks'): TaskNode[] => loadTaskList(raw[key], pointerJoin(pointer, key), ctx, []);
  const sections = [section('pre_tasks'), [...roles.nodes, ...section('tasks')], section('post_tasks')];
  const ownHandlers = handlerTasks(loadTaskList(raw.handlers, pointerJoin(pointer, 'handlers'), { ...ctx, handlers: true, inheritedWhen: undefined }, []));
  const handlers = [...roles.handlers, ...ownHandlers, ...parts.handlers];
  const play: Play = {
    name: raw.name ?? String(raw.hosts),
    place,
    hosts: raw.hosts,
    tags: playTags,
    // An import_playbook's vars override the play's own (Ansible: entry.vars | import.vars).
    vars: { ...(raw.vars ?? {}), ...by.vars },
    varsFiles,
    roleDefaults: { ...roles.defaults, ...parts.defaults },
    roleVars: { ...roles.vars, ...parts.vars },
    sections,
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
    ...(raw.environment !== undefined ? { environment: raw.environment } : {}),
  };
  checkNotify(play, diags);
  checkDelegates(play, inv, diags);
  playTemplates.set(play, { ...shared, names: parts.names });
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

/**
 * The inventory hosts tasks delegate to by name (not templated), beyond a play's own hosts: their
 * connection settings are checked before any host is contacted, as the play hosts' are.
 */
export function delegateHosts(playbook: Playbook, inv: Inventory): string[] {
  const out = new Set<string>();
  for (const play of playbook.plays) {
    for (const task of [...play.sections.flatMap((section) => [...tasksIn(section)]), ...play.handlers]) {
      const target = task.delegateTo;
      if (target && !isTemplate(target) && inv.hosts.has(target)) out.add(target);
    }
  }
  return [...out];
}

/** Every variable a template or expression reads must be defined somewhere the run can see. */
function checkVariables(playbook: Playbook, inv: Inventory, extraVars: VarMap, diags: Diagnostics): void {
  const global = new Set<string>([...MAGIC_VARS, ...Object.keys(extraVars)]);
  for (const host of inv.hosts.keys()) Object.keys(inventoryVarsOf(inv, host)).forEach((n) => global.add(n));
  // Registered results and set_fact values survive into later plays, so collect them playbook-wide.
  for (const play of playbook.plays) collectRuntimeNames(play, global);
  // Gathered facts outlive their play (as in Ansible): a play after one that gathers may read them.
  let gathered = false;
  for (const play of playbook.plays) {
    gathered ||= play.gatherFacts;
    const seen = playTemplates.get(play)!;
    const known = new Set([...global, ...Object.keys(play.vars), ...Object.keys(play.varsFiles), ...Object.keys(play.roleDefaults), ...Object.keys(play.roleVars), ...seen.names]);
    if (gathered) FACT_NAMES.forEach((n) => known.add(n));
    const report = (names: Set<string>, scope: string[], place: Place, what: string): void => {
      for (const name of names) {
        if (known.has(name) || scope.includes(name)) continue;
        // A fact read by a play that gathers none: Ansible gathers by default, tsplay does not.
        if (!gathered && FACT_NAMES.includes(name)) {
          diags.add(`undefined variable '${name}' in ${what}: it is a fact, and neither this play nor one before it gathers facts`, place, 'set gather_facts: true on the play (tsplay does not gather facts unless asked; Ansible does by default)');
          continue;
        }
        const near = [...known, ...scope].filter((k) => editDistance(k, name) <= 2);
        const optional = what === 'expression' ? `test it first: has(vars.${name}) && ...` : `give a fallback {{default ${name} "..."}} or test it: {{#if (defined ${name})}}...{{/if}}`;
        diags.add(`undefined variable '${name}' in ${what}`, place, near.length ? `did you mean '${near[0]}'?` : `define it in vars, group_vars or with -e ${name}=...; or, if it is optional, ${optional}`);
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
