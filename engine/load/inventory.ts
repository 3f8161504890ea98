/**
 * The inventory as Ansible's InventoryData builds it (lib/ansible/inventory/data.py, group.py):
 * groups with direct hosts and child groups, inline variables, and the group_vars/host_vars
 * found beside each inventory source and beside the playbook. The readers of the source formats
 * (YAML, INI, host lists, directories) are in inventory-sources.ts; they build through the
 * functions here, so every format means the same thing.
 */
import { dict } from '../dict.js';
import { basename } from 'node:path';
import type { Diagnostics, Place } from '../errors.js';
import { secrets } from '../secrets.js';
import { validateAt, validators } from './validate.js';
import { loadYamlFile } from './yaml-file.js';

export type VarMap = Record<string, unknown>;

export interface InventoryGroup {
  name: string;
  hosts: string[]; // direct members, in the order they were added
  children: string[];
  parents: string[];
  /** Variables set in the inventory source itself ([g:vars], `vars:`); ansible_group_priority is not one. */
  vars: VarMap;
  /** group_vars/NAME from each of inventory.varsDirs, by index. */
  fileVars: VarMap[];
  /** ansible_group_priority (default 1): among groups of one depth, the higher one wins. */
  priority: number;
  /** Longest path from `all` (set when the inventory is complete). */
  depth: number;
  place?: Place;
}

export interface InventoryHost {
  name: string;
  vars: VarMap; // set in the inventory source(s), later settings win
  fileVars: VarMap[]; // host_vars/NAME from each of inventory.varsDirs, by index
  place?: Place;
}

/** A directory whose group_vars/ and host_vars/ apply: beside an inventory source, or the playbook. */
export interface VarsDir {
  dir: string;
  beside: 'inventory' | 'playbook';
}

export interface Inventory {
  /** The -i sources, in the order given (later ones add to and override earlier ones). */
  sources: string[];
  hosts: Map<string, InventoryHost>; // in the order first seen
  groups: Map<string, InventoryGroup>;
  varsDirs: VarsDir[];
}

/** Names Ansible treats as the controller when no inventory host has them (C.LOCALHOST). */
export const LOCALHOST_NAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '::1']);

/** `controller`, or a localhost name the inventory does not define: the machine running tsplay. */
export function isControllerName(inv: Inventory, name: string | undefined): boolean {
  return name === 'controller' || (name !== undefined && LOCALHOST_NAMES.has(name) && !inv.hosts.has(name));
}

export function emptyInventory(sources: string[]): Inventory {
  const inv: Inventory = { sources, hosts: new Map(), groups: new Map(), varsDirs: [] };
  ensureGroup(inv, 'all');
  ensureGroup(inv, 'ungrouped');
  addChild(inv, 'all', 'ungrouped');
  return inv;
}

export function ensureGroup(inv: Inventory, name: string, place?: Place): InventoryGroup {
  let g = inv.groups.get(name);
  if (!g) {
    g = { name, hosts: [], children: [], parents: [], vars: dict(), fileVars: [], priority: 1, depth: 0, place };
    inv.groups.set(name, g);
  }
  g.place ??= place;
  return g;
}

/** Makes `child` a child of `parent`; a loop is an error (Ansible refuses it the same way). */
export function addChild(inv: Inventory, parent: string, child: string, diags?: Diagnostics, place?: Place): void {
  const p = ensureGroup(inv, parent);
  const c = ensureGroup(inv, child);
  if (p.children.includes(child)) return;
  if (parent === child || isAncestor(inv, child, parent)) {
    diags?.add(`adding group '${child}' as a child of '${parent}' creates a loop`, place ?? c.place, 'a group cannot contain itself, directly or through its children');
    return;
  }
  p.children.push(child);
  if (!c.parents.includes(parent)) c.parents.push(parent);
}

function isAncestor(inv: Inventory, maybeAncestor: string, of: string): boolean {
  const seen = new Set<string>();
  const up = (name: string): boolean => {
    for (const p of inv.groups.get(name)?.parents ?? []) {
      if (p === maybeAncestor) return true;
      if (!seen.has(p) && (seen.add(p), up(p))) return true;
    }
    return false;
  };
  return up(of);
}

/** Ansible's add_host: a port given with the name sets ansible_port only when the host is new. */
export function addHost(inv: Inventory, name: string, group: string | undefined, port: number | undefined, place?: Place): InventoryHost {
  let host = inv.hosts.get(name);
  if (!host) {
    host = { name, vars: dict(), fileVars: [], place };
    if (port) host.vars.ansible_port = port;
    inv.hosts.set(name, host);
  }
  if (group) {
    const g = ensureGroup(inv, group);
    if (!g.hosts.includes(name)) g.hosts.push(name);
  }
  return host;
}

/** A variable set in an inventory source; ansible_group_priority sets the group's priority instead. */
export function setGroupVar(group: InventoryGroup, key: string, value: unknown, diags: Diagnostics, place?: Place): void {
  if (key !== 'ansible_group_priority') {
    group.vars[key] = value;
    return;
  }
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n)) diags.add(`ansible_group_priority of group '${group.name}' must be an integer, got ${JSON.stringify(value)}`, place ?? group.place, 'e.g. ansible_group_priority=10 (higher wins among groups of the same depth)');
  else group.priority = n;
}

/**
 * Ansible's reconcile_inventory, once every source is read: groups without a parent become
 * children of all; hosts in no group but all are ungrouped, and ungrouped loses hosts that have
 * a real group. Then each group's depth.
 */
