/** Where a task's `src` is found on the controller: the role's files/ (templates/, vars/), then the playbook's. */
import { existsSync } from 'node:fs';
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
