/**
 * bootstrap_token — a bootstrap token for one node: Secret `bootstrap-token-<id>` of type
 * `bootstrap.kubernetes.io/token` in kube-system, as `kubeadm token create` writes it.
 *
 *   - name: bootstrap token
 *     bootstrap_token: { node: "{{ inventory_hostname }}", ttl: 2h }
 *     register: bt            # bt.token is "<id>.<secret>", masked in all output
 *
 * The token's groups are system:bootstrappers:<node> (nodeGroup: collision-free) and extra_groups.
 * Tokens made before nodeGroup wrote '.' as ':' carry system:bootstrappers:a-b for node a.b: a
 * rerun does not reuse them (other groups), and for a node not joined yet issues a new one; an
 * old one still valid is left to expire (a kubelet may be using it), and csr_approve lets it
 * prove only the node of its tsplay.dev/node annotation, so it cannot stand for node a-b.
 * Reuse rule (idempotence): a token is reused, and the task is `ok`, when it was made by tsplay
 * for the same node (annotation tsplay.dev/node), has the same description, usages and extra
 * groups, is not expired, and has at least a third of the requested ttl left (so a kubelet that
 * starts bootstrapping now still has time). With ttl 0 (never expires) only a token without
 * expiration is reused. Otherwise a new token is created (`changed`); tokens of that node and
 * description that have already expired are deleted (replaced). Tokens that are still valid but
 * too close to expiry are left alone: a kubelet may be using one right now, and the
 * controller-manager's token cleaner removes them when they expire.
 *
 * The token secret and the full token are marked secret before anything can print them; diffs
 * show only that a secret was created. In check mode with no reusable token the task registers a
 * placeholder token `chkmod.checkmodenotreal` (also masked) so later templates still render.
 */
import { randomInt } from 'node:crypto';
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type Change, type ModuleContext, type ArgSchema } from '../types.js';
import { accessSchemaProperties, K8sApiError, k8sClient, parseDuration, type K8sClient } from './client.js';

