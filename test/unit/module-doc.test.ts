/**
 * `tsplay doc` and the README's module table come from the modules themselves: every example
 * must load as a task of its module, and the README table must be what the modules say.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Diagnostics, formatDiagnostic } from '../../engine/errors.js';
import { loadTaskList } from '../../engine/load/tasks.js';
import type { TaskLoadContext } from '../../engine/load/task-scope.js';
import { loadYamlFile } from '../../engine/load/yaml-file.js';
import { allModules } from '../../engine/modules/registry.js';
import { README_PATH, readmeWithModuleTable } from '../../engine/schema/generate.js';
import { tsplay } from '../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'tsplay-doc-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('module docs', () => {
  it.each(allModules().map((m) => [m.name, m] as const))('the example of %s loads as a task of that module', (name, mod) => {
    const file = join(work, `${name}.yml`);
    writeFileSync(file, mod.example + '\n');
    const diags = new Diagnostics();
    const doc = loadYamlFile(file, diags)!;
    const ctx: TaskLoadContext = { doc, diags, baseDir: work, tags: [], templates: [], files: [] };
    const tasks = loadTaskList(doc.value, '', ctx, []);
    expect(diags.items.map(formatDiagnostic)).toEqual([]);
    expect(tasks.length).toBeGreaterThan(0);
    for (const t of tasks) expect(t.kind === 'task' && t.module).toBe(name);
  });

  it('the README module table is what the modules say (npm run schemas rewrites it)', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    expect(readme).toBe(readmeWithModuleTable(readme));
  });

  it('tsplay doc MODULE prints the arguments and the example; an unknown name exits 5 with a suggestion', async () => {
    const file = await tsplay(['doc', 'ansible.builtin.file']);
    expect(file.code, file.stderr).toBe(0);
    expect(file.stdout).toMatch(/^ {2}path +string, required$/m);
    expect(file.stdout).toMatch(/^ {2}state +"directory" \| "file" \| "absent" \| "touch" \| "link"/m);
    expect(file.stdout).toContain('example:\n  - name: kubelet working directories\n');
    const list = await tsplay(['doc']);
    expect(list.stdout.split('\n').filter((l) => /^\S+ {2,}\S/.test(l)).length).toBe(allModules().length);
    const typo = await tsplay(['doc', 'fiel']);
    expect(typo.code).toBe(5);
    expect(typo.stderr).toContain("did you mean 'file'?");
  });
});
