/**
 * tsplay against Ansible (Debian's 2.14, the newest ansible-core, that one with Mitogen) and
 * pyinfra on the same real hosts, and against the floors (bench/README.md).
 *
 *   node --import tsx bench/run.ts --hosts 10 [--runs 3] [--rtt MS] [--proxy] [--network loopback|bridge]
 *        [--first I] [--tools tsplay,ansible,ansible-new,mitogen,pyinfra] [--max-load 1.0]
 *        [--tsplay-dir DIR] [--no-build] [--no-write] [--boot-probe 10,20]
 *
 * For each repetition, for each tool and the first-run floor (order rotated per repetition, tsplay
 * first in the first): boot fresh test hosts, run the tool's first run, check what it left on the
 * hosts against tsplay's, then the converged re-run and check mode, then the floor; figures are
 * medians. --rtt puts a latency proxy between the controller and every host (latency.ts).
 * Writes bench/results/hosts-N-rttR.json and the generated part of bench/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cacheDir } from '../test/hosts/harness.js';
import { ensureControllerFiles, checkLatency, load1, tail, tsplayVersion, waitForLoad } from './lib/controller.js';
import { stageFirstFloor } from './lib/first-floor.js';
import { bootBench, checkRange, RANGES, type Network } from './lib/hosts.js';
import { ensureTools, firstLine, mitogenStrategyDir, toolVersions } from './lib/install.js';
import { ensureToxiproxy, LatencyProxy, TOXIPROXY_VERSION } from './lib/latency.js';
import { measure } from './lib/measure.js';
import { renderReport, resultsName, writeResults, type Results } from './lib/report.js';
import { probeBoot } from './lib/scale.js';
import { changedHosts, invocation, type BenchHosts, type Context, type Phase, type ToolName } from './lib/tools.js';
import { compare, looksFresh, snapshot, type Snapshot } from './lib/verify.js';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.dirname(BENCH);
const PHASES: Phase[] = ['first', 'converged', 'check'];
const PEERS: ToolName[] = ['tsplay', 'ansible', 'ansible-new', 'mitogen', 'pyinfra'];

const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);

function fail(message: string): never {
  log(`error: ${message}`);
  process.exit(1);
}

/** Boot fresh hosts; a range that already holds managed files is booted again once. */
async function freshHosts(boot: () => ReturnType<typeof bootBench>): ReturnType<typeof bootBench> {
  let booted = await boot();
  for (let attempt = 1; ; attempt++) {
    // Seen once at 50 hosts: one host already held the managed files right after boot.
    const stale = looksFresh(await snapshot(booted.hosts, BENCH), BENCH);
    if (!stale.length) return booted;
    await booted.t.stop();
    if (attempt > 1) throw new Error(`hosts are not fresh after a reboot:\n  ${stale.join('\n  ')}`);
    log(`  hosts not fresh (${stale[0]}, ...): booting the range again`);
    booted = await boot();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string', default: '10' },
      runs: { type: 'string', default: '3' },
      first: { type: 'string' },
      tools: { type: 'string', default: PEERS.join(',') },
      rtt: { type: 'string', default: '0' },
      proxy: { type: 'boolean', default: false },
      network: { type: 'string' },
      'boot-probe': { type: 'string' },
      'max-load': { type: 'string' },
      'tsplay-dir': { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]!.replace(/^\/\*\*?/, '').replace(/^ \* ?/gm, '') + '\n');
    return;
  }
  const count = Number(values.hosts);
  const runs = Number(values.runs);
  const rttMs = Number(values.rtt);
  // More than 50 hosts do not fit the bench's loopback range: they get a bridge of their own.
  const network = (values.network ?? (count > RANGES.loopback.max - RANGES.loopback.min + 1 ? 'bridge' : 'loopback')) as Network;
  if (!(network in RANGES)) fail(`--network must be loopback or bridge`);
  const first = Number(values.first ?? RANGES[network].min);
  const tools = values.tools.split(',').map((s) => s.trim()) as ToolName[];
  if (!Number.isInteger(count) || count < 1) fail('--hosts must be a positive integer');
  if (!Number.isInteger(runs) || runs < 1) fail('--runs must be a positive integer');
  if (!Number.isFinite(rttMs) || rttMs < 0 || rttMs % 2) fail('--rtt must be an even number of milliseconds (half goes each way)');
  for (const t of tools) if (!PEERS.includes(t)) fail(`unknown tool ${t}; choose from ${PEERS.join(', ')}`);
  if (process.getuid?.() !== 0) fail('the test hosts need root (systemd-nspawn)');
  const cache = path.join(cacheDir(), 'bench');

  if (values['boot-probe']) {
    const counts = values['boot-probe'].split(',').map(Number);
    for (const c of counts) {
      const bad = checkRange(network, first, c);
      if (bad) fail(`--boot-probe ${c}: ${bad}`);
    }
    process.stdout.write(`${await probeBoot({ counts, first, network, target: count, bench: BENCH, log })}\n`);
    return;
  }
  const bad = checkRange(network, first, count);
  if (bad) fail(bad);

  const venvs = ensureTools(tools, cache, log);
  const { caSrc, kubeletSrc } = await ensureControllerFiles(cache, log);
  // Another checkout (e.g. a clean export of a commit) can be measured with --tsplay-dir.
  const tsplayDir = path.resolve(values['tsplay-dir'] ?? REPO);
  if (tools.includes('tsplay') && !values['no-build']) {
    // npm run build: tsc, then the precompiled argument schemas a run loads instead of compiling.
    log(`building tsplay in ${tsplayDir} (npm run build)`);
    execFileSync('npm', ['run', 'build'], { cwd: tsplayDir, stdio: 'inherit' });
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const logDir = path.join(cache, 'logs', `${stamp}-h${count}-rtt${rttMs}`);
  mkdirSync(logDir, { recursive: true });
  log(`logs: ${logDir}`);
  const proxy = rttMs > 0 || values.proxy ? await LatencyProxy.start(ensureToxiproxy(cache, log), rttMs, path.join(logDir, 'toxiproxy.log'), log) : undefined;
  const staging = await fs.mkdtemp(path.join(os.tmpdir(), 'tsb-first-floor-'));
  try {
    if (values['max-load'] !== undefined) await waitForLoad(Number(values['max-load']), log);
    const results: Results = {
      date: new Date().toISOString(),
      hosts: count,
      runs,
      rttMs,
      proxied: !!proxy,
      network,
      machine: {
        nproc: os.availableParallelism(),
        memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
        cpu: os.cpus()[0]?.model ?? 'unknown',
        kernel: os.release(),
        loadAtStart: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      },
      versions: {
        tsplay: tsplayVersion(tsplayDir, REPO),
        node: process.version,
        ...toolVersions(tools, venvs),
        openssh: firstLine('ssh', ['-V']),
        ...(proxy ? { toxiproxy: `toxiproxy ${TOXIPROXY_VERSION}` } : {}),
      },
      tools: [...tools, 'first-floor'],
      samples: [],
      loads: [],
    };
    const strategyDir = tools.includes('mitogen') ? mitogenStrategyDir(venvs.ansible) : '';
    const ctxBase = { repo: REPO, tsplayDir, bench: BENCH, cache, caSrc, kubeletSrc, venv: venvs.pyinfra, ansibleVenv: venvs.ansible, mitogenStrategyDir: strategyDir, staging };
    let reference: { tool: ToolName; snap: Snapshot } | undefined;
    let staged = false;
    let seq = 0;
    for (let rep = 0; rep < runs; rep++) {
      const order = results.tools.map((_, i) => results.tools[(i + rep) % results.tools.length]!);
      for (const tool of order) {
        log(`run ${rep + 1}/${runs}: ${tool} on ${count} fresh host(s)${proxy ? ` through the latency proxy (${rttMs} ms RTT)` : ''}`);
        const { t, hosts } = await freshHosts(() => bootBench({ first, count, network, proxy, log }));
        try {
          if (!staged) {
            stageFirstFloor(staging, BENCH, hosts.hosts, { caSrc, kubeletSrc });
            staged = true;
          }
          if (proxy && results.measuredRttMs === undefined) Object.assign(results, await checkLatency(hosts, proxy, log));
          const steps: Array<{ who: ToolName; phase: Phase; label: string }> =
            tool === 'first-floor'
              ? [{ who: tool, phase: 'first', label: 'first' }]
              : [...PHASES.map((phase) => ({ who: tool, phase, label: phase })), { who: 'floor', phase: 'converged', label: 'floor' }];
          for (const { who, phase, label } of steps) {
            const id = `${String(++seq).padStart(3, '0')}-r${rep + 1}-${who}-${label}`;
            await step({ id, who, phase, label, hosts, ctx: { ...ctxBase, runTmp: '' }, results, rep, proxy, logDir, count });
            if (phase === 'first') {
              const snap = await snapshot(hosts, BENCH);
              if (!reference) {
                reference = { tool: who, snap };
                if (who !== 'tsplay') log(`  (no tsplay run yet: ${who}'s result is the reference)`);
              } else {
                const diffs = compare(reference.snap, snap);
                if (diffs.length) throw new Error(`after ${who}'s first run the hosts differ from after ${reference.tool}'s:\n  ${diffs.slice(0, 30).join('\n  ')}`);
                log(`  ${who}'s first run left the same files, modes and unit states as ${reference.tool}'s`);
              }
            }
          }
        } finally {
          await t.stop();
        }
        // the samples so far, should a later run fail
        writeFileSync(path.join(logDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
      }
    }
    results.loads = results.loads.map((l) => Math.round(l * 100) / 100);
    const report = renderReport(results);
    process.stdout.write(`\n${report}\n`);
    writeFileSync(path.join(logDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    if (!values['no-write']) {
      writeResults(BENCH, results, report);
      log(`wrote bench/RESULTS.md and bench/results/${resultsName(results)}.json`);
    }
    log(`logs and raw results: ${logDir}`);
  } finally {
    await proxy?.stop();
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/** One measured run of one tool (or floor) in one phase, checked for what it must report. */
async function step(s: {
  id: string;
  who: ToolName;
  phase: Phase;
  label: string;
  hosts: BenchHosts;
  ctx: Context;
  results: Results;
  rep: number;
  proxy: LatencyProxy | undefined;
  logDir: string;
  count: number;
}): Promise<void> {
  // short: Ansible's ControlPath sockets live here, and a unix socket path has ~100 bytes
  const runTmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tsb-'));
  const inv = invocation(s.who, s.phase, s.hosts, { ...s.ctx, runTmp });
  const load = load1();
  s.results.loads.push(load);
  const proxyBefore = s.proxy?.cpuS() ?? NaN;
  const m = await measure({ id: s.id, ...inv, hostCgroups: s.hosts.cgroups, logFile: path.join(s.logDir, `${s.id}.log`) });
  const proxyCpuS = (s.proxy?.cpuS() ?? NaN) - proxyBefore;
  await fs.rm(runTmp, { recursive: true, force: true });
  if (m.code !== 0) throw new Error(`${s.who} ${s.label} exited ${m.code}; ${m.logFile}:\n${tail(m.logFile)}`);
  if (s.who !== 'floor' && s.who !== 'first-floor') {
    const changed = changedHosts(s.who, m.logFile);
    if (s.phase === 'first' && changed.length !== s.count) throw new Error(`${s.who}'s first run changed ${changed.length} of ${s.count} hosts; ${m.logFile}`);
    if (s.phase !== 'first' && changed.length) throw new Error(`${s.who}'s ${s.phase} run reported changes on ${changed.join(', ')}: the hosts were converged; ${m.logFile}`);
  }
  const { wallS, cpuS, timeCpuS, memMB, treeRssPeakMB, largestRssMB, leftBehind, hostCpuS } = m;
  s.results.samples.push({ tool: s.who, phase: s.phase, rep: s.rep, wallS, cpuS, timeCpuS, memMB, treeRssPeakMB, largestRssMB, leftBehind, hostCpuS, proxyCpuS, load });
  const proxyNote = s.proxy ? `  proxy cpu ${proxyCpuS.toFixed(2)} s` : '';
  log(`  ${s.who.padEnd(11)} ${s.label.padEnd(9)} wall ${wallS.toFixed(2)} s  cpu ${cpuS.toFixed(2)} s  host cpu ${hostCpuS.toFixed(2)} s  mem ${memMB.toFixed(0)} MB${proxyNote}  (load ${load})`);
}

main().catch((e: unknown) => {
  log(`error: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
