/**
 * A fake Kubernetes apiserver on loopback for the module tester: plain HTTP, the requests the
 * API modules make (discovery, get, list with field and label selectors, create, delete,
 * server-side apply with dry run, force and field managers, a CSR's /approval), answered from an
 * object store as the apiserver answers them (Status bodies, 404/409, resourceVersion moving only
 * on a real change, a Secret's stringData stored as data). The modules reach it through their
 * own client (a kubeconfig naming it), so discovery, paths, retries and errors are the real ones.
 * Server-side apply is simplified where the modules do not care: lists are atomic, ownership is
 * per leaf field. test/integration/k8s runs the same modules against a real apiserver.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { objectRef } from '../../engine/modules/k8s/client.js';
import type { Target } from './module-tester.js';

// Objects of every kind, as untyped JSON the way the apiserver reads them.
export type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- any kind's fields, unchecked

interface Resource {
  name: string;
  kind: string;
  namespaced: boolean;
}

const API: Record<string, Resource[]> = {
  v1: [
    { name: 'namespaces', kind: 'Namespace', namespaced: false },
    { name: 'nodes', kind: 'Node', namespaced: false },
    { name: 'configmaps', kind: 'ConfigMap', namespaced: true },
    { name: 'secrets', kind: 'Secret', namespaced: true },
    { name: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  ],
  'rbac.authorization.k8s.io/v1': [
    { name: 'clusterroles', kind: 'ClusterRole', namespaced: false },
    { name: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false },
    { name: 'roles', kind: 'Role', namespaced: true },
    { name: 'rolebindings', kind: 'RoleBinding', namespaced: true },
  ],
  'certificates.k8s.io/v1': [{ name: 'certificatesigningrequests', kind: 'CertificateSigningRequest', namespaced: false }],
};

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The leaf fields of an object as FieldsV1 (`f:name` keys, `{}` leaves; lists are one leaf). */
export function fieldsOf(value: unknown, top = true): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(value as Obj)) {
    if (top && (k === 'apiVersion' || k === 'kind')) continue;
    if (top && k === 'metadata') {
      const meta: Obj = {};
      for (const [mk, mv] of Object.entries(v as Obj)) if (mk !== 'name' && mk !== 'namespace') meta[`f:${mk}`] = mv && typeof mv === 'object' && !Array.isArray(mv) ? fieldsOf(mv, false) : {};
      if (Object.keys(meta).length) out['f:metadata'] = meta;
      continue;
    }
    out[`f:${k}`] = v && typeof v === 'object' && !Array.isArray(v) ? fieldsOf(v, false) : {};
  }
  return out;
}

/** Leaf paths of a FieldsV1 set: [['data', 'x'], ...]. */
function leaves(fields: Obj, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [k, v] of Object.entries(fields)) {
    const path = [...prefix, k.slice(2)];
    if (Object.keys(v as Obj).length === 0) out.push(path);
    else out.push(...leaves(v as Obj, path));
  }
  return out;
}

const at = (o: unknown, path: string[]): unknown => path.reduce<unknown>((cur, k) => (cur && typeof cur === 'object' ? (cur as Obj)[k] : undefined), o);
function unset(o: Obj, path: string[]): void {
  const parent = at(o, path.slice(0, -1)) as Obj | undefined;
  if (parent && typeof parent === 'object') delete parent[path[path.length - 1]!];
}
function merge(into: Obj, from: Obj): Obj {
  for (const [k, v] of Object.entries(from)) into[k] = v && typeof v === 'object' && !Array.isArray(v) && into[k] && typeof into[k] === 'object' && !Array.isArray(into[k]) ? merge(into[k] as Obj, v as Obj) : structuredClone(v);
  return into;
}
const scalar = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

export class FakeApiServer {
  /** Objects by Kind/namespace/name, as stored (managedFields, resourceVersion, uid). */
  readonly objects = new Map<string, Obj>();
  /** Every request, as "METHOD path?query": what a case may assert about the calls made. */
  readonly requests: string[] = [];
  private server?: Server;
  private version = 100;
  url = '';

  constructor(objects: Obj[] = []) {
    for (const o of objects) this.store(structuredClone(o));
  }

