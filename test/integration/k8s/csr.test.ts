/**
 * csr_approve against a real apiserver and controller-manager. Serving CSRs are created as the
 * nodes themselves (admin impersonating system:node:<n> in system:nodes, so spec.username is what
 * a kubelet's would be). The genuine ones of the play's hosts are approved (and then issued by the
 * controller-manager's signer); at least six forged ones stay pending, each with its reason.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extensions, extReqAttr, ip4, nodeSubject, OID, oid, pem, request, sanExt, seq, signed, tbs } from '../../helpers/csr-der.js';
import { apiFrom, asUser, cluster, CLUSTER_TIMEOUT_MS, csrObject, opensslCsr, recap, until, work, type Api, type TestCluster, type Work } from './fixture.js';

let c: TestCluster;
let admin: Api;
let w: Work;

const SERVING = 'kubernetes.io/kubelet-serving';
const USAGES = ['digital signature', 'key encipherment', 'server auth'];
const CSRS = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

// Two play hosts: w1 (kubelet_node_name worker-1) and w2; both on a local connection.
const inventory = () => `all:
  vars:
    ansible_connection: local
    kubeconfig: ${c.adminKubeconfig}
  hosts:
    w1:
      kubelet_node_name: worker-1
      node_ip: 127.0.1.1
    w2:
      node_ip: 127.0.1.2
`;

const approvePb = (extra = '') => `
- name: approve kubelet serving certificates
  hosts: all
  tasks:
    - name: approve
      csr_approve: { timeout: 30, poll: 0.5${extra} }
      run_once: true
      register: csr
    - name: rejected
      debug: { var: csr.rejected }
      run_once: true
`;

beforeAll(async () => {
  c = await cluster();
  admin = apiFrom(c.adminKubeconfig);
  w = work('csr');
}, CLUSTER_TIMEOUT_MS);
afterAll(async () => {
  await c?.stop();
  w?.remove();
});

const asNode = (n: string) => asUser(`system:node:${n}`, ['system:nodes', 'system:authenticated']);

async function create(name: string, opts: { as: Record<string, string | string[]> | null; subject: string; sans?: string; signer?: string; usages?: string[] }): Promise<void> {
  const req = opensslCsr(w.dir, opts.subject, opts.sans);
  const r = await admin('POST', CSRS, csrObject(name, req.b64, opts.signer ?? SERVING, opts.usages ?? USAGES), opts.as ?? {});
  expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(201);
  expect(r.body.spec.username).toBe(opts.as ? opts.as['Impersonate-User'] : 'kubernetes-admin');
}

async function state(name: string): Promise<{ conditions: Array<{ type: string; reason?: string; message?: string }>; certificate?: string }> {
  const r = await admin('GET', `${CSRS}/${name}`);
  return { conditions: r.body.status?.conditions ?? [], certificate: r.body.status?.certificate };
}

const FORGED = ['forged-wrong-name', 'forged-foreign-san', 'forged-extra-ip', 'forged-wrong-signer', 'forged-wrong-usages', 'forged-not-a-node', 'forged-outsider', 'forged-no-san'];

describe('csr_approve', () => {
  it('approves the genuine serving CSRs of the play, waits for a late one, leaves forged ones pending', async () => {
    await create('genuine-worker-1', { as: asNode('worker-1'), subject: '/O=system:nodes/CN=system:node:worker-1', sans: 'DNS:worker-1,DNS:w1,IP:127.0.1.1' });
    // Forgeries, each failing one check.
    // A node asking for another node's name: since Kubernetes 1.3x the NodeRestriction admission
    // refuses a CN that is not the requester's own; the name can still hide in a SAN.
    const refused = await admin('POST', CSRS, csrObject('forged-cn', opensslCsr(w.dir, '/O=system:nodes/CN=system:node:w2', 'DNS:w2').b64, SERVING, USAGES), asNode('worker-1'));
    expect(refused.status).toBe(403);
    await create('forged-wrong-name', { as: asNode('worker-1'), subject: '/O=system:nodes/CN=system:node:worker-1', sans: 'DNS:worker-1,DNS:w2' });
    await create('forged-foreign-san', { as: asNode('worker-1'), subject: '/O=system:nodes/CN=system:node:worker-1', sans: 'DNS:worker-1,DNS:kubernetes.default.svc' });
    await create('forged-extra-ip', { as: asNode('w2'), subject: '/O=system:nodes/CN=system:node:w2', sans: 'DNS:w2,IP:127.0.1.2,IP:10.9.9.9' });
    await create('forged-wrong-signer', { as: asNode('w2'), subject: '/O=system:nodes/CN=system:node:w2', sans: 'DNS:w2', signer: 'example.com/tsplay-test' });
    await create('forged-wrong-usages', { as: asNode('w2'), subject: '/O=system:nodes/CN=system:node:w2', sans: 'DNS:w2', usages: [...USAGES, 'client auth'] });
    await create('forged-not-a-node', { as: null, subject: '/O=system:nodes/CN=system:node:w2', sans: 'DNS:w2' });
    await create('forged-outsider', { as: asNode('w9'), subject: '/O=system:nodes/CN=system:node:w9', sans: 'DNS:w9' });
    await create('forged-no-san', { as: asNode('w2'), subject: '/O=system:nodes/CN=system:node:w2' });

    // Check mode: lists what it would approve and approves nothing.
    const check = await w.play(approvePb(), inventory(), ['--check', '-v']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/approve CSR genuine-worker-1 of worker-1 \(requester system:node:worker-1 in system:nodes/);
    expect(check.stdout).toContain('would wait up to 30s for CSRs of w2');
    expect((await state('genuine-worker-1')).conditions).toEqual([]);

    // The real run: w2's kubelet asks a little later; the task waits for it.
    const running = w.play(approvePb(), inventory(), ['-vvv']);
    await new Promise((r) => setTimeout(r, 2000));
    await create('genuine-w2', { as: asNode('w2'), subject: '/O=system:nodes/CN=system:node:w2', sans: 'DNS:w2,IP:127.0.1.2' });
    const run = await running;
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(recap(run.stdout).w1).toMatchObject({ changed: 1, failed: 0 });

    for (const name of ['genuine-worker-1', 'genuine-w2']) {
      const s = await state(name);
      expect(s.conditions[0]).toMatchObject({ type: 'Approved', reason: 'TsplayApproved' });
      expect(s.conditions[0]!.message).toMatch(/^tsplay csr_approve: requester system:node:.* signature verified$/);
    }
    // The controller-manager's signer issues what tsplay approved.
    const issued = await until('the serving certificate', 60_000, async () => (await state('genuine-w2')).certificate);
    const cert = new X509Certificate(Buffer.from(issued, 'base64'));
    expect(cert.subject).toContain('CN=system:node:w2');
    expect(cert.subjectAltName).toContain('IP Address:127.0.1.2');

    // Every forgery is still pending, and the run said why.
    for (const name of FORGED) expect((await state(name)).conditions, name).toEqual([]);
    const reasons: Record<string, RegExp> = {
      'forged-wrong-name': /SAN DNS:w2 is not an inventory name or address of worker-1/,
      'forged-foreign-san': /SAN DNS:kubernetes.default.svc is not an inventory name or address of worker-1/,
      'forged-extra-ip': /SAN IP:10.9.9.9 is not an inventory name or address of w2/,
      'forged-wrong-signer': /signer is example.com\/tsplay-test/,
      'forged-wrong-usages': /usages client auth are not allowed/,
      'forged-not-a-node': /requested by kubernetes-admin, not by a node/,
      'forged-outsider': /node w9 is not a host of this play/,
      'forged-no-san': /no DNS or IP SAN/,
    };
    const rejected = /"rejected":(\[[^\]]*\])/.exec(run.stdout);
    expect(rejected, run.stdout).not.toBeNull();
    const list = JSON.parse(rejected![1]!) as Array<{ name: string; reason: string }>;
    for (const [name, re] of Object.entries(reasons)) expect(list.find((r) => r.name === name)?.reason, name).toMatch(re);

    // Second run: every node has an approved CSR; nothing to do.
    const again = await w.play(approvePb(), inventory());
    expect(again.code, again.stdout).toBe(0);
    expect(recap(again.stdout).w1).toMatchObject({ changed: 0, failed: 0 });
    // At default verbosity, each forgery that claims a play node is a warning line; an outsider's is not.
    expect(again.stdout).toMatch(/WARNING: \[w1\] approve: refused CSR forged-foreign-san claiming node worker-1, left pending: SAN DNS:kubernetes.default.svc is not an inventory name or address of worker-1/);
    expect(again.stdout).toMatch(/WARNING: \[w1\] approve: refused CSR forged-no-san claiming node w2, left pending: no DNS or IP SAN/);
    expect(again.stdout).not.toMatch(/WARNING: .*forged-outsider/);
    // run_once: said once, by the host that ran it, not again for w2 that shares its outcome.
    expect(again.stdout).not.toMatch(/WARNING: \[w2\]/);
  });

  it('the worst forgeries, posted as the node, stay pending; the report lists them and --detailed-exitcode says 6', async () => {
    // Requests the apiserver stores and its signer would sign for kubernetes.default.svc and
    // 10.96.0.1, while @peculiar/x509 read the genuine names (csr-differential.test.ts): Go reads
    // the first PEM block (indented or tab-ended lines and all), the first value of an
    // extensionRequest attribute, and skips an attribute it cannot parse.
    const forged = sanExt({ dns: 'kubernetes.default.svc' }, { ip: ip4('10.96.0.1') });
    const genuine = sanExt({ dns: 'worker-1' }, { ip: ip4('127.0.1.1') });
    const subject = nodeSubject('worker-1');
    const one = (san: Buffer) => signed(tbs(subject, [extReqAttr(extensions(san))]));
    const requests: Record<string, string> = {
      'forged-x-two-pem-indented': request(pem(one(forged), { line: (l) => `  ${l}` }) + pem(one(genuine))),
      'forged-x-two-pem-tabs': request(pem(one(forged), { line: (l) => `${l}\t` }) + pem(one(genuine))),
      'forged-x-skipped-attribute': request(pem(signed(tbs(subject, [seq(oid(OID.extReq), seq(extensions(genuine))), extReqAttr(extensions(forged))])))),
      'forged-x-two-values': request(pem(signed(tbs(subject, [extReqAttr(extensions(forged), extensions(genuine))])))),
    };
    for (const [name, req] of Object.entries(requests)) {
      const r = await admin('POST', CSRS, csrObject(name, req, SERVING, USAGES), asNode('worker-1'));
      expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(201);
    }
    const report = join(w.dir, 'plan.json');
    const check = await w.play(approvePb(), inventory(), ['--check', '--detailed-exitcode', '--report', report]);
    expect(check.code, check.stdout + check.stderr).toBe(6);
    const run = await w.play(approvePb(), inventory(), ['--detailed-exitcode', '--report', join(w.dir, 'run.md')]);
    expect(run.code, run.stdout + run.stderr).toBe(6);
    for (const name of Object.keys(requests)) {
      expect((await state(name)).conditions, name).toEqual([]);
      expect(run.stdout).toMatch(new RegExp(`WARNING: \\[w1\\] approve: refused CSR ${name} claiming node worker-1, left pending: spec.request refused: (spec.request holds 2 PEM blocks|not a PKCS#10|the extensionRequest attribute has 2 values)`));
    }
    const tasks = (JSON.parse(readFileSync(report, 'utf8')) as { tasks: Array<{ task: string; warnings?: string[] }> }).tasks;
    const warned = tasks.find((t) => t.task === 'approve')!.warnings!;
    for (const name of Object.keys(requests)) expect(warned.some((x) => x.startsWith(`refused CSR ${name} claiming node worker-1`)), name).toBe(true);
    expect(readFileSync(join(w.dir, 'run.md'), 'utf8')).toMatch(/### Warnings\n\n- \*\*w1\*\* approve: .*refused CSR forged-x-two-pem-indented claiming node worker-1/s);
  });

  it('times out naming the node without a CSR and what was left pending', async () => {
    const inv = inventory().replace('  hosts:\n', '  hosts:\n    w3:\n      node_ip: 127.0.1.3\n');
    const r = await w.play(approvePb().replace('timeout: 30', 'timeout: 2'), inv);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/failed: \[w3\] approve => timed out after 2s: no approvable kubernetes.io\/kubelet-serving CSR from w3; left pending: forged-extra-ip \(SAN IP:10.9.9.9/);
  });

  it('deny_forged denies forgeries that claim a play node, and only those', async () => {
    const r = await w.play(approvePb(', deny_forged: true'), inventory());
    expect(r.code, r.stdout).toBe(0);
    for (const name of ['forged-wrong-name', 'forged-foreign-san', 'forged-extra-ip', 'forged-wrong-usages', 'forged-not-a-node', 'forged-no-san']) {
      expect((await state(name)).conditions[0], name).toMatchObject({ type: 'Denied', reason: 'TsplayDenied' });
    }
    // Another signer's CSR and a host outside the play are not tsplay's to judge.
    expect((await state('forged-wrong-signer')).conditions).toEqual([]);
    expect((await state('forged-outsider')).conditions).toEqual([]);
  });
});
