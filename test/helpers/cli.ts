/** Run the built CLI (dist/) as a user would, capturing every byte it writes. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, lstatSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/engine/cli.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function tsplay(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, NO_COLOR: '1', ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** PLAY RECAP counters per host. */
export function recap(stdout: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const start = stdout.lastIndexOf('PLAY RECAP');
  if (start < 0) return out;
  for (const line of stdout.slice(start).split('\n').slice(1)) {
    const m = /^(\S+)\s+:\s+(.*)$/.exec(line);
    if (!m) continue;
    out[m[1]!] = Object.fromEntries([...m[2]!.matchAll(/(\w+)=(\d+)/g)].map((x) => [x[1]!, Number(x[2])]));
  }
  return out;
}

export function totalChanged(stdout: string): number {
  return Object.values(recap(stdout)).reduce((n, s) => n + (s.changed ?? 0), 0);
}

/** "changed: [host] title" lines, as a sorted list, for comparing a check run with a real one. */
export function changedTasks(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => /(?:^|Z )changed: \[([^\]]+)\] (.*?)(?: \(would run: .*\))?$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]}`)
    .sort();
}

/** A hash of a directory tree: names, modes, link targets and contents. */
export function hashTree(dir: string): string {
  const h = createHash('sha256');
  const walk = (p: string, rel: string): void => {
    const st = lstatSync(p);
    h.update(`${rel}\0${st.mode}\0`);
    if (st.isSymbolicLink()) h.update(readlinkSync(p));
    else if (st.isDirectory()) for (const name of readdirSync(p).sort()) walk(join(p, name), `${rel}/${name}`);
    else h.update(readFileSync(p));
  };
  walk(dir, '.');
  return h.digest('hex');
}