const schema = {
  type: 'object',
  properties: {
    node: { type: 'string', minLength: 1, description: 'The node the token is for (recorded in annotation tsplay.dev/node).' },
    ttl: { type: ['string', 'integer'], minimum: 0, pattern: '^([0-9]+|([0-9]+(\\.[0-9]+)?[hms])+)$', description: 'Lifetime: 24h (default), 90m, 1h30m, seconds; 0 = never expires.' },
    usages: { type: 'array', items: { enum: ['authentication', 'signing'] }, description: 'Default [authentication, signing].' },
    extra_groups: { type: 'array', items: { type: 'string' }, description: "Groups besides the node's own system:bootstrappers:<node> (dots in the node name become ':'), which every token carries." },
    description: { type: 'string', description: 'Default "tsplay bootstrap token for <node>".' },
    ...accessSchemaProperties,
  },
  required: ['node'],
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type BootstrapTokenArgs = FromSchema<typeof schema>;

export interface TokenInfo {
  name: string;
  id: string;
  secret: string;
  expiration?: Date;
  description?: string;
  node?: string;
  usages: string[];
  groups: string[];
}

export interface TokenObserved {
  tokens: TokenInfo[];
  now: number;
}

export interface Wanted {
  node: string;
  ttlSeconds: number;
  usages: string[];
  groups: string[];
  description: string;
}

interface TokenPlanData {
  want: Wanted;
  expired: string[];
}

export const NAMESPACE = 'kube-system';
export const SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const NODE_ANNOTATION = 'tsplay.dev/node';
export const PLACEHOLDER = { id: 'chkmod', secret: 'checkmodenotreal' };
const GROUP_RE = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A Kubernetes node name: a lowercase RFC 1123 subdomain (what the apiserver accepts for a Node). */
const NODE_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * The group that binds a token to its node: system:bootstrappers:<node> with each '.' made ':'.
 * A group may hold [a-z0-9:-] only, and a node name never holds ':', so no two nodes share a
 * group (the old '.' -> '-' gave a.b and a-b the same one). undefined: not a valid node name.
 */
export function nodeGroup(node: string): string | undefined {
  if (node.length > 253 || !NODE_NAME_RE.test(node)) return undefined;
  return `system:bootstrappers:${node.replace(/\./g, ':')}`;
}

/** The token always carries its node's group (csr_approve relies on it), plus extra_groups. */
export function wanted(args: BootstrapTokenArgs): Wanted {
  const own = nodeGroup(args.node);
  return {
    node: args.node,
    ttlSeconds: parseDuration(args.ttl ?? '24h'),
    usages: [...new Set(args.usages ?? ['authentication', 'signing'])].sort(),
    groups: [...new Set([...(own ? [own] : []), ...(args.extra_groups ?? [])])].sort(),
    description: args.description ?? `tsplay bootstrap token for ${args.node}`,
  };
}

export function randomToken(): { id: string; secret: string } {
  const pick = (n: number) => Array.from({ length: n }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  return { id: pick(6), secret: pick(16) };
}

/** A Secret of type bootstrap.kubernetes.io/token, read back (data is base64). */
/** Every bootstrap token in the cluster; each secret is masked before anything else happens. */
export async function listBootstrapTokens(client: K8sClient, ctx: Pick<ModuleContext, 'secret' | 'signal'>): Promise<TokenInfo[]> {
  const list = await client.request<{ items?: Array<Parameters<typeof parseTokenSecret>[0]> }>(
    'GET',
    `/api/v1/namespaces/${NAMESPACE}/secrets`,
    { query: { fieldSelector: `type=${SECRET_TYPE}` }, signal: ctx.signal },
    'list bootstrap tokens',
  );
  const tokens = (list.items ?? []).map(parseTokenSecret).filter((t): t is TokenInfo => t !== undefined);
  for (const t of tokens) {
    ctx.secret(t.secret);
    ctx.secret(`${t.id}.${t.secret}`);
  }
  return tokens;
}

export function parseTokenSecret(secret: { metadata?: { name?: string; annotations?: Record<string, string> }; data?: Record<string, string> }): TokenInfo | undefined {
  const d = (k: string): string | undefined => (secret.data?.[k] !== undefined ? Buffer.from(secret.data[k], 'base64').toString('utf8') : undefined);
  const id = d('token-id');
  const sec = d('token-secret');
  if (!id || !sec) return undefined;
  const exp = d('expiration');
  return {
    name: secret.metadata?.name ?? `bootstrap-token-${id}`,
    id,
    secret: sec,
    expiration: exp ? new Date(exp) : undefined,
    description: d('description'),
    node: secret.metadata?.annotations?.[NODE_ANNOTATION],
    usages: Object.keys(secret.data ?? {})
      .filter((k) => k.startsWith('usage-bootstrap-') && d(k) === 'true')
      .map((k) => k.slice('usage-bootstrap-'.length))
      .sort(),
    groups: (d('auth-extra-groups') ?? '')
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean)
      .sort(),
  };
}

export type Choice = { reuse: TokenInfo; expired: TokenInfo[] } | { reuse?: undefined; expired: TokenInfo[] };

/** The reuse rule (see the module doc): pure, so it is tested as a table. */
export function chooseToken(tokens: TokenInfo[], want: Wanted, now: number): Choice {
  const mine = tokens.filter((t) => t.node === want.node && t.description === want.description);
  const expired = mine.filter((t) => t.expiration !== undefined && t.expiration.getTime() <= now);
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const usable = mine.filter((t) => {
    if (!same(t.usages, want.usages) || !same(t.groups, want.groups)) return false;
    if (want.ttlSeconds === 0) return t.expiration === undefined;
    if (t.expiration === undefined) return false;
    return t.expiration.getTime() - now >= (want.ttlSeconds * 1000) / 3;
  });
  usable.sort((a, b) => b.expiration!.getTime() - a.expiration!.getTime() || a.id.localeCompare(b.id));
  return usable[0] ? { reuse: usable[0], expired } : { expired };
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function tokenSecretObject(id: string, secret: string, want: Wanted, now: number): Record<string, unknown> {
  const data: Record<string, string> = { 'token-id': id, 'token-secret': secret, description: want.description, 'auth-extra-groups': want.groups.join(',') };
  if (want.ttlSeconds > 0) data.expiration = rfc3339(now + want.ttlSeconds * 1000);
  for (const u of want.usages) data[`usage-bootstrap-${u}`] = 'true';
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `bootstrap-token-${id}`, namespace: NAMESPACE, labels: { 'app.kubernetes.io/managed-by': 'tsplay' }, annotations: { [NODE_ANNOTATION]: want.node } },
    type: SECRET_TYPE,
    stringData: data,
  };
}

