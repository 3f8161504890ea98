/**
 * --rtt MS: a real latency proxy between the controller and every host's sshd. Toxiproxy (built
 * from its Go module into the cache dir, no Go in the repo) runs one TCP proxy per host on
 * 127.0.0.1, each with a latency toxic of RTT/2 on the upstream and on the downstream stream, so a
 * request and its answer take RTT more. Toxiproxy timestamps each chunk as it arrives and holds it
 * for the latency (1024 chunks queue per toxic), so the delay does not cap the throughput, as on a
 * real link with a large enough TCP window. The TCP handshake itself is not delayed (the proxy
 * accepts locally): a real network would add one RTT per new connection.
 *
 * The proxy runs in its own cgroup, so its CPU (it copies every byte twice) is reported apart from
 * the tools'; it shares the machine's 2 cores with everything else.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, writeFileSync, rmdirSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Log } from './install.js';
import { benchCgroupRoot, cpuStat } from './measure.js';

export const TOXIPROXY_MODULE = 'github.com/Shopify/toxiproxy/v2';
export const TOXIPROXY_VERSION = process.env.BENCH_TOXIPROXY_VERSION ?? 'v2.12.0';

/** `go install` of toxiproxy's server into ${cache}/toxiproxy-<version>/server (once). */
export function ensureToxiproxy(cache: string, log: Log): string {
  const dir = path.join(cache, `toxiproxy-${TOXIPROXY_VERSION}`);
  const bin = path.join(dir, 'server');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  log(`building toxiproxy ${TOXIPROXY_VERSION} from its Go module (go install ${TOXIPROXY_MODULE}/cmd/server) into ${dir}`);
  execFileSync('go', ['install', `${TOXIPROXY_MODULE}/cmd/server@${TOXIPROXY_VERSION}`], {
    cwd: dir, // outside any module: go install pkg@version builds that module alone
    env: { ...process.env, GOBIN: dir, CGO_ENABLED: '0', GOFLAGS: '' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return bin;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface Upstream {
  name: string;
  address: string;
  port: number;
}

export class LatencyProxy {
  /** host name -> the proxy's port on 127.0.0.1 */
  readonly ports = new Map<string, number>();
  private constructor(
    private readonly child: ChildProcess,
    private readonly api: string,
    private readonly cgroup: string | null,
    readonly rttMs: number,
  ) {}

  static async start(bin: string, rttMs: number, logFile: string, log: Log): Promise<LatencyProxy> {
    const port = await freePort();
    const root = benchCgroupRoot();
    let cg: string | null = null;
    if (root) {
      cg = path.join(root, `toxiproxy-${process.pid}`);
      mkdirSync(cg, { recursive: true });
    }
    const fd = openSync(logFile, 'a');
    // ulimit: two sockets per connection, up to 200 hosts and Ansible's extra sessions
    const wrapper = `${cg ? 'echo $$ > "$0/cgroup.procs" && ' : ''}ulimit -n 65536 2>/dev/null; exec "$@"`;
    const child = spawn('/bin/sh', ['-c', wrapper, cg ?? 'sh', bin, '-host', '127.0.0.1', '-port', String(port)], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    closeSync(fd);
    const p = new LatencyProxy(child, `http://127.0.0.1:${port}`, cg, rttMs);
    for (let i = 0; ; i++) {
      try {
        await p.call('GET', '/version');
        break;
      } catch (e) {
        if (i > 100 || child.exitCode !== null) throw new Error(`toxiproxy did not answer on ${p.api} (${(e as Error).message}); log: ${logFile}`, { cause: e });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    log(`toxiproxy ${TOXIPROXY_VERSION} on ${p.api}: ${rttMs} ms RTT (${rttMs / 2} ms each way)`);
    return p;
  }

  private async call(method: string, url: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.api}${url}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : undefined,
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`toxiproxy ${method} ${url}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  /** One proxy per host (kept for the whole bench: the hosts' addresses do not change between boots). */
  async add(upstreams: Upstream[]): Promise<void> {
    for (const u of upstreams) {
      if (this.ports.has(u.name)) continue;
      const created = (await this.call('POST', '/proxies', { name: u.name, listen: '127.0.0.1:0', upstream: `${u.address}:${u.port}`, enabled: true })) as { listen: string };
      const port = Number(created.listen.split(':').pop());
      if (!Number.isInteger(port) || port <= 0) throw new Error(`toxiproxy gave no port for ${u.name}: ${JSON.stringify(created)}`);
      if (this.rttMs > 0) {
        for (const stream of ['upstream', 'downstream']) {
          await this.call('POST', `/proxies/${u.name}/toxics`, { name: `latency_${stream}`, type: 'latency', stream, toxicity: 1, attributes: { latency: this.rttMs / 2, jitter: 0 } });
        }
      }
      this.ports.set(u.name, port);
    }
  }

  /** user+sys the proxy has used so far (NaN without a cgroup). */
  cpuS(): number {
    return this.cgroup ? cpuStat(this.cgroup) : NaN;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await new Promise((r) => this.child.once('exit', r));
    }
    if (this.cgroup) {
      try {
        rmdirSync(this.cgroup);
      } catch {
        /* still busy: the next bench run's sweep */
      }
    }
  }
}

/** The harness's known_hosts (`127.0.1.101 ssh-ed25519 ...`), re-keyed to the proxy ports (`[127.0.0.1]:PORT ...`). */
export function proxiedKnownHosts(text: string, portByAddress: Map<string, number>): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [names = '', ...rest] = line.split(' ');
    const port = portByAddress.get(names);
    if (port === undefined) throw new Error(`known_hosts line for ${names}, which has no proxy`);
    out.push([`[127.0.0.1]:${port}`, ...rest].join(' '));
  }
  return out.join('\n') + '\n';
}

export function writeProxiedKnownHosts(file: string, text: string, portByAddress: Map<string, number>): void {
  writeFileSync(file, proxiedKnownHosts(text, portByAddress));
}

/**
 * One round trip, measured on the wire: connect to a proxy, read sshd's banner, send ours, and
 * time the wait for sshd's KEXINIT (sshd sends it only after reading our banner). Median of 5.
 */
export async function measureRoundTrip(port: number): Promise<number> {
  const once = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port });
      sock.setNoDelay(true);
      let buf = Buffer.alloc(0);
      let sent = 0;
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error('no answer from sshd through the proxy in 10 s'));
      }, 10_000);
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (!sent && buf.includes('\n')) {
          buf = buf.subarray(buf.indexOf('\n') + 1);
          sent = performance.now();
          sock.write('SSH-2.0-tsplay-bench-rtt-probe\r\n');
        }
        // a binary packet: uint32 length, padding length, then message 20 (SSH_MSG_KEXINIT)
        if (sent && buf.length >= 6) {
          clearTimeout(timer);
          const ms = performance.now() - sent;
          sock.destroy();
          resolve(buf[5] === 20 ? ms : NaN);
        }
      });
      sock.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) xs.push(await once());
  xs.sort((a, b) => a - b);
  return xs[2]!;
}
