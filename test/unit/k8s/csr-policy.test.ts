/**
 * csr_approve's policy as a table: real CSRs made by openssl (EC P-256 keys, as kubelets make),
 * judged by evaluateCsr. Only a CSR that proves it belongs to a play node passes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrState, evaluateCsr, normalizeAddress, SIGNERS, type CsrLike, type NodeIdentity, type PolicyOptions, type SignerKind } from '../../../engine/modules/k8s/csr-policy.js';
import csrApprove, { knownNodes, sortCsrs, nodesFromVars } from '../../../engine/modules/k8s/csr_approve.js';
import type { PlanContext } from '../../../engine/modules/types.js';

let dir: string;
let n = 0;

/** base64 of a PEM CSR, as spec.request holds it. */
function csr(subject: string, sans?: string): string {
  const base = join(dir, `r${n++}`);
  const args = ['req', '-new', '-key', join(dir, 'key.pem'), '-subj', subject, '-out', `${base}.csr`];
  if (sans) args.push('-addext', `subjectAltName=${sans}`);
  execFileSync('openssl', args);
  return readFileSync(`${base}.csr`).toString('base64');
}

/** The same CSR with one byte of its signature flipped. */
function tampered(requestB64: string): string {
  const pem = Buffer.from(requestB64, 'base64').toString('utf8');
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  der.writeUInt8(der.readUInt8(der.length - 3) ^ 0x01, der.length - 3);
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return Buffer.from(`-----BEGIN CERTIFICATE REQUEST-----\n${body}\n-----END CERTIFICATE REQUEST-----\n`).toString('base64');
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsplay-csr-'));
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(dir, 'key.pem')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const nodes: NodeIdentity[] = [
  { name: 'w1', addresses: ['w1', 'w1.example.com', '127.0.1.1', '0:0:0:0:0:0:0:1'] },
  { name: 'w2', addresses: ['w2', '127.0.1.2'] },
  { name: 'a.b', addresses: ['a.b'] },
  { name: 'a-b', addresses: ['a-b'] },
];
const SERVING = ['digital signature', 'key encipherment', 'server auth'];
const CLIENT = ['digital signature', 'key encipherment', 'client auth'];

interface Case {
  name: string;
  signer?: SignerKind;
  request: () => string;
  spec?: Partial<NonNullable<CsrLike['spec']>>;
  ok?: string; // node it is approved for
  reason?: RegExp;
  claimed?: string;
  opts?: PolicyOptions;
}

const node1 = { username: 'system:node:w1', groups: ['system:nodes', 'system:authenticated'] };
const cases: Case[] = [
  { name: 'genuine serving CSR', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1,IP:127.0.1.1'), ok: 'w1' },
  { name: 'genuine, DNS in other case and IPv6 in other spelling', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:W1.Example.COM,IP:::1'), ok: 'w1' },
  { name: 'wrong node name in the subject', request: () => csr('/O=system:nodes/CN=system:node:w2', 'DNS:w1'), reason: /subject CN is system:node:w2, not system:node:w1/, claimed: 'w1' },
  { name: 'requester is a node outside the play', request: () => csr('/O=system:nodes/CN=system:node:w9', 'DNS:w9'), spec: { username: 'system:node:w9' }, reason: /node w9 is not a host of this play/ },
  { name: 'foreign SAN', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1,DNS:kubernetes.default.svc'), reason: /SAN DNS:kubernetes.default.svc is not an inventory name or address of w1/, claimed: 'w1' },
  { name: 'extra IP', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1,IP:127.0.1.1,IP:10.0.0.5'), reason: /SAN IP:10.0.0.5 is not/, claimed: 'w1' },
  { name: "another play node's address", request: () => csr('/O=system:nodes/CN=system:node:w1', 'IP:127.0.1.2'), reason: /SAN IP:127.0.1.2 is not an inventory name or address of w1/ },
  { name: 'wrong signer', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1'), spec: { signerName: 'kubernetes.io/kube-apiserver-client' }, reason: /signer is kubernetes.io\/kube-apiserver-client, this task approves kubernetes.io\/kubelet-serving/, claimed: 'w1' },
  { name: 'wrong usages (client auth on a serving CSR)', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1'), spec: { usages: [...SERVING, 'client auth'] }, reason: /usages client auth are not allowed/ },
  { name: 'usages without server auth', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1'), spec: { usages: ['digital signature'] }, reason: /usages lack server auth/ },
  { name: 'requester not a node (admin)', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1'), spec: { username: 'kubernetes-admin', groups: ['system:masters'] }, reason: /requested by kubernetes-admin, not by a node/, claimed: 'w1' },
  { name: 'requester is a bootstrap token (serving)', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1'), spec: { username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:w1'] }, reason: /not by a node$/ },
  { name: 'node user without system:nodes group', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1'), spec: { groups: ['system:authenticated'] }, reason: /without group system:nodes/ },
  { name: 'extra O (system:masters)', request: () => csr('/O=system:nodes/O=system:masters/CN=system:node:w1', 'DNS:w1'), reason: /subject O is system:nodes,system:masters, not exactly system:nodes/ },
  { name: 'no O', request: () => csr('/CN=system:node:w1', 'DNS:w1'), reason: /subject O is \(none\)/ },
  { name: 'email SAN', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1,email:root@w1'), reason: /SAN email:root@w1 is not allowed/ },
  { name: 'URI SAN', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1,URI:spiffe://cluster/ns/x'), reason: /SAN url:spiffe/ },
  { name: 'no SAN at all', request: () => csr('/O=system:nodes/CN=system:node:w1'), reason: /no DNS or IP SAN/ },
  { name: 'signature does not verify', request: () => tampered(csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1')), reason: /signature does not verify/ },
  { name: 'not a CSR', request: () => Buffer.from('hello').toString('base64'), reason: /refused: spec.request holds 0 PEM blocks/ },
  // client signer
  { name: 'client: bootstrap token issued for the node', signer: 'client', request: () => csr('/O=system:nodes/CN=system:node:w1'), spec: { signerName: SIGNERS.client, usages: CLIENT, username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:w1', 'system:authenticated'] }, ok: 'w1' },
  { name: 'client: renewal by the node itself', signer: 'client', request: () => csr('/O=system:nodes/CN=system:node:w2'), spec: { signerName: SIGNERS.client, usages: CLIENT, username: 'system:node:w2', groups: ['system:nodes'] }, ok: 'w2' },
  { name: 'client: token of another node', signer: 'client', request: () => csr('/O=system:nodes/CN=system:node:w1'), spec: { signerName: SIGNERS.client, usages: CLIENT, username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:w2'] }, reason: /token was not issued for w1/ },
  { name: 'client: with a SAN', signer: 'client', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1'), spec: { signerName: SIGNERS.client, usages: CLIENT, username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:w1'] }, reason: /has no SANs/ },
  { name: 'client: server auth usage', signer: 'client', request: () => csr('/O=system:nodes/CN=system:node:w1'), spec: { signerName: SIGNERS.client, usages: SERVING, username: 'system:node:w1', groups: ['system:nodes'] }, reason: /server auth are not allowed/ },
  // Bootstrap groups: a.b and a-b are two nodes, two groups; a token proves only its own node.
  { name: 'client: a token of a-b (group system:bootstrappers:a-b) does not prove a.b', signer: 'client', request: () => csr('/O=system:nodes/CN=system:node:a.b'), spec: { signerName: SIGNERS.client, usages: CLIENT, username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:a-b'] }, reason: /not issued for a.b \(no group system:bootstrappers:a:b\)/, claimed: 'a.b' },
  { name: 'client: a token of a.b proves a.b', signer: 'client', request: () => csr('/O=system:nodes/CN=system:node:a.b'), spec: { signerName: SIGNERS.client, usages: CLIENT, username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:a:b'] }, ok: 'a.b' },
  { name: 'client: a token of a.b does not prove a-b', signer: 'client', request: () => csr('/O=system:nodes/CN=system:node:a-b'), spec: { signerName: SIGNERS.client, usages: CLIENT, username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:a:b'] }, reason: /not issued for a-b/ },
  { name: 'client: an old token tsplay issued for a.b (group system:bootstrappers:a-b) does not prove a-b', signer: 'client', request: () => csr('/O=system:nodes/CN=system:node:a-b'), spec: { signerName: SIGNERS.client, usages: CLIENT, username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:a-b'] }, opts: { tokenNodes: new Map([['abcdef', 'a.b']]) }, reason: /whose token tsplay issued for a.b, not a-b/ },
  { name: 'client: a token of a-b that tsplay issued for a-b', signer: 'client', request: () => csr('/O=system:nodes/CN=system:node:a-b'), spec: { signerName: SIGNERS.client, usages: CLIENT, username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:a-b'] }, opts: { tokenNodes: new Map([['abcdef', 'a-b']]) }, ok: 'a-b' },
  { name: 'client: a kubeadm token (no tsplay annotation) goes by its group', signer: 'client', request: () => csr('/O=system:nodes/CN=system:node:w1'), spec: { signerName: SIGNERS.client, usages: CLIENT, username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:w1'] }, opts: { tokenNodes: new Map([['abcdef', undefined]]) }, ok: 'w1' },
  { name: 'client: a token that no longer exists', signer: 'client', request: () => csr('/O=system:nodes/CN=system:node:w1'), spec: { signerName: SIGNERS.client, usages: CLIENT, username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:w1'] }, opts: { tokenNodes: new Map() }, reason: /no bootstrap token abcdef exists/ },
  // Lifetime: kubelet-csr-approver's cap.
  { name: 'expirationSeconds above 367 days', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1'), spec: { expirationSeconds: 368 * 86400 }, reason: /expirationSeconds 31795200 is above the allowed 31708800 \(367 days\)/, claimed: 'w1' },
  { name: 'expirationSeconds of exactly 367 days', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1'), spec: { expirationSeconds: 367 * 86400 }, ok: 'w1' },
  { name: 'expirationSeconds above a configured cap of 30 days', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1'), spec: { expirationSeconds: 31 * 86400 }, opts: { maxExpirationSeconds: 30 * 86400 }, reason: /above the allowed 2592000 \(30 days\)/ },
  { name: 'client task ignores serving CSRs', signer: 'client', request: () => csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1'), reason: /this task approves kubernetes.io\/kube-apiserver-client-kubelet/ },
];

describe('evaluateCsr', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const spec = { signerName: SIGNERS.serving, usages: SERVING, ...node1, request: c.request(), ...c.spec };
      const e = await evaluateCsr({ metadata: { name: 'csr-x' }, spec }, nodes, c.signer ?? 'serving', c.opts);
      if (c.ok) {
        expect(e).toMatchObject({ ok: true, node: c.ok });
        if (e.ok) expect(e.check).toMatch(/signature verified/);
      } else {
        expect(e.ok).toBe(false);
        if (!e.ok) {
          expect(e.reason).toMatch(c.reason!);
          if (c.claimed) expect(e.claimed).toBe(c.claimed);
        }
      }
    });
  }
});

describe('sorting CSRs for the play', () => {
  const w12 = nodes.slice(0, 2);
  const approved = { conditions: [{ type: 'Approved', status: 'True' }] };
  it('approves genuine, reports forged, counts approved ones as done, never denies hosts outside the play', async () => {
    const mk = async (name: string, spec: Partial<NonNullable<CsrLike['spec']>>, status?: CsrLike['status']) => {
      const full = { signerName: SIGNERS.serving, usages: SERVING, ...node1, request: csr('/O=system:nodes/CN=system:node:w1', 'DNS:w1'), ...spec };
      const c: CsrLike = { metadata: { name }, spec: full, status };
      return { name, state: csrState(c), eval: await evaluateCsr(c, nodes, 'serving'), csr: c };
    };
    const seen = [
      await mk('good-w1', {}),
      await mk('old-w2', { username: 'system:node:w2', request: csr('/O=system:nodes/CN=system:node:w2', 'IP:127.0.1.2') }, approved),
      await mk('forged-w1', { request: csr('/O=system:nodes/CN=system:node:w1', 'DNS:evil') }),
      await mk('outsider', { username: 'system:node:w9', request: csr('/O=system:nodes/CN=system:node:w9', 'DNS:w9') }),
    ];
    const keep = sortCsrs(seen, w12, {});
    expect(keep.approve.map((a) => a.name)).toEqual(['good-w1']);
    expect(keep.already).toEqual([{ name: 'old-w2', node: 'w2' }]);
    expect(keep.deny).toEqual([]);
    expect(keep.rejected.map((r) => r.name)).toEqual(['forged-w1', 'outsider']);
    expect(keep.waiting).toEqual([]);
    const deny = sortCsrs(seen, w12, { deny_forged: true });
    expect(deny.deny.map((d) => d.name)).toEqual(['forged-w1']);
    expect(deny.rejected.map((r) => r.name)).toEqual(['outsider']);
    const noW1 = sortCsrs(seen.filter((s) => s.name !== 'good-w1'), w12, {});
    expect(noW1.waiting).toEqual(['w1']);
    // The plan warns about the forgery that claims w1 (even in check mode), not about the outsider.
    const plan = csrApprove.plan({}, { nodes: w12, known: w12, csrs: seen }, {} as PlanContext);
    expect(plan.warnings).toEqual(['refused CSR forged-w1 claiming node w1, left pending: SAN DNS:evil is not an inventory name or address of w1']);
    const denyPlan = csrApprove.plan({ deny_forged: true }, { nodes: w12, known: w12, csrs: seen }, {} as PlanContext);
    expect(denyPlan.warnings).toEqual(['deny CSR forged-w1 claiming node w1: SAN DNS:evil is not an inventory name or address of w1']);
  });

  it("one node's client task: another play node's genuine CSR is left to that node's task, a request with this node's token for another node is a warned claim", async () => {
    // The kubelet-csr role runs csr_approve per node (nodes: [w1]); the play's nodes are known too.
    const w1 = nodes.slice(0, 1);
    const known = knownNodes(w1, { ansible_play_hosts: ['w1', 'w2'], hostvars: { w1: {}, w2: { node_ip: '127.0.1.2' } } });
    expect(known.map((k) => k.name)).toEqual(['w1', 'w2']);
    const tokenNodes = new Map([['aaaaaa', 'w1'], ['bbbbbb', 'w2']]);
    const mk = async (name: string, cn: string, id: string, group: string) => {
      const c: CsrLike = { metadata: { name }, spec: { signerName: SIGNERS.client, usages: CLIENT, username: `system:bootstrap:${id}`, groups: ['system:bootstrappers', group, 'system:authenticated'], request: csr(`/O=system:nodes/CN=system:node:${cn}`) } };
      return { name, state: csrState(c), eval: await evaluateCsr(c, known, 'client', { tokenNodes }), csr: c };
    };
    const seen = [
      await mk('w1-own', 'w1', 'aaaaaa', 'system:bootstrappers:w1'),
      await mk('w2-own', 'w2', 'bbbbbb', 'system:bootstrappers:w2'),
      await mk('w1-token-for-w2', 'w2', 'aaaaaa', 'system:bootstrappers:w1'),
    ];
    const s = sortCsrs(seen, w1, { signer: 'client' });
    expect(s.approve.map((a) => a.name)).toEqual(['w1-own']);
    expect(s.rejected).toEqual([{ name: 'w1-token-for-w2', claimed: 'w2', reason: 'requested by system:bootstrap:aaaaaa, whose token was not issued for w2 (no group system:bootstrappers:w2)' }]);
    const plan = csrApprove.plan({ signer: 'client' }, { nodes: w1, known, csrs: seen }, {} as PlanContext);
    expect(plan.warnings).toEqual(['refused CSR w1-token-for-w2 claiming node w2, left pending: requested by system:bootstrap:aaaaaa, whose token was not issued for w2 (no group system:bootstrappers:w2)']);
    // Judged only against w1 (the task's node), the same forgery claimed nothing: no warning.
    const alone = await evaluateCsr(seen[2]!.csr, w1, 'client', { tokenNodes });
    expect(alone).toMatchObject({ ok: false, claimed: undefined });
  });

  it('CSR state from conditions', () => {
    expect(csrState({})).toBe('pending');
    expect(csrState({ status: { conditions: [{ type: 'Approved', status: 'True' }] } })).toBe('approved');
    expect(csrState({ status: { conditions: [{ type: 'Approved', status: 'True' }, { type: 'Failed', status: 'True' }] } })).toBe('failed');
    expect(csrState({ status: { conditions: [{ type: 'Denied', status: 'True' }] } })).toBe('denied');
  });

  it('nodes default to the play hosts and their inventory names/addresses', () => {
    const vars = {
      ansible_play_hosts: ['a', 'b'],
      hostvars: { a: { inventory_hostname: 'a', ansible_host: '10.0.0.1', kubelet_node_name: 'node-a' }, b: { inventory_hostname: 'b', node_ip: ['10.0.0.2', 'fd00::2'] } },
    };
    expect(nodesFromVars(vars)).toEqual([
      { name: 'node-a', addresses: ['node-a', 'a', '10.0.0.1'] },
      { name: 'b', addresses: ['b', '10.0.0.2', 'fd00::2'] },
    ]);
  });

  it('normalizes addresses', () => {
    expect(normalizeAddress('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(normalizeAddress('W1.Example.com.')).toBe('w1.example.com');
    expect(normalizeAddress('[fd00::0002]')).toBe('fd00::2');
  });
});

