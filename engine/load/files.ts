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