  private store(o: Obj): Obj {
    const meta = (o.metadata ??= {}) as Obj;
    meta.uid ??= randomUUID();
    meta.resourceVersion = String(++this.version);
    meta.creationTimestamp ??= '2030-01-01T00:00:00Z';
    if (o.kind === 'Secret' && o.stringData) {
      o.data = { ...(o.data ?? {}), ...Object.fromEntries(Object.entries(o.stringData as Record<string, string>).map(([k, v]) => [k, b64(v)])) };
      delete o.stringData;
    }
    this.objects.set(objectRef(o.kind, meta.name, meta.namespace), o);
    return o;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The store as a plain value: what check mode must leave exactly as it was. */
  snapshot(): Record<string, Obj> {
    return Object.fromEntries([...this.objects.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, structuredClone(v)]));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const send = (code: number, body: unknown): void => {
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      send(200, this.route(req.method ?? 'GET', url, text ? (JSON.parse(text) as Obj) : undefined, String(req.headers['content-type'] ?? '')));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      send(err.code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: err.reason, message: err.message, code: err.code });
    }
  }

  private route(method: string, url: URL, body: Obj | undefined, contentType: string): unknown {
    const m = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))(\/.*)?$/.exec(url.pathname);
    if (!m) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const apiVersion = m[1] ?? m[2]!;
    const resources = API[apiVersion];
    if (!resources) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    let segs = (m[3] ?? '').split('/').filter(Boolean).map(decodeURIComponent);
    if (segs.length === 0) return { kind: 'APIResourceList', groupVersion: apiVersion, resources: resources.map((r) => ({ ...r, verbs: ['get', 'list', 'create', 'patch', 'delete'] })) };
    let namespace: string | undefined;
    if (segs[0] === 'namespaces' && segs.length >= 3) {
      namespace = segs[1];
      segs = segs.slice(2);
    }
    const [plural, name, sub] = segs;
    const resource = resources.find((r) => r.name === plural);
    if (!resource) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${plural})`);
    const dryRun = url.searchParams.get('dryRun') === 'All';
    if (resource.namespaced && namespace && method !== 'GET' && !this.namespaceExists(namespace)) throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`);
    const ref = name === undefined ? undefined : objectRef(resource.kind, name, resource.namespaced ? namespace : undefined);
    const live = ref ? this.objects.get(ref) : undefined;
    const notFound = (): never => {
      throw new ApiError(404, 'NotFound', `${plural} "${name}" not found`);
    };
    if (name === undefined) {
      if (method === 'GET') return this.list(apiVersion, resource, namespace, url.searchParams);
      if (method === 'POST') return this.create(apiVersion, resource, namespace, body!, dryRun);
    } else if (sub === 'approval' && method === 'PUT') {
      if (!live) return notFound();
      if (body?.metadata?.uid !== live.metadata.uid) throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${plural} "${name}": Precondition failed: UID in precondition: ${body?.metadata?.uid}, UID in object meta: ${live.metadata.uid}`);
      const next = structuredClone(live);
      next.status = body!.status;
      return this.store(next);
    } else if (sub === undefined) {
      if (method === 'GET') return live ?? notFound();
      if (method === 'DELETE') {
        if (!live) return notFound();
        if (!dryRun) this.objects.delete(ref!);
        return { kind: 'Status', status: 'Success' };
      }
      if (method === 'PATCH' && contentType === 'application/apply-patch+yaml') return this.apply(apiVersion, resource, namespace, name, body!, url.searchParams, live, dryRun);
    }
    throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported here by the fake apiserver`);
  }

  /** default and kube-system always exist, as on a fresh cluster. */
  private namespaceExists(ns: string): boolean {
    return ns === 'default' || ns === 'kube-system' || this.objects.has(objectRef('Namespace', ns));
  }

  private list(apiVersion: string, resource: Resource, namespace: string | undefined, q: URLSearchParams): unknown {
    const selectors = (param: string | null): Array<[string, string, boolean]> =>
      (param ?? '').split(',').filter(Boolean).map((s) => {
        const neg = s.includes('!=');
        const [k, v] = s.split(neg ? '!=' : '=');
        return [k!, v ?? '', neg];
      });
    const fields = selectors(q.get('fieldSelector'));
    const labels = selectors(q.get('labelSelector'));
    const items = [...this.objects.values()].filter(
      (o) =>
        o.apiVersion === apiVersion &&
        o.kind === resource.kind &&
        (!namespace || o.metadata.namespace === namespace) &&
        // Field selectors name scalar fields (spec.signerName, type, metadata.name).
        fields.every(([k, v, neg]) => (scalar(at(o, k.split('.'))) === v) !== neg) &&
        labels.every(([k, v, neg]) => ((o.metadata.labels ?? {})[k] === v) !== neg),
    );
    // Lists leave out each item's apiVersion and kind, as the apiserver's do.
    return { kind: `${resource.kind}List`, apiVersion, metadata: { resourceVersion: String(this.version) }, items: items.map(({ apiVersion: _a, kind: _k, ...rest }) => structuredClone(rest)) };
  }

  private create(apiVersion: string, resource: Resource, namespace: string | undefined, body: Obj, dryRun: boolean): Obj {
    const o = structuredClone(body);
    o.apiVersion ??= apiVersion;
    o.kind ??= resource.kind;
    if (resource.namespaced) o.metadata.namespace = namespace;
    const ref = objectRef(resource.kind, o.metadata.name, o.metadata.namespace);
    if (this.objects.has(ref)) throw new ApiError(409, 'AlreadyExists', `${resource.name} "${o.metadata.name}" already exists`);
    return dryRun ? o : this.store(o);
  }

  private apply(apiVersion: string, resource: Resource, namespace: string | undefined, name: string, body: Obj, q: URLSearchParams, live: Obj | undefined, dryRun: boolean): Obj {
    const manager = q.get('fieldManager') ?? 'unknown';
    const force = q.get('force') === 'true';
    const applied = structuredClone(body);
    if (applied.kind === 'Secret' && applied.stringData) {
      applied.data = { ...(applied.data ?? {}), ...Object.fromEntries(Object.entries(applied.stringData as Record<string, string>).map(([k, v]) => [k, b64(v)])) };
      delete applied.stringData;
    }
    const mine = fieldsOf(applied);
    const mineLeaves = leaves(mine);
    const entries = ((live?.metadata.managedFields ?? []) as Obj[]).map((e) => structuredClone(e));
    // Another manager's field with another value: a conflict, unless forced (then it is taken over).
    const conflicts: string[] = [];
    for (const e of entries.filter((e) => e.manager !== manager)) {
      for (const leaf of leaves(e.fieldsV1 ?? {})) {
        if (!mineLeaves.some((l) => isDeepStrictEqual(l, leaf))) continue;
        if (isDeepStrictEqual(at(live, leaf), at(applied, leaf))) continue;
        if (!force) conflicts.push(`conflict with "${e.manager}": .${leaf.join('.')}`);
        else unset(e.fieldsV1, leaf.map((k) => `f:${k}`));
      }
    }
    if (conflicts.length) throw new ApiError(409, 'Conflict', `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.join('; ')}`);
    const next: Obj = live ? structuredClone(live) : { apiVersion, kind: resource.kind, metadata: { name, ...(resource.namespaced ? { namespace } : {}) } };
    // What this manager applied before and applies no more (and no one else owns) goes.
    const before = entries.find((e) => e.manager === manager);
    const others = entries.filter((e) => e.manager !== manager).flatMap((e) => leaves(e.fieldsV1 ?? {}));
    for (const leaf of leaves(before?.fieldsV1 ?? {})) {
      if (!mineLeaves.some((l) => isDeepStrictEqual(l, leaf)) && !others.some((l) => isDeepStrictEqual(l, leaf))) unset(next, leaf);
    }
    merge(next, applied);
    next.metadata.managedFields = [...entries.filter((e) => e.manager !== manager), { manager, operation: 'Apply', apiVersion, fieldsType: 'FieldsV1', fieldsV1: mine }];
    if (live) {
      const plain = (o: Obj) => ({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
      if (isDeepStrictEqual(plain(next), plain(live))) return live;
    }
    return dryRun ? next : this.store(next);
  }
}

/** What a case expects of the store after the real run: objects (a subset) by Kind/namespace/name or null for absent, or a check of its own. */
export type ObjectsExpect = Record<string, Obj | null> | ((objects: Obj[]) => void);

/** The API modules' target: a fresh fake apiserver per case, holding `before`. */
export const fakeApiServer: Target<Obj[], ObjectsExpect> = {
  name: 'fake apiserver',
  async start(before) {
    const api = new FakeApiServer(before ?? []);
    const server = await api.start();
    const dir = mkdtempSync(join(tmpdir(), 'tsplay-fake-api-'));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'fake', cluster: { server, 'insecure-skip-tls-verify': true } }], users: [{ name: 'admin', user: { token: 'fake-admin-token' } }], contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'admin' } }], 'current-context': 'fake' }),
    );
    return {
      conn: { host: 'controller', exec: () => Promise.reject(new Error('an API module ran a command on a host')), close: async () => {} },
      vars: { kubeconfig, k8s_retries: 0 },
      state: async () => api.snapshot(),
      expectAfter(state, expected) {
        const objects = state as Record<string, Obj>;
        if (typeof expected === 'function') return expected(Object.values(objects));
        expect(Object.fromEntries(Object.keys(expected).map((ref) => [ref, objects[ref] ?? null]))).toMatchObject(expected);
      },
      async close() {
        await api.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
