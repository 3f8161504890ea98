/**
 * Roles: roles/NAME/{tasks,handlers,defaults,vars,templates,files,meta}. A role in a play becomes
 * a block (its tags, when and params), preceded by its meta dependencies; cycles are errors.
 * import_role and include_role (load/includes.ts) expand roles the same way, with the files
 * they name (tasks_from, ...) and, for include_role, the role's variables kept to its tasks.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Diagnostics, Place } from '../errors.js';
import { loadVarsFile, type VarMap } from './inventory.js';
import type { Block, RoleFiles, RoleInstance, Task, TaskNode } from './model.js';
import { loadTaskList } from './tasks.js';
import { asList, checkExprList, type TaskLoadContext } from './task-scope.js';
import { validateAt, validators } from './validate.js';
import { loadYamlFile, pointerJoin, type LoadedYaml } from './yaml-file.js';
import { dict } from '../dict.js';

export interface RoleRef {
  role: string;
  vars: VarMap;
  tags: string[];
  when?: string | boolean | Array<string | boolean>;
  become?: boolean;
  becomeUser?: string;
  place: Place;
  /** Where the reference is written, so its `when` is checked with a place. */
  doc: LoadedYaml;
  pointer: string;
}

/** Where the variables and handlers of expanded roles go: the play's, or a run-time include's. */
export interface RoleSink {
  defaults: VarMap;
  vars: VarMap;
  handlers: Task[];
}

export interface ExpandedRoles extends RoleSink {
  nodes: TaskNode[];
}

export interface RoleOptions {
  /** tasks_from, vars_from, defaults_from, handlers_from. */
  from?: RoleFiles;
  /** include_role: the role's defaults and vars are its tasks' own, not the play's. */
  scoped?: boolean;
}

type RoleBase = Omit<TaskLoadContext, 'doc' | 'baseDir' | 'role'>;

/** Beside the playbook, above it, in the cwd, then `rolesPath` (roles_path: TSPLAY_ROLES_PATH, ANSIBLE_ROLES_PATH, ansible.cfg). */
export function roleSearchPath(playbookDir: string, cwd: string, rolesPath: string[]): string[] {
  return [...new Set([join(playbookDir, 'roles'), resolve(playbookDir, '..', 'roles'), join(cwd, 'roles'), ...rolesPath.filter(Boolean)])];
}

export function parseRoleRef(raw: unknown, doc: LoadedYaml, pointer: string): RoleRef {
  const place = doc.placeOf(pointer);
  if (typeof raw === 'string') return { role: raw, vars: {}, tags: [], place, doc, pointer };
  const r = raw as { role?: string; name?: string; vars?: VarMap; tags?: unknown; when?: RoleRef['when']; become?: boolean; become_user?: string };
  return { role: r.role ?? r.name ?? '', vars: r.vars ?? {}, tags: asList(r.tags), when: r.when, become: r.become, becomeUser: r.become_user, place, doc, pointer };
}

/** The `roles:` of a play: a role without parameters runs once per play, as in Ansible. */
export function expandRoles(refs: RoleRef[], searchPath: string[], base: RoleBase, diags: Diagnostics): ExpandedRoles {
  const out: ExpandedRoles = { nodes: [], handlers: [], defaults: dict(), vars: dict() };
  const done = new Set<string>();
  for (const ref of refs) out.nodes.push(...expandRole(ref, {}, searchPath, base, out, diags, done));
  return out;
}

/**
 * One role and its meta dependencies, as blocks in the order they run. `done` holds the roles
 * (with their parameters) already expanded where a role runs once; without it, every reference runs.
 */
