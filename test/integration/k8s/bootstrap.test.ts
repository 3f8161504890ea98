/**
 * The guides' TLS bootstrap, judged by a real apiserver and controller-manager: tsplay creates a
 * bootstrap token and writes a kubeconfig holding only that token; a kubelet-style client CSR made
 * with it is refused (403) until the guides' bindings are applied by tsplay, then auto-approved and
 * issued by the controller-manager. No output of any run (at -vvv with --diff) holds the secret.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFrom, cluster, CLUSTER_TIMEOUT_MS, controllerInventory, csrObject, opensslCsr, recap, totalChanged, until, work, type Api, type CliRun, type TestCluster, type Work } from './fixture.js';

let c: TestCluster;
let admin: Api;
let w: Work;
let inv: string;
/** Every CLI run of this file, to search for secrets at the end. */
const runs: CliRun[] = [];
const V = ['-vvv', '--diff'];

beforeAll(async () => {
  c = await cluster();
  admin = apiFrom(c.adminKubeconfig);
  w = work('bootstrap');
  inv = controllerInventory(c.adminKubeconfig);
}, CLUSTER_TIMEOUT_MS);
afterAll(async () => {
  await c?.stop();
  w?.remove();
});

async function play(pb: string, args: string[] = []): Promise<CliRun> {
  const r = await w.play(pb, inv, [...V, ...args]);
  runs.push(r);
  return r;
}

const bootstrapPb = (dest: string) => `
- name: bootstrap token and kubeconfig
  hosts: all
  tasks:
    - name: token for w1
      bootstrap_token: { node: w1, ttl: 2h }
      register: bt
    - name: bootstrap kubeconfig
      kubeconfig:
        server: ${c.server}
        ca_file: ${c.caFile}
        token: "{{ bt.token }}"
        user_name: kubelet-bootstrap
        context_name: default
        dest: ${dest}
    - name: show the token
      debug: { msg: "token {{ bt.token }} id {{ bt.token_id }} secret {{ bt.token_secret }}" }
`;

// The guides: system:bootstrappers may create CSRs, and their client CSRs are auto-approved.
const bindingsPb = `
- name: bootstrap RBAC
  hosts: all
  tasks:
    - name: bootstrappers create CSRs and get client certificates
      k8s:
        definition:
          - apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRoleBinding
            metadata: { name: kubelet-bootstrap }
            roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:node-bootstrapper }
            subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:bootstrappers }]
          - apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRoleBinding
            metadata: { name: node-autoapprove-bootstrap }
            roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:certificates.k8s.io:certificatesigningrequests:nodeclient }
            subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:bootstrappers }]
`;

const CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
const CLIENT_USAGES = ['digital signature', 'key encipherment', 'client auth'];

