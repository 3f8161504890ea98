/**
 * The k8s modules against a real control plane (test/cluster) when it misbehaves:
 *
 *   - 500s and 429s (Retry-After honoured) are retried with backoff and the apply goes through;
 *   - csr_approve's approval PUT gets the same retries (503, 500, then approved once);
 *   - a 500 that does not stop: bounded retries, then a failure naming the object; the other
 *     object of the task is applied, and a re-run does only the one that is left;
 *   - 429 that does not stop, and an apiserver slower than k8s_timeout: bounded, named failures;
 *   - 409: a "modified meanwhile" conflict is retried; a real field-manager race (another manager
 *     takes the field between tsplay's dry run and its apply) fails clearly, is not retried,
 *     and force_conflicts settles it on the re-run;
 *   - the apiserver process killed: "cannot reach" after bounded retries, naming the object; once
 *     it is back, a re-run converges.
 *
 * 500/429/slowness/the race's timing come from test/integration/faults/fault-proxy.ts, a small
 * HTTPS forwarder in front of the real apiserver (the only fake piece: see README.md here).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, readdirSync, closeSync } from 'node:fs';
import * as https from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFrom, asUser, cluster, CLUSTER_TIMEOUT_MS, csrObject, opensslCsr, recap, work, type Api, type TestCluster, type Work } from '../k8s/fixture.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

let c: TestCluster;
let admin: Api;
let w: Work;
let proxy: FaultProxy;
let proxyKubeconfig: string;
let restarted: ChildProcess | undefined;

const CR = (name: string) => `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`;
const CRB = (name: string) => `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}`;

/** A ClusterRole and a binding to it, in one k8s task. */
function playbook(name: string, opts: { verbs?: string; force?: boolean } = {}): string {
  return `- hosts: all
  tasks:
    - name: rbac objects
      k8s:
        ${opts.force ? 'force_conflicts: true\n        ' : ''}definition:
          - apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRole
            metadata: { name: ${name} }
            rules: [{ apiGroups: [""], resources: [nodes], verbs: [${opts.verbs ?? 'get'}] }]
          - apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRoleBinding
            metadata: { name: ${name} }
            roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${name} }
            subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: Group, name: tsplay-faults }]
`;
}

function inventory(kubeconfig: string, vars: Record<string, string | number> = {}): string {
  const extra = Object.entries(vars).map(([k, v]) => `      ${k}: ${v}\n`).join('');
  return `all:\n  hosts:\n    controller:\n      ansible_connection: local\n      kubeconfig: ${kubeconfig}\n${extra}`;
}

const isApply = (name: string, kind: 'clusterroles' | 'clusterrolebindings') => (r: { method: string; url: string }) =>
  r.method === 'PATCH' && r.url.startsWith(`/apis/rbac.authorization.k8s.io/v1/${kind}/${name}?`) && !r.url.includes('dryRun=');

function failedLine(stdout: string): string {
  return stdout.slice(stdout.lastIndexOf('FAILED HOSTS')).split('\n').find((l) => l.trim().startsWith('controller:')) ?? '';
}

beforeAll(async () => {
  c = await cluster();
  admin = apiFrom(c.adminKubeconfig);
  w = work('faults');
  proxy = await startFaultProxy(c.dir, c.server);
  proxyKubeconfig = w.write('proxy.kubeconfig', proxy.kubeconfigText(c.adminKubeconfig));
}, CLUSTER_TIMEOUT_MS);
afterAll(async () => {
  if (restarted?.pid && restarted.exitCode === null) {
    const gone = new Promise((r) => restarted!.once('exit', r));
    restarted.kill('SIGTERM');
    await gone;
  }
  await proxy?.close();
  await c?.stop();
  w?.remove();
});

