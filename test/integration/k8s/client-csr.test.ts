/**
 * A node's first client certificate, on a real apiserver and controller-manager, with tsplay's
 * default (kubelet_client_csr_approver: tsplay): no group-wide auto-approval, so the
 * controller-manager approves no bootstrap CSR, and csr_approve (signer client, the kubelet-csr
 * role's task) approves a node's CSR only when the token it was made with was issued for that node.
 * One node's token cannot get another node's identity; with the guides' binding it could.
 * The CSRs are made with the real bootstrap tokens tsplay issued (Bearer), as a kubelet makes them.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFrom, cluster, CLUSTER_TIMEOUT_MS, csrObject, opensslCsr, recap, until, work, writeKubeconfig, type Api, type TestCluster, type Work } from './fixture.js';

let c: TestCluster;
let admin: Api;
let w: Work;

const CLIENT = 'kubernetes.io/kube-apiserver-client-kubelet';
const USAGES = ['digital signature', 'key encipherment', 'client auth'];
const CSRS = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
const b64 = (s: string) => Buffer.from(s, 'base64').toString();

// Two play hosts on a local connection: worker-1 (inventory w1) and w2.
const inventory = () => `all:
  vars:
    ansible_connection: local
    kubeconfig: ${c.adminKubeconfig}
  hosts:
    w1: { kubelet_node_name: worker-1 }
    w2: { kubelet_node_name: w2 }
`;

const tokensPb = `
- hosts: all
  tasks:
    - bootstrap_token: { node: "{{ kubelet_node_name }}" }
`;

// The kubelet-csr role's client task for worker-1 alone (as for a node that has not joined yet);
// w2 is a host of the play, so a claim on w2 is judged and reported.
const approveW1Pb = `
- hosts: all
  tasks:
    - name: approve the client CSR of worker-1
      csr_approve:
        nodes: [{ name: worker-1 }]
        signer: client
        timeout: 30
        poll: 0.5
      when: inventory_hostname == "w1"
`;

beforeAll(async () => {
  c = await cluster();
  admin = apiFrom(c.adminKubeconfig);
  w = work('client-csr');
}, CLUSTER_TIMEOUT_MS);
afterAll(async () => {
  await c?.stop();
  w?.remove();
});

/** An API client authenticated with a bootstrap token, as the kubelet's bootstrap kubeconfig is. */
function asToken(token: string): Api {
  return apiFrom(writeKubeconfig(join(w.dir, `token-${token.slice(0, 6)}.kubeconfig`), c.server, readFileSync(c.caFile, 'utf8'), { token }));
}

/** The tsplay tokens by node: id.secret and the groups the apiserver will give their user. */
async function tokensByNode(): Promise<Map<string, { id: string; token: string; groups: string[] }>> {
  const list = await admin('GET', '/api/v1/namespaces/kube-system/secrets?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken');
  const out = new Map<string, { id: string; token: string; groups: string[] }>();
  for (const s of list.body.items as Array<{ metadata: { annotations?: Record<string, string> }; data: Record<string, string> }>) {
    const node = s.metadata.annotations?.['tsplay.dev/node'];
    if (!node) continue;
    const id = b64(s.data['token-id']!);
    out.set(node, { id, token: `${id}.${b64(s.data['token-secret']!)}`, groups: ['system:bootstrappers', ...b64(s.data['auth-extra-groups']!).split(','), 'system:authenticated'] });
  }
  return out;
}

/** Would the controller-manager's CSR approver auto-approve a first client CSR of this user? */
async function nodeclientAllowed(user: string, groups: string[]): Promise<boolean> {
  const r = await admin('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    // What the approver asks (pkg/controller/certificates/approver/sarapprove.go, nodeclient).
    spec: { user, groups, resourceAttributes: { group: 'certificates.k8s.io', resource: 'certificatesigningrequests', verb: 'create', subresource: 'nodeclient' } },
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.status.allowed === true;
}

/** A ClusterRoleBinding of the group system:bootstrappers to a ClusterRole, made as the admin. */
async function bindBootstrappers(name: string, clusterRole: string): Promise<void> {
  const crb = await admin('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:bootstrappers' }],
  });
  expect(crb.status, JSON.stringify(crb.body)).toBe(201);
}

