/**
 * k8s_wait — wait until an object has a status condition (Node Ready=True, ...). Never changes
 * anything: ok when the condition held in time; failed on timeout, naming the conditions last seen.
 *
 *   - k8s_wait: { kind: Node, name: "{{ kubelet_node_name }}", condition: { type: Ready, status: "True" }, timeout: 300 }
 *
 * The waiting happens in the probe (reads only). In check mode it reads once and does not wait:
 * when the condition does not hold yet, the task is ok and says what a real run would wait for.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ArgSchema } from '../types.js';
import { sleep } from '../../sleep.js';
import { accessSchemaProperties, k8sClient, objectRef } from './client.js';
import { forRegister, type Obj } from './objects.js';

const schema = {
  type: 'object',
  properties: {
    kind: { type: 'string' },
    api_version: { type: 'string', description: 'Default v1.' },
    name: { type: 'string' },
    namespace: { type: 'string', description: "Namespaced kinds (default: the context's namespace)." },
    condition: {
      type: 'object',
      properties: { type: { type: 'string' }, status: { type: ['string', 'boolean'], description: "Default 'True'." } },
      required: ['type'],
      additionalProperties: false,
    },
    timeout: { type: 'number', minimum: 0, description: 'Seconds (default 120).' },
    poll: { type: 'number', exclusiveMinimum: 0, description: 'Seconds between reads (default 2).' },
    ...accessSchemaProperties,
  },
  required: ['kind', 'name', 'condition'],
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type K8sWaitArgs = FromSchema<typeof schema>;

export interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

export interface WaitObserved {
  met: boolean;
  once: boolean;
  elapsed: number;
  exists: boolean;
  conditions: Condition[];
  object?: Obj;
}

export function conditionsOf(obj: Obj | undefined): Condition[] {
  const c = (obj?.status as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(c) ? (c as Condition[]) : [];
}

export function wantedStatus(args: Pick<K8sWaitArgs, 'condition'>): string {
  const s = args.condition.status ?? 'True';
  return typeof s === 'boolean' ? (s ? 'True' : 'False') : s;
}

export function conditionMet(obj: Obj | undefined, args: Pick<K8sWaitArgs, 'condition'>): boolean {
  return conditionsOf(obj).some((c) => c.type === args.condition.type && c.status === wantedStatus(args));
}

export function describeConditions(exists: boolean, conditions: Condition[]): string {
  if (!exists) return 'the object does not exist';
  if (conditions.length === 0) return 'no conditions reported';
  return conditions.map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ''})` : ''}`).join('; ');
}

export default defineModule<K8sWaitArgs, WaitObserved, never>({
  name: 'k8s_wait',
  doc: 'Wait until a Kubernetes object has a status condition (e.g. Node Ready=True); fails on timeout with the conditions last seen.',
  example: "- k8s_wait: { kind: Node, name: \"{{ kubelet_node_name }}\", condition: { type: Ready, status: \"True\" }, timeout: 300 }",
  runsOn: 'controller',
  schema,
  async probe(ctx, args) {
    const client = k8sClient(args, ctx.vars);
    const apiVersion = args.api_version ?? 'v1';
    const resource = await client.resource(apiVersion, args.kind, ctx.signal);
    const ns = resource.namespaced ? (args.namespace ?? client.defaultNamespace) : undefined;
    const { path } = await client.path(apiVersion, args.kind, args.name, ns, ctx.signal);
    const ref = objectRef(args.kind, args.name, ns);
    const start = Date.now();
    const deadline = start + (args.timeout ?? 120) * 1000;
    for (;;) {
      const obj = await client.get<Obj>(path, `read ${ref}`, ctx.signal);
      const met = conditionMet(obj, args);
      const elapsed = Math.round((Date.now() - start) / 1000);
      if (met || ctx.check || Date.now() >= deadline || ctx.signal.aborted) return { met, once: ctx.check, elapsed, exists: !!obj, conditions: conditionsOf(obj), object: obj };
      await sleep(Math.min((args.poll ?? 2) * 1000, Math.max(0, deadline - Date.now())), ctx.signal);
    }
  },
  plan(args, obs) {
    const want = `${args.kind}/${args.name} ${args.condition.type}=${wantedStatus(args)}`;
    const result: Record<string, unknown> = { elapsed: obs.elapsed, met: obs.met, conditions: obs.conditions, resources: obs.object ? [forRegister(obs.object)] : [] };
    if (obs.met) return { changes: [], result };
    const now = describeConditions(obs.exists, obs.conditions);
    if (obs.once) return { changes: [], result, unpredictable: `check mode: not waiting; a real run waits up to ${args.timeout ?? 120}s for ${want} (now: ${now})` };
    return { changes: [], result, fail: { message: `timed out after ${obs.elapsed}s waiting for ${want}; last seen: ${now}` } };
  },
  apply: async () => ({ changed: false }),
});
