/**
 * playbooks/worker.yml end to end: three real test hosts (test/hosts, each in its own network
 * namespace on a bridge of the harness) join a real control plane (etcd + kube-apiserver +
 * kube-controller-manager, test/cluster, on the bridge) through the generated local inventory
 * (local-cluster.ts), run by the built CLI as a user runs it. The nodes run the upstream kubelet
 * and kube-proxy (built from k8s.io/kubernetes, the control plane's version) on Debian's
 * containerd; every step is judged by the real kubelet, apiserver, RBAC, CSR approver and signer,
 * and by real systemd. Only where this machine cannot run the kubelet does the harness fall back
 * to the labelled stand-ins (test/e2e/README.md), saying so loudly; the checks that need the real
 * kubelet are then skipped with that reason.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recap, tsplay, type CliRun } from '../helpers/cli.js';
import { LOCAL_REPO_PACKAGES } from '../hosts/harness.js';
import { parseUnit, seed003KubeletConfig, seed004KubeProxyConfig, seedFeatureGatesAt, seedKubeletFlagsAt, seedKubeProxyFlagsAt, SEED_003_CSR_CRB, SEED_003_KUBELET_BIN, SEED_003_KUBELET_UNIT, SEED_004_KUBE_PROXY_BIN, SEED_004_KUBE_PROXY_UNIT, withoutExecStart } from '../helpers/seeds.js';
import { apiFrom, csrObject, until, writeKubeconfig, type Api } from '../integration/k8s/fixture.js';
import { ensureBuilt } from '../integration/modules/fixture.js';
import { CLUSTER_DNS_IP, KERNEL_FORCED_KUBELET_CONFIG, KERNEL_FORCED_KUBE_PROXY_CONFIG, KUBERNETES_SERVICE_IP, startLocalCluster, type LocalCluster, type LocalNode } from './local-cluster.js';
import { clientCertificate, describeConditions, get as httpGet, kubeconfigCredentials, kubeletApiTestToken, type NodeCondition } from './node-checks.js';

/** The node-prereqs role's default packages (test/unit/node-prereqs.test.ts checks they are the same). */
const PREREQS = LOCAL_REPO_PACKAGES;
const FIRST = 151;
const COUNT = 3;
/** A cold machine builds the host image and the Kubernetes binaries first (many minutes). */
const SETUP_TIMEOUT = 60 * 60_000;
/** A playbook run waits for CSRs and Nodes; others run tests on this machine too. */
const RUN_TIMEOUT = 15 * 60_000;

let lc: LocalCluster;
let admin: Api;
let work: string;
/** stdout + stderr of every tsplay run, scanned for bootstrap token secrets at the end. */
const outputs: string[] = [];
/** Every bootstrap token secret seen in the cluster during the test (some are deleted on the way). */
const tokenSecrets = new Set<string>();

async function play(args: string[] = []): Promise<CliRun> {
  const r = await tsplay(['playbooks/worker.yml', '-i', lc.inventoryDir, ...args]);
  outputs.push(r.stdout, r.stderr);
  return r;
}
const show = (r: CliRun) => `exit ${r.code}\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-2000)}`;

// ------------------------------------------------------------------ host state over ssh

/** Everything the playbook (or the kubelet) may create or change on a host. */
const MANAGED = ['/etc/kubernetes', '/opt/k8s', '/data', '/etc/systemd/system', '/etc/modules-load.d', '/etc/modprobe.d', '/etc/fstab'];

/** path -> "type mode size sha256|link target", plus the state of the units. */
async function hostState(n: LocalNode): Promise<Map<string, string>> {
  const script = [
    `for p in ${MANAGED.join(' ')}; do [ -e "$p" ] || [ -L "$p" ] || continue; find "$p" -printf '%p\\t%y %m %s %l\\n'; done | sort > /tmp/.e2e-list`,
    `for p in ${MANAGED.join(' ')}; do [ -e "$p" ] || continue; find "$p" -type f -exec sha256sum {} +; done | sort -k2 > /tmp/.e2e-sums`,
    'cat /tmp/.e2e-list; echo ==; cat /tmp/.e2e-sums; echo ==',
    'for u in kubelet kube-proxy containerd; do echo "unit:$u	$(systemctl is-enabled $u 2>/dev/null) $(systemctl is-active $u 2>/dev/null)"; done',
    'rm -f /tmp/.e2e-list /tmp/.e2e-sums',
  ].join('\n');
  const r = await lc.ssh(n.name, script);
  if (r.code !== 0) throw new Error(`state of ${n.name}: ${r.stderr}`);
  const [list, sums, units] = r.stdout.split('==\n');
  const sha = new Map<string, string>();
  for (const line of sums!.split('\n').filter(Boolean)) {
    const [h, ...p] = line.split(/\s+/);
    sha.set(p.join(' '), h!);
  }
  const out = new Map<string, string>();
  for (const line of list!.split('\n').filter(Boolean)) {
    const [p, rest] = line.split('\t');
    out.set(p!, `${rest} ${sha.get(p!) ?? ''}`.trim());
  }
  for (const line of units!.split('\n').filter(Boolean)) {
    const [k, v] = line.split('\t');
    out.set(k!, v!);
  }
  return out;
}

async function cat(n: LocalNode, path: string): Promise<string> {
  const r = await lc.ssh(n.name, `cat ${path}`);
  if (r.code !== 0) throw new Error(`cat ${path} on ${n.name}: ${r.stderr}`);
  return r.stdout;
}

// ------------------------------------------------------------------ cluster state

