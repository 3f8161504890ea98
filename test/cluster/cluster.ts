// A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) on
// 127.0.0.1 (or on the test hosts' bridge, `address`) for tests: the seeds' bootstrap-token / CSR flow is only meaningful when the
// real authenticator, RBAC and CSR approver/signer judge it, not a mock.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as https from 'node:https';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const execFileP = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

export interface TestCluster {
  /** https://ADDRESS:PORT (ADDRESS: 127.0.0.1 unless StartClusterOptions.address) */
  server: string;
  caFile: string;
  caKeyFile: string;
  /** Path to a kubeconfig whose client cert has O=system:masters. */
  adminKubeconfig: string;
  /** CN of the client cert kube-apiserver presents to kubelets; it has no groups, so RBAC must grant it. */
  apiserverKubeletClientUser: string;
  dir: string;
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /** Working dir for certs, data and logs; created if missing, removed by stop(). */
  dir?: string;
  /** kube-apiserver secure port; a free one is picked otherwise. */
  port?: number;
  /**
   * The machine's address the apiserver binds and advertises (default 127.0.0.1), e.g. the test
   * hosts' bridge (test/hosts/network.ts), so that kubelets in their own network namespaces reach
   * it. A non-loopback address also gets the real endpoint reconciler, so the `kubernetes`
   * Service has this endpoint and a kube-proxy can route its ClusterIP.
   */
  address?: string;
}

const SERVICE_CIDR = '10.96.0.0/12';
const SERVICE_IP = '10.96.0.1';
const KUBELET_CLIENT_USER = 'kube-apiserver-kubelet-client';
const CONTROLLERS = [
  'certificatesigningrequest-approving-controller',
  'certificatesigningrequest-signing-controller',
  'certificatesigningrequest-cleaner-controller',
  'token-cleaner-controller',
  'bootstrap-signer-controller',
  'serviceaccount-token-controller',
  'serviceaccount-controller',
  'clusterrole-aggregation-controller',
  // Publishes kube-root-ca.crt into every namespace; startCluster waits for it as proof that
  // the controller-manager runs with per-controller service-account credentials.
  'root-ca-certificate-publisher-controller',
];

// ---------------------------------------------------------------------------------------
// binaries

let ensured: Promise<string> | undefined;

/**
 * Builds (or finds cached) kube-apiserver, kube-controller-manager and etcd and returns
 * their directory. A cold build takes 7-11 minutes on 2 cores; warm, under a second.
 */
export function ensureClusterBinaries(): Promise<string> {
  ensured ??= (async () => {
    await ensureOpenssl();
    return runBuild();
  })();
  ensured.catch(() => (ensured = undefined));
  return ensured;
}

/** build.sh csrcheck: the path of the CSR oracle (the cluster's own parse, validation, signing). */
export function ensureCsrcheck(): Promise<string> {
  return runBuild(['csrcheck']);
}

async function ensureOpenssl(): Promise<void> {
  if (await which('openssl')) return;
  process.stderr.write('[cluster] openssl missing; installing with apt-get\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await execFileP('apt-get', ['update'], { env, maxBuffer: 64 << 20 });
  await execFileP('apt-get', ['install', '-y', '--no-install-recommends', 'openssl'], { env, maxBuffer: 64 << 20 });
}

async function which(cmd: string): Promise<string | undefined> {
  for (const d of (process.env.PATH ?? '').split(':')) {
    const p = path.join(d || '.', cmd);
    try {
      await fsp.access(p, fs.constants.X_OK);
      return p;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

function runBuild(args: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    // Compiled copies live in dist/test/cluster/, beside no build.sh: fall back to the source tree.
    const script = [path.join(here, 'build.sh'), path.resolve(here, '../../../test/cluster/build.sh')].find((f) =>
      fs.existsSync(f),
    );
    if (!script) return reject(new Error(`test/cluster/build.sh not found from ${here}`));
    // stderr is the build's progress: let a waiting developer see a long cold build move.
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir) resolve(dir);
      else reject(new Error(`test/cluster/build.sh failed (${sig ?? `exit ${code}`})`));
    });
  });
}

// ---------------------------------------------------------------------------------------
// process bookkeeping: every cluster still running when the process exits is killed

interface Running {
  procs: { name: string; child: ChildProcess; log: string }[];
  dir: string;
  keepDir: boolean;
}
const live = new Set<Running>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const r of live) killNow(r);
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const r of live) killNow(r);
      // Our listener suppressed the default action; re-raise unless someone else handles it.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

