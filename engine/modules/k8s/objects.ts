/**
 * Pure helpers for Kubernetes objects: reading definitions (object, YAML with several documents,
 * List kinds), normalizing what the server adds on every write, and projecting an object onto the
 * fields a field manager owns (metadata.managedFields, FieldsV1), so diffs show what tsplay manages.
 */
import { isDeepStrictEqual } from 'node:util';
import { YAML_MAX_ALIAS_COUNT } from '../../text.js';
import { parseAllDocuments, stringify } from 'yaml';
import { TaskError } from '../../errors.js';

export type Obj = Record<string, unknown>;

export const FIELD_MANAGER = 'tsplay';

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsType?: string;
  fieldsV1?: Obj;
}

/** Documents of a definition: an object, a list of objects, or YAML text with `---` separated documents. */
export function parseDefinitions(input: unknown, origin = 'definition'): Obj[] {
  let docs: unknown[];
  if (typeof input === 'string') {
    docs = [];
    for (const d of parseAllDocuments(input)) {
      if (d.errors.length > 0) throw new TaskError(`${origin}: invalid YAML: ${d.errors[0]!.message.split('\n')[0]}`);
      try {
        docs.push(d.toJS({ maxAliasCount: YAML_MAX_ALIAS_COUNT }));
      } catch (err) {
        // The yaml library's answer to an alias bomb or an alias without its anchor.
        if (!(err instanceof ReferenceError)) throw err;
        throw new TaskError(`${origin}: invalid YAML: ${err.message}`, 'use fewer aliases of aliases (*name), and define each anchor (&name) before its alias');
      }
    }
  } else if (Array.isArray(input)) docs = input;
  else docs = [input];
  const out: Obj[] = [];
  for (const d of docs) {
    if (d === null || d === undefined) continue; // empty document (a trailing ---)
    if (typeof d !== 'object' || Array.isArray(d)) throw new TaskError(`${origin}: each document must be a mapping with apiVersion, kind and metadata, got ${Array.isArray(d) ? 'a list' : typeof d}`);
    const o = d as Obj;
    if (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) out.push(...parseDefinitions(o.items, origin));
    else out.push(o);
  }
  return out;
}

