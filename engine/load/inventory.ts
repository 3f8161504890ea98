/**
 * Ansible's YAML inventory shape: groups with hosts, children and vars, plus group_vars/ and
 * host_vars/ (files or directories) beside it. `-i prod` means inventories/prod/.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Diagnostics, Place } from '../errors.js';
import { validateAt, validators } from './validate.js';
import { loadYamlFile, pointerJoin, type LoadedYaml } from './yaml-file.js';
import { dict } from '../dict.js';

export type VarMap = Record<string, unknown>;

export interface InventoryGroup {
  name: string;
  hosts: string[]; // direct members, in file order
  children: string[];
  parents: string[];
  /** Layers in precedence order: inline vars, then group_vars/NAME. */
  vars: VarMap;
  place?: Place;
}

export interface InventoryHost {
  name: string;
  vars: VarMap; // inline vars (all occurrences merged), then host_vars/NAME
  place?: Place;
}

export interface Inventory {
  source: string;
  hosts: Map<string, InventoryHost>; // inventory order
  groups: Map<string, InventoryGroup>;
}

const YAML_EXT = new Set(['.yml', '.yaml', '']);

/** `-i NAME`: a file or directory path, or a name under inventories/. */
export function resolveInventoryPath(arg: string, cwd: string): string | undefined {
  const direct = resolve(cwd, arg);
  if (existsSync(direct)) return direct;
  const named = resolve(cwd, 'inventories', arg);
  if (existsSync(named)) return named;
  return undefined;
}

export function loadInventory(path: string, diags: Diagnostics): Inventory {
  const inv: Inventory = { source: path, hosts: new Map(), groups: new Map() };
  ensureGroup(inv, 'all');
  ensureGroup(inv, 'ungrouped');
  const isDir = statSync(path).isDirectory();
  const files = isDir
    ? readdirSync(path)
        .filter((f) => (f.endsWith('.yml') || f.endsWith('.yaml') || f === 'hosts') && !f.startsWith('.'))
        .sort()
        .map((f) => join(path, f))
    : [path];
  if (files.length === 0) diags.add(`no inventory file in ${path}`, undefined, 'put a hosts.yml (Ansible YAML inventory) in that directory');
  for (const file of files) {
    const doc = loadYamlFile(file, diags);
    if (!doc) continue;
    if (doc.value === null || doc.value === undefined) continue;
    if (!validateAt(validators.inventory, doc.value, doc, diags, 'inventory')) continue;
    for (const [name, group] of Object.entries(doc.value as Record<string, unknown>)) {
      addGroup(inv, name, group as RawGroup | null, doc, pointerJoin('', name), undefined);
    }
  }
  const base = isDir ? path : dirname(path);
  for (const group of inv.groups.values()) {
    mergeInto(group.vars, loadVarsDir(join(base, 'group_vars'), group.name, diags));
  }
  for (const host of inv.hosts.values()) {
    mergeInto(host.vars, loadVarsDir(join(base, 'host_vars'), host.name, diags));
  }
  // Hosts in no group but all are "ungrouped", as in Ansible.
  const grouped = new Set<string>();
  for (const g of inv.groups.values()) if (g.name !== 'all') g.hosts.forEach((h) => grouped.add(h));
  const ungrouped = inv.groups.get('ungrouped')!;
  for (const name of inv.hosts.keys()) if (!grouped.has(name)) ungrouped.hosts.push(name);
  checkCycles(inv, diags);
  return inv;
}

interface RawGroup {
  hosts?: Record<string, VarMap | null> | null;
  children?: Record<string, RawGroup | null> | null;
  vars?: VarMap | null;
}

function ensureGroup(inv: Inventory, name: string, place?: Place): InventoryGroup {
  let g = inv.groups.get(name);
  if (!g) {
    g = { name, hosts: [], children: [], parents: [], vars: dict(), place };
    inv.groups.set(name, g);
  }
  g.place ??= place;
  return g;
}

