/**
 * A refused CSR that claims a node of the play, end to end through the CLI: a WARNING line at
 * default verbosity (once for a run_once task), the report's task warnings, and
 * --detailed-exitcode 6 when nothing else is pending. The API is a stand-in on 127.0.0.1 serving
 * a fixed CSR list (the real apiserver version is in test/integration/k8s/csr.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extensions, extReqAttr, ip4, nodeSubject, pem, request, sanExt, signed, tbs } from '../../helpers/csr-der.js';
import { tsplay } from '../../helpers/cli.js';

const SERVING = 'kubernetes.io/kubelet-serving';
const USAGES = ['digital signature', 'key encipherment', 'server auth'];
const one = (san: Buffer, node = 'w1') => signed(tbs(nodeSubject(node), [extReqAttr(extensions(san))]));
const genuine = one(sanExt({ dns: 'w1' }, { ip: ip4('127.0.1.1') }));
const forged = one(sanExt({ dns: 'kubernetes.default.svc' }, { ip: ip4('10.96.0.1') }));
const csr = (name: string, req: string, username: string, approved = false) => ({
  metadata: { name, uid: `uid-${name}` },
  spec: { signerName: SERVING, usages: USAGES, username, groups: ['system:nodes'], request: req },
  status: approved ? { conditions: [{ type: 'Approved', status: 'True' }] } : {},
});
const items = [
  csr('genuine-w1', request(pem(genuine)), 'system:node:w1', true),
  csr('forged-two-pem', request(pem(forged, { line: (l) => `  ${l}` }) + pem(genuine)), 'system:node:w1'),
  csr('outsider', request(pem(one(sanExt({ dns: 'w9' }), 'w9'))), 'system:node:w9'),
];

let dir: string;
let server: Server;
const writes: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsplay-csr-warn-'));
  server = createServer((req, res) => {
    if (req.method !== 'GET') writes.push(`${req.method} ${req.url}`);
    res.setHeader('Content-Type', 'application/json');
    if (req.method === 'GET' && req.url === '/apis/certificates.k8s.io/v1/certificatesigningrequests') res.end(JSON.stringify({ kind: 'CertificateSigningRequestList', items }));
    else {
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 }));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  writeFileSync(join(dir, 'kubeconfig'), `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`);
  writeFileSync(join(dir, 'inventory.yml'), `all:\n  vars:\n    ansible_connection: local\n    kubeconfig: ${join(dir, 'kubeconfig')}\n  hosts:\n    w1: {}\n    w2: {}\n`);
  writeFileSync(join(dir, 'site.yml'), `- name: approve\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: approve\n      csr_approve: { nodes: [{ name: w1, addresses: [w1, 127.0.1.1] }], timeout: 0 }\n      run_once: true\n`);
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => tsplay([join(dir, 'site.yml'), '-i', join(dir, 'inventory.yml'), ...args]);

describe('a forged CSR left pending is visible', () => {
  it('check mode: a WARNING line, the report lists it, --detailed-exitcode exits 6', async () => {
    const report = join(dir, 'plan.json');
    const r = await run('--check', '--detailed-exitcode', '--report', report);
    expect(r.code, r.stdout + r.stderr).toBe(6);
    expect(r.stdout).toMatch(/WARNING: \[w1\] approve: refused CSR forged-two-pem claiming node w1, left pending: spec.request refused: spec.request holds 2 PEM blocks/);
    expect(r.stdout).not.toMatch(/WARNING: \[w2\]/);
    expect(r.stdout).not.toMatch(/WARNING: .*outsider/);
    const tasks = (JSON.parse(readFileSync(report, 'utf8')) as { tasks: Array<{ host: string; warnings?: string[] }> }).tasks;
    expect(tasks.find((t) => t.host === 'w1')!.warnings).toEqual([expect.stringMatching(/^refused CSR forged-two-pem claiming node w1, left pending: spec.request refused: spec.request holds 2 PEM blocks/)]);
    expect(tasks.find((t) => t.host === 'w2')!.warnings).toBeUndefined();
  });

  it('a real run: the warning at default verbosity, exit 0 (6 with --detailed-exitcode), nothing approved', async () => {
    const plain = await run();
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/WARNING: \[w1\] approve: refused CSR forged-two-pem/);
    const detailed = await run('--detailed-exitcode');
    expect(detailed.code, detailed.stdout).toBe(6);
    expect(writes).toEqual([]);
  });
});