export function reconcile(inv: Inventory): void {
  for (const g of inv.groups.values()) if (g.name !== 'all' && g.parents.length === 0) addChild(inv, 'all', g.name);
  const ungrouped = inv.groups.get('ungrouped')!;
  const direct = new Map<string, string[]>();
  for (const g of inv.groups.values()) for (const h of g.hosts) direct.set(h, [...(direct.get(h) ?? []), g.name]);
  for (const name of inv.hosts.keys()) {
    const groups = direct.get(name) ?? [];
    if (groups.includes('ungrouped')) {
      if (groups.some((g) => g !== 'all' && g !== 'ungrouped')) ungrouped.hosts.splice(ungrouped.hosts.indexOf(name), 1);
    } else if (groups.every((g) => g === 'all')) ungrouped.hosts.push(name);
  }
  const depth = (name: string, seen: Set<string>): number => {
    if (name === 'all' || seen.has(name)) return 0;
    seen.add(name);
    const d = Math.max(0, ...inv.groups.get(name)!.parents.map((p) => depth(p, seen) + 1));
    seen.delete(name);
    return d;
  };
  for (const g of inv.groups.values()) g.depth = depth(g.name, new Set());
}

/** Python's sorted() order of strings: by code point, not by locale. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Ansible's sort_groups: depth, then priority, then name (later ones win when merging). */
export function sortGroups(groups: InventoryGroup[]): InventoryGroup[] {
  return [...groups].sort((a, b) => a.depth - b.depth || a.priority - b.priority || byCodePoint(a.name, b.name));
}

/** Groups a host belongs to (directly or through children), including all, in sort_groups order. */
export function groupsOfHost(inv: Inventory, host: string): InventoryGroup[] {
  return sortGroups([...inv.groups.values()].filter((g) => hostInGroup(inv, host, g.name, new Set())));
}

const groupNamesCache = new WeakMap<Inventory, Map<string, string[]>>();

/** group_names: the host's groups but all, sorted by name as Ansible's Host.get_magic_vars does. */
export function groupNamesOf(inv: Inventory, host: string): string[] {
  let cache = groupNamesCache.get(inv);
  if (!cache) groupNamesCache.set(inv, (cache = new Map<string, string[]>()));
  let names = cache.get(host);
  if (!names) {
    names = groupsOfHost(inv, host)
      .map((g) => g.name)
      .filter((g) => g !== 'all')
      .sort(byCodePoint);
    cache.set(host, names);
  }
  return names;
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

/**
 * Hosts of a group in Ansible's Group.get_hosts order: its own hosts, then its children's, then
 * theirs, level by level. Subscripts (web[0]) and play host order follow it.
 */
export function hostsOfGroupInAnsibleOrder(inv: Inventory, group: string): string[] {
  const self = inv.groups.get(group);
  if (!self) return [];
  const ordered = [group, ...self.children];
  const seen = new Set<string>();
  let unprocessed = new Set([group, ...self.children]);
  while (unprocessed.size > 0) {
    unprocessed.forEach((g) => seen.add(g));
    const next = new Set<string>();
    for (const g of unprocessed) {
      for (const c of inv.groups.get(g)?.children ?? []) {
        next.add(c);
        if (!seen.has(c)) ordered.push(c);
      }
    }
    unprocessed = new Set([...next].filter((c) => !seen.has(c)));
  }
  const out: string[] = [];
  const taken = new Set<string>();
  for (const g of ordered) {
    for (const h of inv.groups.get(g)?.hosts ?? []) {
      if (!taken.has(h)) {
        taken.add(h);
        out.push(h);
      }
    }
  }
  return out;
}

/**
 * The inventory-level variables of a host, merged in Ansible's order (VARIABLE_PRECEDENCE, then
 * host vars): all's inline vars, every group's inline vars, all's group_vars files (inventory,
 * then playbook), every group's group_vars files, then the host's inline vars and host_vars
 * files. So a group_vars file beats any inline group variable, as in Ansible.
 */
export function inventoryVarsOf(inv: Inventory, host: string): VarMap {
  const out: VarMap = dict();
  const all = inv.groups.get('all')!;
  const groups = groupsOfHost(inv, host).filter((g) => g.name !== 'all');
  const dirs = (beside: VarsDir['beside']): number[] => inv.varsDirs.flatMap((d, i) => (d.beside === beside ? [i] : []));
  Object.assign(out, all.vars);
  for (const g of groups) Object.assign(out, g.vars);
  for (const beside of ['inventory', 'playbook'] as const) for (const i of dirs(beside)) Object.assign(out, all.fileVars[i]);
  for (const beside of ['inventory', 'playbook'] as const) for (const i of dirs(beside)) for (const g of groups) Object.assign(out, g.fileVars[i]);
  const h = inv.hosts.get(host);
  if (h) {
    Object.assign(out, h.vars);
    for (const beside of ['inventory', 'playbook'] as const) for (const i of dirs(beside)) Object.assign(out, h.fileVars[i]);
  }
  return out;
}

/** A YAML/JSON file of variables (group_vars, host_vars, vars_files, -e @file, role vars). */
export function loadVarsFile(file: string, diags: Diagnostics, origin?: Place): VarMap {
  const doc = loadYamlFile(file, diags, origin);
  if (!doc || doc.value === null || doc.value === undefined) return {};
  if (!validateAt(validators.vars, doc.value, doc, diags, `variables file ${basename(file)}`)) return {};
  if (typeof doc.value !== 'object' || Array.isArray(doc.value)) return {};
  // A vars file encrypted whole (ansible-vault encrypt) holds secrets: every value is one.
  if (doc.vaultId) for (const [name, value] of Object.entries(doc.value)) secrets.add(value, 'secret', name);
  return doc.value as VarMap;
}
