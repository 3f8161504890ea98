/**
 * How the guides verify a node, as functions of the e2e test (worker.test.ts): requests to a
 * kubelet's API on its own address (guide 003, "kubelet api 认证和授权"), client certificates for
 * users the cluster CA vouches for, ServiceAccount tokens, and the apiserver's proxy to a kubelet.
 * Only Node built-ins and openssl, so the checks do not share code with what they check.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Api } from '../integration/k8s/fixture.js';

export interface Reply {
  status: number;
  body: string;
}

export interface Credentials {
  /** PEM client certificate and key */
  cert?: string;
  key?: string;
  /** Authorization: Bearer */
  token?: string;
}

/**
 * GET http(s)://ADDRESS:PORT/PATH. With `caPem`, over TLS, verifying the server's certificate
 * against it (by IP SAN) and presenting `creds`; without, plain HTTP (kube-proxy's /healthz).
 */
export function get(address: string, port: number, path: string, caPem?: string, creds: Credentials = {}): Promise<Reply> {
  const url = `${caPem ? 'https' : 'http'}://${address}:${port}${path}`;
  return new Promise((resolve, reject) => {
    const options = { host: address, port, path, timeout: 10_000, agent: false as const, headers: creds.token ? { Authorization: `Bearer ${creds.token}` } : {} };
    const onReply = (res: http.IncomingMessage) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    };
    const req = caPem ? https.get({ ...options, ca: caPem, cert: creds.cert, key: creds.key }, onReply) : http.get(options, onReply);
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on('error', reject);
  });
}

/** A client certificate for `subject`, issued by the cluster CA with openssl (as an admin would). */
export function clientCertificate(dir: string, name: string, subject: string, caFile: string, caKeyFile: string): Required<Pick<Credentials, 'cert' | 'key'>> {
  const base = join(dir, name);
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${base}.key`]);
  execFileSync('openssl', ['req', '-new', '-key', `${base}.key`, '-subj', subject, '-out', `${base}.csr`]);
  execFileSync('sh', ['-c', `printf 'basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature\\nextendedKeyUsage=clientAuth\\n' > '${base}.ext'`]);
  execFileSync('openssl', ['x509', '-req', '-in', `${base}.csr`, '-CA', caFile, '-CAkey', caKeyFile, '-set_serial', `0x${Date.now().toString(16)}`, '-days', '1', '-extfile', `${base}.ext`, '-out', `${base}.crt`]);
  return { cert: readFileSync(`${base}.crt`, 'utf8'), key: readFileSync(`${base}.key`, 'utf8') };
}

/** The client certificate and key embedded in a kubeconfig (its current context's user). */
export function kubeconfigCredentials(file: string): Required<Pick<Credentials, 'cert' | 'key'>> {
  const kc = parseYaml(readFileSync(file, 'utf8')) as {
    'current-context': string;
    contexts: Array<{ name: string; context: { user: string } }>;
    users: Array<{ name: string; user: Record<string, string> }>;
  };
  const userName = kc.contexts.find((c) => c.name === kc['current-context'])!.context.user;
  const user = kc.users.find((u) => u.name === userName)!.user;
  const d = (k: string) => Buffer.from(user[k] ?? '', 'base64').toString('utf8');
  return { cert: d('client-certificate-data'), key: d('client-key-data') };
}

/**
 * Guide 003's kubelet-api-test: a ServiceAccount bound to system:kubelet-api-admin, and a token for
 * it (TokenRequest, as `kubectl create token` does today; 003 read the token Secret of 1.16).
 */
export async function kubeletApiTestToken(admin: Api): Promise<string> {
  const ns = 'default';
  const sa = await admin('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'kubelet-api-test' } });
  if (sa.status !== 201 && sa.status !== 409) throw new Error(`ServiceAccount kubelet-api-test: ${sa.status} ${JSON.stringify(sa.body)}`);
  const crb = await admin('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'kubelet-api-test' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:kubelet-api-admin' },
    subjects: [{ kind: 'ServiceAccount', name: 'kubelet-api-test', namespace: ns }],
  });
  if (crb.status !== 201 && crb.status !== 409) throw new Error(`ClusterRoleBinding kubelet-api-test: ${crb.status} ${JSON.stringify(crb.body)}`);
  const tr = await admin('POST', `/api/v1/namespaces/${ns}/serviceaccounts/kubelet-api-test/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 600 },
  });
  if (tr.status !== 201) throw new Error(`TokenRequest for kubelet-api-test: ${tr.status} ${JSON.stringify(tr.body)}`);
  return (tr.body as { status: { token: string } }).status.token;
}

export interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** "Ready=False (KubeletNotReady: container runtime network not ready ...)" for a failure message. */
export function describeConditions(conditions: NodeCondition[]): string {
  return conditions.map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason}: ${c.message ?? ''})` : ''}`).join('; ');
}
