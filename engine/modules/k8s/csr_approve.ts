/**
 * csr_approve — approve the kubelet CSRs of this play's nodes, and only CSRs that prove they
 * belong to one (rules in csr-policy.ts). Meant to run once for the play:
 *
 *   - name: approve kubelet serving certificates
 *     csr_approve: { timeout: 300 }
 *     run_once: true
 *
 * Nodes default to the play's hosts (ansible_play_hosts): name = host var kubelet_node_name, else
 * the inventory name; addresses = that name, the inventory name, node_ip (a string or a list) and
 * ansible_host. It waits (poll, timeout) until every node has an approved CSR of the signer, and
 * approves each genuine pending one on the way (the /approval subresource, reason TsplayApproved,
 * message naming what was checked). A CSR approved earlier that passes the same checks counts as
 * done. Anything else is left alone and registered in `rejected` with the reason; with
 * deny_forged, a CSR of this signer that claims a play node but fails a check is denied. CSRs of
 * hosts outside the play are never approved or denied. Check mode lists what would be approved.
 * Each refused CSR that claims a play node is a task warning (printed at default verbosity, in the
 * report, exit 6 with --detailed-exitcode): a forgery attempt is what an operator must see.
 * A 409 on approval re-reads the CSR and evaluates it again; the approval goes only to the object
 * that was evaluated (same metadata.uid), never to a CSR replaced under the same name.
 * For the client signer, the bootstrap token secrets are read so that a token proves only the
 * node it was issued for (csr-policy.ts). CSRs are judged against every node of the play as well
 * as `nodes` (knownNodes): a per-node task (nodes: [one]) still sees, and warns about, a request
 * made with its node's token for another node of the play, and leaves another node's genuine CSR
 * to that node's task.
 *
 * Registers approved (name, node), already_approved, denied, rejected (name, reason), waiting.
 * Note: the controller-manager removes approved CSRs after an hour, so a later run finds none and
 * waits for new ones; guard the task (e.g. only when the kubelet was (re)started).
 */
import { defineModule, type Change, type ModuleContext } from '../types.js';
import type { Vars } from '../../vars/template.js';
import { sleep } from '../../sleep.js';
import { accessSchemaProperties, describeError, K8sApiError, k8sClient, type AccessArgs, type K8sClient } from './client.js';
import { csrState, DEFAULT_MAX_EXPIRATION_SECONDS, evaluateCsr, SIGNERS, type CsrLike, type CsrState, type Evaluation, type NodeIdentity, type PolicyOptions, type SignerKind } from './csr-policy.js';
import { listBootstrapTokens } from './bootstrap_token.js';

export interface CsrApproveArgs extends AccessArgs {
  nodes?: NodeIdentity[];
  signer?: SignerKind;
  deny_forged?: boolean;
  max_expiration_seconds?: number;
  timeout?: number;
  poll?: number;
}

interface Seen {
  name: string;
  state: CsrState;
  eval: Evaluation;
  csr: CsrLike;
}

export interface CsrObserved {
  /** The nodes this task waits for and approves. */
  nodes: NodeIdentity[];
  /** Every node whose identity is known (these and the play's): CSRs are judged against them. */
  known: NodeIdentity[];
  csrs: Seen[];
}

interface CsrPlanData {
  nodes: NodeIdentity[];
  known: NodeIdentity[];
}

const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

/** The play's nodes and the names/addresses their SANs may use, from inventory host vars. */
export function nodesFromVars(vars: Vars): NodeIdentity[] {
  const hosts = (vars.ansible_play_hosts as string[] | undefined) ?? [];
  const hostvars = (vars.hostvars ?? {}) as Record<string, Vars>;
  return hosts.map((h) => {
    const hv = hostvars[h] ?? {};
    const name = typeof hv.kubelet_node_name === 'string' && hv.kubelet_node_name ? hv.kubelet_node_name : h;
    const addrs = [name, h, ...[hv.node_ip].flat(), hv.ansible_host].filter((a): a is string => typeof a === 'string' && a.length > 0);
    return { name, addresses: [...new Set(addrs)] };
  });
}

/**
 * The task's nodes and the play's: a CSR is judged against all of them, so that a bootstrap request
 * naming another node of the play (one node's token asking for another's identity) is seen as a
 * claim on that node and reported, not passed over as "not a node of this task".
 */
export function knownNodes(nodes: NodeIdentity[], vars: Vars): NodeIdentity[] {
  const names = new Set(nodes.map((n) => n.name));
  return [...nodes, ...nodesFromVars(vars).filter((n) => !names.has(n.name))];
}