function registered(t: { id: string; secret: string; expiration?: Date | string }, node: string, reused: boolean): Record<string, unknown> {
  const exp = t.expiration instanceof Date ? rfc3339(t.expiration.getTime()) : t.expiration;
  return { token: `${t.id}.${t.secret}`, token_id: t.id, token_secret: t.secret, expiration: exp ?? null, secret_name: `bootstrap-token-${t.id}`, node, reused };
}

export default defineModule<BootstrapTokenArgs, TokenObserved, TokenPlanData>({
  name: 'bootstrap_token',
  doc: 'Create (or reuse) a bootstrap token for a node: Secret bootstrap-token-<id> in kube-system. Registers token, token_id, token_secret, expiration (token values are masked).',
  example: "- name: bootstrap token\n  bootstrap_token: { node: \"{{ inventory_hostname }}\", ttl: 2h }\n  register: bt   # bt.token is \"<id>.<secret>\", masked in all output",
  runsOn: 'controller',
  schema,
  async probe(ctx, args) {
    const tokens = await listBootstrapTokens(k8sClient(args, ctx.vars), ctx);
    if (ctx.check) {
      // The placeholder a check run may register: masked like a real token.
      ctx.secret(PLACEHOLDER.secret);
      ctx.secret(`${PLACEHOLDER.id}.${PLACEHOLDER.secret}`);
    }
    return { tokens, now: Date.now() };
  },
  plan(args, obs, ctx) {
    if (nodeGroup(args.node) === undefined) {
      return {
        changes: [],
        fail: { message: `node ${JSON.stringify(args.node)} is not a Kubernetes node name (lowercase letters, digits, '-' and '.', as a DNS name): no bootstrap group can name it`, hint: 'set kubelet_node_name to the name the kubelet registers' },
      };
    }
    const want = wanted(args);
    const bad = want.groups.filter((g) => !GROUP_RE.test(g));
    if (bad.length > 0) {
      return { changes: [], fail: { message: `extra_groups ${bad.join(', ')}: the apiserver only accepts groups matching system:bootstrappers:[a-z0-9:-]*[a-z0-9]` } };
    }
    const choice = chooseToken(obs.tokens, want, obs.now);
    const expired = choice.expired.filter((t) => t !== choice.reuse);
    if (choice.reuse) return { changes: [], result: registered(choice.reuse, args.node, true) };
    const changes: Change[] = expired.map((t) => ({ summary: `delete expired bootstrap token ${t.name} of ${args.node}` }));
    changes.push({
      summary: `create bootstrap token for ${args.node} (${want.ttlSeconds > 0 ? `ttl ${args.ttl ?? '24h'}` : 'never expires'}, groups ${want.groups.join(',')})`,
      diff: { path: `Secret/${NAMESPACE}/bootstrap-token-<new id>`, before: null, after: '', opaque: 'secret' },
    });
    let result: Record<string, unknown> | undefined;
    if (ctx.check) {
      result = { ...registered({ ...PLACEHOLDER, expiration: want.ttlSeconds > 0 ? rfc3339(obs.now + want.ttlSeconds * 1000) : undefined }, args.node, false), placeholder: true };
    }
    return { changes, data: { want, expired: expired.map((t) => t.name) }, result };
  },
  async apply(ctx, args, plan) {
    const client = k8sClient(args, ctx.vars);
    const want = plan.data!.want;
    for (const name of plan.data!.expired) {
      try {
        await client.request('DELETE', `/api/v1/namespaces/${NAMESPACE}/secrets/${encodeURIComponent(name)}`, { signal: ctx.signal }, `delete expired bootstrap token ${name}`);
      } catch (err) {
        if (!(err instanceof K8sApiError && err.code === 404)) throw err;
      }
    }
    for (let attempt = 1; ; attempt++) {
      const t = randomToken();
      // Masked before the request exists, so no error path can print it.
      ctx.secret(t.secret);
      ctx.secret(`${t.id}.${t.secret}`);
      const now = Date.now();
      const body = tokenSecretObject(t.id, t.secret, want, now);
      try {
        await client.request('POST', `/api/v1/namespaces/${NAMESPACE}/secrets`, { body, signal: ctx.signal }, `create bootstrap token for ${args.node}`);
      } catch (err) {
        // 36^6 ids: a clash is rare; draw again.
        if (err instanceof K8sApiError && err.code === 409 && attempt < 5) continue;
        throw err;
      }
      const exp = (body.stringData as Record<string, string>).expiration;
      return { result: registered({ ...t, expiration: exp }, args.node, false) };
    }
  },
});

