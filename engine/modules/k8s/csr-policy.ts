/**
 * Which kubelet CSRs tsplay approves: only those that prove they belong to a node of the play.
 * Pure apart from the signature check (WebCrypto is async); tested as a table in
 * test/unit/k8s/csr-policy.test.ts with CSRs made by openssl.
 *
 * Serving (kubernetes.io/kubelet-serving), all of:
 *   - spec.username is system:node:<name> for a node of the play, and spec.groups has system:nodes
 *   - the request's subject is CN=system:node:<name>, O=system:nodes (exactly that one O)
 *   - spec.usages ⊆ {digital signature, key encipherment, server auth}, with server auth
 *   - at least one SAN, each DNS or IP, each one of that node's inventory names/addresses
 *     (no email or URI SANs)
 *   - the request's signature verifies with its own public key
 * Client (kubernetes.io/kube-apiserver-client-kubelet), all of:
 *   - the requester is the node itself (system:node:<name>, group system:nodes: a renewal), or a
 *     bootstrap token user (system:bootstrap:<id>, group system:bootstrappers) whose token was
 *     issued for that node: its groups hold system:bootstrappers:<name> (bootstrap_token's default)
 *   - subject CN=system:node:<name>, O=system:nodes; usages ⊆ {digital signature, key
 *     encipherment, client auth}, with client auth; no SANs at all; the signature verifies
 */
import type * as X509 from '@peculiar/x509';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { webcrypto } from 'node:crypto';
import { nodeGroup } from './bootstrap_token.js';

/** Loaded on first use (~0.4 s at startup otherwise, for every run); it needs reflect-metadata first. */
const requireLib = createRequire(import.meta.url);
let x509lib: typeof X509 | undefined;
function x509(): typeof X509 {
  if (!x509lib) {
    requireLib('reflect-metadata');
    x509lib = requireLib('@peculiar/x509') as typeof X509;
    x509lib.cryptoProvider.set(webcrypto as unknown as Crypto);
  }
  return x509lib;
}

export type SignerKind = 'serving' | 'client';
export const SIGNERS: Record<SignerKind, string> = {
  serving: 'kubernetes.io/kubelet-serving',
  client: 'kubernetes.io/kube-apiserver-client-kubelet',
};
const USAGES: Record<SignerKind, { allowed: string[]; required: string }> = {
  serving: { allowed: ['digital signature', 'key encipherment', 'server auth'], required: 'server auth' },
  client: { allowed: ['digital signature', 'key encipherment', 'client auth'], required: 'client auth' },
};
const SAN_OID = '2.5.29.17';
const NODE_PREFIX = 'system:node:';

export interface NodeIdentity {
  name: string;
  /** Inventory names and addresses a SAN may name (DNS names and IPs). */
  addresses: string[];
}

export interface CsrLike {
  metadata?: { name?: string };
  spec?: { signerName?: string; username?: string; groups?: string[]; usages?: string[]; request?: string };
  status?: { conditions?: Array<{ type?: string; status?: string }> };
}

export type Evaluation =
  | { ok: true; node: string; check: string }
  /** claimed: a node of the play this CSR names (so a failure there looks forged). */
  | { ok: false; claimed?: string; reason: string };

export type CsrState = 'pending' | 'approved' | 'denied' | 'failed';

export function csrState(csr: CsrLike): CsrState {
  const conds = csr.status?.conditions ?? [];
  const has = (t: string) => conds.some((c) => c.type === t && (c.status ?? 'True') === 'True');
  if (has('Denied')) return 'denied';
  if (has('Failed')) return 'failed';
  if (has('Approved')) return 'approved';
  return 'pending';
}

/** DNS names compare case-insensitively without a trailing dot; IPs in canonical form. */
export function normalizeAddress(a: string): string {
  const s = a.trim().toLowerCase().replace(/\.$/, '');
  const bare = s.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 6) return new URL(`http://[${bare}]/`).hostname.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 4) return bare.split('.').map((o) => String(Number(o))).join('.');
  return s;
}

interface ParsedRequest {
  cn: string[];
  o: string[];
  sans: Array<{ type: string; value: string }>;
  verified: boolean;
}

export async function parseRequest(requestB64: string): Promise<ParsedRequest> {
  const pem = Buffer.from(requestB64, 'base64').toString('utf8');
  const req = new (x509().Pkcs10CertificateRequest)(pem.includes('-----BEGIN') ? pem : Buffer.from(requestB64, 'base64'));
  const sans: Array<{ type: string; value: string }> = [];
  for (const ext of req.extensions) {
    if (ext.type !== SAN_OID) continue;
    for (const n of new (x509().SubjectAlternativeNameExtension)(ext.rawData).names.items) sans.push({ type: n.type, value: n.value });
  }
  let verified = false;
  try {
    verified = await req.verify();
  } catch {
    verified = false;
  }
  return { cn: req.subjectName.getField('CN'), o: req.subjectName.getField('O'), sans, verified };
}

