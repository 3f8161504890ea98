/**
 * tsplay against Ansible and pyinfra on the same real hosts (bench/README.md).
 *
 *   node --import tsx bench/run.ts --hosts 10 [--runs 3] [--first 101] [--tools tsplay,ansible,pyinfra]
 *                                  [--max-load 1.0] [--tsplay-dir DIR] [--no-build] [--no-write]
 *
 * For each repetition, for each tool (order rotated per repetition, tsplay first in the first):
 * boot fresh test hosts, run the tool's first run, check what it left on the hosts against
 * tsplay's, then the converged re-run and check mode, then the floor; figures are medians.
 * Writes bench/results/hosts-N.json and the generated part of bench/RESULTS.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bootHosts, cacheDir, type HostsState, type TestHosts } from '../test/hosts/harness.js';
import { measure, type Measured } from './lib/measure.js';
import { changedHosts, invocation, type BenchHosts, type Context, type Phase, type ToolName } from './lib/tools.js';
import { compare, looksFresh, snapshot, type Snapshot } from './lib/verify.js';
import { renderReport, writeResults, type Results, type Sample } from './lib/report.js';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.dirname(BENCH);
/** The pyinfra release the bench installs into its virtualenv (BENCH_PYINFRA_VERSION overrides). */
const PYINFRA_VERSION = process.env.BENCH_PYINFRA_VERSION ?? '3.10.0';
const KUBELET_BYTES = 50 * 1024 * 1024;
const PHASES: Phase[] = ['first', 'converged', 'check'];
const PEERS: ToolName[] = ['tsplay', 'ansible', 'pyinfra'];

const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);

function fail(message: string): never {
  log(`error: ${message}`);
  process.exit(1);
}