export interface ObjectId {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export function objectId(doc: Obj, origin = 'definition'): ObjectId {
  const meta = (doc.metadata ?? {}) as Obj;
  const missing = [typeof doc.apiVersion !== 'string' && 'apiVersion', typeof doc.kind !== 'string' && 'kind', typeof meta.name !== 'string' && 'metadata.name'].filter(Boolean);
  if (missing.length > 0) {
    const hint = meta.generateName ? 'generateName is not supported: an applied object needs a fixed name to be idempotent' : undefined;
    throw new TaskError(`${origin}: object ${typeof doc.kind === 'string' && doc.kind ? `of kind ${doc.kind} ` : ''}has no ${missing.join(', ')}`, hint);
  }
  return { apiVersion: doc.apiVersion as string, kind: doc.kind as string, name: meta.name as string, namespace: typeof meta.namespace === 'string' ? meta.namespace : undefined };
}

const VOLATILE_META = ['managedFields', 'resourceVersion', 'generation', 'creationTimestamp', 'uid', 'selfLink'];

/** A deep copy without what changes on every write (resourceVersion, managedFields, timestamps). */
export function normalize(obj: unknown): Obj | undefined {
  if (!obj || typeof obj !== 'object') return undefined;
  const copy = structuredClone(obj) as Obj;
  const meta = copy.metadata as Obj | undefined;
  if (meta) {
    for (const k of VOLATILE_META) delete meta[k];
    if (meta.annotations && Object.keys(meta.annotations).length === 0) delete meta.annotations;
    if (meta.labels && Object.keys(meta.labels).length === 0) delete meta.labels;
  }
  return copy;
}

/** What the caller sees as a registered object: everything but managedFields. */
export function forRegister(obj: unknown): Obj | undefined {
  if (!obj || typeof obj !== 'object') return undefined;
  const copy = structuredClone(obj) as Obj;
  const meta = copy.metadata as Obj | undefined;
  if (meta) delete meta.managedFields;
  return copy;
}

/** The FieldsV1 set tsplay's Apply owns in an object (undefined: tsplay owns nothing there). */
export function managedBy(obj: unknown, manager = FIELD_MANAGER): Obj | undefined {
  const entries = (((obj as Obj | undefined)?.metadata as Obj | undefined)?.managedFields ?? []) as ManagedFieldsEntry[];
  let fields: Obj | undefined;
  for (const e of entries) {
    if (e.manager !== manager || e.operation !== 'Apply' || e.subresource || e.fieldsType !== 'FieldsV1' || !e.fieldsV1) continue;
    fields = fields ? unionFields(fields, e.fieldsV1) : e.fieldsV1;
  }
  return fields;
}

export function unionFields(a: Obj | undefined, b: Obj | undefined): Obj | undefined {
  if (!a) return b;
  if (!b) return a;
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? unionFields(out[k] as Obj, v as Obj) : v;
  return out;
}

/** Does a list element match a FieldsV1 list key: k:{"name":"x"} (associative), v:<json> (set), i:<n> (index)? */
function matchesKey(item: unknown, index: number, key: string): boolean {
  if (key.startsWith('k:')) {
    let want: Obj;
    try {
      want = JSON.parse(key.slice(2)) as Obj;
    } catch {
      return false;
    }
    if (!item || typeof item !== 'object') return false;
    return Object.entries(want).every(([f, v]) => String((item as Obj)[f]) === String(v));
  }
  if (key.startsWith('v:')) {
    try {
      return isDeepStrictEqual(item, JSON.parse(key.slice(2)));
    } catch {
      return false;
    }
  }
  if (key.startsWith('i:')) return Number(key.slice(2)) === index;
  return false;
}

/** The part of `value` covered by a FieldsV1 set (a leaf `{}` owns the whole value below it). */
export function project(value: unknown, fields: Obj): unknown {
  const keys = Object.keys(fields).filter((k) => k !== '.');
  if (keys.length === 0) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    value.forEach((item, i) => {
      const key = keys.find((k) => matchesKey(item, i, k));
      if (key) out.push(project(item, fields[key] as Obj));
    });
    return out;
  }
  if (value && typeof value === 'object') {
    const out: Obj = {};
    for (const k of keys) {
      if (!k.startsWith('f:')) continue;
      const name = k.slice(2);
      if (Object.prototype.hasOwnProperty.call(value, name)) out[name] = project((value as Obj)[name], fields[k] as Obj);
    }
    return out;
  }
  return value;
}

/** An object reduced to identity + the given fields, ready for a readable YAML diff. */
export function managedView(obj: unknown, fields: Obj | undefined): Obj {
  const o = (obj ?? {}) as Obj;
  const meta = (o.metadata ?? {}) as Obj;
  const head: Obj = { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: meta.name, ...(meta.namespace ? { namespace: meta.namespace } : {}) } };
  const body = fields ? (project(o, fields) as Obj) : (normalize(o) ?? {});
  const bodyMeta = (body.metadata ?? {}) as Obj;
  return { ...head, ...body, metadata: { ...(head.metadata as Obj), ...bodyMeta } };
}

export function toYaml(obj: unknown): string {
  return stringify(obj, { lineWidth: 0 });
}

export type Verdict = { action: 'none' } | { action: 'create' } | { action: 'update'; ownershipOnly: boolean };

/**
 * Does applying change anything? Compare the server's dry-run answer with the live object, both
 * normalized; equal values but a different tsplay field set means only ownership would move
 * (the first apply over an object someone else created with the same values).
 */
export function verdict(live: unknown, dryRun: unknown): Verdict {
  if (!live) return { action: 'create' };
  const same = isDeepStrictEqual(normalize(live), normalize(dryRun));
  const ownership = !isDeepStrictEqual(managedBy(live) ?? null, managedBy(dryRun) ?? null);
  if (same && !ownership) return { action: 'none' };
  return { action: 'update', ownershipOnly: same };
}

/** Values of a Secret object (data and stringData), to be masked everywhere. */
export function secretValues(obj: unknown): string[] {
  const o = (obj ?? {}) as Obj;
  if (o.kind !== 'Secret') return [];
  const out: string[] = [];
  for (const field of ['data', 'stringData']) {
    const m = o[field];
    if (m && typeof m === 'object') {
      for (const v of Object.values(m as Obj)) {
        if (typeof v !== 'string') continue;
        out.push(v);
        if (field === 'data') {
          const plain = Buffer.from(v, 'base64').toString('utf8');
          if (plain) out.push(plain);
        }
      }
    }
  }
  return out;
}
