/**
 * Differential test of CSR approval: each crafted request is read by tsplay (evaluateCsr) and by
 * the cluster's own Go code (test/cluster/csrcheck: the apiserver's create validation, the
 * signer's ParseCSR + ValidateKubelet*CSR, its CA's Sign). tsplay must never approve a request
 * that the cluster reads differently from tsplay, nor one the cluster would sign with a name
 * that is not the node's. Each case also states what tsplay says now, and, for the attacks, that
 * the cluster really would sign a foreign name (so the case tests something).
 *
 * CSR_TABLE=file.md writes the verdicts as a Markdown table; csr-differential-verdicts.md beside
 * this file holds that table with the verdicts of b070f72 (before the canonical reading) too.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCsrcheck } from '../../cluster/cluster.js';
import { evaluateCsr, normalizeAddress, parseRequest, SIGNERS, type Evaluation, type NodeIdentity, type SignerKind } from '../../../engine/modules/k8s/csr-policy.js';
import { bmp, keyPair, extension, extensions, extReqAttr, ip4, name, nodeSubject, OID, oid, octets, pem, printable, request, sanExt, sanValue, seq, set, signed, tbs, tlv, utf8 } from '../../helpers/csr-der.js';

const nodes: NodeIdentity[] = [
  { name: 'w1', addresses: ['w1', 'w1.example.com', '127.0.1.1'] },
  { name: 'w2', addresses: ['w2', '127.0.1.2'] },
];
const SERVING_USAGES = ['digital signature', 'key encipherment', 'server auth'];
const CLIENT_USAGES = ['digital signature', 'key encipherment', 'client auth'];
const asNode = { username: 'system:node:w1', groups: ['system:nodes', 'system:authenticated'] };
const asToken = { username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:w1', 'system:authenticated'] };

// Building blocks: the genuine serving request of w1 and a forged one (the apiserver's names).
const legitSan = () => sanExt({ dns: 'w1' }, { ip: ip4('127.0.1.1') });
const forgedSan = () => sanExt({ dns: 'kubernetes.default.svc' }, { ip: ip4('10.96.0.1') });
const servingDer = (san = legitSan(), subject = nodeSubject('w1')) => signed(tbs(subject, [extReqAttr(extensions(san))]));
const clientDer = (node = 'w1') => signed(tbs(nodeSubject(node), []));
const indented = (der: Buffer) => pem(der, { line: (l) => ` ${l}` });
const tabEnded = (der: Buffer) => pem(der, { line: (l) => `${l}\t` });

interface Case {
  name: string;
  signer?: SignerKind;
  /** spec.request (base64 of the PEM text). */
  request: () => string;
  spec?: { username?: string; groups?: string[]; usages?: string[]; expirationSeconds?: number };
  /** tsplay now: approves for this node, or refuses with this reason. */
  approve?: string;
  refuse?: RegExp;
  /** The attack is real: approved, the cluster signs a name that is not the node's. */
  clusterSignsForeign?: boolean;
}