async function post(api: Api, name: string, node: string): Promise<string> {
  const r = await api('POST', CSRS, csrObject(name, opensslCsr(w.dir, `/O=system:nodes/CN=system:node:${node}`).b64, CLIENT, USAGES));
  expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(201);
  return r.body.spec.username as string;
}

async function conditions(name: string): Promise<Array<{ type: string; reason?: string }>> {
  return (await admin('GET', `${CSRS}/${name}`)).body.status?.conditions ?? [];
}

describe("a bootstrap token yields only its own node's client certificate", () => {
  let tokens: Awaited<ReturnType<typeof tokensByNode>>;

  it('tokens for both nodes; bootstrappers may create CSRs, and nothing auto-approves them', async () => {
    const t = await w.play(tokensPb, inventory());
    expect(t.code, t.stdout + t.stderr).toBe(0);
    tokens = await tokensByNode();
    expect([...tokens.keys()].sort()).toEqual(['w2', 'worker-1']);
    // The guides' first binding (003 kubelet-bootstrap); csr-crb.yaml's nodeclient binding is not made.
    await bindBootstrappers('kubelet-bootstrap', 'system:node-bootstrapper');
    const w1 = tokens.get('worker-1')!;
    expect(await nodeclientAllowed(`system:bootstrap:${w1.id}`, w1.groups)).toBe(false);
  });

  it("worker-1's token asking for w2's identity stays pending with a warning; its own CSR is approved by tsplay and issued", async () => {
    const w1 = asToken(tokens.get('worker-1')!.token);
    expect(await post(w1, 'forged-w2-with-worker-1-token', 'w2')).toBe(`system:bootstrap:${tokens.get('worker-1')!.id}`);
    await post(w1, 'genuine-worker-1', 'worker-1');

    const run = await w.play(approveW1Pb, inventory());
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(recap(run.stdout).w1).toMatchObject({ changed: 1, failed: 0 });
    expect(run.stdout).toMatch(new RegExp(`WARNING: \\[w1\\] approve the client CSR of worker-1: refused CSR forged-w2-with-worker-1-token claiming node w2, left pending: requested by system:bootstrap:${tokens.get('worker-1')!.id}, whose token was not issued for w2 \\(no group system:bootstrappers:w2\\)`));

    expect((await conditions('genuine-worker-1'))[0]).toMatchObject({ type: 'Approved', reason: 'TsplayApproved' });
    const issued = await until('the client certificate', 60_000, async () => (await admin('GET', `${CSRS}/genuine-worker-1`)).body.status?.certificate as string | undefined);
    expect(new X509Certificate(Buffer.from(issued, 'base64')).subject).toBe('O=system:nodes\nCN=system:node:worker-1');
    // The forgery: not approved by tsplay, and not by the controller-manager either.
    expect(await conditions('forged-w2-with-worker-1-token')).toEqual([]);

    // Converged, but a forged CSR is pending: --detailed-exitcode says so with 6.
    const again = await w.play(approveW1Pb, inventory(), ['--detailed-exitcode']);
    expect(again.code, again.stdout + again.stderr).toBe(6);
    expect(recap(again.stdout).w1).toMatchObject({ changed: 0, failed: 0 });
  });

  it("with the guides' group binding (kubelet_client_csr_approver: cluster) the controller-manager would have given worker-1's token w2's certificate", async () => {
    await bindBootstrappers('auto-approve-csrs-for-group', 'system:certificates.k8s.io:certificatesigningrequests:nodeclient');
    const t = tokens.get('worker-1')!;
    // The apiserver's RBAC authorizer sees a new binding through its informer, a moment later.
    await until('the nodeclient binding to take effect', 30_000, async () => ((await nodeclientAllowed(`system:bootstrap:${t.id}`, t.groups)) ? true : undefined));
    await post(asToken(t.token), 'forged-w2-guides-rbac', 'w2');
    const issued = await until('the forged certificate', 60_000, async () => (await admin('GET', `${CSRS}/forged-w2-guides-rbac`)).body.status?.certificate as string | undefined);
    expect((await conditions('forged-w2-guides-rbac'))[0]).toMatchObject({ type: 'Approved', reason: 'AutoApproved' });
    expect(new X509Certificate(Buffer.from(issued, 'base64')).subject).toBe('O=system:nodes\nCN=system:node:w2');
  });
});
