/**
 * Host-module integration tests: real test hosts (test/hosts/harness.ts, indices 41-49 are this
 * suite's), the built CLI (dist/) over real SSH, playbooks written to a temp dir.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bootHosts, DEPLOY_PASSWORD, ensureHostTools, ensureImage, sshExec, type TestHosts } from '../../hosts/harness.js';
import { CLI, recap, ROOT, tsplay, type CliRun } from '../../helpers/cli.js';

const run = promisify(execFile);

export const FIRST = 41;
export const LAST = 49;

/** Boot one host of this suite's range; each test file owns its own index. */
export async function bootHost(index: number): Promise<TestHosts> {
  if (index < FIRST || index > LAST) throw new Error(`the module tests own host indices ${FIRST}-${LAST} only`);
  await ensureHostTools();
  await ensureImage();
  return bootHosts({ first: index, count: 1, prefix: 'mods' });
}

let built: Promise<void> | undefined;
/**
 * `npm run build` (the engine into dist/, as users get it) once per worker, serialised across
 * workers by a lock directory, so a test file run on its own never tests a stale dist/. tsc still
 * emits when a file has a type error; that is reported, not fatal, while cli.js exists.
 */
export function ensureBuilt(): Promise<void> {
  built ??= (async () => {
    const lock = join(tmpdir(), 'tsplay-module-tests-build.lock');
    const deadline = Date.now() + 300_000;
    for (;;) {
      try {
        mkdirSync(lock);
        break;
      } catch {
        // A lock older than 5 minutes was left by a killed run.
        if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0) > 300_000) rmSync(lock, { recursive: true, force: true });
        if (Date.now() > deadline) throw new Error(`build lock ${lock} held too long`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    try {
      // Already built from these sources (npm test builds first): leave dist/ alone, other test
      // files may be running the CLI from it.
      if (distIsFresh()) return;
      await run('npm', ['run', 'build'], { cwd: ROOT, maxBuffer: 16 << 20 }).catch((err: { stdout?: string }) => {
        if (!existsSync(CLI)) throw err;
        process.stderr.write(`tsc reported errors (dist/ was still emitted):\n${err.stdout ?? ''}\n`);
      });
    } finally {
      rmdirSync(lock);
    }
  })();
  return built;
}

/** dist/engine/cli.js is newer than every engine source file. */
function distIsFresh(): boolean {
  const built = statSync(CLI, { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return false;
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') || e.name.endsWith('.json') ? statSync(p).mtimeMs : 0);
    }, 0);
  return newest(join(ROOT, 'engine')) < built;
}

export interface PlayRun extends CliRun {
  /** The host's PLAY RECAP counters. */
  stats: Record<string, number>;
  changed: number;
  failed: number;
}

/**
 * Write a one-play playbook with these tasks (YAML text, already indented for a task list) and run it.
 * `asDeploy`: log in as `deploy` and become root with its sudo password instead of logging in as root.
 */
export async function play(t: TestHosts, tasks: string, flags: string[] = [], opts: { asDeploy?: boolean } = {}): Promise<PlayRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tsplay-mod-'));
  try {
    const file = join(dir, 'play.yml');
    writeFileSync(file, `- name: module test\n  hosts: all\n  tasks:\n${tasks.replace(/^(?=.)/gm, '    ')}\n`);
    let inventory = t.inventoryFile;
    if (opts.asDeploy) {
      inventory = join(dir, 'inventory.yml');
      const text = readFileSync(t.inventoryFile, 'utf8').replace(/ansible_user: root/g, `ansible_user: deploy\n      ansible_become: true\n      ansible_become_password: ${DEPLOY_PASSWORD}`);
      writeFileSync(inventory, text);
    }
    const res = await tsplay([file, '-i', inventory, ...flags]);
    const stats = Object.values(recap(res.stdout))[0] ?? {};
    return { ...res, stats, changed: stats.changed ?? -1, failed: stats.failed ?? -1 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Run a shell command on the host as root; its stdout, or an error with stderr. */
export async function sh(t: TestHosts, command: string): Promise<string> {
  const idx = t.hosts[0]!.index;
  const res = await sshExec(t, idx, command);
  if (res.code !== 0) throw new Error(`ssh ${command} -> exit ${res.code}: ${res.stderr}`);
  return res.stdout;
}

/** sha256 (or "absent") of each path plus extra state lines: what a check run must leave alone. */
export function snapshot(t: TestHosts, paths: string[], extra = ''): Promise<string> {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const files = paths.map((p) => `if [ -e ${q(p)} ]; then sha256sum ${q(p)}; else echo "absent ${p}"; fi`).join('\n');
  return sh(t, `${files}\n${extra}`);
}

/** The diff and summary lines the CLI printed, for assertions that read like the output. */
export function lines(out: string): string[] {
  return out.split('\n').map((l) => l.replace(/^\S+Z /, ''));
}