function addGroup(inv: Inventory, name: string, raw: RawGroup | null, doc: LoadedYaml, pointer: string, parent: string | undefined): void {
  const group = ensureGroup(inv, name, doc.keyPlaceOf(pointer));
  if (parent && !group.parents.includes(parent)) {
    group.parents.push(parent);
    inv.groups.get(parent)!.children.push(name);
  } else if (!parent && name !== 'all') {
    const all = inv.groups.get('all')!;
    if (!group.parents.includes('all')) {
      group.parents.push('all');
      all.children.push(name);
    }
  }
  if (!raw) return;
  mergeInto(group.vars, raw.vars ?? {});
  for (const [hostName, hostVars] of Object.entries(raw.hosts ?? {})) {
    let host = inv.hosts.get(hostName);
    if (!host) {
      host = { name: hostName, vars: dict(), place: doc.keyPlaceOf(pointerJoin(pointerJoin(pointer, 'hosts'), hostName)) };
      inv.hosts.set(hostName, host);
    }
    mergeInto(host.vars, hostVars ?? {});
    if (!group.hosts.includes(hostName)) group.hosts.push(hostName);
  }
  for (const [childName, child] of Object.entries(raw.children ?? {})) {
    addGroup(inv, childName, child, doc, pointerJoin(pointerJoin(pointer, 'children'), childName), name);
  }
}

/** group_vars/NAME.yml, group_vars/NAME.yaml, group_vars/NAME (file), or group_vars/NAME/*.yml. */
export function loadVarsDir(dir: string, name: string, diags: Diagnostics): VarMap {
  const out: VarMap = dict();
  if (!existsSync(dir)) return out;
  for (const ext of ['', '.yml', '.yaml']) {
    const p = join(dir, name + ext);
    if (!existsSync(p)) continue;
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) {
        if (YAML_EXT.has(extname(f)) && !f.startsWith('.')) mergeInto(out, loadVarsFile(join(p, f), diags));
      }
    } else {
      mergeInto(out, loadVarsFile(p, diags));
    }
  }
  return out;
}

export function loadVarsFile(file: string, diags: Diagnostics, origin?: Place): VarMap {
  const doc = loadYamlFile(file, diags, origin);
  if (!doc || doc.value === null || doc.value === undefined) return {};
  if (!validateAt(validators.vars, doc.value, doc, diags, `variables file ${basename(file)}`)) return {};
  if (typeof doc.value !== 'object' || Array.isArray(doc.value)) return {};
  return doc.value as VarMap;
}

function mergeInto(target: VarMap, source: VarMap): void {
  Object.assign(target, source);
}

function checkCycles(inv: Inventory, diags: Diagnostics): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      diags.add(`group cycle: ${[...path, name].join(' -> ')}`, inv.groups.get(name)?.place, 'a group cannot be its own child');
      return;
    }
    state.set(name, 'visiting');
    for (const child of inv.groups.get(name)?.children ?? []) visit(child, [...path, name]);
    state.set(name, 'done');
  };
  for (const name of inv.groups.keys()) visit(name, []);
}

/** Groups a host belongs to, through children, ordered by depth then name (Ansible's order). */
export function groupsOfHost(inv: Inventory, host: string): InventoryGroup[] {
  const depth = new Map<string, number>();
  const walk = (name: string, d: number, seen: Set<string>): void => {
    if (seen.has(name)) return;
    seen.add(name);
    depth.set(name, Math.max(depth.get(name) ?? 0, d));
    for (const child of inv.groups.get(name)?.children ?? []) walk(child, d + 1, seen);
  };
  walk('all', 0, new Set());
  const member = [...inv.groups.values()].filter((g) => hostInGroup(inv, host, g.name, new Set()));
  return member.sort((a, b) => (depth.get(a.name) ?? 0) - (depth.get(b.name) ?? 0) || a.name.localeCompare(b.name));
}

export function hostInGroup(inv: Inventory, host: string, group: string, seen: Set<string>): boolean {
  if (group === 'all') return inv.hosts.has(host);
  if (seen.has(group)) return false;
  seen.add(group);
  const g = inv.groups.get(group);
  if (!g) return false;
  return g.hosts.includes(host) || g.children.some((c) => hostInGroup(inv, host, c, seen));
}

/** Hosts of a group including its children's, in inventory order. */
export function hostsOfGroup(inv: Inventory, group: string): string[] {
  return [...inv.hosts.keys()].filter((h) => hostInGroup(inv, h, group, new Set()));
}

/** The inventory-level variables of a host: group vars (all lowest, child over parent), then host vars. */
export function inventoryVarsOf(inv: Inventory, host: string): VarMap {
  const out: VarMap = dict();
  for (const g of groupsOfHost(inv, host)) Object.assign(out, g.vars);
  Object.assign(out, inv.hosts.get(host)?.vars ?? {});
  return out;
}
