/**
 * Which kubelet CSRs tsplay approves: only those that prove they belong to a node of the play.
 * Pure apart from the signature check (WebCrypto is async); tested as a table in
 * test/unit/k8s/csr-policy.test.ts with CSRs made by openssl, and against the cluster's own
 * reading in test/unit/k8s/csr-differential.test.ts.
 *
 * Every CSR: spec.request is one canonical request (csr-request.ts: one PEM block, strict base64,
 * canonical DER, one extensionRequest attribute, one SAN extension), and spec.expirationSeconds,
 * when set, is at most the cap (367 days by default, as kubelet-csr-approver).
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
 *     issued for that node: its groups hold nodeGroup(<name>) (bootstrap_token's default group,
 *     collision-free), and when the token secrets are known, a token tsplay made for another node
 *     (annotation tsplay.dev/node) proves nothing whatever groups it carries
 *   - subject CN=system:node:<name>, O=system:nodes; usages ⊆ {digital signature, key
 *     encipherment, client auth}, with client auth; no SANs at all; the signature verifies
 */
import { isIP } from 'node:net';
import { nodeGroup } from './bootstrap_token.js';
import { parseRequest, type ParsedRequest } from './csr-request.js';

export { parseRequest };

export type SignerKind = 'serving' | 'client';
export const SIGNERS: Record<SignerKind, string> = {
  serving: 'kubernetes.io/kubelet-serving',
  client: 'kubernetes.io/kube-apiserver-client-kubelet',
};
const USAGES: Record<SignerKind, { allowed: string[]; required: string }> = {
  serving: { allowed: ['digital signature', 'key encipherment', 'server auth'], required: 'server auth' },
  client: { allowed: ['digital signature', 'key encipherment', 'client auth'], required: 'client auth' },
};
const NODE_PREFIX = 'system:node:';

export interface NodeIdentity {
  name: string;
  /** Inventory names and addresses a SAN may name (DNS names and IPs). */
  addresses: string[];
}

export interface CsrLike {
  metadata?: { name?: string; uid?: string };
  spec?: { signerName?: string; username?: string; groups?: string[]; usages?: string[]; request?: string; expirationSeconds?: number };
  status?: { conditions?: Array<{ type?: string; status?: string }> };
}

export type Evaluation =
  | { ok: true; node: string; check: string }
  /** claimed: a node of the play this CSR names (so a failure there looks forged). */
  | { ok: false; claimed?: string; reason: string };

/** kubelet-csr-approver's default cap on spec.expirationSeconds: 367 days. */
export const DEFAULT_MAX_EXPIRATION_SECONDS = 367 * 24 * 3600;

export interface PolicyOptions {
  /** Refuse a CSR asking for a longer certificate life (default DEFAULT_MAX_EXPIRATION_SECONDS). */
  maxExpirationSeconds?: number;
  /**
   * Bootstrap tokens by id -> the node they were issued for (annotation tsplay.dev/node, undefined
   * for a token tsplay did not make). Given, a bootstrap CSR must come from a listed token, and a
   * token tsplay made proves only its own node, whatever groups it carries.
   */
  tokenNodes?: Map<string, string | undefined>;
}

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

function nodeFrom(name: string | undefined): string | undefined {
  return name?.startsWith(NODE_PREFIX) ? name.slice(NODE_PREFIX.length) : undefined;
}

export async function evaluateCsr(csr: CsrLike, nodes: NodeIdentity[], signer: SignerKind, opts: PolicyOptions = {}): Promise<Evaluation> {
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
    if (!parsed) return fail(`spec.request refused: ${parseError}`);
    const cnNode = nodeFrom(parsed?.cn[0]);
    if (cnNode === undefined || !byName.has(cnNode)) return fail(`bootstrap request by ${username} for ${parsed?.cn[0] ?? 'an unreadable subject'}, which is not a node of this play`);
    const group = nodeGroup(cnNode);
    if (group === undefined) return fail(`bootstrap request by ${username} for ${cnNode}, which is not a Kubernetes node name`);
    if (!groups.includes(group)) return fail(`requested by ${username}, whose token was not issued for ${cnNode} (no group ${group})`);
    if (opts.tokenNodes) {
      const id = username.slice('system:bootstrap:'.length);
      if (!opts.tokenNodes.has(id)) return fail(`requested by ${username}, but no bootstrap token ${id} exists (expired or deleted)`);
      const issuedFor = opts.tokenNodes.get(id);
      if (issuedFor !== undefined && issuedFor !== cnNode) return fail(`requested by ${username}, whose token tsplay issued for ${issuedFor}, not ${cnNode}`);
    }
    node = cnNode;
    requester = `${username} with a token issued for ${cnNode}`;
  } else {
    return fail(`requested by ${username || '(nobody)'}, not by a node${signer === 'client' ? ' or a node bootstrap token' : ''}`);
  }

  // The request itself.
  if (!parsed) return fail(`spec.request refused: ${parseError}`);
  if (parsed.cn.length !== 1 || parsed.cn[0] !== `${NODE_PREFIX}${node}`) return fail(`subject CN is ${parsed.cn.join(',') || '(none)'}, not ${NODE_PREFIX}${node}`);
  if (parsed.o.length !== 1 || parsed.o[0] !== 'system:nodes') return fail(`subject O is ${parsed.o.join(',') || '(none)'}, not exactly system:nodes`);

  const maxSeconds = opts.maxExpirationSeconds ?? DEFAULT_MAX_EXPIRATION_SECONDS;
  if (spec.expirationSeconds !== undefined && !(spec.expirationSeconds <= maxSeconds)) return fail(`expirationSeconds ${spec.expirationSeconds} is above the allowed ${maxSeconds} (${Math.floor(maxSeconds / 86400)} days)`);

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
