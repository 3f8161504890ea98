/** Where a task's `src` is found on the controller: the role's files/ or templates/, then the playbook's. */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { RoleInstance } from './model.js';

export function candidatePaths(kind: 'files' | 'templates', name: string, baseDir: string, role?: RoleInstance): string[] {
  if (isAbsolute(name)) return [name];
  const out: string[] = [];
  if (role) out.push(join(role.dir, kind, name), join(role.dir, name));
  out.push(join(baseDir, kind, name), resolve(baseDir, name));
  return out;
}

export function findControllerFile(kind: 'files' | 'templates', name: string, baseDir: string, role?: RoleInstance): string | undefined {
  return candidatePaths(kind, name, baseDir, role).find((p) => existsSync(p));
}