function killNow(r: Running): void {
  for (const p of r.procs) {
    if (p.child.exitCode === null && p.child.signalCode === null && p.child.pid) {
      try {
        process.kill(p.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  if (!r.keepDir) fs.rmSync(r.dir, { recursive: true, force: true });
  live.delete(r);
}

let pdeathsig: boolean | undefined;

function startProc(r: Running, name: string, bin: string, args: string[]): ChildProcess {
  const log = path.join(r.dir, 'logs', `${name}.log`);
  const fd = fs.openSync(log, 'a');
  pdeathsig ??= fs.existsSync('/usr/bin/setpriv') || fs.existsSync('/bin/setpriv');
  // setpriv execs in place (same pid) and makes the kernel SIGKILL the child when this
  // process dies without running exit hooks (vitest killing a worker, OOM, kill -9).
  const [cmd, argv] = pdeathsig ? ['setpriv', ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, args];
  const child = spawn(cmd, argv, { stdio: ['ignore', fd, fd], cwd: r.dir });
  fs.closeSync(fd);
  child.on('error', () => {}); // surfaced through exitCode / the log in waitFor
  r.procs.push({ name, child, log });
  return child;
}

async function stopProcs(r: Running): Promise<void> {
  // Reverse start order: clients first, etcd last, so nothing logs errors about a vanished store.
  for (const p of [...r.procs].reverse()) {
    const c = p.child;
    if (c.exitCode !== null || c.signalCode !== null || !c.pid) continue;
    const exited = new Promise<void>((res) => c.once('exit', () => res()));
    try {
      process.kill(c.pid, 'SIGTERM');
    } catch {
      continue;
    }
    const t = setTimeout(() => {
      try {
        if (c.pid) process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 10_000);
    await exited;
    clearTimeout(t);
  }
}

// ---------------------------------------------------------------------------------------
// certificates (openssl only, so the test setup uses the same tool an operator would)

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await execFileP('openssl', args, { cwd: dir });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${err.stderr || err.message}`, { cause: e });
  }
}

async function ecKey(dir: string, keyFile: string): Promise<void> {
  await openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
}

/** Issues keyFile/certFile signed by the CA with the given subject and v3 extensions. */
async function issue(dir: string, base: string, subject: string, ext: string[]): Promise<void> {
  await ecKey(dir, `${base}.key`);
  await openssl(dir, ['req', '-new', '-key', `${base}.key`, '-subj', subject, '-out', `${base}.csr`]);
  await fsp.writeFile(path.join(dir, `${base}.ext`), ext.join('\n') + '\n');
  await openssl(dir, [
    'x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key',
    '-set_serial', '0x' + randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    '-days', '365', '-sha256', '-extfile', `${base}.ext`, '-out', `${base}.crt`,
  ]);
  await fsp.rm(path.join(dir, `${base}.csr`));
  await fsp.rm(path.join(dir, `${base}.ext`));
}

const clientExt = [
  'basicConstraints=critical,CA:FALSE',
  'keyUsage=critical,digitalSignature,keyEncipherment',
  'extendedKeyUsage=clientAuth',
];

async function makePki(pki: string, address: string): Promise<void> {
  await fsp.mkdir(pki, { recursive: true });
  await ecKey(pki, 'ca.key');
  await openssl(pki, [
    'req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '3650', '-subj', '/CN=tsplay-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    '-out', 'ca.crt',
  ]);
  await issue(pki, 'apiserver', '/CN=kube-apiserver', [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=IP:127.0.0.1,${address === '127.0.0.1' ? '' : `IP:${address},`}DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,` +
      `DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:${SERVICE_IP}`,
  ]);
  await issue(pki, 'admin', '/O=system:masters/CN=kubernetes-admin', clientExt);
  await issue(pki, 'controller-manager', '/CN=system:kube-controller-manager', clientExt);
  // No O=system:masters: what this user may do on kubelets must come from RBAC, as with kubeadm.
  await issue(pki, 'apiserver-kubelet-client', `/CN=${KUBELET_CLIENT_USER}`, clientExt);
  await ecKey(pki, 'sa.key');
  await openssl(pki, ['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

async function writeKubeconfig(file: string, server: string, pki: string, user: string, base: string): Promise<void> {
  const b64 = async (f: string) => (await fsp.readFile(path.join(pki, f))).toString('base64');
  // Embedded data keeps the kubeconfig usable when copied elsewhere (e.g. into a test host).
  const text = `apiVersion: v1
kind: Config
clusters:
- name: tsplay-test
  cluster:
    server: ${server}
    certificate-authority-data: ${await b64('ca.crt')}
users:
- name: ${user}
  user:
    client-certificate-data: ${await b64(`${base}.crt`)}
    client-key-data: ${await b64(`${base}.key`)}
contexts:
- name: ${user}@tsplay-test
  context:
    cluster: tsplay-test
    user: ${user}
current-context: ${user}@tsplay-test
`;
  await fsp.writeFile(file, text, { mode: 0o600 });
}

// ---------------------------------------------------------------------------------------
// waiting

async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface Got {
  status: number;
  body: string;
}

function get(url: string, tls?: https.RequestOptions): Promise<Got> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(url, { ...tls, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

class StartupError extends Error {
  constructor(
    message: string,
    readonly log: string,
  ) {
    super(message);
  }
}

/** Polls check until it returns true; fails fast with the log tail if proc dies. */
async function waitFor(
  r: Running,
  proc: string,
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const p = r.procs.find((x) => x.name === proc)!;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    for (const q of r.procs) {
      if (q.child.exitCode !== null || q.child.signalCode !== null) {
        const how = q.child.signalCode ?? `exit code ${q.child.exitCode}`;
        throw new StartupError(
          `${q.name} exited (${how}) while waiting for ${what}; tail of ${q.log}:\n${tail(q.log)}`,
          tail(q.log),
        );
      }
    }
    try {
      if (await check()) return;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) {
      throw new StartupError(
        `timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? ` (last error: ${last})` : ''}; ` +
          `tail of ${p.log}:\n${tail(p.log)}`,
        tail(p.log),
      );
    }
    await new Promise((res) => setTimeout(res, 250));
  }
}

// ---------------------------------------------------------------------------------------

/**
 * Starts etcd, kube-apiserver and kube-controller-manager on 127.0.0.1 with fresh PKI and
 * resolves once /readyz is ok and the controller-manager's controllers are acting.
 */
export async function startCluster(opts: StartClusterOptions = {}): Promise<TestCluster> {
  const bin = await ensureClusterBinaries();
  // Ports are picked free then released, so another process may grab one before our server
  // binds it; retrying with new ports covers that race between parallel test files.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bin, opts);
    } catch (e) {
      const bindRace = e instanceof StartupError && /address already in use/i.test(e.log);
      if (!bindRace || attempt >= 3 || opts.port) throw e;
    }
  }
}

const TMP_PREFIX = 'tsplay-cluster-';
let swept = false;

/** Removes temp dirs left by test processes that died without running exit hooks (kill -9). */
async function sweepStaleDirs(): Promise<void> {
  if (swept) return;
  swept = true;
  const tmp = os.tmpdir();
  for (const name of await fsp.readdir(tmp).catch(() => [] as string[])) {
    if (!name.startsWith(TMP_PREFIX)) continue;
    const dir = path.join(tmp, name);
    const owner = Number(await fsp.readFile(path.join(dir, 'owner.pid'), 'utf8').catch(() => ''));
    // No owner file yet means another process is between mkdtemp and writing it: leave it.
    if (!owner || owner === process.pid) continue;
    try {
      process.kill(owner, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') await fsp.rm(dir, { recursive: true, force: true });
    }
  }
}

async function startOnce(bin: string, opts: StartClusterOptions): Promise<TestCluster> {
  const t0 = Date.now();
  let dir: string;
  if (opts.dir) {
    dir = path.resolve(opts.dir);
  } else {
    await sweepStaleDirs();
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
    await fsp.writeFile(path.join(dir, 'owner.pid'), String(process.pid));
  }
  const pki = path.join(dir, 'pki');
  await fsp.mkdir(path.join(dir, 'logs'), { recursive: true });
  const r: Running = { procs: [], dir, keepDir: process.env.TSPLAY_KEEP_CLUSTER === '1' };
  installExitHooks();
  live.add(r);

  try {
    const [etcdClient, etcdPeer, kcmPort] = [await freePort(), await freePort(), await freePort()];
    const address = opts.address ?? '127.0.0.1';
    const loopback = address.startsWith('127.');
    const port = opts.port ?? (await freePort(address));
    const server = `https://${address}:${port}`;

    await makePki(pki, address);
    const P = (f: string) => path.join(pki, f);
    const adminKubeconfig = path.join(dir, 'admin.kubeconfig');
    const kcmKubeconfig = path.join(dir, 'controller-manager.kubeconfig');
    await writeKubeconfig(adminKubeconfig, server, pki, 'kubernetes-admin', 'admin');
    await writeKubeconfig(kcmKubeconfig, server, pki, 'system:kube-controller-manager', 'controller-manager');

    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    startProc(r, 'etcd', path.join(bin, 'etcd'), [
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--client-port=${etcdClient}`,
      `--peer-port=${etcdPeer}`,
    ]);
    await waitFor(r, 'etcd', 'etcd /health', 30_000, async () => {
      const g = await get(`${etcdUrl}/health`);
      return g.status === 200 && /"health":\s*"true"/.test(g.body);
    });

    startProc(r, 'kube-apiserver', path.join(bin, 'kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${address}`,
      `--advertise-address=${address}`,
      `--secure-port=${port}`,
      `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${P('apiserver.crt')}`,
      `--tls-private-key-file=${P('apiserver.key')}`,
      `--client-ca-file=${P('ca.crt')}`,
      '--enable-bootstrap-token-auth',
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      '--allow-privileged=true',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${P('sa.pub')}`,
      `--service-account-signing-key-file=${P('sa.key')}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      `--kubelet-client-certificate=${P('apiserver-kubelet-client.crt')}`,
      `--kubelet-client-key=${P('apiserver-kubelet-client.key')}`,
      // Kubelet serving certificates are issued by this CA (kubernetes.io/kubelet-serving), so the
      // apiserver verifies the one a kubelet presents, as a production cluster should.
      `--kubelet-certificate-authority=${P('ca.crt')}`,
      // Reach a kubelet by the address it reports, never by resolving its node name through this
      // machine's DNS (nodes/<n>/proxy, logs, exec).
      '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname',
      // On loopback the endpoint reconciler would publish 127.0.0.1 for the kubernetes Service,
      // which Endpoints validation rejects; nothing routes through it there.
      ...(loopback ? ['--endpoint-reconciler-type=none'] : []),
      '--profiling=false',
    ]);
    const adminTls: https.RequestOptions = {
      ca: fs.readFileSync(P('ca.crt')),
      cert: fs.readFileSync(P('admin.crt')),
      key: fs.readFileSync(P('admin.key')),
    };
    await waitFor(r, 'kube-apiserver', 'kube-apiserver /readyz', 180_000, async () => {
      const g = await get(`${server}/readyz`, adminTls);
      return g.status === 200 && g.body.trim() === 'ok';
    });
    await waitFor(r, 'kube-apiserver', 'ClusterRole system:node-bootstrapper', 30_000, async () => {
      const g = await get(`${server}/apis/rbac.authorization.k8s.io/v1/clusterroles/system:node-bootstrapper`, adminTls);
      return g.status === 200;
    });

    startProc(r, 'kube-controller-manager', path.join(bin, 'kube-controller-manager'), [
      `--kubeconfig=${kcmKubeconfig}`,
      `--authentication-kubeconfig=${kcmKubeconfig}`,
      `--authorization-kubeconfig=${kcmKubeconfig}`,
      `--client-ca-file=${P('ca.crt')}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      `--cert-dir=${path.join(dir, 'controller-manager-certs')}`,
      '--leader-elect=false',
      `--controllers=${CONTROLLERS.join(',')}`,
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${P('sa.key')}`,
      `--root-ca-file=${P('ca.crt')}`,
      `--cluster-signing-cert-file=${P('ca.crt')}`,
      `--cluster-signing-key-file=${P('ca.key')}`,
      '--profiling=false',
    ]);
    await waitFor(r, 'kube-controller-manager', 'kube-controller-manager /healthz', 60_000, async () => {
      // Serves a self-signed cert from --cert-dir; only liveness matters here.
      const g = await get(`https://127.0.0.1:${kcmPort}/healthz`, { rejectUnauthorized: false });
      return g.status === 200 && g.body.trim() === 'ok';
    });
    await waitFor(r, 'kube-controller-manager', 'ConfigMap kube-system/kube-root-ca.crt', 60_000, async () => {
      const g = await get(`${server}/api/v1/namespaces/kube-system/configmaps/kube-root-ca.crt`, adminTls);
      return g.status === 200;
    });

    if (process.env.TSPLAY_CLUSTER_VERBOSE === '1') {
      process.stderr.write(`[cluster] ${server} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s (dir ${dir})\n`);
    }

    let stopped: Promise<void> | undefined;
    return {
      server,
      caFile: P('ca.crt'),
      caKeyFile: P('ca.key'),
      adminKubeconfig,
      apiserverKubeletClientUser: KUBELET_CLIENT_USER,
      dir,
      stop: () =>
        (stopped ??= (async () => {
          await stopProcs(r);
          if (!r.keepDir) await fsp.rm(dir, { recursive: true, force: true });
          live.delete(r);
        })()),
    };
  } catch (e) {
    await stopProcs(r);
    if (!r.keepDir) await fsp.rm(dir, { recursive: true, force: true });
    live.delete(r);
    throw e;
  }
}