describe('k8s modules when the apiserver misbehaves', () => {
  it('500 then 429 (Retry-After) are retried with backoff; the apply goes through', async () => {
    const name = 'tsplay-faults-a';
    const answers = [500, 500, 429];
    proxy.fault = (r) => (isApply(name, 'clusterrolebindings')(r) && answers.length ? { status: answers.shift()!, headers: { 'Retry-After': '1' } } : undefined);
    proxy.seen.length = 0;
    const run = await w.play(playbook(name), inventory(proxyKubeconfig));
    proxy.fault = () => undefined;
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(recap(run.stdout).controller).toMatchObject({ changed: 1, failed: 0 });
    const tries = proxy.seen.filter(isApply(name, 'clusterrolebindings'));
    expect(tries.map((t) => t.outcome)).toEqual([500, 500, 429, 201]);
    // Retry-After: 1 on each: at least 3 s from the first try to the last.
    expect(tries[3]!.at - tries[0]!.at).toBeGreaterThanOrEqual(2900);
    expect((await admin('GET', CRB(name))).status).toBe(200);
  });

  it('a 500 that does not stop: bounded retries, the object named; the rest applied; a re-run finishes only what is left', async () => {
    const name = 'tsplay-faults-b';
    proxy.fault = (r) =>
      isApply(name, 'clusterrolebindings')(r) ? { status: 500, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'InternalError', message: 'etcdserver: request timed out', code: 500 } } : undefined;
    proxy.seen.length = 0;
    const t0 = Date.now();
    const run = await w.play(playbook(name), inventory(proxyKubeconfig));
    proxy.fault = () => undefined;
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(failedLine(run.stdout)).toMatch(/rbac objects: apply ClusterRoleBinding\/tsplay-faults-b: InternalError: etcdserver: request timed out \(gave up after 5 attempts\)/);
    expect(proxy.seen.filter(isApply(name, 'clusterrolebindings'))).toHaveLength(5);
    // 0.5 + 1 + 2 + 4 s of backoff, and not much more.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(7000);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect((await admin('GET', CR(name))).status).toBe(200);
    expect((await admin('GET', CRB(name))).status).toBe(404);

    const again = await w.play(playbook(name), inventory(proxyKubeconfig), ['-v']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain(`create ClusterRoleBinding/${name}`);
    expect(again.stdout).not.toMatch(new RegExp(`(create|update) ClusterRole/${name}`));
    expect((await admin('GET', CRB(name))).status).toBe(200);
    const third = await w.play(playbook(name), inventory(proxyKubeconfig));
    expect(recap(third.stdout).controller).toMatchObject({ changed: 0, failed: 0 });
  });

  it('csr_approve: a 503 and a 500 on the approval are retried, and the CSR is approved once', async () => {
    const CSRS = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
    const node = 'faults-node';
    const req = opensslCsr(w.dir, `/O=system:nodes/CN=system:node:${node}`, `DNS:${node},IP:127.0.1.77`);
    const made = await admin('POST', CSRS, csrObject('faults-serving', req.b64, 'kubernetes.io/kubelet-serving', ['digital signature', 'key encipherment', 'server auth']), asUser(`system:node:${node}`, ['system:nodes', 'system:authenticated']));
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const isApproval = (r: { method: string; url: string }): boolean => r.method === 'PUT' && r.url.startsWith(`${CSRS}/faults-serving/approval`);
    const answers = [503, 500];
    proxy.fault = (r) => (isApproval(r) && answers.length ? { status: answers.shift()! } : undefined);
    proxy.seen.length = 0;
    const inv = `all:\n  hosts:\n    ${node}:\n      ansible_connection: local\n      kubeconfig: ${proxyKubeconfig}\n      node_ip: 127.0.1.77\n`;
    const run = await w.play(`- hosts: all\n  tasks:\n    - csr_approve: { timeout: 20, poll: 0.5 }\n      run_once: true\n`, inv);
    proxy.fault = () => undefined;
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(proxy.seen.filter(isApproval).map((t) => t.outcome)).toEqual([503, 500, 200]);
    const after = await admin('GET', `${CSRS}/faults-serving`);
    const conditions = (after.body.status?.conditions ?? []) as Array<{ type: string }>;
    expect(conditions.map((x) => x.type)).toEqual(['Approved']);
  });

  it('429 that does not stop, and an apiserver slower than k8s_timeout: bounded, named failures', async () => {
    proxy.fault = () => ({ status: 429, headers: { 'Retry-After': '0' }, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'TooManyRequests', message: 'too many requests, please try again later', code: 429 } });
    proxy.seen.length = 0;
    const throttled = await w.play(playbook('tsplay-faults-c'), inventory(proxyKubeconfig));
    proxy.fault = () => undefined;
    expect(throttled.code, throttled.stdout + throttled.stderr).toBe(2);
    expect(failedLine(throttled.stdout)).toMatch(/ClusterRole\/tsplay-faults-c: discover rbac\.authorization\.k8s\.io\/v1: TooManyRequests: too many requests.*\(gave up after 5 attempts\)/);
    expect(proxy.seen).toHaveLength(5);

    proxy.fault = () => ({ delayMs: 3000 });
    proxy.seen.length = 0;
    const t0 = Date.now();
    const slow = await w.play(playbook('tsplay-faults-c'), inventory(proxyKubeconfig, { k8s_timeout: 1, k8s_retries: 2 }));
    const took = Date.now() - t0;
    proxy.fault = () => undefined;
    expect(slow.code, slow.stdout + slow.stderr).toBe(2);
    expect(failedLine(slow.stdout)).toMatch(/ClusterRole\/tsplay-faults-c: discover rbac\.authorization\.k8s\.io\/v1: cannot reach https:\/\/127\.0\.0\.1:\d+: ETIMEDOUT: no answer in 1s \(gave up after 3 attempts\)/);
    expect(proxy.seen).toHaveLength(3);
    expect(took).toBeLessThan(15_000);

    // Slow only once: the retry answers.
    let first = true;
    proxy.fault = () => (first ? ((first = false), { delayMs: 3000 }) : undefined);
    const once = await w.play(playbook('tsplay-faults-c'), inventory(proxyKubeconfig, { k8s_timeout: 1 }));
    proxy.fault = () => undefined;
    expect(once.code, once.stdout + once.stderr).toBe(0);
    expect((await admin('GET', CRB('tsplay-faults-c'))).status).toBe(200);
  });

  it('409: "modified meanwhile" is retried; a real field-manager race is reported, not retried, and force_conflicts settles it', async () => {
    const name = 'tsplay-faults-d';
    let injected = false;
    proxy.fault = (r) =>
      isApply(name, 'clusterroles')(r) && !injected
        ? ((injected = true),
          { status: 409, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Conflict', code: 409, message: `Operation cannot be fulfilled on clusterroles.rbac.authorization.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again` } })
        : undefined;
    proxy.seen.length = 0;
    const retried = await w.play(playbook(name), inventory(proxyKubeconfig));
    proxy.fault = () => undefined;
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    expect(proxy.seen.filter(isApply(name, 'clusterroles')).map((s) => s.outcome)).toEqual([409, 201]);

    // The race: after tsplay's dry run said "update", another manager sets the verbs tsplay is
    // about to change; the real apiserver then refuses tsplay's apply with a conflict.
    proxy.fault = (r) =>
      isApply(name, 'clusterroles')(r)
        ? {
            before: async () => {
              const patch = await admin('PATCH', `${CR(name)}?fieldManager=racer`, { rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['watch'] }] });
              expect(patch.status).toBe(200);
            },
          }
        : undefined;
    proxy.seen.length = 0;
    const raced = await w.play(playbook(name, { verbs: 'get, list' }), inventory(proxyKubeconfig));
    proxy.fault = () => undefined;
    expect(raced.code, raced.stdout + raced.stderr).toBe(2);
    expect(failedLine(raced.stdout)).toMatch(/apply ClusterRole\/tsplay-faults-d: Conflict: Apply failed with \d+ conflicts?: conflicts? with "racer"/);
    expect(raced.stdout).toContain('force_conflicts: true');
    expect(proxy.seen.filter(isApply(name, 'clusterroles'))).toHaveLength(1);
    expect((await admin('GET', CR(name))).body.rules[0].verbs).toEqual(['watch']);

    const plain = await w.play(playbook(name, { verbs: 'get, list' }), inventory(proxyKubeconfig));
    expect(plain.code).toBe(2);
    expect(failedLine(plain.stdout)).toMatch(/ClusterRole\/tsplay-faults-d: Conflict/);
    const forced = await w.play(playbook(name, { verbs: 'get, list', force: true }), inventory(proxyKubeconfig));
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect((await admin('GET', CR(name))).body.rules[0].verbs).toEqual(['get', 'list']);
  });

  it('apiserver killed: bounded retries then "cannot reach", naming the object; back up, a re-run converges', async () => {
    const name = 'tsplay-faults-e';
    const pid = apiserverPid(c.dir);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));

    const t0 = Date.now();
    const down = await w.play(playbook(name), inventory(c.adminKubeconfig));
    expect(down.code, down.stdout + down.stderr).toBe(2);
    expect(failedLine(down.stdout)).toMatch(new RegExp(`ClusterRole/${name}: discover rbac\\.authorization\\.k8s\\.io/v1: cannot reach ${c.server.replace(/\./g, '\\.')}: .*ECONNREFUSED.*\\(gave up after 5 attempts\\)`));
    expect(down.stdout).toContain('is the apiserver up');
    expect(Date.now() - t0).toBeLessThan(30_000);

    // Back up: the same binary and flags, the same etcd (its data survived).
    const log = openSync(join(c.dir, 'logs', 'kube-apiserver.restarted.log'), 'a');
    restarted = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...argv], { stdio: ['ignore', log, log], cwd: c.dir });
    closeSync(log);
    await readyz(c.dir, c.server);
    const up = await w.play(playbook(name), inventory(c.adminKubeconfig));
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(recap(up.stdout).controller).toMatchObject({ changed: 1, failed: 0 });
    expect((await admin('GET', CRB(name))).status).toBe(200);
    // What earlier tests applied is still there.
    expect((await admin('GET', CRB('tsplay-faults-b'))).status).toBe(200);
  });
});

/** The kube-apiserver of this cluster: the process whose flags name the cluster's own directory. */
function apiserverPid(dir: string): number {
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (args[0]?.endsWith('/kube-apiserver') && args.includes(`--cert-dir=${join(dir, 'apiserver-certs')}`)) return Number(p);
    } catch {
      /* gone meanwhile */
    }
  }
  throw new Error(`no kube-apiserver for ${dir}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function readyz(dir: string, server: string): Promise<void> {
  const pki = (f: string) => readFileSync(join(dir, 'pki', f));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = https.get(`${server}/readyz`, { ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key'), timeout: 3000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error('the restarted kube-apiserver did not become ready');
    await new Promise((r) => setTimeout(r, 250));
  }
}