describe('TLS bootstrap with a tsplay token', () => {
  let token = '';
  let tokenSecret = '';
  let dest = '';

  it('check mode registers a placeholder and creates nothing', async () => {
    dest = join(w.dir, 'bootstrap-kubelet.conf');
    const r = await play(bootstrapPb(dest), ['--check']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('- create bootstrap token for w1 (ttl 2h, groups system:bootstrappers:w1)');
    expect(r.stdout).toContain('+++ Secret/kube-system/bootstrap-token-<new id>: new file, secret content (not shown)');
    // A message templated from the token is secret as a whole (engine/secrets.ts: derived values);
    // the token id, not secret, is in the registered result.
    expect(r.stdout).toMatch(/ok: \[controller\] show the token\n {4}\*{8}\n/);
    expect(r.stdout).toContain('"token_id":"chkmod"');
    const list = await admin('GET', '/api/v1/namespaces/kube-system/secrets?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken');
    expect(list.body.items).toEqual([]);
  });

  it('creates a token Secret the apiserver accepts, and a 0600 kubeconfig; then both are ok', async () => {
    const r = await play(bootstrapPb(dest));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(totalChanged(r.stdout)).toBe(2);
    const list = await admin('GET', '/api/v1/namespaces/kube-system/secrets?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken');
    expect(list.body.items).toHaveLength(1);
    const s = list.body.items[0];
    const d = (k: string) => Buffer.from(s.data[k], 'base64').toString();
    expect(s.metadata.name).toBe(`bootstrap-token-${d('token-id')}`);
    expect(d('token-id')).toMatch(/^[a-z0-9]{6}$/);
    expect(d('token-secret')).toMatch(/^[a-z0-9]{16}$/);
    expect(d('auth-extra-groups')).toBe('system:bootstrappers:w1');
    expect(Date.parse(d('expiration')) - Date.now()).toBeGreaterThan(7000_000);
    token = `${d('token-id')}.${d('token-secret')}`;
    tokenSecret = d('token-secret');
    expect(r.stdout).toContain(`"token_id":"${d('token-id')}","token_secret":"********"`);
    expect(r.stdout).toMatch(/ok: \[controller\] show the token\n {4}\*{8}\n/);

    const conf = readFileSync(dest, 'utf8');
    expect(conf).toContain(`token: ${token}`);
    expect(conf).toContain('certificate-authority-data:');
    expect(statSync(dest).mode & 0o777).toBe(0o600);

    const again = await play(bootstrapPb(dest));
    expect(again.code, again.stdout).toBe(0);
    expect(recap(again.stdout).controller).toMatchObject({ changed: 0, failed: 0 });
    expect(readFileSync(dest, 'utf8')).toBe(conf);
  });

  it('the token authenticates as system:bootstrap:<id>, and without the bindings may not create a CSR', async () => {
    const asToken = apiFrom(dest);
    const review = await asToken('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    expect(review.status).toBe(201);
    expect(review.body.status.userInfo.username).toBe(`system:bootstrap:${token.split('.')[0]}`);
    expect(review.body.status.userInfo.groups).toEqual(expect.arrayContaining(['system:bootstrappers', 'system:bootstrappers:w1']));

    const csr = opensslCsr(w.dir, '/O=system:nodes/CN=system:node:w1');
    const refused = await asToken('POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', csrObject('node-csr-refused', csr.b64, CLIENT_SIGNER, CLIENT_USAGES));
    expect(refused.status).toBe(403);
    expect(refused.body.message).toMatch(/cannot create resource "certificatesigningrequests"/);

    // A tsplay task with that kubeconfig shows the Status reason and message, never the token.
    const denied = await w.play(`
- hosts: all
  tasks:
    - k8s: { definition: { apiVersion: v1, kind: ConfigMap, metadata: { name: x, namespace: default } } }
`, controllerInventory(dest), V);
    runs.push(denied);
    expect(denied.code).toBe(2);
    expect(denied.stdout).toMatch(/=> read ConfigMap\/default\/x: Forbidden: configmaps "x" is forbidden: User "system:bootstrap:[a-z0-9]{6}" cannot get resource "configmaps"/);
    expect(denied.stdout).toContain('hint: RBAC does not allow this');
  });

  it("with the guides' bindings applied by tsplay, the kubelet's client CSR is auto-approved and issued", async () => {
    const b = await play(bindingsPb);
    expect(b.code, b.stdout).toBe(0);
    expect(totalChanged(b.stdout)).toBe(1);
    const asToken = apiFrom(dest);
    const csr = opensslCsr(w.dir, '/O=system:nodes/CN=system:node:w1');
    const created = await asToken('POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', csrObject('node-csr-w1', csr.b64, CLIENT_SIGNER, CLIENT_USAGES));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const issued = await until('the CSR to be issued', 60_000, async () => {
      const r = await admin('GET', '/apis/certificates.k8s.io/v1/certificatesigningrequests/node-csr-w1');
      return r.body.status?.certificate ? r.body : undefined;
    });
    expect(issued.status.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Approved', reason: 'AutoApproved' })]));
    const cert = new X509Certificate(Buffer.from(issued.status.certificate, 'base64'));
    expect(cert.subject).toContain('CN=system:node:w1');
    expect(cert.subject).toContain('O=system:nodes');
    expect(cert.checkIssued(new X509Certificate(readFileSync(c.caFile)))).toBe(true);
    const again = await play(bindingsPb);
    expect(recap(again.stdout).controller).toMatchObject({ changed: 0 });
  });

  it('an expired token of the node is replaced', async () => {
    const past = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const stale = await admin('POST', '/api/v1/namespaces/kube-system/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bootstrap-token-old222', namespace: 'kube-system', annotations: { 'tsplay.dev/node': 'w2' } },
      type: 'bootstrap.kubernetes.io/token',
      stringData: { 'token-id': 'old222', 'token-secret': 'stalestalestale2', expiration: past, description: 'tsplay bootstrap token for w2', 'usage-bootstrap-authentication': 'true', 'usage-bootstrap-signing': 'true', 'auth-extra-groups': 'system:bootstrappers:w2' },
    });
    expect(stale.status).toBe(201);
    const r = await play(`
- hosts: all
  tasks:
    - bootstrap_token: { node: w2 }
      register: bt2
`);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/delete expired bootstrap token bootstrap-token-old222 of w2|create bootstrap token for w2/);
    expect((await admin('GET', '/api/v1/namespaces/kube-system/secrets/bootstrap-token-old222')).status).toBe(404);
    const list = await admin('GET', '/api/v1/namespaces/kube-system/secrets?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken');
    const w2 = list.body.items.filter((s: { metadata: { annotations?: Record<string, string> } }) => s.metadata.annotations?.['tsplay.dev/node'] === 'w2');
    expect(w2).toHaveLength(1);
    expect(Date.parse(Buffer.from(w2[0].data.expiration, 'base64').toString())).toBeGreaterThan(Date.now() + 23 * 3600_000);
  });

  it('no output of any run holds a token secret', async () => {
    expect(tokenSecret).toMatch(/^[a-z0-9]{16}$/);
    expect(runs.length).toBeGreaterThanOrEqual(6);
    const all = runs.map((r) => r.stdout + r.stderr).join('\n');
    expect(all).toContain('********');
    expect(all).not.toContain(tokenSecret);
    expect(all).not.toContain(token);
    expect(all).not.toContain('checkmodenotreal');
    // Every token tsplay made in this cluster (w1's and w2's).
    const list = await admin('GET', '/api/v1/namespaces/kube-system/secrets?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken');
    const secrets = list.body.items.map((s: { data: Record<string, string> }) => Buffer.from(s.data['token-secret']!, 'base64').toString());
    expect(secrets.length).toBe(2);
    for (const sec of secrets) expect(all).not.toContain(sec);
  });
});
