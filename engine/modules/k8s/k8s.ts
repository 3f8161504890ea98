/**
 * k8s — make Kubernetes objects exist as written (server-side apply, field manager `tsplay`), or
 * not exist (state: absent).
 *
 *   - name: bootstrappers may create CSRs
 *     k8s:
 *       definition:
 *         apiVersion: rbac.authorization.k8s.io/v1
 *         kind: ClusterRoleBinding
 *         metadata: { name: tsplay:kubelet-bootstrap }
 *         roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:node-bootstrapper }
 *         subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:bootstrappers }]
 *
 * The probe reads each object and asks the server for a dry run of the apply (`dryRun=All`), so a
 * check run is judged by the real admission chain and RBAC. The task is `ok` when the dry run's
 * answer equals the live object (ignoring resourceVersion, generation, managedFields, timestamps)
 * and tsplay already owns the same fields; else `changed`. The diff (--diff) is YAML of the live
 * and the dry-run object reduced to the fields tsplay manages (before and after the apply), with
 * path `Kind/name` or `Kind/namespace/name`; Secret contents are never shown.
 *
 * `definition` is an object, a list, or YAML text with several documents (List kinds are
 * flattened); `src` is a controller file; `template` a controller Handlebars file rendered with
 * the host's variables. Objects are applied in order and deleted in reverse order.
 */
import { readTextFile } from '../../text.js';
import { TaskError } from '../../errors.js';
import { renderString } from '../../vars/template.js';
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type Change, type ModuleContext, type Plan, type ArgSchema } from '../types.js';
import { accessSchemaProperties, K8sApiError, k8sClient, objectRef, type K8sClient } from './client.js';
import { FIELD_MANAGER, forRegister, managedBy, managedView, objectId, parseDefinitions, secretValues, toYaml, unionFields, verdict, type Obj, type ObjectId } from './objects.js';

