/**
 * Runs one command and measures it as a whole process tree:
 *   wall      /usr/bin/time %e (fork to exit of the tool)
 *   cpu       user+sys of every process the tool started, from a cgroup (cgroup v2 cpu.stat) made
 *             for this run alone. That also counts processes the tool leaves behind and never
 *             waits for (Ansible's ControlPersist ssh masters, which do all of its encryption),
 *             which getrusage/`time` cannot see; /usr/bin/time's %U+%S is kept too.
 *   memory    peak of the sum of RSS over the processes in that cgroup, sampled every 50 ms, and
 *             /usr/bin/time's %M (max RSS of the largest single process): the figure shown is
 *             the larger of the two, so a short spike of one process between samples is not lost.
 *   host CPU  user+sys spent on the test hosts during the run (sshd, shells, systemd: each host's
 *             own cgroup), which shares the machine's cores with the controller.
 * Anything still in the cgroup after the tool exited (ControlPersist masters) is stopped by pid.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

export interface Measured {
  code: number | null;
  wallS: number;
  /** cgroup user+sys (falls back to /usr/bin/time's when no cgroup could be made) */
  cpuS: number;
  /** /usr/bin/time %U + %S: the tool and the children it waited for */
  timeCpuS: number;
  /** max(sampled tree RSS peak, largest process max RSS), MB (10^6 bytes) */
  memMB: number;
  treeRssPeakMB: number;
  largestRssMB: number;
  /** pids left running in the cgroup after the tool exited (then stopped) */
  leftBehind: number;
  /** CPU the test hosts spent during the run (NaN when their cgroups cannot be read) */
  hostCpuS: number;
  logFile: string;
}

const PAGE = 4096;
let cgroupRoot: string | null | undefined;

/** `<cgroup2 mount>/tsplay-bench`, or null when there is no writable cgroup2 hierarchy. */
export function benchCgroupRoot(): string | null {
  if (cgroupRoot !== undefined) return cgroupRoot;
  cgroupRoot = null;
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, mountPoint, fstype] = line.split(' ');
    if (fstype !== 'cgroup2' || !mountPoint) continue;
    const dir = path.join(mountPoint, 'tsplay-bench');
    try {
      mkdirSync(dir, { recursive: true });
      if (existsSync(path.join(dir, 'cpu.stat'))) {
        cgroupRoot = dir;
        break;
      }
    } catch {
      /* not writable: try the next one */
    }
  }
  return cgroupRoot;
}

function readPids(cg: string): number[] {
  try {
    return readFileSync(path.join(cg, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function rssBytes(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE;
  } catch {
    return 0;
  }
}

/** Pids of `root` and all its descendants (used only when there is no cgroup). */
function treePids(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

export function cpuStat(cg: string): number {
  const text = readFileSync(path.join(cg, 'cpu.stat'), 'utf8');
  const get = (k: string): number => Number(new RegExp(`^${k} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return (get('user_usec') + get('system_usec')) / 1e6;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function emptyCgroup(cg: string): Promise<number> {
  const left = readPids(cg);
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const pids = readPids(cg);
    if (!pids.length) break;
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        /* already gone */
      }
    }
    for (let i = 0; i < 40 && readPids(cg).length; i++) await sleep(50);
  }
  try {
    rmdirSync(cg);
  } catch {
    /* still busy: left for the next sweep */
  }
  return left.length;
}

/** Sum of user+sys over the given cgroup2 directories (the test hosts'). */
export function cgroupsCpu(dirs: string[]): number {
  let sum = 0;
  for (const d of dirs) {
    try {
      sum += cpuStat(d);
    } catch {
      return NaN;
    }
  }
  return sum;
}

export interface RunSpec {
  id: string;
  /** cgroup2 directories of the test hosts, for host CPU */
  hostCgroups?: string[];
  argv: string[];
  cwd: string;
  env?: Record<string, string>;
  logFile: string;
}

export async function measure(spec: RunSpec): Promise<Measured> {
  const root = benchCgroupRoot();
  let cg: string | null = null;
  if (root) {
    cg = path.join(root, spec.id.replace(/[^A-Za-z0-9_.-]/g, '_'));
    try {
      if (existsSync(cg)) await emptyCgroup(cg);
      mkdirSync(cg);
    } catch {
      cg = null;
    }
  }
  const timeFile = `${spec.logFile}.time`;
  // sh moves itself into the cgroup, then becomes /usr/bin/time, which forks the tool.
  const wrapper = cg ? 'echo $$ > "$0/cgroup.procs" && exec "$@"' : 'exec "$@"';
  const argv = ['/usr/bin/time', '-f', '%e %U %S %M', '-o', timeFile, '--', ...spec.argv];
  const log = await fs.open(spec.logFile, 'w');
  const hostCpuBefore = cgroupsCpu(spec.hostCgroups ?? []);
  const child = spawn('/bin/sh', ['-c', wrapper, cg ?? 'sh', ...argv], {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', log.fd, log.fd],
  });
  let peak = 0;
  const sample = (): void => {
    const pids = cg ? readPids(cg) : child.pid ? treePids(child.pid) : [];
    let sum = 0;
    for (const pid of pids) sum += rssBytes(pid);
    if (sum > peak) peak = sum;
  };
  const timer = setInterval(sample, 50);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearInterval(timer);
  const hostCpuS = spec.hostCgroups?.length ? cgroupsCpu(spec.hostCgroups) - hostCpuBefore : NaN;
  await log.close();
  const cgCpu = cg ? cpuStat(cg) : undefined;
  const leftBehind = cg ? await emptyCgroup(cg) : 0;
  const [wall, user, sys, maxKb] = (await fs.readFile(timeFile, 'utf8'))
    .trim()
    .split('\n')
    .pop()!
    .split(' ')
    .map(Number);
  await fs.rm(timeFile, { force: true });
  const largest = ((maxKb ?? 0) * 1024) / 1e6;
  const tree = peak / 1e6;
  return {
    code,
    wallS: wall ?? NaN,
    cpuS: cgCpu ?? (user ?? 0) + (sys ?? 0),
    timeCpuS: (user ?? 0) + (sys ?? 0),
    memMB: Math.max(largest, tree),
    treeRssPeakMB: tree,
    largestRssMB: largest,
    leftBehind,
    hostCpuS,
    logFile: spec.logFile,
  };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
