/**
 * --boot-probe 10,20: what booting more hosts costs here, before trying 200. Boots each count in
 * turn (fresh, nothing run on them), lets them settle, reads what the hosts hold (the summed PSS
 * of every process in their cgroups, and their tmpfs mounts) and the machine's MemAvailable drop,
 * then stops them. From the step it fits memory and boot time per host and says whether the
 * --hosts target fits, leaving room for the tools (their peak memory per host at the largest size
 * in bench/results/). Not counted: the kernel's share per host (namespaces, page tables, slab),
 * which only MemAvailable sees, and the page cache of the files a first run writes (reclaimable).
 */
import { existsSync, readFileSync, readdirSync, statfsSync } from 'node:fs';
import * as path from 'node:path';
import { cacheDir } from '../../test/hosts/harness.js';
import { bootBench, type Network } from './hosts.js';
import type { Log } from './install.js';
import { linearFit } from './growth.js';
import { med, NAMES, type Results } from './results.js';
import type { BenchHosts, ToolName } from './tools.js';
import { ssh } from './verify.js';

function meminfo(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) / 1024; // MiB
  }
  return out;
}

const signed = (x: number): string => `${x >= 0 ? '+' : '-'}${Math.abs(x).toFixed(0)}`;

function pidsUnder(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string): void => {
    try {
      for (const p of readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (p) out.push(Number(p));
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    } catch {
      /* gone meanwhile */
    }
  };
  walk(dir);
  return out;
}

/** Proportional set size, MiB: shared pages split between the processes that map them. */
function pssMiB(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export interface BootProbe {
  hosts: number;
  bootS: number;
  memAvailableDropMiB: number;
  pssMiB: number;
  /** what the hosts hold in their own tmpfs mounts (/run, /dev/shm, ...): memory no process maps */
  tmpfsMiB: number;
  processes: number;
}

/** Used KiB of every tmpfs inside each host, summed, MiB. */
async function tmpfsMiB(hosts: BenchHosts): Promise<number> {
  const kib = await Promise.all(
    hosts.direct.hosts.map(async (h) => {
      const out = await ssh(hosts, h.address, 'df -k --output=used -t tmpfs | tail -n +2');
      return out.split('\n').reduce((s, l) => s + (Number(l.trim()) || 0), 0);
    }),
  );
  return kib.reduce((s, k) => s + k, 0) / 1024;
}

export async function probeBoot(opts: { counts: number[]; first: number; network: Network; target: number; bench: string; log: Log }): Promise<string> {
  const rows: BootProbe[] = [];
  for (const count of opts.counts) {
    const before = meminfo().MemAvailable!;
    const started = Date.now();
    const { t, hosts } = await bootBench({ first: opts.first, count, network: opts.network, log: opts.log });
    const bootS = (Date.now() - started) / 1000;
    try {
      // let the hosts' boot jobs finish (journald flushes, systemd's idle jobs) before reading
      await new Promise((r) => setTimeout(r, 15_000));
      const pids = hosts.cgroups.flatMap(pidsUnder);
      const row = { hosts: count, bootS, memAvailableDropMiB: before - meminfo().MemAvailable!, pssMiB: pids.reduce((s, p) => s + pssMiB(p), 0), tmpfsMiB: await tmpfsMiB(hosts), processes: pids.length };
      rows.push(row);
      opts.log(`boot probe: ${count} hosts up in ${bootS.toFixed(1)} s; PSS of their ${row.processes} processes ${row.pssMiB.toFixed(0)} MiB, their tmpfs ${row.tmpfsMiB.toFixed(0)} MiB; MemAvailable ${signed(-row.memAvailableDropMiB)} MiB`);
    } finally {
      await t.stop();
    }
  }
  return render(rows, opts);
}

/** Every results file (round 2's hosts-N.json too), largest size first. */
function largestResults(bench: string): Results | undefined {
  const dir = path.join(bench, 'results');
  if (!existsSync(dir)) return undefined;
  const all = readdirSync(dir)
    .filter((f) => /^hosts-\d+.*\.json$/.test(f))
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Results);
  return all.sort((a, b) => b.hosts - a.hosts)[0];
}

function render(rows: BootProbe[], opts: { target: number; network: Network; bench: string }): string {
  const xs = rows.map((r) => r.hosts);
  const fit = (ys: number[]): { a: number; b: number } => (rows.length >= 2 ? linearFit(xs, ys) : { a: 0, b: ys[0]! / xs[0]! });
  const mem = fit(rows.map((r) => r.memAvailableDropMiB));
  const own = fit(rows.map((r) => r.pssMiB + r.tmpfsMiB));
  const boot = fit(rows.map((r) => r.bootS));
  const n = opts.target;
  const info = meminfo();
  // What the hosts themselves hold: their processes' PSS and their tmpfs. MemAvailable would also
  // count the kernel's share (page tables, slab, namespaces) but moves with anything else the
  // machine runs (on a shared machine it can rise while hosts boot), so it is shown, not used.
  const perHost = own.b;
  const hostsMiB = perHost * n;
  const lines = [
    `Boot probe (${opts.network}): ${rows.map((r) => `${r.hosts} hosts: boot ${r.bootS.toFixed(1)} s, PSS ${r.pssMiB.toFixed(0)} MiB (${r.processes} processes), tmpfs ${r.tmpfsMiB.toFixed(0)} MiB, MemAvailable ${signed(-r.memAvailableDropMiB)} MiB`).join('; ')}.`,
    `Per host: ${own.b.toFixed(1)} MiB (PSS + tmpfs), ${boot.b.toFixed(2)} s of boot; MemAvailable moved ${mem.b.toFixed(1)} MiB per host (machine-wide: includes the kernel's share and whatever else runs).`,
    `At ${n} hosts: ~${hostsMiB.toFixed(0)} MiB for the idle hosts (${perHost.toFixed(1)} MiB each), boot ~${(boot.a + boot.b * n).toFixed(0)} s; MemAvailable now ${info.MemAvailable!.toFixed(0)} MiB of ${info.MemTotal!.toFixed(0)}.`,
  ];
  // The tools' own memory at n hosts, from the largest size measured (per-host figure, linear).
  const largest = largestResults(opts.bench);
  if (largest) {
    const left = info.MemAvailable! - hostsMiB;
    const fits: string[] = [];
    for (const tool of [...largest.tools, 'floor'] as ToolName[]) {
      const peak = Math.max(...(['first', 'converged', 'check'] as const).map((p) => med(largest, tool, p, 'memMB') ?? 0));
      if (!peak) continue;
      const at = (peak / largest.hosts) * n;
      fits.push(`${NAMES[tool]} ~${at.toFixed(0)} MB (${at < left * 0.8 ? 'fits' : 'does not fit'})`);
    }
    lines.push(`Controller peak memory at ${n} hosts, scaled per host from ${largest.hosts} hosts (${largest.date.slice(0, 10)}; a process tree's sum of RSS counts shared pages per process, so Ansible's is an upper bound), against the ${left.toFixed(0)} MiB left: ${fits.join(', ')}.`);
  }
  // Every first run writes the 50 MiB "kubelet" into each host's overlay upper directory.
  const cache = path.join(cacheDir(), 'hosts');
  if (existsSync(cache)) {
    const st = statfsSync(cache);
    const freeGiB = (st.bavail * st.bsize) / 2 ** 30;
    lines.push(`Disk: a first run writes ~${((n * 52) / 1024).toFixed(1)} GiB into the hosts' upper directories; ${freeGiB.toFixed(0)} GiB free under ${cache}.`);
  }
  return lines.join('\n');
}