function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  return execFileSync(cmd, args, { cwd: opts.cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

let aptUpdated = false;
function aptInstall(pkgs: string[]): void {
  log(`installing ${pkgs.join(' ')} (apt)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    aptUpdated = true;
  }
  execFileSync('apt-get', ['install', '-y', '-q', ...pkgs], { stdio: ['ignore', 'ignore', 'inherit'], env });
}

/** /usr/bin/time, ansible-core, openssl and OpenSSH from Debian; pyinfra in its own virtualenv. */
function ensureTools(tools: ToolName[], venv: string): void {
  const missing: string[] = [];
  if (!existsSync('/usr/bin/time')) missing.push('time');
  if (!has('openssl')) missing.push('openssl');
  if (!has('ssh')) missing.push('openssh-client');
  if (tools.includes('ansible') && !has('ansible-playbook')) missing.push('ansible-core');
  if (missing.length) aptInstall(missing);
  if (!tools.includes('pyinfra')) return;
  const pyinfra = path.join(venv, 'bin/pyinfra');
  const installed = existsSync(pyinfra) ? spawnSync(pyinfra, ['--version'], { encoding: 'utf8' }).stdout : '';
  if (installed.includes(`v${PYINFRA_VERSION}`)) return;
  if (!existsSync(path.join(venv, 'bin/pip'))) {
    log(`creating the pyinfra virtualenv ${venv}`);
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    if (spawnSync(python, ['-m', 'venv', venv], { stdio: 'inherit' }).status !== 0) {
      aptInstall(['python3-venv']);
      execFileSync(python, ['-m', 'venv', venv], { stdio: 'inherit' });
    }
  }
  log(`installing pyinfra==${PYINFRA_VERSION} from PyPI into ${venv}`);
  execFileSync(path.join(venv, 'bin/pip'), ['install', '-q', `pyinfra==${PYINFRA_VERSION}`], { stdio: 'inherit' });
}

/** The controller files, made once: a small CA certificate and 50 MiB of random bytes. */
async function ensureControllerFiles(dir: string): Promise<{ caSrc: string; kubeletSrc: string }> {
  mkdirSync(dir, { recursive: true });
  const caSrc = path.join(dir, 'ca.crt');
  if (!existsSync(caSrc)) {
    sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=tsplay-bench-ca', '-days', '3650', '-keyout', path.join(dir, 'ca.key'), '-out', caSrc]);
  }
  const kubeletSrc = path.join(dir, 'kubelet.bin');
  if (!existsSync(kubeletSrc) || (await fs.stat(kubeletSrc)).size !== KUBELET_BYTES) {
    log(`writing ${KUBELET_BYTES} random bytes to ${kubeletSrc} (the stand-in kubelet binary)`);
    const tmp = `${kubeletSrc}.tmp`;
    const out = createWriteStream(tmp);
    for (let left = KUBELET_BYTES; left > 0; left -= 1 << 20) {
      if (!out.write(randomBytes(Math.min(left, 1 << 20)))) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    renameSync(tmp, kubeletSrc);
  }
  return { caSrc, kubeletSrc };
}

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]!.trim();
}

/** The commit measured; a checkout without .git (an export) says so via BENCH_TSPLAY_COMMIT. */
function tsplayVersion(dir: string): string {
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' });
  if (git.status !== 0 || path.resolve(dir) !== path.resolve(REPO) && !existsSync(path.join(dir, '.git'))) {
    return process.env.BENCH_TSPLAY_COMMIT ? `${process.env.BENCH_TSPLAY_COMMIT} (a clean export of that commit, built with npm run build)` : `(the build in ${dir})`;
  }
  const dirty = sh('git', ['status', '--porcelain', '--', 'engine'], { cwd: dir });
  return `${git.stdout.trim()}${dirty ? ' (with uncommitted engine changes)' : ''}`;
}

function load1(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

async function waitForLoad(max: number): Promise<void> {
  const deadline = Date.now() + 10 * 60_000;
  while (load1() > max && Date.now() < deadline) {
    log(`load average ${load1()} > ${max}: waiting`);
    await new Promise((r) => setTimeout(r, 15_000));
  }
  if (load1() > max) log(`load average still ${load1()} after 10 min: going on (it is recorded)`);
}

async function boot(first: number, count: number): Promise<{ t: TestHosts; hosts: BenchHosts }> {
  const t = await bootHosts({ first, count, prefix: 'bench', log: (m) => log(`hosts: ${m}`) });
  const hosts: BenchHosts = {
    inventoryFile: t.inventoryFile,
    pyinfraHostsFile: path.join(t.runDir, 'pyinfra-hosts.json'),
    keyFile: t.keyFile,
    knownHostsFile: t.knownHostsFile,
    hosts: t.hosts.map((h) => ({ name: h.hostname, address: h.address, port: h.port })),
    cgroups: hostCgroups(t.stateFile),
  };
  writeFileSync(hosts.pyinfraHostsFile, JSON.stringify({ keyFile: t.keyFile, knownHostsFile: t.knownHostsFile, hosts: hosts.hosts }, null, 2));
  return { t, hosts };
}

/** The hosts' cgroup2 directories, from the harness state file (their cgroup v1 twins have no cpu.stat). */
function hostCgroups(stateFile: string): string[] {
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as HostsState;
  return state.hosts.flatMap((h) => h.cgroups.filter((d) => existsSync(path.join(d, 'cpu.stat')) && existsSync(path.join(d, 'cgroup.controllers'))));
}

function tail(file: string, n = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).map((l) => (l.length > 400 ? `${l.slice(0, 400)}...` : l)).join('\n');
  } catch {
    return '(no log)';
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string', default: '10' },
      runs: { type: 'string', default: '3' },
      first: { type: 'string', default: '101' },
      tools: { type: 'string', default: PEERS.join(',') },
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
  const first = Number(values.first);
  const tools = values.tools.split(',').map((s) => s.trim()) as ToolName[];
  if (!Number.isInteger(count) || count < 1 || count > 50) fail('--hosts must be 1..50 (the bench owns indices 101-150)');
  if (!Number.isInteger(runs) || runs < 1) fail('--runs must be a positive integer');
  if (first < 101 || first + count - 1 > 150) fail('the bench uses host indices 101-150');
  for (const t of tools) if (!PEERS.includes(t)) fail(`unknown tool ${t}; choose from ${PEERS.join(', ')}`);
  if (process.getuid?.() !== 0) fail('the test hosts need root (systemd-nspawn)');

  const cache = path.join(cacheDir(), 'bench');
  const venv = path.join(cache, 'venv');
  ensureTools(tools, venv);
  const { caSrc, kubeletSrc } = await ensureControllerFiles(cache);
  // Another checkout (e.g. a clean export of a commit) can be measured with --tsplay-dir.
  const tsplayDir = path.resolve(values['tsplay-dir'] ?? REPO);
  if (tools.includes('tsplay') && !values['no-build']) {
    // npm run build: tsc, then the precompiled argument schemas a run loads instead of compiling.
    log(`building tsplay in ${tsplayDir} (npm run build)`);
    execFileSync('npm', ['run', 'build'], { cwd: tsplayDir, stdio: 'inherit' });
  }
  if (values['max-load'] !== undefined) await waitForLoad(Number(values['max-load']));

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const logDir = path.join(cache, 'logs', `${stamp}-h${count}`);
  mkdirSync(logDir, { recursive: true });
  log(`logs: ${logDir}`);

  const results: Results = {
    date: new Date().toISOString(),
    hosts: count,
    runs,
    machine: {
      nproc: os.availableParallelism(),
      memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      kernel: os.release(),
      loadAtStart: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    },
    versions: {
      tsplay: tsplayVersion(tsplayDir),
      node: process.version,
      ansible: tools.includes('ansible') ? firstLine('ansible-playbook', ['--version']) : '',
      pyinfra: tools.includes('pyinfra') ? firstLine(path.join(venv, 'bin/pyinfra'), ['--version']) : '',
      openssh: firstLine('ssh', ['-V']),
    },
    tools,
    samples: [],
    loads: [],
  };

  let reference: { tool: ToolName; snap: Snapshot } | undefined;
  let seq = 0;
  for (let rep = 0; rep < runs; rep++) {
    const order = tools.map((_, i) => tools[(i + rep) % tools.length]!);
    for (const tool of order) {
      log(`run ${rep + 1}/${runs}: ${tool} on ${count} fresh host(s)`);
      let { t, hosts } = await boot(first, count);
      // Seen once at 50 hosts: one host already held the managed files right after boot. Boot the
      // range again once; a second time is an error.
      for (let attempt = 1; ; attempt++) {
        const stale = looksFresh(await snapshot(hosts, BENCH), BENCH);
        if (!stale.length) break;
        await t.stop();
        if (attempt > 1) throw new Error(`hosts are not fresh after a reboot:\n  ${stale.join('\n  ')}`);
        log(`  hosts not fresh (${stale[0]}, ...): booting the range again`);
        ({ t, hosts } = await boot(first, count));
      }
      try {
        const steps: Array<ToolName | Phase> = [...PHASES, 'floor'];
        for (const step of steps) {
          const who: ToolName = step === 'floor' ? 'floor' : tool;
          const phase: Phase = step === 'floor' ? 'converged' : (step as Phase);
          const id = `${String(++seq).padStart(3, '0')}-r${rep + 1}-${who}-${step === 'floor' ? 'floor' : phase}`;
          // short: Ansible's ControlPath sockets live here, and a unix socket path has ~100 bytes
          const runTmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tsb-'));
          const ctx: Context = { repo: REPO, tsplayDir, bench: BENCH, cache, caSrc, kubeletSrc, venv, runTmp };
          const inv = invocation(who, phase, hosts, ctx);
          const load = load1();
          results.loads.push(load);
          const m: Measured = await measure({ id, ...inv, hostCgroups: hosts.cgroups, logFile: path.join(logDir, `${id}.log`) });
          await fs.rm(runTmp, { recursive: true, force: true });
          if (m.code !== 0) throw new Error(`${who} ${phase} exited ${m.code}; ${m.logFile}:\n${tail(m.logFile)}`);
          const changed = changedHosts(who, m.logFile);
          if (who !== 'floor') {
            if (phase === 'first' && changed.length !== count) throw new Error(`${tool}'s first run changed ${changed.length} of ${count} hosts; ${m.logFile}`);
            if (phase !== 'first' && changed.length) throw new Error(`${tool}'s ${phase} run reported changes on ${changed.join(', ')}: the hosts were converged; ${m.logFile}`);
          }
          results.samples.push({ tool: who, phase, rep, wallS: m.wallS, cpuS: m.cpuS, timeCpuS: m.timeCpuS, memMB: m.memMB, treeRssPeakMB: m.treeRssPeakMB, largestRssMB: m.largestRssMB, leftBehind: m.leftBehind, hostCpuS: m.hostCpuS, load });
          log(`  ${who.padEnd(7)} ${(step === 'floor' ? 'floor' : phase).padEnd(9)} wall ${m.wallS.toFixed(2)} s  cpu ${m.cpuS.toFixed(2)} s  host cpu ${m.hostCpuS.toFixed(2)} s  mem ${m.memMB.toFixed(0)} MB  (load ${load})`);
          if (phase === 'first' && who !== 'floor') {
            const snap = await snapshot(hosts, BENCH);
            if (!reference) {
              reference = { tool, snap };
              if (tool !== 'tsplay') log(`  (no tsplay run: ${tool}'s result is the reference)`);
            } else {
              const diffs = compare(reference.snap, snap);
              if (diffs.length) throw new Error(`after ${tool}'s first run the hosts differ from after ${reference.tool}'s:\n  ${diffs.slice(0, 30).join('\n  ')}`);
              log(`  ${tool}'s first run left the same files, modes and unit states as ${reference.tool}'s`);
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
  const jsonFile = path.join(logDir, 'results.json');
  writeFileSync(jsonFile, JSON.stringify(results, null, 2) + '\n');
  if (!values['no-write']) {
    writeResults(BENCH, results, report);
    log(`wrote bench/RESULTS.md and bench/results/hosts-${count}.json`);
  }
  log(`logs and raw results: ${logDir}`);
}

main().catch((e: unknown) => {
  log(`error: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

export type { Sample };
