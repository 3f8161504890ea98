/**
 * Roles: roles/NAME/{tasks,handlers,defaults,vars,templates,files,meta}. A role in a play becomes
 * a block (its tags, when and params), preceded by its meta dependencies; cycles are errors.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Diagnostics, Place } from '../errors.js';
import { loadVarsFile, type VarMap } from './inventory.js';
import type { Block, RoleInstance, Task, TaskNode } from './model.js';
import { asList, checkExprList, loadTaskList, type TaskLoadContext } from './tasks.js';
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

export interface ExpandedRoles {
  nodes: TaskNode[];
  handlers: Task[];
  defaults: VarMap;
  vars: VarMap;
}

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

export function expandRoles(
  refs: RoleRef[],
  searchPath: string[],
  base: Omit<TaskLoadContext, 'doc' | 'baseDir' | 'role'>,
  diags: Diagnostics,
): ExpandedRoles {
  const out: ExpandedRoles = { nodes: [], handlers: [], defaults: dict(), vars: dict() };
  const done = new Set<string>();
  const expand = (ref: RoleRef, stack: string[]): void => {
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
    // A role without parameters runs once per play, as in Ansible.
    const key = `${dir}:${JSON.stringify(ref.vars)}`;
    const role: RoleInstance = {
      name: ref.role,
      dir,
      defaults: loadOptionalVars(join(dir, 'defaults'), diags),
      vars: loadOptionalVars(join(dir, 'vars'), diags),
    };
    const metaFile = yamlIn(join(dir, 'meta'));
    if (metaFile) {
      const meta = loadYamlFile(metaFile, diags);
      if (meta && validateAt(validators.roleMeta, meta.value, meta, diags, 'role meta')) {
        const deps = (meta.value as { dependencies?: unknown[] } | null)?.dependencies ?? [];
        deps.forEach((d, i) => expand(parseRoleRef(d, meta, pointerJoin('/dependencies', i)), [...stack, ref.role]));
      }
    }
    if (done.has(key)) return;
    done.add(key);
    Object.assign(out.defaults, role.defaults);
    Object.assign(out.vars, role.vars);
    const names = [...Object.keys(role.defaults), ...Object.keys(role.vars), ...Object.keys(ref.vars)];
    // Checked like a task's when: the README promises every expression is checked before the run.
    const when = checkExprList(ref.when, ref.doc, pointerJoin(ref.pointer, 'when'), { diags, templates: base.templates }, names);
    const tasksFile = yamlIn(join(dir, 'tasks'));
    let children: TaskNode[] = [];
    if (tasksFile) {
      const doc = loadYamlFile(tasksFile, diags);
      if (doc && validateAt(validators.taskList, doc.value, doc, diags, 'task list')) {
        const ctx: TaskLoadContext = { ...base, doc, baseDir: dirname(dirname(tasksFile)), role, tags: [...base.tags, ...ref.tags] };
        children = loadTaskList(doc.value, '', ctx, names);
      }
    }
    const handlersFile = yamlIn(join(dir, 'handlers'));
    if (handlersFile) {
      const doc = loadYamlFile(handlersFile, diags);
      if (doc && validateAt(validators.taskList, doc.value, doc, diags, 'handler list')) {
        const ctx: TaskLoadContext = { ...base, doc, baseDir: dir, role, tags: [] };
        for (const h of loadTaskList(doc.value, '', ctx, names)) {
          if (h.kind === 'task') out.handlers.push({ ...h, vars: { ...ref.vars, ...h.vars } });
        }
      }
    }
    const block: Block = {
      kind: 'block',
      id: `${ref.place.file}:${ref.place.line}:${ref.place.col}:${ref.role}`,
      name: `role ${ref.role}`,
      place: ref.place,
      when,
      tags: [...base.tags, ...ref.tags],
      vars: ref.vars,
      become: ref.become,
      becomeUser: ref.becomeUser,
      role,
      baseDir: dir,
      block: children,
      rescue: [],
      always: [],
    };
    out.nodes.push(block);
  };
  for (const ref of refs) expand(ref, []);
  return out;
}

function yamlIn(dir: string): string | undefined {
  return ['main.yml', 'main.yaml'].map((f) => join(dir, f)).find((p) => existsSync(p));
}

function loadOptionalVars(dir: string, diags: Diagnostics): VarMap {
  const file = yamlIn(dir);
  return file ? loadVarsFile(file, diags) : {};
}
