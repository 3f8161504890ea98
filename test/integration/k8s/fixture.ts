/**
 * Shared by the k8s integration tests: a real control plane (test/cluster), a raw API client that
 * reads a kubeconfig the way the apiserver sees it (independent of the modules under test), and
 * helpers to write a playbook + inventory and run the built CLI on them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startCluster, type TestCluster } from '../../cluster/cluster.js';
import { tsplay, type CliRun } from '../../helpers/cli.js';

export { tsplay, type CliRun, type TestCluster };
export { recap, totalChanged } from '../../helpers/cli.js';

/** A cold build of the Kubernetes binaries can take many minutes; warm, the cluster starts in ~20 s. */
export const CLUSTER_TIMEOUT_MS = 3_600_000;

export async function cluster(): Promise<TestCluster> {
  return startCluster();
}

export interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export type Api = (method: string, path: string, body?: unknown, headers?: Record<string, string | string[]>) => Promise<Answer>;

/** Requests as the user of a kubeconfig (embedded CA and a client certificate or a token). */
export function apiFrom(kubeconfigFile: string): Api {
  const kc = parse(readFileSync(kubeconfigFile, 'utf8')) as {
    'current-context': string;
    contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
    clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data'?: string } }>;
    users: Array<{ name: string; user: { token?: string; 'client-certificate-data'?: string; 'client-key-data'?: string } }>;
  };
  const ctx = kc.contexts.find((c) => c.name === kc['current-context'])!.context;
  const cl = kc.clusters.find((c) => c.name === ctx.cluster)!.cluster;
  const user = kc.users.find((u) => u.name === ctx.user)!.user;
  const b64 = (s?: string) => (s ? Buffer.from(s, 'base64') : undefined);
  return (method, path, body, headers = {}) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      const req = https.request(
        new URL(cl.server + path),
        {
          method,
          ca: b64(cl['certificate-authority-data']),
          cert: b64(user['client-certificate-data']),
          key: b64(user['client-key-data']),
          headers: {
            Accept: 'application/json',
            ...(user.token ? { Authorization: `Bearer ${user.token}` } : {}),
            ...(payload ? { 'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json', 'Content-Length': String(payload.length) } : {}),
            ...headers,
          },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              /* not JSON */
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
}

/**
 * A kubeconfig file (mode 0600) for one user of the cluster at `server`: a token, or a client
 * certificate and key (PEM). What apiFrom reads, as the kubelet's bootstrap and node kubeconfigs are.
 */
export function writeKubeconfig(file: string, server: string, caPem: string, user: { token: string } | { certPem: string; keyPem: string }): string {
  const e = (s: string) => Buffer.from(s).toString('base64');
  const credentials = 'token' in user ? { token: user.token } : { 'client-certificate-data': e(user.certPem), 'client-key-data': e(user.keyPem) };
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'c',
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      clusters: [{ name: 'k', cluster: { server, 'certificate-authority-data': e(caPem) } }],
      users: [{ name: 'u', user: credentials }],
    }),
    { mode: 0o600 },
  );
  return file;
}

/** Impersonation headers: act as a node (the admin may impersonate anyone). */
export function asUser(user: string, groups: string[]): Record<string, string | string[]> {
  return { 'Impersonate-User': user, 'Impersonate-Group': groups };
}

export interface Work {
  dir: string;
  /** Write a file in the work dir; returns its path. */
  write(name: string, text: string): string;
  /** Run the CLI on a playbook text with an inventory text, with extra CLI args. */
  play(playbook: string, inventory: string, args?: string[]): Promise<CliRun>;
  remove(): void;
}

export function work(prefix: string): Work {
  const dir = mkdtempSync(join(tmpdir(), `tsplay-k8s-${prefix}-`));
  let n = 0;
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  return {
    dir,
    write,
    play(playbook, inventory, args = []) {
      const i = n++;
      return tsplay([write(`pb${i}.yml`, playbook), '-i', write(`inv${i}.yml`, inventory), ...args]);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The one-host controller inventory the issue asks for. */
export function controllerInventory(kubeconfig: string): string {
  return `all:\n  hosts:\n    controller:\n      ansible_connection: local\n      kubeconfig: ${kubeconfig}\n`;
}

/** A PEM CSR made by openssl with an EC P-256 key, as a kubelet makes it. */
export function opensslCsr(dir: string, subject: string, sans?: string): { pem: string; b64: string } {
  const base = join(dir, `csr-${Math.random().toString(36).slice(2)}`);
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${base}.key`]);
  const args = ['req', '-new', '-key', `${base}.key`, '-subj', subject, '-out', `${base}.csr`];
  if (sans) args.push('-addext', `subjectAltName=${sans}`);
  execFileSync('openssl', args);
  const pem = readFileSync(`${base}.csr`, 'utf8');
  return { pem, b64: Buffer.from(pem).toString('base64') };
}

export function csrObject(name: string, requestB64: string, signerName: string, usages: string[]): unknown {
  return { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name }, spec: { request: requestB64, signerName, usages } };
}

export async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
