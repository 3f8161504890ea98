/**
 * Installing tsplay as a user does (README "Installing"): `npm pack` in a clean copy of the
 * repository (tracked files only: no dist/, so prepack must build it), `npm install -g` of that
 * tarball into a fresh prefix, then the installed `tsplay` checks and runs a playbook on the
 * controller. Fails when `files` leaves out something the CLI loads at run time, when prepack does
 * not build, or when a runtime dependency sits in devDependencies.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The environment of a user's shell: none of the npm_* variables `npm test` sets for its children. */
function userEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  return { ...env, PATH: `${dirname(process.execPath)}:${env.PATH ?? ''}`, NO_COLOR: '1' };
}

/** Copies the files git would commit (tracked, or new and not ignored) that exist: a clean clone of the work tree. */
function cleanCopy(to: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0');
  for (const f of files) {
    if (!f || !existsSync(join(ROOT, f))) continue;
    mkdirSync(dirname(join(to, f)), { recursive: true });
    cpSync(join(ROOT, f), join(to, f), { verbatimSymlinks: true });
  }
}

function run(cmd: string, args: string[], cwd: string): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync(cmd, args, { cwd, env: userEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (e) {
    const err = e as { status: number | null; stdout?: string; stderr?: string };
    return { code: err.status ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

describe('npm pack, then npm install -g of the tarball', () => {
  let work: string;
  let tarball: string;
  let bin: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'tsplay-pack-'));
    const src = join(work, 'src');
    cleanCopy(src);
    // What `npm ci` would install; prepack's build needs the devDependencies (TypeScript).
    symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'));
    const packed = run('npm', ['pack', '--pack-destination', work, '--silent'], src);
    expect(packed.code, packed.out).toBe(0);
    tarball = join(work, `tsplay-${VERSION}.tgz`);
    // A user's install: dependencies resolved from the registry (the npm cache when it has them).
    const installed = run('npm', ['install', '-g', '--prefix', join(work, 'prefix'), '--prefer-offline', '--no-audit', '--no-fund', tarball], work);
    expect(installed.code, installed.out).toBe(0);
    bin = join(work, 'prefix', 'bin', 'tsplay');
  }, 600_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships the built engine, the schemas, README and LICENSE, and no sources or tests', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/engine/cli.js', 'dist/engine/schema/playbook.schema.json', 'engine/schema/playbook.editor.schema.json']) expect(files).toContain(f);
    expect(files.some((f) => f.startsWith('dist/engine/schema/compiled/') && f.endsWith('.cjs'))).toBe(true);
    expect(files.filter((f) => /^test\/|\.ts$|\.map$|^node_modules\//.test(f))).toEqual([]);
  });

  it('puts a tsplay command on the PATH that prints its version', () => {
    const r = run(bin, ['--version'], work);
    expect(r.code, r.out).toBe(0);
    expect(r.out.trim()).toBe(`tsplay ${VERSION} (node ${process.version})`);
  });

  it('syntax-checks, check-runs and runs a playbook on the controller', () => {
    const project = join(work, 'project');
    const dest = join(work, 'dest');
    mkdirSync(project);
    writeFileSync(join(project, 'inventory.yml'), 'all:\n  hosts:\n    box:\n      ansible_connection: local\n');
    writeFileSync(
      join(project, 'site.yml'),
      `- hosts: all
  vars:
    dest: ${JSON.stringify(dest)}
  tasks:
    - name: a directory
      file: { path: "{{ dest }}", state: directory, mode: "0755" }
    - name: a file
      copy: { content: "hello from {{ inventory_hostname }}\\n", dest: "{{ dest }}/greeting", mode: "0644" }
      when: inventory_hostname == "box"
`,
    );
    const syntax = run(bin, ['site.yml', '-i', 'inventory.yml', '--syntax-check'], project);
    expect(syntax.code, syntax.out).toBe(0);

    const check = run(bin, ['site.yml', '-i', 'inventory.yml', '--check'], project);
    expect(check.code, check.out).toBe(0);
    expect(check.out).toMatch(/box\s+:\s+ok=\d+\s+changed=2\b/);
    expect(existsSync(dest)).toBe(false);

    const real = run(bin, ['site.yml', '-i', 'inventory.yml'], project);
    expect(real.code, real.out).toBe(0);
    expect(readFileSync(join(dest, 'greeting'), 'utf8')).toBe('hello from box\n');
  });
});
