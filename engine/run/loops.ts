/**
 * A loop's items, per host: the loop value rendered, then read by its form (load/loops.ts):
 * `loop` is a list as is; with_items flattens one level and with_list does not (a lone value is
 * one item for both, as Ansible's lookups make it); with_dict gives {key, value} items;
 * with_fileglob and with_first_found find files on the controller where Ansible's lookups do:
 * the role's `files/` (or `templates/`, `vars/`, by module), the role, then the playbook's.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { TaskError } from '../errors.js';
import { candidatePaths, FIRST_FOUND_HINT, firstFound, globRegExp } from '../load/files.js';
import type { Looping, Scope } from '../load/model.js';
import { renderValue, type Vars } from '../vars/template.js';

/** Where first_found and fileglob look: Ansible picks the subdirectory by the task's action. */
export type LookupDir = 'files' | 'templates' | 'vars';

/**
 * `lookupDir`: where with_first_found and with_fileglob look in a role or beside the playbook;
 * `besides`: more directories a relative name is looked for in (the task's own file's, as Ansible's search path has it).
 */
export function loopItems(node: Looping & Pick<Scope, 'role' | 'baseDir'>, vars: Vars, lookupDir: LookupDir = 'files', besides: string[] = []): unknown[] {
  const value = renderValue(node.loop, vars);
  switch (node.loopForm ?? 'loop') {
    case 'loop':
      if (!Array.isArray(value)) throw new TaskError(`loop must be a list, got ${describe(value)}`, 'loop: ["a", "b"] or loop: "{{ list_var }}"');
      return value;
    case 'items':
      return listOf(value).flatMap((v): unknown[] => (Array.isArray(v) ? (v as unknown[]) : [v]));
    case 'list':
      return listOf(value);
    case 'dict':
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new TaskError(`with_dict needs a mapping, got ${describe(value)}`, 'with_dict: "{{ users }}" where users is a mapping; each item is {key, value}');
      return Object.entries(value as Record<string, unknown>).map(([key, v]) => ({ key, value: v }));
    case 'fileglob':
      return listOf(value).flatMap((term) => fileglob(String(term), node, lookupDir));
    case 'first_found':
      return firstFoundItems(value, node, lookupDir, besides);
  }
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value;
}

/**
 * Files (not directories) in one directory matching the last part of `term`, sorted. A relative
 * directory part is looked up as a controller file is; without one, each place in turn until one
 * has matches (Ansible's fileglob lookup).
 */
function fileglob(term: string, node: Pick<Scope, 'role' | 'baseDir'>, dir: LookupDir): string[] {
  const pattern = basename(term);
  const where = dirname(term);
  const dirs = isAbsolute(term) ? [where] : term.includes('/') ? candidatePaths(dir, where, node.baseDir, node.role).filter(isDir).slice(0, 1) : candidatePaths(dir, '', node.baseDir, node.role);
  const re = globRegExp(pattern);
  for (const d of dirs) {
    if (!isDir(d)) continue;
    const found = readdirSync(d)
      .filter((name) => re.test(name) && isFile(join(d, name)))
      .sort()
      .map((name) => join(d, name));
    if (found.length > 0) return found;
  }
  return [];
}

/** One item, the first file found (load/files.ts firstFound); none is an error unless skip: true. */
function firstFoundItems(value: unknown, node: Pick<Scope, 'role' | 'baseDir'>, dir: LookupDir, besides: string[]): string[] {
  const { found, names, skip } = firstFound(value, dir, node.baseDir, node.role, besides);
  if (found) return [found];
  if (skip) return [];
  throw new TaskError(`with_first_found: none of these files was found: ${names.join(', ')}`, FIRST_FOUND_HINT(dir));
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
