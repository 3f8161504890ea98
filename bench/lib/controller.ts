/** The controller side of a bench run: its input files, its load, the measured commit, the proxy check. */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Log } from './install.js';
import { measureRoundTrip, type LatencyProxy } from './latency.js';
import type { BenchHosts } from './tools.js';

const KUBELET_BYTES = 50 * 1024 * 1024;

/** The controller files, made once: a small CA certificate and 50 MiB of random bytes. */
export async function ensureControllerFiles(dir: string, log: Log): Promise<{ caSrc: string; kubeletSrc: string }> {
  mkdirSync(dir, { recursive: true });
  const caSrc = path.join(dir, 'ca.crt');
  if (!existsSync(caSrc)) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=tsplay-bench-ca', '-days', '3650', '-keyout', path.join(dir, 'ca.key'), '-out', caSrc], { stdio: 'ignore' });
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

/** The commit measured; a checkout without .git (an export) says so via BENCH_TSPLAY_COMMIT. */
export function tsplayVersion(dir: string, repo: string): string {
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' });
  if (git.status !== 0 || (path.resolve(dir) !== path.resolve(repo) && !existsSync(path.join(dir, '.git')))) {
    return process.env.BENCH_TSPLAY_COMMIT ? `${process.env.BENCH_TSPLAY_COMMIT} (a clean export of that commit, built with npm run build)` : `(the build in ${dir})`;
  }
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'engine'], { cwd: dir, encoding: 'utf8' }).trim();
  return `${git.stdout.trim()}${dirty ? ' (with uncommitted engine changes)' : ''}`;
}

export function load1(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

export async function waitForLoad(max: number, log: Log): Promise<void> {
  const deadline = Date.now() + 10 * 60_000;
  while (load1() > max && Date.now() < deadline) {
    log(`load average ${load1()} > ${max}: waiting`);
    await new Promise((r) => setTimeout(r, 15_000));
  }
  if (load1() > max) log(`load average still ${load1()} after 10 min: going on (it is recorded)`);
}

export function tail(file: string, n = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).map((l) => (l.length > 400 ? `${l.slice(0, 400)}...` : l)).join('\n');
  } catch {
    return '(no log)';
  }
}

/** `ssh HOST true`, fastest of 7: the least disturbed by other load (the cores are shared). */
function sshTrueMs(hosts: BenchHosts, address: string, port: number, knownHostsFile: string): number {
  const xs: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    execFileSync('ssh', ['-F', '/dev/null', '-p', String(port), '-i', hosts.keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-o', 'ControlPath=none', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHostsFile}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `root@${address}`, 'true'], { stdio: 'ignore' });
    xs.push(performance.now() - t0);
  }
  return Math.min(...xs);
}

/**
 * Once per bench under a proxy: one SSH round trip measured on the wire through the first host's
 * proxy, and `ssh HOST true` direct and through it (strict host key checking both ways), so the
 * log shows what the proxy adds: about (round trips of an ssh login) x RTT.
 */
export async function checkLatency(hosts: BenchHosts, proxy: LatencyProxy, log: Log): Promise<{ measuredRttMs: number; sshTrueDirectMs: number; sshTrueProxiedMs: number }> {
  const h = hosts.hosts[0]!;
  const d = hosts.direct.hosts[0]!;
  const measuredRttMs = await measureRoundTrip(h.port);
  const sshTrueDirectMs = sshTrueMs(hosts, d.address, d.port, hosts.direct.knownHostsFile);
  const sshTrueProxiedMs = sshTrueMs(hosts, h.address, h.port, hosts.knownHostsFile);
  const trips = proxy.rttMs > 0 ? ` = ${((sshTrueProxiedMs - sshTrueDirectMs) / proxy.rttMs).toFixed(1)} x RTT` : '';
  log(`latency proxy: one round trip ${measuredRttMs.toFixed(1)} ms (set: ${proxy.rttMs} ms); ssh ${d.name} true: direct ${sshTrueDirectMs.toFixed(0)} ms, through the proxy ${sshTrueProxiedMs.toFixed(0)} ms (+${(sshTrueProxiedMs - sshTrueDirectMs).toFixed(0)} ms${trips})`);
  return { measuredRttMs, sshTrueDirectMs, sshTrueProxiedMs };
}