const cases: Case[] = [
  // Genuine requests, in the encodings real kubelets and tools produce.
  { name: 'genuine serving', request: () => request(pem(servingDer())), approve: 'w1' },
  { name: 'genuine serving, CRLF lines', request: () => request(pem(servingDer(), { eol: '\r\n' })), approve: 'w1' },
  { name: 'genuine serving, blank lines around the block', request: () => request(`\n \n${pem(servingDer())}\n\n`), approve: 'w1' },
  { name: 'spaces right before BEGIN (no block to Go)', request: () => request(`  ${pem(servingDer())}`), refuse: /not one canonical PEM block/ },
  { name: 'genuine serving, 76-character base64 lines', request: () => request(pem(servingDer(), { width: 76 })), approve: 'w1' },
  { name: 'genuine serving with a challengePassword attribute', request: () => request(pem(signed(tbs(nodeSubject('w1'), [seq(oid(OID.challenge), set(utf8('pw'))), extReqAttr(extensions(legitSan()))])))), approve: 'w1' },
  { name: 'genuine serving, subject CN as BMPString', request: () => request(pem(servingDer(legitSan(), name([OID.o, utf8('system:nodes')], [OID.cn, bmp('system:node:w1')])))), approve: 'w1' },
  { name: 'genuine serving, subject as PrintableString', request: () => request(pem(servingDer(legitSan(), name([OID.o, printable('system:nodes')], [OID.cn, printable('system:node:w1')])))), approve: 'w1' },
  { name: 'genuine client, bootstrap token of w1', signer: 'client', spec: asToken, request: () => request(pem(clientDer())), approve: 'w1' },
  { name: 'genuine client renewal by w1', signer: 'client', spec: asNode, request: () => request(pem(clientDer())), approve: 'w1' },

  // PEM framing.
  { name: 'two PEM blocks: forged first with space-indented lines, genuine second', request: () => request(indented(servingDer(forgedSan())) + pem(servingDer())), refuse: /2 PEM blocks/, clusterSignsForeign: true },
  { name: 'two PEM blocks: forged first with tab-ended lines, genuine second', request: () => request(tabEnded(servingDer(forgedSan())) + pem(servingDer())), refuse: /2 PEM blocks/, clusterSignsForeign: true },
  { name: 'two PEM blocks (client): CN of w2 indented first, genuine second', signer: 'client', spec: asToken, request: () => request(indented(clientDer('w2')) + pem(clientDer())), refuse: /2 PEM blocks/, clusterSignsForeign: true },
  { name: 'two canonical PEM blocks, forged first', request: () => request(pem(servingDer(forgedSan())) + pem(servingDer())), refuse: /2 PEM blocks/, clusterSignsForeign: true },
  { name: 'two canonical PEM blocks, genuine first', request: () => request(pem(servingDer()) + pem(servingDer(forgedSan()))), refuse: /2 PEM blocks/ },
  { name: 'first block of invalid base64 (Go skips it), forged second', request: () => request(pem(servingDer()).replace(/\n(.)/, '\n!$1') + pem(servingDer(forgedSan()))), refuse: /2 PEM blocks/, clusterSignsForeign: true },
  { name: 'one block, space-indented base64 lines', request: () => request(indented(servingDer())), refuse: /not one canonical PEM block/ },
  { name: 'one block, a space inside a base64 line', request: () => request(pem(servingDer()).replace(/\n(.{10})/, '\n$1 ')), refuse: /not one canonical PEM block/ },
  { name: 'text before the block', request: () => request(`subject: w1\n${pem(servingDer())}`), refuse: /not one canonical PEM block/ },
  { name: 'text after the block', request: () => request(`${pem(servingDer())}trailer\n`), refuse: /not one canonical PEM block/ },
  { name: 'PEM headers in the block', request: () => request(pem(servingDer()).replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n\n')), refuse: /not one canonical PEM block/ },
  { name: 'block type NEW CERTIFICATE REQUEST', request: () => request(pem(servingDer(), { type: 'NEW CERTIFICATE REQUEST' })), refuse: /not one canonical PEM block/ },
  { name: 'raw DER, no PEM', request: () => request(servingDer()), refuse: /0 PEM blocks|not one canonical/ },
  { name: 'base64 padding in the middle of the body', request: () => request(pem(servingDer()).replace(/\n(.{60}).{4}\n/, '\n$1AA==\n')), refuse: /not one canonical PEM block|strict base64|re-encoding|signature/ },

  // Attributes and extensions.
  { name: 'two extensionRequest attributes: genuine SAN, then forged SAN', request: () => request(pem(signed(tbs(nodeSubject('w1'), [extReqAttr(extensions(legitSan())), extReqAttr(extensions(forgedSan()))])))), refuse: /2 extensionRequest attributes/ },
  { name: 'two extensionRequest attributes: genuine SAN, then a keyUsage and a forged SAN', request: () => request(pem(signed(tbs(nodeSubject('w1'), [extReqAttr(extensions(legitSan())), extReqAttr(extensions(extension(OID.keyUsage, tlv(0x03, Buffer.from([5, 0xa0]))), forgedSan()))])))), refuse: /2 extensionRequest attributes/ },
  { name: 'two extensionRequest attributes: forged SAN, then genuine SAN', request: () => request(pem(signed(tbs(nodeSubject('w1'), [extReqAttr(extensions(forgedSan())), extReqAttr(extensions(legitSan()))])))), refuse: /2 extensionRequest attributes/ },
  { name: 'two extensionRequest attributes (client): none, then a forged SAN', signer: 'client', spec: asToken, request: () => request(pem(signed(tbs(nodeSubject('w1'), [extReqAttr(extensions()), extReqAttr(extensions(forgedSan()))])))), refuse: /2 extensionRequest attributes/ },
  { name: 'two extensionRequest attributes: genuine one with a BER length (Go skips it), then forged', request: () => request(pem(signed(tbs(nodeSubject('w1'), [tlv(0x30, Buffer.concat([oid(OID.extReq), set(extensions(legitSan()))]), 'long'), extReqAttr(extensions(forgedSan()))])))), refuse: /2 extensionRequest attributes|re-encoding/ },
  { name: 'two extensionRequest attributes: genuine one with a SEQUENCE for its SET (Go skips it), then forged', request: () => request(pem(signed(tbs(nodeSubject('w1'), [seq(oid(OID.extReq), seq(extensions(legitSan()))), extReqAttr(extensions(forgedSan()))])))), refuse: /./, clusterSignsForeign: true },
  { name: 'extensionRequest with two values: genuine, then forged', request: () => request(pem(signed(tbs(nodeSubject('w1'), [extReqAttr(extensions(legitSan()), extensions(forgedSan()))])))), refuse: /has 2 values/ },
  { name: 'extensionRequest with two values: forged, then genuine', request: () => request(pem(signed(tbs(nodeSubject('w1'), [extReqAttr(extensions(forgedSan()), extensions(legitSan()))])))), refuse: /has 2 values/, clusterSignsForeign: true },
  { name: 'two SAN extensions in one attribute', request: () => request(pem(signed(tbs(nodeSubject('w1'), [extReqAttr(extensions(legitSan(), forgedSan()))])))), refuse: /requested twice/ },
  { name: 'empty extensionRequest attribute then a forged one (client)', signer: 'client', spec: asToken, request: () => request(pem(signed(tbs(nodeSubject('w1'), [seq(oid(OID.extReq), set()), extReqAttr(extensions(forgedSan()))])))), refuse: /2 extensionRequest attributes/ },

  // DER encodings.
  { name: 'trailing bytes after the DER', request: () => request(pem(Buffer.concat([servingDer(), Buffer.from([0, 0])]))), refuse: /trailing bytes/ },
  { name: 'non-minimal length in the subject (signed as is)', request: () => request(pem(signed(seq(tlv(0x02, Buffer.from([0])), tlv(0x30, Buffer.concat([set(seq(oid(OID.o), utf8('system:nodes'))), set(seq(oid(OID.cn), utf8('system:node:w1')))]), 'long'), keyPair().spki, tlv(0xa0, extReqAttr(extensions(legitSan()))))))), refuse: /not minimal/ },
  { name: 'non-minimal length inside the SAN extension value', request: () => request(pem(signed(tbs(nodeSubject('w1'), [extReqAttr(extensions(extension(OID.san, tlv(0x30, Buffer.concat([tlv(0x82, Buffer.from('w1'))]), 'long'))))])))), refuse: /not minimal/ },
  { name: 'indefinite length (BER) in the attributes', request: () => request(pem(signed(tbs(nodeSubject('w1'), [], { attrsTag: tlv(0xa0, extReqAttr(extensions(legitSan())), 'indef') })))), refuse: /indefinite length/ },
  { name: 'trailing bytes inside the SAN extension value', request: () => request(pem(signed(tbs(nodeSubject('w1'), [extReqAttr(extensions(extension(OID.san, Buffer.concat([sanValue({ dns: 'w1' }), Buffer.from([0x82, 0x16]), Buffer.from('kubernetes.default.svc')]))))])))), refuse: /trailing bytes/ },
  { name: 'constructed OCTET STRING (BER) around the SAN', request: () => request(pem(signed(tbs(nodeSubject('w1'), [extReqAttr(extensions(seq(oid(OID.san), tlv(0x24, octets(sanValue({ dns: 'w1' })))))) ])))), refuse: /constructed string|not a PKCS#10/ },

  // SAN encodings.
  { name: 'IPv4-mapped IPv6 of the apiserver address', request: () => request(pem(servingDer(sanExt({ dns: 'w1' }, { ip: Buffer.concat([Buffer.alloc(10), Buffer.from([0xff, 0xff]), ip4('10.96.0.1')]) })))), refuse: /is not an inventory name/, clusterSignsForeign: true },
  { name: 'IPv4-mapped IPv6 of the node address', request: () => request(pem(servingDer(sanExt({ dns: 'w1' }, { ip: Buffer.concat([Buffer.alloc(10), Buffer.from([0xff, 0xff]), ip4('127.0.1.1')]) })))), refuse: /is not an inventory name/ },
  { name: 'IP SAN of 5 bytes', request: () => request(pem(servingDer(sanExt({ dns: 'w1' }, { ip: Buffer.from([127, 0, 1, 1, 0]) })))), refuse: /./ },
  { name: 'DNS SAN with a NUL byte', request: () => request(pem(servingDer(sanExt({ dns: 'w1\0.kubernetes.default.svc' })))), refuse: /is not an inventory name/, clusterSignsForeign: true },
  { name: 'DNS SAN in capitals with a trailing dot', request: () => request(pem(servingDer(sanExt({ dns: 'W1.Example.COM.' })))), approve: 'w1' },
  { name: 'directoryName SAN besides DNS', request: () => request(pem(servingDer(sanExt({ dns: 'w1' }, { raw: tlv(0xa4, nodeSubject('w2')) })))), refuse: /not allowed \(only DNS and IP\)/ },
  { name: 'URI SAN', request: () => request(pem(servingDer(sanExt({ dns: 'w1' }, { uri: 'spiffe://cluster/ns/kube-system' })))), refuse: /not allowed/ },
  { name: 'email SAN', request: () => request(pem(servingDer(sanExt({ dns: 'w1' }, { email: 'admin@example.com' })))), refuse: /not allowed/ },
  { name: 'foreign DNS SAN, canonical', request: () => request(pem(servingDer(forgedSan()))), refuse: /is not an inventory name/, clusterSignsForeign: true },

  // Subject.
  { name: 'two CNs: w1 then w2 (Go takes the last)', request: () => request(pem(servingDer(legitSan(), name([OID.o, utf8('system:nodes')], [OID.cn, utf8('system:node:w1')], [OID.cn, utf8('system:node:w2')])))), refuse: /subject CN is/, clusterSignsForeign: true },
  { name: 'O and CN in one multi-valued RDN', request: () => request(pem(servingDer(legitSan(), seq(set(seq(oid(OID.o), utf8('system:nodes')), seq(oid(OID.cn), utf8('system:node:w1'))))))), approve: 'w1' },
  { name: 'client CN of w2 with the token of w1', signer: 'client', spec: asToken, request: () => request(pem(clientDer('w2'))), refuse: /not issued for w2/, clusterSignsForeign: true },

  // Signature and lifetime.
  { name: 'signature does not verify', request: () => request(pem(signed(tbs(nodeSubject('w1'), [extReqAttr(extensions(legitSan()))]), { flip: true }))), refuse: /signature does not verify/ },
  { name: 'expirationSeconds 400 days', spec: { expirationSeconds: 400 * 86400 }, request: () => request(pem(servingDer())), refuse: /expirationSeconds 34560000 is above the allowed 31708800/ },
  { name: 'expirationSeconds 30 days', spec: { expirationSeconds: 30 * 86400 }, request: () => request(pem(servingDer())), approve: 'w1' },
];

interface Names { cn: string; o: string[] | null; dns: string[] | null; ip: string[] | null; email: string[] | null; uri: string[] | null }
interface ClusterView { name: string; createError?: string; parsed?: Names; parseError?: string; signerError?: string; signed?: Names; signError?: string }

const list = (x: string[] | null | undefined) => x ?? [];
/** Every name the certificate would carry is the node's. */
function namesOfNode(n: Names, node: string): boolean {
  const mine = new Set(nodes.find((x) => x.name === node)!.addresses.map(normalizeAddress));
  return n.cn === `system:node:${node}` && list(n.o).join() === 'system:nodes' && list(n.email).length === 0 && list(n.uri).length === 0 && [...list(n.dns), ...list(n.ip)].every((a) => mine.has(normalizeAddress(a)));
}
/** The cluster would issue a certificate with a name that is not w1's. */
const signedForeign = (v: ClusterView, node: string) => v.signed !== undefined && !namesOfNode(v.signed, node);

let views: ClusterView[] = [];
let verdicts: Evaluation[] = [];
let readings: Array<{ cn: string[]; o: string[]; sans: Array<{ type: string; value: string }> } | string> = [];
const specs = cases.map((c) => ({
  name: c.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase(),
  request: c.request(),
  signerName: SIGNERS[c.signer ?? 'serving'],
  usages: c.spec?.usages ?? (c.signer === 'client' ? CLIENT_USAGES : SERVING_USAGES),
  username: c.spec?.username ?? asNode.username,
  groups: c.spec?.groups ?? asNode.groups,
  ...(c.spec?.expirationSeconds !== undefined ? { expirationSeconds: c.spec.expirationSeconds } : {}),
}));

beforeAll(async () => {
  const bin = await ensureCsrcheck();
  views = JSON.parse(execFileSync(bin, [], { input: JSON.stringify(specs), maxBuffer: 16 << 20 }).toString()) as ClusterView[];
  verdicts = await Promise.all(cases.map((c, i) => evaluateCsr({ metadata: { name: specs[i]!.name }, spec: specs[i]! }, nodes, c.signer ?? 'serving', {})));
  readings = await Promise.all(specs.map((s) => parseRequest(s.request).then((r) => ({ cn: r.cn, o: r.o, sans: r.sans }), (e: Error) => e.message)));
  if (process.env.CSR_TABLE) writeFileSync(process.env.CSR_TABLE, table());
}, 3_600_000);

function clusterSummary(v: ClusterView): string {
  if (v.createError) return `create refused (${v.createError.slice(0, 60)})`;
  if (v.signerError) return `Failed: ${v.signerError.slice(0, 60)}`;
  if (!v.signed) return `not signed (${(v.parseError ?? v.signError ?? '').slice(0, 60)})`;
  const s = v.signed;
  return `signs CN=${s.cn} ${[...list(s.dns).map((d) => `DNS:${JSON.stringify(d).slice(1, -1)}`), ...list(s.ip).map((i) => `IP:${i}`), ...list(s.email), ...list(s.uri)].join(',')}`;
}

function table(): string {
  const rows = cases.map((c, i) => {
    const e = verdicts[i]!;
    return `| ${i + 1} | ${c.name} | ${e.ok ? `**approve** ${e.node}` : `refuse: ${e.reason.slice(0, 70).replace(/\|/g, '/')}`} | ${clusterSummary(views[i]!).replace(/\|/g, '/')} |`;
  });
  return ['| # | case | tsplay | cluster (once approved) |', '| --- | --- | --- | --- |', ...rows, ''].join('\n');
}

/** tsplay's reading and the cluster's, of the names a certificate would carry. */
function sameReading(i: number): boolean {
  const r = readings[i]!;
  const v = views[i]!;
  if (typeof r === 'string' || !v.parsed) return false;
  const p = v.parsed;
  const mineDns = r.sans.filter((s) => s.type === 'dns').map((s) => s.value);
  const mineIp = r.sans.filter((s) => s.type === 'ip').map((s) => normalizeAddress(s.value));
  return r.cn.length === 1 && r.cn[0] === p.cn && r.o.join() === list(p.o).join() && mineDns.join() === list(p.dns).join() && mineIp.join() === list(p.ip).map(normalizeAddress).join() && r.sans.every((s) => s.type === 'dns' || s.type === 'ip') && list(p.email).length === 0 && list(p.uri).length === 0;
}

describe('CSR approval: tsplay and the cluster read the same request', () => {
  it(`has at least 30 crafted requests (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(views).toHaveLength(cases.length);
  });

  cases.forEach((c, i) => {
    it(c.name, () => {
      const e = verdicts[i]!;
      const v = views[i]!;
      if (e.ok) {
        // Never approve what the cluster would read differently, or sign with names not the node's.
        expect(sameReading(i), `readings differ: tsplay ${JSON.stringify(readings[i])}, cluster ${JSON.stringify(v.parsed ?? v.parseError)}`).toBe(true);
        expect(v.signed, `cluster would not sign: ${clusterSummary(v)}`).toBeDefined();
        expect(namesOfNode(v.signed!, e.node), clusterSummary(v)).toBe(true);
        expect(v.createError).toBeUndefined();
      }
      if (c.approve) expect(e).toMatchObject({ ok: true, node: c.approve });
      else {
        expect(e.ok, `tsplay approved: ${e.ok ? e.check : ''}`).toBe(false);
        if (!e.ok) expect(e.reason).toMatch(c.refuse!);
      }
      if (c.clusterSignsForeign) expect(signedForeign(v, 'w1'), `the cluster: ${clusterSummary(v)}`).toBe(true);
    });
  });
});