function nodeFrom(name: string | undefined): string | undefined {
  return name?.startsWith(NODE_PREFIX) ? name.slice(NODE_PREFIX.length) : undefined;
}

export async function evaluateCsr(csr: CsrLike, nodes: NodeIdentity[], signer: SignerKind): Promise<Evaluation> {
  const spec = csr.spec ?? {};
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const username = spec.username ?? '';
  const groups = spec.groups ?? [];
  let parsed: ParsedRequest | undefined;
  let parseError: string | undefined;
  try {
    parsed = await parseRequest(spec.request ?? '');
  } catch (err) {
    parseError = (err as Error).message.split('\n')[0];
  }
  // Which play node does it claim to be (by requester, else by subject)?
  const claimedName = nodeFrom(username) ?? nodeFrom(parsed?.cn[0]);
  const claimed = claimedName !== undefined && byName.has(claimedName) ? claimedName : undefined;
  const fail = (reason: string): Evaluation => ({ ok: false, claimed, reason });

  if (spec.signerName !== SIGNERS[signer]) return fail(`signer is ${spec.signerName ?? '(none)'}, this task approves ${SIGNERS[signer]}`);

  // Requester.
  let node: string;
  let requester: string;
  const userNode = nodeFrom(username);
  if (userNode !== undefined) {
    if (!byName.has(userNode)) return fail(`requested by ${username}: node ${userNode} is not a host of this play`);
    if (!groups.includes('system:nodes')) return fail(`requested by ${username} without group system:nodes`);
    node = userNode;
    requester = `${username} in system:nodes`;
  } else if (signer === 'client' && username.startsWith('system:bootstrap:') && groups.includes('system:bootstrappers')) {
    const cnNode = nodeFrom(parsed?.cn[0]);
    if (cnNode === undefined || !byName.has(cnNode)) return fail(`bootstrap request by ${username} for ${parsed?.cn[0] ?? 'an unreadable subject'}, which is not a node of this play`);
    if (!groups.includes(nodeGroup(cnNode))) return fail(`requested by ${username}, whose token was not issued for ${cnNode} (no group ${nodeGroup(cnNode)})`);
    node = cnNode;
    requester = `${username} with a token issued for ${cnNode}`;
  } else {
    return fail(`requested by ${username || '(nobody)'}, not by a node${signer === 'client' ? ' or a node bootstrap token' : ''}`);
  }

  // The request itself.
  if (!parsed) return fail(`spec.request is not a PKCS#10 certificate request (${parseError})`);
  if (parsed.cn.length !== 1 || parsed.cn[0] !== `${NODE_PREFIX}${node}`) return fail(`subject CN is ${parsed.cn.join(',') || '(none)'}, not ${NODE_PREFIX}${node}`);
  if (parsed.o.length !== 1 || parsed.o[0] !== 'system:nodes') return fail(`subject O is ${parsed.o.join(',') || '(none)'}, not exactly system:nodes`);

  const usages = spec.usages ?? [];
  const extra = usages.filter((u) => !USAGES[signer].allowed.includes(u));
  if (extra.length > 0) return fail(`usages ${extra.join(', ')} are not allowed for ${SIGNERS[signer]} (allowed: ${USAGES[signer].allowed.join(', ')})`);
  if (!usages.includes(USAGES[signer].required)) return fail(`usages lack ${USAGES[signer].required}`);

  if (signer === 'client') {
    if (parsed.sans.length > 0) return fail(`a kubelet client certificate has no SANs, this one asks for ${parsed.sans.map((s) => `${s.type}:${s.value}`).join(', ')}`);
  } else {
    if (parsed.sans.length === 0) return fail('no DNS or IP SAN: a serving certificate must name the node');
    const allowed = new Set(byName.get(node)!.addresses.map(normalizeAddress));
    for (const san of parsed.sans) {
      if (san.type !== 'dns' && san.type !== 'ip') return fail(`SAN ${san.type}:${san.value} is not allowed (only DNS and IP)`);
      if (!allowed.has(normalizeAddress(san.value))) return fail(`SAN ${san.type.toUpperCase()}:${san.value} is not an inventory name or address of ${node}`);
    }
  }

  if (!parsed.verified) return fail('the request signature does not verify');
  const sanText = signer === 'serving' ? `, SANs ${parsed.sans.map((s) => s.value).join(',')} ⊆ inventory of ${node}` : '';
  return { ok: true, node, check: `requester ${requester}, subject CN=${NODE_PREFIX}${node} O=system:nodes, usages ${usages.join('/')}${sanText}, signature verified` };
}
