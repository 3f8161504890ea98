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
 *
 * Registers approved (name, node), already_approved, denied, rejected (name, reason), waiting.
 * Note: the controller-manager removes approved CSRs after an hour, so a later run finds none and
 * waits for new ones; guard the task (e.g. only when the kubelet was (re)started).
 */
import { defineModule, type Change, type ModuleContext } from '../types.js';
import type { Vars } from '../../vars/template.js';
import { sleep } from '../../sleep.js';
import { accessSchemaProperties, describeError, K8sApiError, k8sClient, type AccessArgs, type K8sClient } from './client.js';
import { csrState, evaluateCsr, SIGNERS, type CsrLike, type CsrState, type Evaluation, type NodeIdentity, type SignerKind } from './csr-policy.js';

export interface CsrApproveArgs extends AccessArgs {
  nodes?: NodeIdentity[];
  signer?: SignerKind;
  deny_forged?: boolean;
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
  nodes: NodeIdentity[];
  csrs: Seen[];
}

interface CsrPlanData {
  nodes: NodeIdentity[];
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

async function observe(client: K8sClient, nodes: NodeIdentity[], signer: SignerKind, signal: AbortSignal): Promise<Seen[]> {
  const list = await client.request<{ items?: CsrLike[] }>('GET', CSR_PATH, { signal }, 'list CertificateSigningRequests');
  const out: Seen[] = [];
  for (const csr of list.items ?? []) {
    const state = csrState(csr);
    if (state === 'denied' || state === 'failed') continue;
    out.push({ name: csr.metadata?.name ?? '?', state, eval: await evaluateCsr(csr, nodes, signer), csr });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

interface Sorted {
  approve: Array<{ name: string; node: string; check: string; csr: CsrLike }>;
  already: Array<{ name: string; node: string }>;
  deny: Array<{ name: string; node: string; reason: string; csr: CsrLike }>;
  rejected: Array<{ name: string; reason: string }>;
  done: Set<string>;
  waiting: string[];
}

export function sortCsrs(seen: Seen[], nodes: NodeIdentity[], args: CsrApproveArgs): Sorted {
  const signer = SIGNERS[args.signer ?? 'serving'];
  const s: Sorted = { approve: [], already: [], deny: [], rejected: [], done: new Set(), waiting: [] };
  for (const c of seen) {
    const e = c.eval;
    if (e.ok) {
      if (c.state === 'approved') s.already.push({ name: c.name, node: e.node });
      else s.approve.push({ name: c.name, node: e.node, check: e.check, csr: c.csr });
      s.done.add(e.node);
    } else if (c.state === 'pending') {
      if (args.deny_forged && e.claimed && c.csr.spec?.signerName === signer) s.deny.push({ name: c.name, node: e.claimed, reason: e.reason, csr: c.csr });
      else s.rejected.push({ name: c.name, reason: e.reason });
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

/** PUT the /approval subresource; on 409 read the CSR again and retry while it is still pending. */
async function decide(client: K8sClient, ctx: ModuleContext, name: string, csr: CsrLike, type: 'Approved' | 'Denied', reason: string, message: string): Promise<boolean> {
  let current = csr;
  for (let attempt = 1; ; attempt++) {
    try {
      // Through request(): the same bounded retries (429, 5xx, resets) as every other API call.
      await client.request('PUT', `${CSR_PATH}/${encodeURIComponent(name)}/approval`, { body: conditionBody(current, type, reason, message), signal: ctx.signal }, `${type === 'Approved' ? 'approve' : 'deny'} CSR ${name}`);
      return true;
    } catch (err) {
      const e = describeError(err, `${type === 'Approved' ? 'approve' : 'deny'} CSR ${name}`, client.server);
      if (!(e instanceof K8sApiError && e.code === 409) || attempt >= 5) throw e;
      const fresh = await client.get<CsrLike>(`${CSR_PATH}/${encodeURIComponent(name)}`, `read CSR ${name}`, ctx.signal);
      if (!fresh || csrState(fresh) !== 'pending') return false;
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
  return { approved, already_approved: s.already, denied, rejected: s.rejected, waiting: s.waiting };
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
      timeout: { type: 'number', minimum: 0, description: 'Seconds to wait for every node to have an approved CSR (default 300).' },
      poll: { type: 'number', exclusiveMinimum: 0, description: 'Seconds between lists (default 3).' },
      ...accessSchemaProperties,
    },
    additionalProperties: false,
  },
  async probe(ctx, args) {
    const nodes = (args.nodes ?? nodesFromVars(ctx.vars)).map((n) => ({ name: n.name, addresses: [...new Set([n.name, ...(n.addresses ?? [])])] }));
    const client = k8sClient(args, ctx.vars);
    return { nodes, csrs: await observe(client, nodes, args.signer ?? 'serving', ctx.signal) };
  },
  plan(args, obs) {
    if (obs.nodes.length === 0) return { changes: [], fail: 'no nodes: give nodes, or run in a play with hosts' };
    const s = sortCsrs(obs.csrs, obs.nodes, args);
    const changes = changesOf(s, args);
    return {
      changes,
      data: { nodes: obs.nodes },
      result: resultOf(s, s.approve.map((a) => ({ name: a.name, node: a.node })), s.deny.map((d) => ({ name: d.name, node: d.node, reason: d.reason }))),
      unpredictable: s.waiting.length > 0 ? `would wait up to ${args.timeout ?? 300}s for CSRs of ${s.waiting.join(', ')}` : undefined,
    };
  },
  async apply(ctx, args, plan) {
    const client = k8sClient(args, ctx.vars);
    const nodes = plan.data!.nodes;
    const signer = args.signer ?? 'serving';
    const deadline = Date.now() + (args.timeout ?? 300) * 1000;
    const approved: Array<{ name: string; node: string }> = [];
    const denied: Array<{ name: string; node: string; reason: string }> = [];
    const handled = new Set<string>();
    let s: Sorted;
    for (;;) {
      s = sortCsrs(await observe(client, nodes, signer, ctx.signal), nodes, args);
      for (const a of s.approve) {
        if (handled.has(a.name)) continue;
        handled.add(a.name);
        if (await decide(client, ctx, a.name, a.csr, 'Approved', 'TsplayApproved', `tsplay csr_approve: ${a.check}`)) {
          approved.push({ name: a.name, node: a.node });
          ctx.log(`approved CSR ${a.name} of ${a.node}`);
        }
      }
      for (const d of s.deny) {
        if (handled.has(d.name)) continue;
        handled.add(d.name);
        if (await decide(client, ctx, d.name, d.csr, 'Denied', 'TsplayDenied', `tsplay csr_approve: ${d.reason}`)) denied.push({ name: d.name, node: d.node, reason: d.reason });
      }
      if (s.waiting.length === 0 || Date.now() >= deadline || ctx.signal.aborted) break;
      await sleep(Math.min((args.poll ?? 3) * 1000, Math.max(0, deadline - Date.now())), ctx.signal);
    }
    const result = resultOf(s, approved, denied);
    result.already_approved = s.already.filter((a) => !approved.some((x) => x.name === a.name));
    const changed = approved.length > 0 || denied.length > 0;
    if (s.waiting.length > 0) {
      const pending = s.rejected.length > 0 ? `; left pending: ${s.rejected.map((r) => `${r.name} (${r.reason})`).join('; ')}` : '';
      return { changed, result, failed: `timed out after ${args.timeout ?? 300}s: no approvable ${SIGNERS[signer]} CSR from ${s.waiting.join(', ')}${pending}` };
    }
    return { changed, result };
  },
});
