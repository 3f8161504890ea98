/**
 * kubeconfig — render a kubeconfig (one cluster, one user, one context) and, with `dest`, write it
 * on the target like copy does: atomic, sha256-compared (idempotent), mode 0600 by default, and
 * never its content in a diff when it holds a token or a key.
 *
 *   - name: bootstrap kubeconfig
 *     kubeconfig:
 *       server: "{{ apiserver_url }}"
 *       ca_file: pki/ca.crt                # controller file, embedded as certificate-authority-data
 *       token: "{{ bt.token }}"
 *       user_name: kubelet-bootstrap
 *       dest: /etc/kubernetes/bootstrap-kubelet.conf
 *
 * Without dest it only registers `kubeconfig` (the YAML text; masked when it holds a token or key).
 * Controller paths (ca_file, client_cert_file, client_key_file) are looked up like copy's src:
 * absolute, or in the role's files/, then the playbook's.
 */
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { TaskError } from '../../errors.js';
import type { FileState } from '../host/remote.js';
import { applyContent, contentSchemaProperties, desired, planContent, probeContent, type ContentArgs, type ContentPlanData, type Desired } from '../host/content.js';
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ModuleContext, type ArgSchema } from '../types.js';

const schema = {
  type: 'object',
  properties: {
    server: { type: 'string', minLength: 1, description: 'https://apiserver:6443' },
    ca_file: { type: 'string', description: 'Controller path of the cluster CA certificate (embedded).' },
    ca_data: { type: 'string', description: 'The CA certificate itself: PEM text or base64 of it.' },
    token: { type: 'string', description: 'Bearer token (masked in all output).' },
    client_cert_file: { type: 'string', description: 'Controller path of a client certificate (embedded).' },
    client_key_file: { type: 'string', description: 'Controller path of its key (embedded; the file content is masked).' },
    cluster_name: { type: 'string', description: 'Default kubernetes.' },
    user_name: { type: 'string', description: 'Default tsplay-token (token) or tsplay-cert (certificate).' },
    context_name: { type: 'string', description: 'Default <user_name>@<cluster_name>.' },
    namespace: { type: 'string', description: "The context's namespace." },
    ...contentSchemaProperties,
    dest: { type: 'string', description: 'Path on the target; without it the kubeconfig is only registered.' },
  },
  required: ['server'],
  not: { anyOf: [{ required: ['ca_file', 'ca_data'] }, { required: ['token', 'client_cert_file'] }] },
  dependencies: { client_cert_file: ['client_key_file'], client_key_file: ['client_cert_file'] },
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type KubeconfigArgs = FromSchema<typeof schema>;

export interface KubeconfigParts {
  server: string;
  caData?: string;
  token?: string;
  certData?: string;
  keyData?: string;
  clusterName: string;
  userName: string;
  contextName: string;
  namespace?: string;
}

/** Pure: the kubeconfig text, keys in kubectl's order, so the same input always gives the same bytes. */
export function renderKubeconfig(p: KubeconfigParts): string {
  const cluster: Record<string, string> = { server: p.server };
  if (p.caData) cluster['certificate-authority-data'] = p.caData;
  const user: Record<string, string> = {};
  if (p.certData) user['client-certificate-data'] = p.certData;
  if (p.keyData) user['client-key-data'] = p.keyData;
  if (p.token) user.token = p.token;
  const context: Record<string, string> = { cluster: p.clusterName, user: p.userName };
  if (p.namespace) context.namespace = p.namespace;
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: p.clusterName, cluster }],
      users: [{ name: p.userName, user }],
      contexts: [{ name: p.contextName, context }],
      'current-context': p.contextName,
      preferences: {},
    },
    { lineWidth: 0 },
  );
}

/** ca_data may be base64 already or PEM text; kubeconfig wants base64. */
export function asBase64(data: string): string {
  return data.includes('-----BEGIN') ? Buffer.from(data, 'utf8').toString('base64') : data.replace(/\s+/g, '');
}

/** The kubeconfig text and its bytes; reads the controller files and marks the secrets in them. */
function build(ctx: ModuleContext, args: KubeconfigArgs): { text: string; want: Desired } {
  const read = (what: string, name: string): string => {
    const path = ctx.files.resolve('files', name);
    try {
      return readFileSync(path).toString('base64');
    } catch (err) {
      throw new TaskError(`${what} ${path}: ${(err as Error).message}`);
    }
  };
  if (args.token) ctx.secret(args.token);
  const keyData = args.client_key_file ? read('client_key_file', args.client_key_file) : undefined;
  if (keyData) {
    ctx.secret(keyData);
    ctx.secret(Buffer.from(keyData, 'base64').toString('utf8'));
  }
  const clusterName = args.cluster_name ?? 'kubernetes';
  const userName = args.user_name ?? (args.token ? 'tsplay-token' : 'tsplay-cert');
  const text = renderKubeconfig({
    server: args.server,
    caData: args.ca_file ? read('ca_file', args.ca_file) : args.ca_data ? asBase64(args.ca_data) : undefined,
    token: args.token,
    certData: args.client_cert_file ? read('client_cert_file', args.client_cert_file) : undefined,
    keyData,
    clusterName,
    userName,
    contextName: args.context_name ?? `${userName}@${clusterName}`,
    namespace: args.namespace,
  });
  const secret = !!(args.token || keyData);
  if (secret) ctx.secret(text, 'whole');
  return { text, want: desired(Buffer.from(text, 'utf8'), secret) };
}

/** The kubeconfig, and with dest the file there now. */
interface Observed {
  text: string;
  want: Desired;
  cur?: FileState;
}

export default defineModule<KubeconfigArgs, Observed, ContentPlanData>({
  name: 'kubeconfig',
  doc: 'Render a kubeconfig (server, CA, token or client certificate) and write it at dest on the target (atomic, idempotent, mode 0600, no secret content in diffs); registers `kubeconfig`.',
  example: "- name: bootstrap kubeconfig\n  kubeconfig:\n    server: \"{{ apiserver_url }}\"\n    ca_file: pki/ca.crt\n    token: \"{{ bt.token }}\"\n    user_name: kubelet-bootstrap\n    dest: /etc/kubernetes/bootstrap-kubelet.conf",
  runsOn: 'target',
  schema,
  async probe(ctx, args) {
    const { text, want } = build(ctx, args);
    if (!args.dest) return { text, want };
    return { text, want, cur: await probeContent(ctx, withMode(args), want) };
  },
  plan(args, { text, want, cur }) {
    const result = { kubeconfig: text, ...(args.dest ? { dest: args.dest } : {}) };
    if (!args.dest || !cur) return { changes: [], result };
    return { ...planContent(withMode(args), { cur, want }), result };
  },
  // The plan's result (the kubeconfig text) is registered with apply's.
  apply: (ctx, args, plan) => applyContent(ctx, withMode(args), plan),
});

function withMode(args: KubeconfigArgs): ContentArgs {
  return { dest: args.dest!, mode: args.mode ?? '0600', owner: args.owner, group: args.group, backup: args.backup, validate: args.validate, force: args.force };
}
