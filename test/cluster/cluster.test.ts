// Proves, against a real kube-apiserver and kube-controller-manager, the flow the seeds rely
// on: a bootstrap token alone may create a kubelet client CSR only once the two
// ClusterRoleBindings exist, and then the controller-manager approves and signs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  ApiException,
  AuthenticationV1Api,
  AuthorizationV1Api,
  CertificatesV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  type V1CertificateSigningRequest,
  type V1ClusterRoleBinding,
} from '@kubernetes/client-node';
import { startCluster, type TestCluster } from './cluster.js';

const sh = promisify(execFile);

// Cold machines compile kube-apiserver first; that dominates, not the cluster start.
const SETUP_TIMEOUT = 60 * 60_000;

/** [binding name, cluster role]: the one that lets a bootstrap token create CSRs, the one that auto-approves them. */
const CREATE_BINDING = ['tsplay:kubelet-bootstrap', 'system:node-bootstrapper'] as const;
const APPROVE_BINDING = ['tsplay:node-autoapprove-bootstrap', 'system:certificates.k8s.io:certificatesigningrequests:nodeclient'] as const;

function binding(name: string, role: string): V1ClusterRoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:bootstrappers' }],
  };
}

function tokenKubeconfig(c: TestCluster, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: c.server, caFile: c.caFile }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

function randomToken(): { id: string; secret: string } {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const pick = (n: number) => Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
  return { id: pick(6), secret: pick(16) };
}

async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000}s: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function status(e: unknown): number | undefined {
  return e instanceof ApiException ? e.code : undefined;
}

