/** Where a task's `src` is found on the controller: the role's files/ (templates/, vars/), then the playbook's. */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { RoleInstance } from './model.js';

export type ControllerDir = 'files' | 'templates' | 'vars';

export function candidatePaths(kind: ControllerDir, name: string, baseDir: string, role?: RoleInstance): string[] {
  if (isAbsolute(name)) return [name];
  const out: string[] = [];
  if (role) out.push(join(role.dir, kind, name), join(role.dir, name));
  out.push(join(baseDir, kind, name), resolve(baseDir, name));
  return out;
}

export function findControllerFile(kind: ControllerDir, name: string, baseDir: string, role?: RoleInstance): string | undefined {
  return candidatePaths(kind, name, baseDir, role).find((p) => existsSync(p));
}

/** Python's fnmatch as glob uses it: * and ? within one name, [...] classes; a leading dot only matches a dot. */
export function globRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
      out += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else out += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  const hidden = pattern.startsWith('.') ? '' : '(?!\\.)';
  return new RegExp(`^${hidden}${out}$`);
}

/**
 * with_first_found: the terms are names, or {files, paths, skip} (files split on , and ;, paths
 * on , : and ;); the first name found as a controller file of `dir` (or in `besides`) is the item.
 */
export function firstFound(value: unknown, dir: ControllerDir, baseDir: string, role: RoleInstance | undefined, besides: string[]): { found?: string; names: string[]; skip: boolean } {
  const names: string[] = [];
  let skip = false;
  const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);
  const add = (term: unknown): void => {
    if (Array.isArray(term)) return term.forEach(add);
    if (term && typeof term === 'object') {
      const t = term as { files?: unknown; paths?: unknown; skip?: unknown };
      const split = (v: unknown, seps: RegExp): string[] => listOf(v ?? []).flatMap((x) => String(x).split(seps)).map((x) => x.trim()).filter(Boolean);
      const files = split(t.files, /[,;]/);
      const paths = split(t.paths, /[,:;]/);
      if (t.skip === true) skip = true;
      names.push(...(paths.length ? paths.flatMap((p) => files.map((f) => join(p, f))) : files));
      return;
    }
    if (typeof term === 'string' || typeof term === 'number' || typeof term === 'boolean') names.push(String(term));
  };
  add(value);
  for (const name of names) {
    const found = [...candidatePaths(dir, name, baseDir, role), ...besides.map((d) => resolve(d, name))].find(isFile);
    if (found) return { found, names, skip };
  }
  return { names, skip };
}

export const FIRST_FOUND_HINT = (dir: ControllerDir): string => `looked in the ${dir}/ of the role and the playbook, the role and the playbook directory, and beside the task file; add skip: true to run no item instead`;

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
