/**
 * What one controller process costs per host: converged runs of the fleet playbook (8 tasks per
 * host: file, template, copy, link, assert ...) on 1, 10, 25 and 50 real test hosts, and the 50
 * split in 4 shards run at once. Each tsplay process reports its own getrusage (CPU time, peak
 * RSS) and its peak open sockets (rusage-hook.mjs). The figures feed README "Sharding".
 *
 *   npm run build && node --import tsx test/shard/measure.ts [--reps 3] [--json out.json]
 *
 * Needs root (test hosts 160-199 and 207-216; not while test/shard/hosts.test.ts runs).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, ROOT } from '../helpers/cli.js';
import { bootFleet } from './fleet.js';

interface Usage {
  userMs: number;
  systemMs: number;
  maxRssMB: number;
  peakSockets: number;
  wallMs: number;
}

const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, json: { type: 'string' } } });
const reps = Number(values.reps);
const HOOK = join(ROOT, 'test/shard/rusage-hook.mjs');
const log = (m: string): void => void process.stderr.write(`[measure] ${m}\n`);

function tsplay(args: string[], out: string): Promise<{ code: number | null; usage: Usage; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', HOOK, CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', TSPLAY_RUSAGE_OUT: out }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, usage: JSON.parse(readFileSync(out, 'utf8')) as Usage }));
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsplay-measure-'));
  const t0 = Date.now();
  const fleet = await bootFleet(dir, log);
  log(`50 hosts up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const rows: Array<{ label: string; hosts: number; procs: number; cpuMs: number; rssMB: number; sockets: number; wallMs: number }> = [];
  try {
    const base = [fleet.playbook, '-i', fleet.inventory];
    const first = await tsplay(base, join(dir, 'converge.json'));
    if (first.code !== 0) throw new Error(`converging run failed (${first.code}):\n${first.stdout.slice(-3000)}`);
    log(`converged 50 hosts: ${(first.usage.wallMs / 1000).toFixed(1)} s`);
    for (const n of [1, 10, 25, 50]) {
      const limit = fleet.names.slice(0, n).join(':');
      const samples: Usage[] = [];
      for (let r = 0; r < reps; r++) {
        const run = await tsplay([...base, '-l', limit], join(dir, `u-${n}-${r}.json`));
        if (run.code !== 0 || !/changed=0/.test(run.stdout) || /changed=[1-9]/.test(run.stdout)) throw new Error(`run on ${n} hosts is not a converged run:\n${run.stdout.slice(-3000)}`);
        samples.push(run.usage);
      }
      rows.push({ label: `1 process, ${n} host(s)`, hosts: n, procs: 1, cpuMs: median(samples.map((s) => s.userMs + s.systemMs)), rssMB: median(samples.map((s) => s.maxRssMB)), sockets: median(samples.map((s) => s.peakSockets)), wallMs: median(samples.map((s) => s.wallMs)) });
      log(JSON.stringify(rows.at(-1)));
    }
    const shardSamples: Usage[][] = [];
    for (let r = 0; r < reps; r++) {
      const started = Date.now();
      const runs = await Promise.all([0, 1, 2, 3].map((i) => tsplay([...base, '--shard', `${i}/4`], join(dir, `s-${i}-${r}.json`))));
      if (runs.some((x) => x.code !== 0)) throw new Error('a shard failed');
      shardSamples.push(runs.map((x) => ({ ...x.usage, wallMs: Date.now() - started })));
    }
    const sum = (u: Usage[], f: (x: Usage) => number): number => u.reduce((a, x) => a + f(x), 0);
    rows.push({
      label: '4 shards at once, 50 hosts',
      hosts: 50,
      procs: 4,
      cpuMs: median(shardSamples.map((u) => sum(u, (x) => x.userMs + x.systemMs))),
      rssMB: median(shardSamples.map((u) => sum(u, (x) => x.maxRssMB))),
      sockets: median(shardSamples.map((u) => sum(u, (x) => x.peakSockets))),
      wallMs: median(shardSamples.map((u) => u[0]!.wallMs)),
    });
  } finally {
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  // Marginal cost per host: least squares over the single-process rows with 10..50 hosts.
  const pts = rows.filter((r) => r.procs === 1 && r.hosts >= 10);
  const fit = (f: (r: (typeof rows)[number]) => number): { perHost: number; fixed: number } => {
    const mx = pts.reduce((a, r) => a + r.hosts, 0) / pts.length;
    const my = pts.reduce((a, r) => a + f(r), 0) / pts.length;
    const perHost = pts.reduce((a, r) => a + (r.hosts - mx) * (f(r) - my), 0) / pts.reduce((a, r) => a + (r.hosts - mx) ** 2, 0);
    return { perHost, fixed: my - perHost * mx };
  };
  const cpu = fit((r) => r.cpuMs);
  const rss = fit((r) => r.rssMB);
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}; the test hosts run on the same cores`;
  const table = [
    `Converged runs, ${reps} each (median), 8 tasks per host. Machine: ${machine}.`,
    '',
    '| run | controller CPU (user+sys) | peak RSS | peak sockets | wall |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.label} | ${(r.cpuMs / 1000).toFixed(2)} s | ${r.rssMB.toFixed(0)} MB | ${r.sockets} | ${(r.wallMs / 1000).toFixed(1)} s |`),
    '',
    `Per host (slope over 10/25/50 hosts): ${cpu.perHost.toFixed(1)} ms CPU (${(cpu.perHost / 8).toFixed(1)} ms per task), ${(rss.perHost * 1024).toFixed(0)} KB RSS; fixed: ${(cpu.fixed / 1000).toFixed(2)} s CPU, ${rss.fixed.toFixed(0)} MB.`,
  ].join('\n');
  process.stdout.write(table + '\n');
  if (values.json) writeFileSync(values.json, JSON.stringify({ machine, reps, rows, cpu, rss }, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