describe('real control plane', () => {
  let cluster: TestCluster;
  let admin: KubeConfig;
  let work: string;

  beforeAll(async () => {
    const t0 = Date.now();
    cluster = await startCluster();
    process.stderr.write(`[cluster.test] control plane up in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
    admin = new KubeConfig();
    admin.loadFromFile(cluster.adminKubeconfig);
    work = await fsp.mkdtemp(path.join(cluster.dir, 'work-'));
  }, SETUP_TIMEOUT);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('serves /version as the pinned release and trusts the admin cert as system:masters', async () => {
    const who = await admin.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    expect(who.status?.userInfo?.groups).toContain('system:masters');
    const roles = await admin.makeApiClient(RbacAuthorizationV1Api).readClusterRole({ name: 'system:node-bootstrapper' });
    expect(roles.rules?.some((r) => r.resources?.includes('certificatesigningrequests'))).toBe(true);
    expect(cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(cluster.apiserverKubeletClientUser).toBe('kube-apiserver-kubelet-client');
  });

  it('server-side dry-run apply of a ClusterRoleBinding validates without persisting', async () => {
    const objects = KubernetesObjectApi.makeApiClient(admin);
    const crb = binding('tsplay:dry-run-probe', 'system:node-bootstrapper');
    const res = await objects.patch(crb, undefined, 'All', 'tsplay', true, PatchStrategy.ServerSideApply);
    expect(res.metadata?.name).toBe('tsplay:dry-run-probe');
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await expect(rbac.readClusterRoleBinding({ name: 'tsplay:dry-run-probe' })).rejects.toSatisfy(
      (e) => status(e) === 404,
    );
    // Dry run still runs validation: a binding to a nonexistent roleRef kind is rejected.
    const bad = { ...crb, roleRef: { ...crb.roleRef, kind: 'NoSuchKind' } };
    await expect(objects.patch(bad, undefined, 'All', 'tsplay', true, PatchStrategy.ServerSideApply)).rejects.toSatisfy(
      (e) => status(e) === 422,
    );
  });

  it('tokencleaner deletes an expired bootstrap token', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    const { id, secret } = randomToken();
    await core.createNamespacedSecret({
      namespace: 'kube-system',
      body: {
        metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
        type: 'bootstrap.kubernetes.io/token',
        stringData: {
          'token-id': id,
          'token-secret': secret,
          expiration: new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z'),
          'usage-bootstrap-authentication': 'true',
        },
      },
    });
    await until('expired token deleted', 30_000, async () => {
      try {
        await core.readNamespacedSecret({ name: `bootstrap-token-${id}`, namespace: 'kube-system' });
        return undefined;
      } catch (e) {
        if (status(e) === 404) return true;
        throw e;
      }
    });
  }, 40_000);

  it('bootstrapsigner signs kube-public/cluster-info for a signing token', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    const { id, secret } = randomToken();
    await core.createNamespacedConfigMap({
      namespace: 'kube-public',
      body: {
        metadata: { name: 'cluster-info', namespace: 'kube-public' },
        data: {
          kubeconfig: [
            'apiVersion: v1',
            'kind: Config',
            'clusters:',
            '- name: ""',
            '  cluster:',
            `    server: ${cluster.server}`,
            `    certificate-authority-data: ${fs.readFileSync(cluster.caFile).toString('base64')}`,
            '',
          ].join('\n'),
        },
      },
    });
    await core.createNamespacedSecret({
      namespace: 'kube-system',
      body: {
        metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
        type: 'bootstrap.kubernetes.io/token',
        stringData: { 'token-id': id, 'token-secret': secret, 'usage-bootstrap-signing': 'true' },
      },
    });
    const jws = await until('cluster-info signed', 30_000, async () => {
      const cm = await core.readNamespacedConfigMap({ name: 'cluster-info', namespace: 'kube-public' });
      return cm.data?.[`jws-kubeconfig-${id}`];
    });
    // Detached JWS: header..signature
    expect(jws).toMatch(/^[\w-]+\.\.[\w-]+$/);
  }, 40_000);

  it('bootstrap token creates a kubelet client CSR only with the bindings, then it is approved and issued', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    const { id, secret } = randomToken();
    await core.createNamespacedSecret({
      namespace: 'kube-system',
      body: {
        metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
        type: 'bootstrap.kubernetes.io/token',
        stringData: {
          'token-id': id,
          'token-secret': secret,
          'usage-bootstrap-authentication': 'true',
          'auth-extra-groups': 'system:bootstrappers:worker',
        },
      },
    });

    const boot = tokenKubeconfig(cluster, `${id}.${secret}`);
    // A 403 below must mean "not authorized", not "token not recognised" (that would be 401).
    const who = await boot.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    expect(who.status?.userInfo?.username).toBe(`system:bootstrap:${id}`);
    expect(who.status?.userInfo?.groups).toEqual(
      expect.arrayContaining(['system:bootstrappers', 'system:bootstrappers:worker']),
    );
    await expect(
      tokenKubeconfig(cluster, `${id}.${'x'.repeat(16)}`)
        .makeApiClient(AuthenticationV1Api)
        .createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } }),
    ).rejects.toSatisfy((e) => status(e) === 401);

    const key = path.join(work, 'worker-1.key');
    const csrFile = path.join(work, 'worker-1.csr');
    await sh('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
    await sh('openssl', ['req', '-new', '-key', key, '-subj', '/O=system:nodes/CN=system:node:worker-1', '-out', csrFile]);
    const csr = (name: string): V1CertificateSigningRequest => ({
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name },
      spec: {
        request: fs.readFileSync(csrFile).toString('base64'),
        signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
        usages: ['digital signature', 'client auth'],
      },
    });
    const bootCerts = boot.makeApiClient(CertificatesV1Api);

    await expect(bootCerts.createCertificateSigningRequest({ body: csr('node-csr-denied') })).rejects.toSatisfy(
      (e) => status(e) === 403,
    );

    const [[createName, createRole], [approveName, approveRole]] = [CREATE_BINDING, APPROVE_BINDING];
    // The RBAC authorizer reads bindings from an informer; allow it to catch up.
    const createAllowed = (name: string) =>
      until(`CSR ${name} create allowed`, 15_000, async () => {
        try {
          return await bootCerts.createCertificateSigningRequest({ body: csr(name) });
        } catch (e) {
          if (status(e) === 403) return undefined;
          throw e;
        }
      });

    // Creating is not enough: the approver asks whether the requestor may create
    // certificatesigningrequests/nodeclient, which only the second binding grants.
    await rbac.createClusterRoleBinding({ body: binding(createName, createRole) });
    await createAllowed('node-csr-unapproved');
    await new Promise((r) => setTimeout(r, 5_000));
    const pending = await bootCerts.readCertificateSigningRequest({ name: 'node-csr-unapproved' });
    expect(pending.status?.conditions ?? []).toEqual([]);
    expect(pending.status?.certificate).toBeUndefined();

    await rbac.createClusterRoleBinding({ body: binding(approveName, approveRole) });
    // Wait until the authorizer answers the approver's question with yes; asking it ourselves
    // goes through the same RBAC informer, so the approver then sees the binding too.
    const authz = boot.makeApiClient(AuthorizationV1Api);
    await until('nodeclient permission visible', 15_000, async () => {
      const r = await authz.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: {
              group: 'certificates.k8s.io',
              resource: 'certificatesigningrequests',
              subresource: 'nodeclient',
              verb: 'create',
            },
          },
        },
      });
      return r.status?.allowed ? true : undefined;
    });
    const created = await createAllowed('node-csr-worker-1');
    expect(created.spec.username).toBe(`system:bootstrap:${id}`);

    const issued = await until('CSR approved and issued', 60_000, async () => {
      const c = await bootCerts.readCertificateSigningRequest({ name: 'node-csr-worker-1' });
      return c.status?.certificate ? c : undefined;
    });
    const approved = issued.status?.conditions?.find((c) => c.type === 'Approved');
    expect(approved?.status).toBe('True');
    expect(approved?.reason).toBe('AutoApproved');

    const crt = path.join(work, 'worker-1.crt');
    await fsp.writeFile(crt, Buffer.from(issued.status!.certificate!, 'base64'));
    const verify = await sh('openssl', ['verify', '-CAfile', cluster.caFile, crt]);
    expect(verify.stdout).toContain('OK');
    const subject = await sh('openssl', ['x509', '-in', crt, '-noout', '-subject', '-nameopt', 'RFC2253']);
    expect(subject.stdout.trim()).toBe('subject=CN=system:node:worker-1,O=system:nodes');

    // The issued credential is what the kubelet would use from then on.
    const node = new KubeConfig();
    node.loadFromOptions({
      clusters: [{ name: 'c', server: cluster.server, caFile: cluster.caFile }],
      users: [{ name: 'n', certFile: crt, keyFile: key }],
      contexts: [{ name: 'x', cluster: 'c', user: 'n' }],
      currentContext: 'x',
    });
    const nodeWho = await node.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    expect(nodeWho.status?.userInfo?.username).toBe('system:node:worker-1');
    expect(nodeWho.status?.userInfo?.groups).toContain('system:nodes');
  }, 120_000);

  it('stop() ends the control plane and removes its dir', async () => {
    const { dir, server } = cluster;
    await cluster.stop();
    if (process.env.TSPLAY_KEEP_CLUSTER !== '1') expect(fs.existsSync(dir)).toBe(false);
    await expect(fetch(`${server}/readyz`)).rejects.toThrow();
  }, 60_000);
});