interface Named {
  metadata: { name: string };
}
async function names(path: string): Promise<string[]> {
  const r = await admin('GET', path);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return (r.body.items as Named[]).map((i) => i.metadata.name).sort();
}

interface TokenSecret {
  metadata: { name: string };
  data: Record<string, string>;
}
async function bootstrapTokens(): Promise<TokenSecret[]> {
  const r = await admin('GET', '/api/v1/namespaces/kube-system/secrets?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken');
  const items = r.body.items as TokenSecret[];
  for (const t of items) tokenSecrets.add(Buffer.from(t.data['token-secret'] ?? '', 'base64').toString('utf8'));
  return items;
}
const b64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

async function clusterState() {
  return {
    tokens: (await bootstrapTokens()).map((s) => s.metadata.name).sort(),
    clusterRoleBindings: await names('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings'),
    clusterRoles: await names('/apis/rbac.authorization.k8s.io/v1/clusterroles'),
    csrs: await names('/apis/certificates.k8s.io/v1/certificatesigningrequests'),
    nodes: await names('/api/v1/nodes'),
  };
}

// ------------------------------------------------------------------ output

/** "host title" of every changed task (handlers included), without check mode's "(would …)" notes. */
function changedTasks(out: string): string[] {
  return out
    .split('\n')
    .map((l) => /(?:^|Z )changed: \[([^\]]+)\] (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]!.replace(/ \(would [^)]*\)$/, '')}`)
    .sort();
}

/** Paths named by "- create …" change lines, per host. */
function createdPaths(out: string): Map<string, Set<string>> {
  const byHost = new Map<string, Set<string>>();
  let host = '';
  for (const line of out.split('\n')) {
    const task = /(?:^|Z )\w+: \[([^\]]+)\]/.exec(line);
    if (task) host = task[1]!;
    const m = /^ {4}- create (?:directory )?(\/\S+)/.exec(line);
    if (m && host) {
      if (!byHost.has(host)) byHost.set(host, new Set());
      byHost.get(host)!.add(m[1]!.replace(/\/$/, ''));
    }
  }
  return byHost;
}

/** An ECDSA P-256 key and CSR made by openssl, as the kubelet makes them. */
function opensslKeyAndCsr(subject: string, sans?: string): { key: string; csr: string } {
  const base = join(work, `k-${Math.random().toString(36).slice(2)}`);
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${base}.key`]);
  const args = ['req', '-new', '-key', `${base}.key`, '-subj', subject, '-out', `${base}.csr`];
  if (sans) args.push('-addext', `subjectAltName=${sans}`);
  execFileSync('openssl', args);
  return { key: readFileSync(`${base}.key`, 'utf8'), csr: readFileSync(`${base}.csr`, 'utf8') };
}

function kubeconfigFile(name: string, server: string, caPem: string, certPem: string, keyPem: string): string {
  return writeKubeconfig(join(work, name), server, caPem, { certPem, keyPem });
}

interface Csr {
  metadata: { name: string };
  spec: { username: string; signerName: string };
  status?: { certificate?: string; conditions?: Array<{ type: string; status: string; reason?: string }> };
}
async function issued(name: string): Promise<Csr> {
  return until(`certificate of CSR ${name}`, 120_000, async () => {
    const r = await admin('GET', `/apis/certificates.k8s.io/v1/certificatesigningrequests/${name}`);
    return r.status === 200 && (r.body as Csr).status?.certificate ? (r.body as Csr) : undefined;
  });
}
const approval = (c: Csr) => c.status?.conditions?.find((x) => x.type === 'Approved' && x.status === 'True');

// ------------------------------------------------------------------ the run

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'tsplay-e2e-'));
  await ensureBuilt();
  lc = await startLocalCluster({ first: FIRST, count: COUNT, prefix: 'e2e' });
  admin = apiFrom(lc.cluster.adminKubeconfig);
  if (lc.mode !== 'upstream') {
    process.stderr.write(`\n!!! e2e: NOT THE UPSTREAM KUBELET: ${lc.standinReason}; the nodes run TEST STAND-INS and the kubelet checks are skipped\n\n`);
  }
}, SETUP_TIMEOUT);