/** What evaluateCsr needs besides the CSR: the cap, and for bootstrap CSRs the token secrets (masked). */
async function policyOptions(client: K8sClient, ctx: ModuleContext, args: CsrApproveArgs): Promise<PolicyOptions> {
  const opts: PolicyOptions = { maxExpirationSeconds: args.max_expiration_seconds ?? DEFAULT_MAX_EXPIRATION_SECONDS };
  if ((args.signer ?? 'serving') !== 'client') return opts;
  const tokens = await listBootstrapTokens(client, ctx);
  opts.tokenNodes = new Map(tokens.map((t) => [t.id, t.node]));
  return opts;
}

async function observe(client: K8sClient, nodes: NodeIdentity[], signer: SignerKind, opts: PolicyOptions, signal: AbortSignal): Promise<Seen[]> {
  const list = await client.request<{ items?: CsrLike[] }>('GET', CSR_PATH, { signal }, 'list CertificateSigningRequests');
  const out: Seen[] = [];
  for (const csr of list.items ?? []) {
    const state = csrState(csr);
    if (state === 'denied' || state === 'failed') continue;
    out.push({ name: csr.metadata?.name ?? '?', state, eval: await evaluateCsr(csr, nodes, signer, opts), csr });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

interface Sorted {
  approve: Array<{ name: string; node: string; check: string; csr: CsrLike }>;
  already: Array<{ name: string; node: string }>;
  deny: Array<{ name: string; node: string; reason: string; csr: CsrLike }>;
  rejected: Array<{ name: string; reason: string; claimed?: string }>;
  done: Set<string>;
  waiting: string[];
}

export function sortCsrs(seen: Seen[], nodes: NodeIdentity[], args: CsrApproveArgs): Sorted {
  const signer = SIGNERS[args.signer ?? 'serving'];
  const s: Sorted = { approve: [], already: [], deny: [], rejected: [], done: new Set(), waiting: [] };
  const mine = new Set(nodes.map((n) => n.name));
  for (const c of seen) {
    const e = c.eval;
    // A genuine CSR of another known node is that node's task's to approve.
    if (e.ok && !mine.has(e.node)) continue;
    if (e.ok) {
      if (c.state === 'approved') s.already.push({ name: c.name, node: e.node });
      else s.approve.push({ name: c.name, node: e.node, check: e.check, csr: c.csr });
      s.done.add(e.node);
    } else if (c.state === 'pending') {
      if (args.deny_forged && e.claimed && c.csr.spec?.signerName === signer) s.deny.push({ name: c.name, node: e.claimed, reason: e.reason, csr: c.csr });
      else s.rejected.push({ name: c.name, reason: e.reason, ...(e.claimed ? { claimed: e.claimed } : {}) });
    }
  }
  s.waiting = nodes.map((n) => n.name).filter((n) => !s.done.has(n));
  return s;
}

function conditionBody(csr: CsrLike, type: 'Approved' | 'Denied', reason: string, message: string): CsrLike {
  const body = structuredClone(csr) as CsrLike & { status: { conditions: unknown[] } };
  body.status = { ...(body.status ?? {}), conditions: [...(body.status?.conditions ?? []), { type, status: 'True', reason, message, lastUpdateTime: new Date().toISOString() }] };
  return body;
}

/** Warnings: every refused or denied CSR that claims a node of the play. */
function warningsOf(s: Sorted, denied: Array<{ name: string; node: string; reason: string }>, planned = false): string[] {
  return [
    ...denied.map((d) => `${planned ? 'deny' : 'denied'} CSR ${d.name} claiming node ${d.node}: ${d.reason}`),
    ...s.rejected.filter((r) => r.claimed).map((r) => `refused CSR ${r.name} claiming node ${r.claimed}, left pending: ${r.reason}`),
  ];
}

/**
 * Is the CSR read again after a 409 still the one decided on? The same object (metadata.uid:
 * a CSR deleted and created again under the name is another request) and, evaluated again, the
 * same verdict: approve only what passes for the same node, deny only what still fails.
 */
export async function stillSame(fresh: CsrLike, decided: CsrLike, type: 'Approved' | 'Denied', reevaluate: (c: CsrLike) => Promise<Evaluation>): Promise<string | undefined> {
  const uid = decided.metadata?.uid;
  if (!uid || fresh.metadata?.uid !== uid) return `it was replaced (uid ${fresh.metadata?.uid ?? '(none)'}, evaluated ${uid ?? '(none)'})`;
  if (csrState(fresh) !== 'pending') return `it is ${csrState(fresh)} now`;
  const again = await reevaluate(fresh);
  const before = await reevaluate(decided);
  if (type === 'Approved' && !(again.ok && before.ok && again.node === before.node)) return `it changed and no longer passes: ${again.ok ? `now for ${again.node}` : again.reason}`;
  if (type === 'Denied' && again.ok) return 'it changed and now passes the checks';
  return undefined;
}

/**
 * PUT the /approval subresource; on 409 read the CSR again and retry only while stillSame holds.
 * Returns undefined when decided, else why not.
 */
export async function decide(client: K8sClient, ctx: ModuleContext, name: string, csr: CsrLike, type: 'Approved' | 'Denied', reason: string, message: string, reevaluate: (c: CsrLike) => Promise<Evaluation>): Promise<string | undefined> {
  let current = csr;
  const what = `${type === 'Approved' ? 'approve' : 'deny'} CSR ${name}`;
  for (let attempt = 1; ; attempt++) {
    try {
      // Through request(): the same bounded retries (429, 5xx, resets) as every other API call.
      // The body carries the evaluated uid: the apiserver refuses it (409) for any other object.
      await client.request('PUT', `${CSR_PATH}/${encodeURIComponent(name)}/approval`, { body: conditionBody(current, type, reason, message), signal: ctx.signal }, what);
      return undefined;
    } catch (err) {
      const e = describeError(err, what, client.server);
      if (!(e instanceof K8sApiError && e.code === 409) || attempt >= 5) throw e;
      const fresh = await client.get<CsrLike>(`${CSR_PATH}/${encodeURIComponent(name)}`, `read CSR ${name}`, ctx.signal);
      if (!fresh) return 'it was deleted';
      const why = await stillSame(fresh, csr, type, reevaluate);
      if (why) return why;
      current = fresh;
    }
  }
}

function changesOf(s: Sorted, args: CsrApproveArgs): Change[] {
  const changes: Change[] = [];
  for (const a of s.approve) changes.push({ summary: `approve CSR ${a.name} of ${a.node} (${a.check})` });
  for (const d of s.deny) changes.push({ summary: `deny CSR ${d.name} claiming ${d.node}: ${d.reason}` });
  if (s.waiting.length > 0) changes.push({ summary: `wait up to ${args.timeout ?? 300}s for ${SIGNERS[args.signer ?? 'serving']} CSRs of ${s.waiting.join(', ')} and approve them` });
  return changes;
}

function resultOf(s: Sorted, approved: Array<{ name: string; node: string }>, denied: Array<{ name: string; node: string; reason: string }>): Record<string, unknown> {
  return { approved, already_approved: s.already, denied, rejected: s.rejected.map((r) => ({ name: r.name, reason: r.reason })), waiting: s.waiting };
}

export default defineModule<CsrApproveArgs, CsrObserved, CsrPlanData>({
  name: 'csr_approve',
  doc: "Wait for and approve the kubelet CSRs of the play's nodes that prove they belong to one (requester, subject, usages, SANs, signature); report or deny the rest.",
  example: "- name: approve kubelet serving certificates\n  csr_approve: { timeout: 300 }\n  run_once: true",
  runsOn: 'controller',
  schema: {
    type: 'object',
    properties: {
      nodes: {
        type: 'array',
        description: 'Default: every host of the play (name: kubelet_node_name or inventory name; addresses: node_ip, ansible_host, names).',
        items: {
          type: 'object',
          properties: { name: { type: 'string', minLength: 1 }, addresses: { type: 'array', items: { type: 'string' } } },
          required: ['name'],
          additionalProperties: false,
        },
      },
      signer: { enum: ['serving', 'client'], description: 'serving (default): kubernetes.io/kubelet-serving; client: kubernetes.io/kube-apiserver-client-kubelet.' },
      deny_forged: { type: 'boolean', description: 'Deny CSRs of this signer that claim a play node but fail a check (default false: leave them pending).' },
      max_expiration_seconds: { type: 'integer', minimum: 600, description: `Refuse CSRs whose spec.expirationSeconds is above this (default ${DEFAULT_MAX_EXPIRATION_SECONDS}: 367 days, as kubelet-csr-approver).` },
      timeout: { type: 'number', minimum: 0, description: 'Seconds to wait for every node to have an approved CSR (default 300).' },
      poll: { type: 'number', exclusiveMinimum: 0, description: 'Seconds between lists (default 3).' },
      ...accessSchemaProperties,
    },
    additionalProperties: false,
  },
  async probe(ctx, args) {
    const nodes = (args.nodes ?? nodesFromVars(ctx.vars)).map((n) => ({ name: n.name, addresses: [...new Set([n.name, ...(n.addresses ?? [])])] }));
    const known = knownNodes(nodes, ctx.vars);
    const client = k8sClient(args, ctx.vars);
    return { nodes, known, csrs: await observe(client, known, args.signer ?? 'serving', await policyOptions(client, ctx, args), ctx.signal) };
  },
  plan(args, obs) {
    if (obs.nodes.length === 0) return { changes: [], fail: { message: 'no nodes', hint: 'give nodes, or run in a play with hosts' } };
    const s = sortCsrs(obs.csrs, obs.nodes, args);
    const changes = changesOf(s, args);
    const denied = s.deny.map((d) => ({ name: d.name, node: d.node, reason: d.reason }));
    return {
      changes,
      warnings: warningsOf(s, denied, true),
      ...(changes.length ? { data: { nodes: obs.nodes, known: obs.known } } : {}),
      result: resultOf(s, s.approve.map((a) => ({ name: a.name, node: a.node })), denied),
      unpredictable: s.waiting.length > 0 ? `would wait up to ${args.timeout ?? 300}s for CSRs of ${s.waiting.join(', ')}` : undefined,
    };
  },
  async apply(ctx, args, plan) {
    const client = k8sClient(args, ctx.vars);
    const { nodes, known } = plan.data!;
    const signer = args.signer ?? 'serving';
    const deadline = Date.now() + (args.timeout ?? 300) * 1000;
    const approved: Array<{ name: string; node: string }> = [];
    const denied: Array<{ name: string; node: string; reason: string }> = [];
    const handled = new Set<string>();
    const skipped: string[] = [];
    let s: Sorted;
    for (;;) {
      const opts = await policyOptions(client, ctx, args);
      const reevaluate = (c: CsrLike) => evaluateCsr(c, known, signer, opts);
      s = sortCsrs(await observe(client, known, signer, opts, ctx.signal), nodes, args);
      // Handled per object, not per name: a CSR created again under a name is judged again.
      const key = (c: CsrLike, name: string) => `${name}/${c.metadata?.uid ?? ''}`;
      for (const a of s.approve) {
        if (handled.has(key(a.csr, a.name))) continue;
        handled.add(key(a.csr, a.name));
        const why = await decide(client, ctx, a.name, a.csr, 'Approved', 'TsplayApproved', `tsplay csr_approve: ${a.check}`, reevaluate);
        if (why === undefined) {
          approved.push({ name: a.name, node: a.node });
          ctx.log(`approved CSR ${a.name} of ${a.node}`);
        } else {
          skipped.push(`CSR ${a.name} of ${a.node} not approved: ${why}`);
          ctx.log(`CSR ${a.name} not approved: ${why}`);
        }
      }
      for (const d of s.deny) {
        if (handled.has(key(d.csr, d.name))) continue;
        handled.add(key(d.csr, d.name));
        const why = await decide(client, ctx, d.name, d.csr, 'Denied', 'TsplayDenied', `tsplay csr_approve: ${d.reason}`, reevaluate);
        if (why === undefined) denied.push({ name: d.name, node: d.node, reason: d.reason });
        else ctx.log(`CSR ${d.name} not denied: ${why}`);
      }
      if (s.waiting.length === 0 || Date.now() >= deadline || ctx.signal.aborted) break;
      await sleep(Math.min((args.poll ?? 3) * 1000, Math.max(0, deadline - Date.now())), ctx.signal);
    }
    const result = resultOf(s, approved, denied);
    result.already_approved = s.already.filter((a) => !approved.some((x) => x.name === a.name));
    const changed = approved.length > 0 || denied.length > 0;
    const warnings = [...warningsOf(s, denied), ...skipped];
    if (s.waiting.length > 0) {
      const pending = s.rejected.length > 0 ? `; left pending: ${s.rejected.map((r) => `${r.name} (${r.reason})`).join('; ')}` : '';
      return { changed, result, warnings, failure: { message: `timed out after ${args.timeout ?? 300}s: no approvable ${SIGNERS[signer]} CSR from ${s.waiting.join(', ')}${pending}` } };
    }
    return { changed, result, warnings };
  },
});