export function expandRole(ref: RoleRef, opts: RoleOptions, searchPath: string[], base: RoleBase, sink: RoleSink, diags: Diagnostics, done?: Set<string>): Block[] {
  const out: Block[] = [];
  const expand = (ref: RoleRef, stack: string[], from: RoleFiles): void => {
    if (!ref.role) {
      diags.add('role reference without a name', ref.place, "write '- rolename' or '- role: rolename'");
      return;
    }
    if (stack.includes(ref.role)) {
      diags.add(`role dependency cycle: ${[...stack, ref.role].join(' -> ')}`, ref.place, 'remove one of the dependencies in meta/main.yml');
      return;
    }
    const dir = searchPath.map((p) => join(p, ref.role)).find((p) => existsSync(p));
    if (!dir) {
      diags.add(`role '${ref.role}' not found`, ref.place, `looked in: ${searchPath.join(', ')}`);
      return;
    }
    const file = (kind: 'tasks' | 'vars' | 'defaults' | 'handlers'): string | undefined | null => {
      const name = from[kind];
      if (name === undefined) return yamlIn(join(dir, kind));
      const found = fileIn(join(dir, kind), name);
      if (!found) diags.add(`role '${ref.role}' has no ${kind} file '${name}'`, ref.place, `looked for ${candidates(join(dir, kind), name).join(', ')}`);
      return found ?? null;
    };
    const varsOf = (kind: 'vars' | 'defaults'): VarMap => {
      const f = file(kind);
      if (f) return loadVarsFile(f, diags);
      // defaults/main/ (and vars/main/) as a directory: its files in path order, later over earlier, as Ansible reads them.
      if (from[kind] !== undefined) return {};
      const out: VarMap = dict();
      for (const part of mainDirFiles(join(dir, kind, 'main'))) Object.assign(out, loadVarsFile(part, diags));
      return out;
    };
    const key = `${dir}:${JSON.stringify(ref.vars)}`;
    const role: RoleInstance = { name: ref.role, dir, defaults: varsOf('defaults'), vars: varsOf('vars') };
    const metaFile = yamlIn(join(dir, 'meta'));
    if (metaFile) {
      const meta = loadYamlFile(metaFile, diags);
      if (meta && validateAt(validators.roleMeta, meta.value, meta, diags, 'role meta')) {
        const deps = ((meta.value as { dependencies?: unknown[] } | null)?.dependencies ?? []);
        // A dependency is the whole role: tasks_from and the others name files of this one only.
        deps.forEach((d, i) => expand(parseRoleRef(d, meta, pointerJoin('/dependencies', i)), [...stack, ref.role], {}));
      }
    }
    if (done?.has(key)) return;
    done?.add(key);
    if (!opts.scoped) {
      Object.assign(sink.defaults, role.defaults);
      Object.assign(sink.vars, role.vars);
    }
    const names = [...Object.keys(role.defaults), ...Object.keys(role.vars), ...Object.keys(ref.vars)];
    // Checked like a task's when: the README promises every expression is checked before the run.
    const when = checkExprList(ref.when, ref.doc, pointerJoin(ref.pointer, 'when'), { diags, templates: base.templates }, names);
    const tasksFile = file('tasks');
    let children: TaskNode[] = [];
    if (tasksFile && base.chain?.includes(tasksFile)) {
      diags.add(`import cycle: role '${ref.role}' imports itself`, ref.place, 'an import is loaded with the playbook, so a role that imports itself never ends; use include_role with a when that stops it');
    } else if (tasksFile) {
      const doc = loadYamlFile(tasksFile, diags);
      if (doc && validateAt(validators.taskList, doc.value, doc, diags, 'task list')) {
        const chain = [...(base.chain ?? []), tasksFile];
        const ctx: TaskLoadContext = { ...base, doc, baseDir: dirname(dirname(tasksFile)), role, tags: [...base.tags, ...ref.tags], chain };
        children = loadTaskList(doc.value, '', ctx, names);
      }
    }
    const handlersFile = file('handlers');
    if (handlersFile) {
      const doc = loadYamlFile(handlersFile, diags);
      if (doc && validateAt(validators.taskList, doc.value, doc, diags, 'handler list')) {
        const ctx: TaskLoadContext = { ...base, doc, baseDir: dir, role, tags: [], inheritedWhen: undefined, handlers: true };
        for (const h of loadTaskList(doc.value, '', ctx, names)) {
          if (h.kind === 'task') sink.handlers.push({ ...h, vars: { ...ref.vars, ...h.vars } });
        }
      }
    }
    out.push({
      kind: 'block',
      id: `${ref.place.file}:${ref.place.line}:${ref.place.col}:${ref.role}`,
      name: `role ${ref.role}`,
      place: ref.place,
      when,
      tags: [...base.tags, ...ref.tags],
      // Role parameters are above the role's vars (Ansible's precedence).
      vars: opts.scoped ? { ...role.vars, ...ref.vars } : ref.vars,
      ...(opts.scoped ? { defaults: role.defaults } : {}),
      become: ref.become,
      becomeUser: ref.becomeUser,
      role,
      baseDir: dir,
      block: children,
      rescue: [],
      always: [],
    });
  };
  expand(ref, [], opts.from ?? {});
  return out;
}

/** The vars files under a role's defaults/main/ or vars/main/ directory, recursively, sorted by path. */
function mainDirFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ya?ml|json)$/.test(f) && statSync(join(dir, f)).isFile())
    .map((f) => f.split('/'))
    // Each directory's entries sorted by name, as Ansible walks it (a/ before a.yml).
    .sort((a, b) => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
      return a.length - b.length;
    })
    .map((f) => join(dir, ...f));
}

function yamlIn(dir: string): string | undefined {
  return ['main.yml', 'main.yaml'].map((f) => join(dir, f)).find((p) => existsSync(p));
}

/** `install` names install.yml (or .yaml); `install.yml` names itself. */
function candidates(dir: string, name: string): string[] {
  return /\.ya?ml$/.test(name) ? [join(dir, name)] : [join(dir, `${name}.yml`), join(dir, `${name}.yaml`), join(dir, name)];
}

function fileIn(dir: string, name: string): string | undefined {
  return candidates(dir, name).find((p) => existsSync(p));
}
