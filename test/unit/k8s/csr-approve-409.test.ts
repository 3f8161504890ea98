/**
 * csr_approve's approval after a 409: the CSR read again is evaluated again, and only the object
 * that was evaluated (same metadata.uid) is approved. Before, a CSR replaced under the same name
 * between the list and the PUT was approved with the old CSR's reason text.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { K8sApiError, type K8sClient } from '../../../engine/modules/k8s/client.js';
import { evaluateCsr, SIGNERS, type CsrLike, type NodeIdentity } from '../../../engine/modules/k8s/csr-policy.js';
import { decide } from '../../../engine/modules/k8s/csr_approve.js';
import type { ModuleContext } from '../../../engine/modules/types.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsplay-csr409-'));
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(dir, 'key.pem')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function csr(uid: string, sans: string): CsrLike {
  const out = join(dir, `${uid}.csr`);
  execFileSync('openssl', ['req', '-new', '-key', join(dir, 'key.pem'), '-subj', '/O=system:nodes/CN=system:node:w1', '-addext', `subjectAltName=${sans}`, '-out', out]);
  return {
    metadata: { name: 'csr-w1', uid },
    spec: { signerName: SIGNERS.serving, usages: ['digital signature', 'key encipherment', 'server auth'], username: 'system:node:w1', groups: ['system:nodes'], request: readFileSync(out).toString('base64') },
  };
}

const nodes: NodeIdentity[] = [{ name: 'w1', addresses: ['w1', '127.0.1.1'] }];
const reevaluate = (c: CsrLike) => evaluateCsr(c, nodes, 'serving');
const ctx = { signal: new AbortController().signal } as ModuleContext;

/** An apiserver stand-in: the first PUT conflicts, GET answers `current`; records what was PUT. */
function fakeClient(current: () => CsrLike): { client: K8sClient; puts: CsrLike[] } {
  const puts: CsrLike[] = [];
  const client = {
    server: 'https://fake',
    async request(method: string, _path: string, opts?: { body?: unknown }) {
      if (method !== 'PUT') throw new Error(`unexpected ${method}`);
      const body = opts!.body as CsrLike;
      if (puts.length === 0) {
        puts.push(body);
        throw new K8sApiError(409, 'Conflict', 'the object has been modified', 'approve CSR csr-w1');
      }
      puts.push(body);
      return {};
    },
    async get() {
      return current();
    },
  } as unknown as K8sClient;
  return { client, puts };
}

describe('csr_approve after a 409', () => {
  it('a CSR replaced under the same name (new uid, forged SAN) is not approved', async () => {
    const genuine = csr('uid-1', 'DNS:w1');
    const forged = csr('uid-2', 'DNS:kubernetes.default.svc');
    expect((await reevaluate(genuine)).ok).toBe(true);
    const { client, puts } = fakeClient(() => forged);
    const why = await decide(client, ctx, 'csr-w1', genuine, 'Approved', 'TsplayApproved', 'tsplay csr_approve: checked', reevaluate);
    expect(why).toMatch(/replaced \(uid uid-2, evaluated uid-1\)/);
    expect(puts.map((p) => p.metadata?.uid)).toEqual(['uid-1']);
  });

  it('a replaced CSR is not approved even when it would pass: it was never evaluated', async () => {
    const { client, puts } = fakeClient(() => csr('uid-3', 'DNS:w1'));
    const why = await decide(client, ctx, 'csr-w1', csr('uid-1', 'DNS:w1'), 'Approved', 'TsplayApproved', 'm', reevaluate);
    expect(why).toMatch(/replaced/);
    expect(puts).toHaveLength(1);
  });

  it('the same CSR after a conflict (another writer touched it) is evaluated again and approved', async () => {
    const genuine = csr('uid-1', 'DNS:w1');
    const { client, puts } = fakeClient(() => ({ ...genuine, metadata: { ...genuine.metadata, resourceVersion: '2' } as CsrLike['metadata'] }));
    expect(await decide(client, ctx, 'csr-w1', genuine, 'Approved', 'TsplayApproved', 'm', reevaluate)).toBeUndefined();
    expect(puts.map((p) => p.metadata?.uid)).toEqual(['uid-1', 'uid-1']);
    expect(puts[1]!.status?.conditions?.at(-1)).toMatchObject({ type: 'Approved', status: 'True' });
  });

  it('the same uid but now failing the checks (a mutated spec) is not approved', async () => {
    const genuine = csr('uid-1', 'DNS:w1');
    const mutated = { ...csr('uid-1', 'DNS:evil.example'), metadata: genuine.metadata };
    const { client, puts } = fakeClient(() => mutated);
    expect(await decide(client, ctx, 'csr-w1', genuine, 'Approved', 'TsplayApproved', 'm', reevaluate)).toMatch(/no longer passes: SAN DNS:evil.example/);
    expect(puts).toHaveLength(1);
  });
});
