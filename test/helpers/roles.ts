/**
 * The worker roles rendered with the engine's own variable composition, for the unit tests
 * (test/unit/worker-roles.test.ts, test/unit/kubernetes-versions.test.ts): the play's role
 * defaults and role vars from the loader, the inventory's group/host vars, magic variables, in
 * the order engine/run/task.ts layers them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { inventoryVarsOf } from '../../engine/load/inventory.js';
import type { Play } from '../../engine/load/model.js';
import { loadProject, type LoadedProject } from '../../engine/load/project.js';
import { layeredVars } from '../../engine/vars/context.js';
import { renderString, renderValue, type Vars } from '../../engine/vars/template.js';
import { ROOT } from './cli.js';

export const PLAYBOOK = 'playbooks/worker.yml';
const ROLES = join(ROOT, 'roles');

const projects = new Map<string, LoadedProject>();
export function project(inventory: string): LoadedProject {
  let p = projects.get(inventory);
  if (!p) {
    p = loadProject({ playbook: PLAYBOOK, inventory, extraVars: [], cwd: ROOT });
    projects.set(inventory, p);
  }
  return p;
}

export function playWith(p: LoadedProject, role: string): Play {
  const play = p.playbook.plays.find((pl) => pl.sections[1]!.some((n) => n.kind === 'block' && n.role?.name === role));
  if (!play) throw new Error(`no play runs role ${role}`);
  return play;
}

/** What a task of `role` sees on `host`: role defaults < inventory vars < play vars < role vars < `extra` (task vars, -e) < magic variables. */
export function varsFor(inventory: string, role: string, host: string, extra: Vars = {}): Vars {
  const p = project(inventory);
  const play = playWith(p, role);
  const hosts = [...p.inventory.hosts.keys()];
  const magic: Vars = {
    inventory_hostname: host,
    inventory_hostname_short: host.split('.')[0],
    group_names: ['workers'],
    ansible_play_hosts: hosts,
    ansible_check_mode: false,
  };
  return layeredVars([play.roleDefaults, inventoryVarsOf(p.inventory, host), play.vars, play.roleVars, extra, magic]);
}

export function template(role: string, name: string): string {
  return readFileSync(join(ROLES, role, 'templates', name), 'utf8');
}

export function render(inventory: string, role: string, name: string, host: string, extra: Vars = {}): string {
  return renderString(template(role, name), varsFor(inventory, role, host, extra));
}

export type RawTask = Record<string, unknown> & { name?: string };
/** The role's tasks as a run sees them: main.yml with its static `import_tasks` files in their place. */
export function tasks(role: string, file = 'main.yml'): RawTask[] {
  const list = parseYaml(readFileSync(join(ROLES, role, 'tasks', file), 'utf8')) as RawTask[];
  return list.flatMap((t) => (typeof t.import_tasks === 'string' ? tasks(role, t.import_tasks) : [t]));
}

/** The one task of `role` using `module` whose name matches. */
export function taskOf(role: string, module: string, name?: RegExp): RawTask {
  const found = tasks(role).filter((t) => module in t && (!name || name.test(t.name ?? '')));
  if (found.length !== 1) throw new Error(`${role}: expected one ${module} task matching ${String(name)}, found ${found.length}`);
  return found[0]!;
}

/** The module arguments of that task, rendered for `host`. */
export function taskArgs(inventory: string, role: string, module: string, host: string, name?: RegExp, extra: Vars = {}): Record<string, unknown> {
  return renderValue(taskOf(role, module, name)[module], varsFor(inventory, role, host, extra)) as Record<string, unknown>;
}