const schema = {
  type: 'object',
  properties: {
    state: { enum: ['present', 'absent'], description: 'present (default): server-side apply; absent: delete if present.' },
    definition: { type: ['object', 'string', 'array'], description: 'The object(s): a mapping, a list, or YAML text (several documents allowed).' },
    src: { type: 'string', description: "Controller YAML file, looked up in the role's files/ then the playbook's." },
    template: { type: 'string', description: 'Controller Handlebars file (templates/) rendered with the host variables, then read as YAML.' },
    namespace: { type: 'string', description: "Namespace for namespaced objects that name none (default: the context's, else default)." },
    force_conflicts: { type: 'boolean', description: 'Take over fields another field manager owns (server-side apply force).' },
    ...accessSchemaProperties,
  },
  oneOf: [{ required: ['definition'] }, { required: ['src'] }, { required: ['template'] }],
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type K8sArgs = FromSchema<typeof schema>;

export interface K8sItem {
  id: ObjectId;
  ref: string;
  doc: Obj;
  path: string;
  live?: Obj;
  /** The server's dry-run answer to the apply (state present). */
  dry?: Obj;
  /** Why there is no dry run (its namespace is created by an earlier document of this task). */
  dryNote?: string;
}

export interface K8sObserved {
  items: K8sItem[];
}

export interface K8sPlanData {
  todo: Array<{ index: number; action: 'apply' | 'delete' }>;
  /** The probe's objects, for apply (plan and apply see only args and the plan). */
  items: K8sItem[];
}

function definitions(ctx: ModuleContext, args: K8sArgs): { docs: Obj[]; origin: string } {
  if (args.definition !== undefined) return { docs: parseDefinitions(args.definition), origin: 'definition' };
  if (args.src !== undefined) {
    const file = ctx.files.resolve('files', args.src);
    return { docs: parseDefinitions(readTextFile(file), args.src), origin: args.src };
  }
  const file = ctx.files.resolve('templates', args.template!);
  return { docs: parseDefinitions(renderString(readTextFile(file), ctx.vars), args.template), origin: args.template! };
}

/** PATCH application/apply-patch+yaml (JSON is YAML) as field manager tsplay. */
export async function serverSideApply(client: K8sClient, item: Pick<K8sItem, 'doc' | 'path' | 'ref'>, opts: { dryRun: boolean; force?: boolean; signal?: AbortSignal }): Promise<Obj> {
  const what = `${opts.dryRun ? 'dry-run apply' : 'apply'} ${item.ref}`;
  const send = () =>
    client.request<Obj>('PATCH', item.path, { query: { fieldManager: FIELD_MANAGER, dryRun: opts.dryRun ? 'All' : undefined, force: opts.force ? true : undefined }, body: item.doc, contentType: 'application/apply-patch+yaml', signal: opts.signal }, what);
  try {
    return await send();
  } catch (err) {
    // A field-manager conflict ("Apply failed with 1 conflict") does not go away by asking again;
    // anything else that is a 409 (the object changed under the server) does.
    if (err instanceof K8sApiError && err.code === 409 && !/apply failed with/i.test(err.statusMessage)) return send();
    throw err;
  }
}

export async function probeK8s(ctx: ModuleContext, args: K8sArgs, client: K8sClient): Promise<K8sObserved> {
  const { docs, origin } = definitions(ctx, args);
  if (docs.length === 0) throw new TaskError(`${origin}: no objects in the definition`);
  const state = args.state ?? 'present';
  const items: K8sItem[] = [];
  const creatingNamespaces = new Set<string>();
  for (const raw of docs) {
    const id = objectId(raw, origin);
    const doc = structuredClone(raw);
    // Discovery fails before the object's own requests do (apiserver down, throttling): name it.
    const resource = await client.resource(id.apiVersion, id.kind, ctx.signal).catch((err: unknown) => {
      if (err instanceof TaskError) err.message = `${objectRef(id.kind, id.name, id.namespace)}: ${err.message}`;
      throw err;
    });
    const meta = (doc.metadata ?? {}) as Obj;
    if (resource.namespaced) {
      id.namespace ??= args.namespace ?? client.defaultNamespace;
      meta.namespace = id.namespace;
    } else {
      // A cluster-scoped object has no namespace; the apiserver rejects one that names it.
      delete meta.namespace;
      id.namespace = undefined;
    }
    doc.metadata = meta;
    const objPath = (await client.path(id.apiVersion, id.kind, id.name, id.namespace, ctx.signal)).path;
    const ref = objectRef(id.kind, id.name, id.namespace);
    for (const v of secretValues(doc)) ctx.secret(v);
    const live = await client.get<Obj>(objPath, `read ${ref}`, ctx.signal);
    for (const v of secretValues(live)) ctx.secret(v);
    const item: K8sItem = { id, ref, doc, path: objPath, live };
    if (state === 'present') {
      try {
        item.dry = await serverSideApply(client, item, { dryRun: true, force: args.force_conflicts, signal: ctx.signal });
        for (const v of secretValues(item.dry)) ctx.secret(v);
      } catch (err) {
        // In a check run, an object in a namespace this same task creates cannot be dry-run yet.
        if (err instanceof K8sApiError && err.code === 404 && id.namespace && creatingNamespaces.has(id.namespace)) item.dryNote = `namespace ${id.namespace} is created by an earlier document`;
        else throw err;
      }
      if (id.kind === 'Namespace' && !live) creatingNamespaces.add(id.name);
    } else if (live && ctx.check) {
      // Ask the server whether the delete would be allowed (RBAC, admission), without deleting.
      await client.request('DELETE', objPath, { query: { dryRun: 'All' }, signal: ctx.signal }, `dry-run delete ${ref}`);
    }
    items.push(item);
  }
  return { items };
}

function diffOf(item: K8sItem, before: unknown, after: unknown): Change['diff'] {
  const secret = item.id.kind === 'Secret';
  return { path: item.ref, before: before === null ? null : secret ? '' : toYaml(before), after: after === null ? null : secret ? '' : toYaml(after), opaque: secret ? 'secret' : undefined };
}

export function planK8s(args: K8sArgs, obs: K8sObserved): Plan<K8sPlanData> & { result: Record<string, unknown> } {
  const state = args.state ?? 'present';
  const changes: Change[] = [];
  const todo: K8sPlanData['todo'] = [];
  obs.items.forEach((item, index) => {
    if (state === 'absent') {
      if (!item.live) return;
      const fields = managedBy(item.live);
      changes.push({ summary: `delete ${item.ref}`, diff: diffOf(item, managedView(item.live, fields), null) });
      todo.push({ index, action: 'delete' });
      return;
    }
    const dry = item.dry;
    if (!dry) {
      changes.push({ summary: `create ${item.ref} (${item.dryNote})`, diff: diffOf(item, null, item.doc) });
      todo.push({ index, action: 'apply' });
      return;
    }
    const v = verdict(item.live, dry);
    if (v.action === 'none') return;
    if (v.action === 'create') {
      changes.push({ summary: `create ${item.ref}`, diff: diffOf(item, null, managedView(dry, managedBy(dry))) });
    } else {
      const fields = unionFields(managedBy(item.live), managedBy(dry));
      changes.push({
        summary: v.ownershipOnly ? `update ${item.ref} (tsplay takes ownership of its fields; values unchanged)` : `update ${item.ref}`,
        diff: v.ownershipOnly ? undefined : diffOf(item, managedView(item.live, fields), managedView(dry, fields)),
      });
    }
    todo.push({ index, action: 'apply' });
  });
  const objects = obs.items.map((i) => forRegister(state === 'absent' ? undefined : (i.dry ?? i.live ?? i.doc))).filter((o): o is Obj => o !== undefined);
  const result = registered(objects);
  return changes.length ? { changes, data: { todo, items: obs.items }, result } : { changes, result };
}

function registered(objects: Obj[]): Record<string, unknown> {
  return { resources: objects, ...(objects.length === 1 ? { result: objects[0] } : {}) };
}

export default defineModule<K8sArgs, K8sObserved, K8sPlanData>({
  name: 'k8s',
  doc: 'Apply Kubernetes objects with server-side apply (field manager tsplay), or delete them (state: absent). Check mode uses the server dry run.',
  example: "- name: bootstrappers may create CSRs\n  k8s:\n    definition:\n      apiVersion: rbac.authorization.k8s.io/v1\n      kind: ClusterRoleBinding\n      metadata: { name: tsplay:kubelet-bootstrap }\n      roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:node-bootstrapper }\n      subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:bootstrappers }]",
  runsOn: 'controller',
  schema,
  controllerFiles: (args) => (args.src ? [{ kind: 'files', name: args.src, template: false }] : args.template ? [{ kind: 'templates', name: args.template, template: true }] : []),
  probe: (ctx, args) => probeK8s(ctx, args, k8sClient(args, ctx.vars)),
  plan: (args, obs) => planK8s(args, obs),
  async apply(ctx, args, plan) {
    const client = k8sClient(args, ctx.vars);
    const items = plan.data?.items ?? [];
    const out = items.map((i) => i.dry ?? i.live ?? i.doc) as Array<Obj | undefined>;
    const todo = plan.data?.todo ?? [];
    // Deletes run in reverse order (a namespace last), applies in the order written.
    const ordered = [...todo.filter((t) => t.action === 'apply'), ...todo.filter((t) => t.action === 'delete').reverse()];
    for (const t of ordered) {
      const item = items[t.index]!;
      if (t.action === 'apply') {
        out[t.index] = await serverSideApply(client, item, { dryRun: false, force: args.force_conflicts, signal: ctx.signal });
        for (const v of secretValues(out[t.index])) ctx.secret(v);
      } else {
        try {
          await client.request('DELETE', item.path, { query: { propagationPolicy: 'Background' }, signal: ctx.signal }, `delete ${item.ref}`);
        } catch (err) {
          if (!(err instanceof K8sApiError && err.code === 404)) throw err;
        }
        out[t.index] = undefined;
      }
    }
    const objects = (args.state ?? 'present') === 'absent' ? [] : out.map((o) => forRegister(o)).filter((o): o is Obj => o !== undefined);
    return { result: registered(objects) };
  },
});