afterAll(async () => {
  await lc?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('playbooks/worker.yml on 3 real hosts and a real control plane', () => {
  let before: Map<string, Map<string, string>>;
  let check: CliRun;
  let first: CliRun;

  it('--check --diff on fresh hosts reports the changes and changes nothing, on the hosts or in the cluster', async () => {
    before = new Map(await Promise.all(lc.nodes.map(async (n) => [n.name, await hostState(n)] as const)));
    const clusterBefore = await clusterState();
    expect(clusterBefore.tokens).toEqual([]);

    check = await play(['--check', '--diff']);
    expect(check.code, show(check)).toBe(0);
    expect(check.stdout).toContain('PLAY RECAP (check mode)');

    for (const n of lc.nodes) expect(await hostState(n), `${n.name} changed by --check`).toEqual(before.get(n.name));
    const clusterAfter = await clusterState();
    expect(clusterAfter).toEqual(clusterBefore);
    for (const o of SEED_003_CSR_CRB) expect([...clusterAfter.clusterRoleBindings, ...clusterAfter.clusterRoles]).not.toContain(o.metadata.name);
    expect(clusterAfter.clusterRoleBindings).not.toContain('kubelet-bootstrap');

    // What a reviewer reads, per node: every file with its diff, tokens masked, the waits named.
    for (const n of lc.nodes) {
      for (const f of ['/etc/kubernetes/kubelet-config.yaml', '/etc/systemd/system/kubelet.service', '/etc/kubernetes/kube-proxy-config.yaml', '/etc/systemd/system/kube-proxy.service']) {
        expect(check.stdout).toContain(`+++ ${f} (after)`);
      }
      expect(check.stdout).toContain(`+address: "${n.ip}"`);
      expect(check.stdout).toContain(`+  --hostname-override=${n.name} \\`);
      expect(check.stdout).toContain(`create bootstrap token for ${n.name} (ttl 24h, groups system:bootstrappers:${n.name})`);
      expect(check.stdout).toContain(`changed: [${n.name}] kubelet-csr : approve the client CSR of ${n.name} (made with its own bootstrap token) (would wait up to 300s for CSRs of ${n.name})`);
      expect(check.stdout).toContain(`changed: [${n.name}] kubelet-csr : approve the serving CSR of ${n.name} (would wait up to 300s for CSRs of ${n.name})`);
      expect(check.stdout).toMatch(new RegExp(`ok: \\[${n.name}\\] kubelet-csr : Node ${n.name} registered \\(.*not yet: a real run would retry`));
    }
    expect(check.stdout).toContain('+++ /etc/kubernetes/kubelet-bootstrap.kubeconfig: new file, secret content (not shown)');
    // tsplay's default: no group-wide auto-approval of first client CSRs (kubelet_client_csr_approver).
    expect(check.stdout).toContain('- create ClusterRoleBinding/node-client-cert-renewal');
    expect(check.stdout).not.toContain('ClusterRoleBinding/auto-approve-csrs-for-group');
    // node-prereqs: apt's own dry run, each package and the dependencies it brings (none of them
    // is in the host image; iptables is, as a dependency of the CNI plugins).
    for (const p of PREREQS.filter((x) => x !== 'iptables')) expect(check.stdout).toMatch(new RegExp(`^ {4}- install ${p} \\S+$`, 'm'));
    expect(check.stdout).toMatch(/^ {4}- install libcurl4 \S+ \(dependency\)$/m);
  }, RUN_TIMEOUT);

  it('the first run converges: RBAC, tokens, files, units, TLS bootstrap, serving CSRs approved, Nodes registered', async () => {
    first = await play();
    expect(first.code, show(first)).toBe(0);
    const stats = recap(first.stdout);
    expect(Object.keys(stats).sort()).toEqual(lc.nodes.map((n) => n.name));
    for (const s of Object.values(stats)) expect(s).toMatchObject({ failed: 0, unreachable: 0 });

    const cluster = await clusterState();
    expect(cluster.nodes).toEqual(lc.nodes.map((n) => n.name));
    expect(cluster.clusterRoleBindings).toEqual(expect.arrayContaining(['kubelet-bootstrap', 'node-client-cert-renewal', 'node-server-cert-renewal', 'kube-apiserver:kubelet-apis']));
    expect(cluster.clusterRoleBindings).not.toContain('auto-approve-csrs-for-group');
    expect(cluster.clusterRoles).toContain('approve-node-server-renewal-csr');
    // One bootstrap token per node.
    const tokens = await bootstrapTokens();
    expect(tokens.map((t) => b64(t.data['auth-extra-groups'])).sort()).toEqual(lc.nodes.map((n) => `system:bootstrappers:${n.name}`));

    // Each node: a client CSR made with its token and approved by tsplay (its token was issued for
    // that node; no group-wide auto-approval), a serving CSR made as the node and approved by tsplay.
    const csrs = (await admin('GET', '/apis/certificates.k8s.io/v1/certificatesigningrequests')).body.items as Csr[];
    for (const n of lc.nodes) {
      const id = b64(tokens.find((t) => b64(t.data['auth-extra-groups']) === `system:bootstrappers:${n.name}`)!.data['token-id']);
      const client = csrs.filter((c) => c.spec.signerName === 'kubernetes.io/kube-apiserver-client-kubelet' && c.spec.username === `system:bootstrap:${id}`);
      expect(client.length, `${n.name}: client CSRs made with its token`).toBeGreaterThan(0);
      expect(client.some((c) => c.status?.certificate && approval(c)?.reason === 'TsplayApproved'), `${n.name}: a client certificate approved by tsplay and issued`).toBe(true);
      for (const c of client) expect(approval(c)?.reason, `${c.metadata.name} of ${n.name}`).not.toBe('AutoApproved');
      const serving = csrs.filter((c) => c.spec.signerName === 'kubernetes.io/kubelet-serving' && c.spec.username === `system:node:${n.name}`);
      expect(serving.length, `${n.name}: serving CSRs`).toBeGreaterThan(0);
      for (const c of serving) expect(approval(c)?.reason, `${c.metadata.name} of ${n.name}`).toBe('TsplayApproved');
      expect(serving.some((c) => c.status?.certificate), `${n.name}: a serving certificate issued`).toBe(true);
    }
  }, RUN_TIMEOUT);

  /** Skips a check that only the upstream kubelet and kube-proxy can pass, naming why. */
  const needsUpstream = (ctx: { skip: (note?: string) => void }) => {
    if (lc.mode !== 'upstream') ctx.skip(`needs the upstream kubelet: ${lc.standinReason}`);
  };

  it("node-prereqs installed the worker's dependency packages for real (from the host image's local apt repository)", async () => {
    for (const n of lc.nodes) {
      const r = await lc.ssh(n.name, `dpkg-query -W -f='\${Package} \${db:Status-Abbrev}\\n' ${PREREQS.join(' ')}`);
      expect(r.stdout.split('\n').filter(Boolean).sort(), `${n.name}: ${r.stderr}`).toEqual(PREREQS.map((p) => `${p} ii `).sort());
    }
  });

  it('the hosts have their own addresses and no way off the machine', async () => {
    for (const n of lc.nodes) {
      const r = await lc.ssh(n.name, 'ip -4 -o addr show dev host0; ip route show default; ip route get 198.51.100.1 2>&1; true');
      expect(r.stdout).toContain(`inet ${n.ip}/24`);
      // No default route: a packet for an address off the bridge fails in the host, never sent.
      expect(r.stdout).toContain('Network is unreachable');
      expect(r.stdout).not.toMatch(/^default/m);
    }
  });

  it('the kubelet on each node is the upstream binary, started by tsplay\'s unit, bootstrapped with tsplay\'s token', async (ctx) => {
    needsUpstream(ctx);
    for (const n of lc.nodes) {
      const r = await lc.ssh(n.name, [
        '/opt/k8s/bin/kubelet --version',
        'systemctl show -p FragmentPath --value kubelet',
        'readlink /proc/$(systemctl show -p MainPID --value kubelet)/exe',
      ].join('; '));
      const [version, unit, exe] = r.stdout.split('\n');
      expect(version).toBe(`Kubernetes ${lc.version}`);
      expect(unit).toBe('/etc/systemd/system/kubelet.service');
      expect(exe).toBe('/opt/k8s/bin/kubelet');
      const pem = await cat(n, '/etc/kubernetes/cert/kubelet-client-current.pem');
      const subject = execFileSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], { input: pem }).toString().trim();
      expect(subject).toBe(`subject=CN=system:node:${n.name},O=system:nodes`);
      execFileSync('openssl', ['verify', '-CAfile', lc.cluster.caFile], { input: pem });
      // Registered under the inventory's name with the host's own address, as this version.
      const node = (await admin('GET', `/api/v1/nodes/${n.name}`)).body as { status: { addresses: Array<{ type: string; address: string }>; nodeInfo: { kubeletVersion: string } } };
      expect(node.status.addresses).toEqual(expect.arrayContaining([{ type: 'InternalIP', address: n.ip }]));
      expect(node.status.nodeInfo.kubeletVersion).toBe(lc.version);
      // The serving certificate tsplay approved is the one the kubelet presents on 10250.
      const served = execFileSync('sh', ['-c', `openssl s_client -connect ${n.ip}:10250 -CAfile ${lc.cluster.caFile} -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName -subject -nameopt RFC2253`]).toString();
      expect(served).toContain(`IP Address:${n.ip}`);
      expect(served).toContain(`DNS:${n.name}`);
      expect(served).toContain(`subject=CN=system:node:${n.name},O=system:nodes`);
    }
  }, RUN_TIMEOUT);

  it('the kubelet API authenticates and authorizes as guide 003 checks it', async (ctx) => {
    needsUpstream(ctx);
    const caPem = readFileSync(lc.cluster.caFile, 'utf8');
    const nobody = clientCertificate(work, 'nobody', '/CN=e2e-nobody', lc.cluster.caFile, lc.cluster.caKeyFile);
    const adminCreds = kubeconfigCredentials(lc.cluster.adminKubeconfig);
    const saToken = await kubeletApiTestToken(admin);
    for (const n of lc.nodes) {
      const get = (creds = {}) => httpGet(n.ip, 10250, '/metrics', caPem, creds);
      // anonymous: authentication.anonymous.enabled false
      expect(await get()).toEqual({ status: 401, body: 'Unauthorized' });
      // a token the apiserver does not know (webhook authentication)
      expect(await get({ token: '123456' })).toEqual({ status: 401, body: 'Unauthorized' });
      // a user the cluster CA vouches for, with no RBAC (webhook authorization)
      // (guide 003's kubelet 1.16 wrote "subresource=metrics"; 1.37 lists the subresources)
      expect(await get(nobody)).toEqual({ status: 403, body: 'Forbidden (user=e2e-nobody, verb=get, resource=nodes, subresource(s)=[metrics])\n' });
      // the cluster admin (system:masters) and the ServiceAccount bound to system:kubelet-api-admin
      for (const creds of [adminCreds, { token: saToken }]) {
        const ok = await get(creds);
        expect(ok.status).toBe(200);
        expect(ok.body).toMatch(/^# HELP kubelet_/m);
      }
    }
  }, RUN_TIMEOUT);

  it('the apiserver reaches each kubelet by its address and reads back the configuration tsplay rendered', async (ctx) => {
    needsUpstream(ctx);
    for (const n of lc.nodes) {
      const rendered = parseYaml(await cat(n, '/etc/kubernetes/kubelet-config.yaml')) as Record<string, unknown>;
      const r = await admin('GET', `/api/v1/nodes/${n.name}/proxy/configz`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const live = (r.body as { kubeletconfig: Record<string, unknown> }).kubeletconfig;
      // Every non-duration field tsplay wrote, as the running kubelet holds it (durations come back as Go's "1m0s").
      const fields = ['address', 'port', 'readOnlyPort', 'healthzPort', 'healthzBindAddress', 'clusterDomain', 'clusterDNS', 'maxPods', 'podCIDR', 'podPidsLimit', 'cgroupDriver', 'hairpinMode', 'maxOpenFiles', 'kubeAPIQPS', 'kubeAPIBurst', 'serializeImagePulls', 'evictionHard', 'failSwapOn', 'containerLogMaxSize', 'containerLogMaxFiles', 'rotateCertificates', 'serverTLSBootstrap', 'authentication', 'authorization', 'enforceNodeAllocatable', 'cgroupsPerQOS'];
      // configz leaves out zero values (Go's omitempty: readOnlyPort 0, an empty list) and fills
      // in the defaults of what tsplay did not set inside a map (authentication.webhook.cacheTTL).
      const zero = (v: unknown) => v === 0 || v === false || v === '' || (Array.isArray(v) && v.length === 0);
      for (const f of fields) {
        const want = rendered[f];
        const got = f in live || !zero(want) ? live[f] : want;
        if (want && typeof want === 'object' && !Array.isArray(want)) expect(got, `${n.name} configz ${f}`).toMatchObject(want);
        else expect(got, `${n.name} configz ${f}`).toEqual(want);
      }
      expect(live.address).toBe(n.ip);
      expect(live.clusterDNS).toEqual([CLUSTER_DNS_IP]);
    }
  }, RUN_TIMEOUT);

  it('each Node becomes Ready', async (ctx) => {
    needsUpstream(ctx);
    for (const n of lc.nodes) {
      let conditions: NodeCondition[] = [];
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        conditions = ((await admin('GET', `/api/v1/nodes/${n.name}`)).body as { status: { conditions?: NodeCondition[] } }).status.conditions ?? [];
        if (conditions.some((c) => c.type === 'Ready' && c.status === 'True')) break;
        await new Promise((r) => setTimeout(r, 2000));
      }
      expect(conditions.find((c) => c.type === 'Ready')?.status, `${n.name}: ${describeConditions(conditions)}`).toBe('True');
    }
  }, RUN_TIMEOUT);

  it('kube-proxy authenticates as system:kube-proxy, serves /healthz and routes the kubernetes Service to the apiserver', async (ctx) => {
    needsUpstream(ctx);
    const asProxy = apiFrom(kubeconfigFile('proxy.kubeconfig', lc.cluster.server, readFileSync(lc.cluster.caFile, 'utf8'), readFileSync(lc.kubeProxyCert, 'utf8'), readFileSync(lc.kubeProxyKey, 'utf8')));
    const who = await asProxy('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    expect(who.body.status.userInfo.username).toBe('system:kube-proxy');
    for (const n of lc.nodes) {
      const health = await until(`${n.name} kube-proxy /healthz`, 60_000, async () => {
        const h = await httpGet(n.ip, 10256, '/healthz').catch(() => undefined);
        return h?.status === 200 ? h : undefined;
      });
      expect(health.status).toBe(200);
      // The rules it programmed from the Services it read as system:kube-proxy (RBAC system:node-proxier).
      const rules = await lc.ssh(n.name, 'iptables-save -t nat');
      expect(rules.stdout).toContain('-A KUBE-SERVICES');
      expect(rules.stdout).toContain(`-d ${KUBERNETES_SERVICE_IP}/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP"`);
      // From the host, the ClusterIP reaches the apiserver through those rules.
      const r = await lc.ssh(n.name, `curl -sS --max-time 10 --cacert /etc/kubernetes/cert/ca.pem https://${KUBERNETES_SERVICE_IP}/version`);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { gitVersion: string }).gitVersion).toBe(lc.version);
    }
  }, RUN_TIMEOUT);

  it('--check reported every file and service the real run created or changed', async () => {
    // Same changed tasks (files, units, handlers, RBAC, tokens, CSR approval) on every host.
    expect(changedTasks(check.stdout)).toEqual(changedTasks(first.stdout));
    expect(changedTasks(check.stdout).length).toBeGreaterThanOrEqual(20 * COUNT);

    const planned = createdPaths(check.stdout);
    for (const n of lc.nodes) {
      const after = await hostState(n);
      const was = before.get(n.name)!;
      const touched = [...after.keys()].filter((p) => p.startsWith('/') && after.get(p) !== was.get(p));
      const reported = planned.get(n.name) ?? new Set<string>();
      // Written by the kubelet, not by tsplay: its kubeconfig and certificates after the bootstrap,
      // and its state under its root dir (--root-dir=/data/k8s/k8s/kubelet: pods/, plugins/,
      // checkpoints, ...), except what tsplay itself reported there.
      const byKubelet = (p: string) =>
        p === '/etc/kubernetes/kubelet.kubeconfig' || /^\/etc\/kubernetes\/cert\/kubelet-(client|server)-/.test(p) || p.startsWith('/data/k8s/k8s/kubelet/');
      // systemctl enable's symlinks (reported as "enable X.service"), and the parents of a reported
      // directory (mkdir -p) or of a new file (their mtime/size change with it).
      const covered = (p: string) =>
        reported.has(p) ||
        byKubelet(p) ||
        /^\/etc\/systemd\/system\/multi-user\.target\.wants(\/(kubelet|kube-proxy)\.service)?$/.test(p) ||
        [...reported].some((r) => r.startsWith(`${p}/`)) ||
        [...after.keys()].some((q) => q.startsWith(`${p}/`) && after.get(q) !== was.get(q));
      expect(touched).toEqual(expect.arrayContaining(['/etc/kubernetes/kubelet-config.yaml', '/etc/kubernetes/kubelet-bootstrap.kubeconfig', '/etc/kubernetes/kubelet.kubeconfig', '/etc/systemd/system/kubelet.service', '/etc/kubernetes/cert/kube-proxy-key.pem', '/opt/k8s/bin/kubelet']));
      expect(touched.filter((p) => !covered(p)), `${n.name}: changed on the host but not reported by --check`).toEqual([]);
      // Every file the check announced exists now.
      for (const p of reported) expect(after.has(p), `${n.name}: ${p} announced by --check`).toBe(true);
      expect(after.get('unit:kubelet')).toBe('enabled active');
      expect(after.get('unit:kube-proxy')).toBe('enabled active');
    }
  });

  it('a second run changes nothing', async () => {
    const second = await play();
    expect(second.code, show(second)).toBe(0);
    for (const [host, s] of Object.entries(recap(second.stdout))) expect(s.changed, `${host}\n${show(second)}`).toBe(0);
    expect(changedTasks(second.stdout)).toEqual([]);
  }, RUN_TIMEOUT);

  it('the files on every converged host are the guides\' for that node', async () => {
    const caPem = readFileSync(lc.cluster.caFile, 'utf8');
    const tokens = await bootstrapTokens();
    for (const n of lc.nodes) {
      // kubelet-config.yaml: every field of guide 003, featureGates of guide 000 that this version
      // still has; clusterDNS is this cluster's (the inventory's cluster_dns_ip, inside the test
      // apiserver's service range); what this machine forces on the hosts (upstream kubelet only).
      const forced = lc.mode === 'upstream' ? KERNEL_FORCED_KUBELET_CONFIG : {};
      const config = parseYaml(await cat(n, '/etc/kubernetes/kubelet-config.yaml')) as Record<string, unknown>;
      expect(config).toEqual({ ...seed003KubeletConfig(n.ip), clusterDNS: [CLUSTER_DNS_IP], featureGates: seedFeatureGatesAt(lc.version), ...forced });

      // kubelet.service: the binary, every flag of guide 003 (+ 002's --register-node) this version
      // still accepts, the unit lines.
      const unit = parseUnit(await cat(n, '/etc/systemd/system/kubelet.service'));
      expect(unit.bin).toBe(SEED_003_KUBELET_BIN);
      expect(unit.flags).toEqual(seedKubeletFlagsAt(lc.version, n.name));
      expect(withoutExecStart(unit)).toEqual(SEED_003_KUBELET_UNIT);

      // The bootstrap kubeconfig: set-cluster kubernetes (server, embedded CA), set-credentials
      // kubelet-bootstrap --token (a token issued for this node), set-context default.
      const kc = parseYaml(await cat(n, '/etc/kubernetes/kubelet-bootstrap.kubeconfig')) as {
        clusters: Array<{ name: string; cluster: Record<string, string> }>;
        users: Array<{ name: string; user: Record<string, string> }>;
        contexts: Array<{ name: string; context: Record<string, string> }>;
        'current-context': string;
      };
      expect(kc.clusters).toEqual([{ name: 'kubernetes', cluster: { server: lc.cluster.server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }]);
      expect(kc.contexts).toEqual([{ name: 'default', context: { cluster: 'kubernetes', user: 'kubelet-bootstrap' } }]);
      expect(kc['current-context']).toBe('default');
      expect(kc.users.map((u) => [u.name, Object.keys(u.user)])).toEqual([['kubelet-bootstrap', ['token']]]);
      const token = kc.users[0]!.user.token!;
      const id = /^([a-z0-9]{6})\.[a-z0-9]{16}$/.exec(token)?.[1];
      expect(id !== undefined, `${n.name}: the token has the bootstrap token format`).toBe(true);
      const secret = tokens.find((t) => t.metadata.name === `bootstrap-token-${id}`);
      expect(secret !== undefined && `${b64(secret.data['token-id'])}.${b64(secret.data['token-secret'])}` === token, `${n.name}: the token is a live bootstrap token`).toBe(true);
      expect(b64(secret!.data['auth-extra-groups'])).toBe(`system:bootstrappers:${n.name}`);
      expect(b64(secret!.data.description)).toBe('kubelet-bootstrap-token');

      // kube-proxy: guide 004's config and unit (iptables mode where this kernel has no IPVS).
      const proxy = parseYaml(await cat(n, '/etc/kubernetes/kube-proxy-config.yaml')) as Record<string, unknown>;
      expect(proxy).toEqual({ ...seed004KubeProxyConfig(n.ip, n.name), ...(lc.ipvs ? {} : { mode: 'iptables' }), ...(lc.mode === 'upstream' ? KERNEL_FORCED_KUBE_PROXY_CONFIG : {}) });
      const proxyUnit = parseUnit(await cat(n, '/etc/systemd/system/kube-proxy.service'));
      expect([proxyUnit.bin, proxyUnit.flags, withoutExecStart(proxyUnit)]).toEqual([SEED_004_KUBE_PROXY_BIN, seedKubeProxyFlagsAt(lc.version), SEED_004_KUBE_PROXY_UNIT]);
      const pkc = parseYaml(await cat(n, '/etc/kubernetes/kube-proxy.kubeconfig')) as { users: Array<{ name: string; user: Record<string, string> }> };
      expect(pkc.users).toEqual([{ name: 'kube-proxy', user: { 'client-certificate-data': readFileSync(lc.kubeProxyCert).toString('base64'), 'client-key-data': readFileSync(lc.kubeProxyKey).toString('base64') } }]);

      // Modes, the CA, the binaries (the stand-ins, byte for byte), the services up.
      const modes = await lc.ssh(n.name, 'stat -c "%n %a" /etc/kubernetes/kubelet-bootstrap.kubeconfig /etc/kubernetes/kube-proxy.kubeconfig /etc/kubernetes/cert/kube-proxy-key.pem /etc/kubernetes/cert/ca.pem /opt/k8s/bin/kubelet /opt/k8s/bin/kube-proxy; sha256sum /opt/k8s/bin/kubelet /opt/k8s/bin/kube-proxy /etc/kubernetes/cert/ca.pem');
      const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
      expect(modes.stdout).toBe(
        [
          '/etc/kubernetes/kubelet-bootstrap.kubeconfig 600',
          '/etc/kubernetes/kube-proxy.kubeconfig 600',
          '/etc/kubernetes/cert/kube-proxy-key.pem 600',
          '/etc/kubernetes/cert/ca.pem 644',
          '/opt/k8s/bin/kubelet 755',
          '/opt/k8s/bin/kube-proxy 755',
          `${sha(lc.binaries.kubelet)}  /opt/k8s/bin/kubelet`,
          `${sha(lc.binaries.kubeProxy)}  /opt/k8s/bin/kube-proxy`,
          `${sha(lc.cluster.caFile)}  /etc/kubernetes/cert/ca.pem`,
          '',
        ].join('\n'),
      );
      const active = await lc.ssh(n.name, `systemctl is-active containerd kubelet kube-proxy; exec 3<>/dev/tcp/${n.ip}/10248 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && tail -n1 <&3; echo`);
      expect(active.stdout).toBe('active\nactive\nactive\nok\n');
    }
  });

  it("a kubelet-style TLS bootstrap from a converged host: its token gets its own node's client certificate (approved by the kubelet-csr role) and never another node's; its serving CSR is approved too", async () => {
    const n = lc.nodes[0]!;
    const other = lc.nodes[1]!;
    const caPem = readFileSync(lc.cluster.caFile, 'utf8');
    // The node's bootstrap kubeconfig, as tsplay wrote it, read over ssh.
    const bootstrapFile = join(work, 'bootstrap.kubeconfig');
    writeFileSync(bootstrapFile, await cat(n, '/etc/kubernetes/kubelet-bootstrap.kubeconfig'), { mode: 0o600 });
    const asBootstrap = apiFrom(bootstrapFile);

    // 1. Client CSRs made with the node's token, signer kube-apiserver-client-kubelet: its own
    // (CN=system:node:<node>, O=system:nodes, ECDSA) and one asking for another node's identity.
    const client = opensslKeyAndCsr(`/O=system:nodes/CN=system:node:${n.name}`);
    const clientName = `e2e-client-${n.name}-${Date.now()}`;
    const created = await asBootstrap('POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', csrObject(clientName, Buffer.from(client.csr).toString('base64'), 'kubernetes.io/kube-apiserver-client-kubelet', ['digital signature', 'client auth']));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { username, groups } = (created.body as { spec: { username: string; groups: string[] } }).spec;
    expect(username).toMatch(/^system:bootstrap:[a-z0-9]{6}$/);
    const forgedName = `e2e-forged-${other.name}-with-token-of-${n.name}-${Date.now()}`;
    const forged = await asBootstrap('POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', csrObject(forgedName, Buffer.from(opensslKeyAndCsr(`/O=system:nodes/CN=system:node:${other.name}`).csr).toString('base64'), 'kubernetes.io/kube-apiserver-client-kubelet', ['digital signature', 'client auth']));
    expect(forged.status, JSON.stringify(forged.body)).toBe(201);
    // The controller-manager's approver auto-approves a bootstrap client CSR only if this review
    // allows it (its sarapprove.go, subresource nodeclient): with tsplay's RBAC it does not.
    const review = await admin('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: username, groups, resourceAttributes: { group: 'certificates.k8s.io', resource: 'certificatesigningrequests', verb: 'create', subresource: 'nodeclient' } },
    });
    expect(review.body.status?.allowed, JSON.stringify(review.body)).not.toBe(true);

    // The role approves a first client CSR only for a node without a client certificate: set the
    // node's aside (as for a re-bootstrap), rerun the CSR step only, put it back.
    const savedClient = '/root/kubelet-client-current.pem.e2e';
    expect((await lc.ssh(n.name, `mv /etc/kubernetes/cert/kubelet-client-current.pem ${savedClient}`)).code).toBe(0);
    let clientRun: CliRun;
    try {
      clientRun = await play(['-t', 'csr']);
    } finally {
      await lc.ssh(n.name, `mv ${savedClient} /etc/kubernetes/cert/kubelet-client-current.pem`);
    }
    expect(clientRun.code, show(clientRun)).toBe(0);
    expect(clientRun.stdout).toContain(`approve CSR ${clientName} of ${n.name} (requester ${username} with a token issued for ${n.name}`);
    expect(clientRun.stdout).toContain(`refused CSR ${forgedName} claiming node ${other.name}, left pending: requested by ${username}, whose token was not issued for ${other.name}`);
    const clientCsr = await issued(clientName);
    expect(approval(clientCsr)?.reason).toBe('TsplayApproved');
    const clientCert = b64(clientCsr.status!.certificate);
    const subject = execFileSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], { input: clientCert }).toString().trim();
    expect(subject).toBe(`subject=CN=system:node:${n.name},O=system:nodes`);
    execFileSync('openssl', ['verify', '-CAfile', lc.cluster.caFile], { input: clientCert });
    // The other node's identity: approved by no one, no certificate.
    const forgedNow = (await admin('GET', `/apis/certificates.k8s.io/v1/certificatesigningrequests/${forgedName}`)).body as Csr;
    expect(forgedNow.status?.conditions ?? []).toEqual([]);
    expect(forgedNow.status?.certificate).toBeUndefined();

    // 2. As the node (its new client certificate): a serving CSR with its name and IP.
    const asNode = apiFrom(kubeconfigFile('node.kubeconfig', lc.cluster.server, caPem, clientCert, client.key));
    const who = await asNode('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    expect(who.body.status.userInfo).toMatchObject({ username: `system:node:${n.name}`, groups: expect.arrayContaining(['system:nodes']) });
    const serving = opensslKeyAndCsr(`/O=system:nodes/CN=system:node:${n.name}`, `DNS:${n.name},IP:${n.ip}`);
    const servingName = `e2e-serving-${n.name}-${Date.now()}`;
    const posted = await asNode('POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', csrObject(servingName, Buffer.from(serving.csr).toString('base64'), 'kubernetes.io/kubelet-serving', ['digital signature', 'server auth']));
    expect(posted.status, JSON.stringify(posted.body)).toBe(201);

    // 3. The role approves only for a node without a serving certificate: set the node's aside
    // (as for a re-bootstrap), rerun the CSR step only, put it back.
    const saved = '/root/kubelet-server-current.pem.e2e';
    expect((await lc.ssh(n.name, `mv /etc/kubernetes/cert/kubelet-server-current.pem ${saved}`)).code).toBe(0);
    let csrRun: CliRun;
    try {
      csrRun = await play(['-t', 'csr']);
    } finally {
      await lc.ssh(n.name, `mv ${saved} /etc/kubernetes/cert/kubelet-server-current.pem`);
    }
    expect(csrRun.code, show(csrRun)).toBe(0);
    expect(csrRun.stdout).toContain(`approve CSR ${servingName} of ${n.name} (requester system:node:${n.name} in system:nodes`);
    const stats = recap(csrRun.stdout);
    expect(stats[n.name]!.changed).toBe(1);
    for (const o of lc.nodes.slice(1)) expect(stats[o.name]!.changed).toBe(0);
    const servingCsr = await issued(servingName);
    expect(approval(servingCsr)?.reason).toBe('TsplayApproved');
    const servingCert = b64(servingCsr.status!.certificate);
    const san = execFileSync('openssl', ['x509', '-noout', '-ext', 'subjectAltName'], { input: servingCert }).toString();
    expect(san).toContain(`DNS:${n.name}`);
    expect(san).toContain(`IP Address:${n.ip}`);

    // The host is converged again.
    const again = await play();
    expect(again.code, show(again)).toBe(0);
    for (const s of Object.values(recap(again.stdout))) expect(s.changed).toBe(0);
  }, RUN_TIMEOUT);

  it('a node whose kubelet wrote its kubeconfig but never got its client certificate, and whose token expired, gets a new token and joins', async () => {
    const n = lc.nodes[COUNT - 1]!;
    // The kubelet died after writing kubelet.kubeconfig (it does that before its CSR is issued);
    // meanwhile its bootstrap token expired and the token cleaner removed it.
    expect((await lc.ssh(n.name, 'systemctl stop kubelet && rm -f /etc/kubernetes/cert/kubelet-client-* && test -s /etc/kubernetes/kubelet.kubeconfig')).code).toBe(0);
    const old = (await bootstrapTokens()).find((t) => b64(t.data['auth-extra-groups']) === `system:bootstrappers:${n.name}`)!;
    expect((await admin('DELETE', `/api/v1/namespaces/kube-system/secrets/${old.metadata.name}`)).status).toBe(200);

    const rerun = await play();
    expect(rerun.code, show(rerun)).toBe(0);
    const changed = changedTasks(rerun.stdout);
    expect(changed).toEqual(
      expect.arrayContaining([
        `${n.name} bootstrap-token : bootstrap token for ${n.name} (group system:bootstrappers:${n.name})`,
        `${n.name} kubelet : bootstrap kubeconfig /etc/kubernetes/kubelet-bootstrap.kubeconfig`,
        `${n.name} kubelet : kubelet enabled and started`,
        `${n.name} handler kubelet : restart kubelet`,
      ]),
    );
    for (const o of lc.nodes.slice(0, -1)) expect(changed.filter((c) => c.startsWith(`${o.name} `))).toEqual([]);
    // The kubelet bootstrapped again with the new token: a client certificate, issued.
    const fresh = (await bootstrapTokens()).find((t) => b64(t.data['auth-extra-groups']) === `system:bootstrappers:${n.name}`)!;
    expect(fresh.metadata.name).not.toBe(old.metadata.name);
    await until(`${n.name} client certificate`, 120_000, async () => ((await lc.ssh(n.name, 'test -s /etc/kubernetes/cert/kubelet-client-current.pem')).code === 0 ? true : undefined));
    const again = await play();
    expect(again.code, show(again)).toBe(0);
    for (const s of Object.values(recap(again.stdout))) expect(s.changed).toBe(0);
  }, RUN_TIMEOUT);

  it('no output of any run contains a bootstrap token secret or the kube-proxy key', async () => {
    await bootstrapTokens();
    const secrets = [...tokenSecrets];
    expect(secrets.length).toBe(COUNT + 1);
    expect(outputs.length).toBeGreaterThanOrEqual(10);
    const all = outputs.join('\n');
    const leaked = secrets.filter((s) => s.length === 16 && all.includes(s)).length;
    expect(leaked, 'bootstrap token secrets found in tsplay output').toBe(0);
    const keyLines = readFileSync(lc.kubeProxyKey, 'utf8').split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
    expect(keyLines.length).toBeGreaterThan(0);
    expect(keyLines.filter((l) => all.includes(l)).length, 'kube-proxy key material in tsplay output').toBe(0);
    expect(all.includes(readFileSync(lc.kubeProxyKey).toString('base64').slice(0, 40)), 'kube-proxy key (base64) in tsplay output').toBe(false);
  });
});
