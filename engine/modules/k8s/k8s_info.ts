/**
 * k8s_info — read Kubernetes objects; never changes anything (runs in check mode too).
 *
 *   - k8s_info: { kind: CertificateSigningRequest, api_version: certificates.k8s.io/v1, field_selectors: ["spec.signerName=kubernetes.io/kubelet-serving"] }
 *     register: csrs          # csrs.resources is a list (empty when nothing matches)
 *
 * With `name`, reads that one object (an empty list if it does not exist). Without `namespace`,
 * namespaced kinds are listed across all namespaces.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ArgSchema } from '../types.js';
import { accessSchemaProperties, k8sClient, objectRef } from './client.js';
import { forRegister, secretValues, type Obj } from './objects.js';

const schema = {
  type: 'object',
  properties: {
    kind: { type: 'string' },
    api_version: { type: 'string', description: 'Default v1.' },
    name: { type: 'string' },
    namespace: { type: 'string', description: 'Namespaced kinds: this namespace only (default: all namespaces).' },
    label_selectors: { type: 'array', items: { type: 'string' }, description: "Joined with ',' (all must hold): ['app=kubelet', 'tier!=web']." },
    field_selectors: { type: 'array', items: { type: 'string' }, description: "Joined with ',': ['spec.nodeName=w1']." },
    ...accessSchemaProperties,
  },
  required: ['kind'],
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type K8sInfoArgs = FromSchema<typeof schema>;

export default defineModule<K8sInfoArgs, Obj[], never>({
  name: 'k8s_info',
  doc: 'Read Kubernetes objects by kind (and name, namespace, label/field selectors); registers `resources` (a list).',
  example: "- k8s_info: { kind: CertificateSigningRequest, api_version: certificates.k8s.io/v1, field_selectors: [\"spec.signerName=kubernetes.io/kubelet-serving\"] }\n  register: csrs   # csrs.resources is a list (empty when nothing matches)",
  runsOn: 'controller',
  schema,
  async probe(ctx, args) {
    // Secret contents read here are masked in all output from now on.
    const masked = (objects: Obj[]): Obj[] => {
      for (const o of objects) for (const v of secretValues(o)) ctx.secret(v);
      return objects;
    };
    const client = k8sClient(args, ctx.vars);
    const apiVersion = args.api_version ?? 'v1';
    const { path, resource } = await client.path(apiVersion, args.kind, args.name, args.namespace, ctx.signal);
    if (args.name !== undefined) {
      if (resource.namespaced && !args.namespace) {
        // A name without a namespace: the context's namespace, as kubectl get would.
        const p = await client.path(apiVersion, args.kind, args.name, client.defaultNamespace, ctx.signal);
        const one = await client.get<Obj>(p.path, `read ${objectRef(args.kind, args.name, client.defaultNamespace)}`, ctx.signal);
        return masked(one ? [one] : []);
      }
      const one = await client.get<Obj>(path, `read ${objectRef(args.kind, args.name, args.namespace)}`, ctx.signal);
      return masked(one ? [one] : []);
    }
    const query = { labelSelector: args.label_selectors?.join(',') || undefined, fieldSelector: args.field_selectors?.join(',') || undefined };
    const items: Obj[] = [];
    let cont: string | undefined;
    do {
      const list = await client.request<{ items?: Obj[]; metadata?: { continue?: string } }>('GET', path, { query: { ...query, limit: 500, continue: cont }, signal: ctx.signal }, `list ${args.kind}`);
      // Lists leave out each item's apiVersion and kind; put them back so items read like objects.
      for (const it of list.items ?? []) items.push({ apiVersion, kind: args.kind, ...it });
      cont = list.metadata?.continue || undefined;
    } while (cont);
    return masked(items);
  },
  plan: (_args, objects) => ({ changes: [], result: { resources: objects.map((o) => forRegister(o)!) } }),
  apply: async () => ({ changed: false }),
});
