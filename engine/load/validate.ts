/**
 * JSON Schema validation (ajv) whose errors point at file:line:col via the YAML position map.
 *
 * Startup time: compiling schemas with ajv is slow (tens of ms each, and ajv itself takes as long
 * to load), so `npm run build` precompiles every schema tsplay ships -- the documents' and each
 * module's arguments, in both instances' options -- to standalone code (engine/schema/precompile.ts).
 * A validator is looked up by a hash of everything that shapes its code and loaded on first use;
 * a schema with no precompiled code (a source run, or a stale dist/) is compiled by ajv, as before.
 * Both produce the same errors: they are the same generated code.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';
import inventorySchema from '../schema/inventory.schema.json' with { type: 'json' };
import playbookSchema from '../schema/playbook.schema.json' with { type: 'json' };
import roleMetaSchema from '../schema/role-meta.schema.json' with { type: 'json' };
import varsSchema from '../schema/vars.schema.json' with { type: 'json' };
import type { Diagnostics } from '../errors.js';
import type { LoadedYaml } from './yaml-file.js';

const require = createRequire(import.meta.url);

export type Variant = 'load' | 'coerce';

export const AJV_OPTIONS: Record<Variant, Options> = {
  // verbose: errors carry their schema, so messages can list the allowed keys.
  load: { allErrors: true, strict: false, allowUnionTypes: true, verbose: true },
  // At run time, templated arguments arrive as strings ("60" from -e timeout=60): coerce them to
  // the schema's scalar types, as Ansible's argument_spec does.
  coerce: { allErrors: true, strict: false, allowUnionTypes: true, coerceTypes: true },
};

/** Added to the load instance and referenced by $id; validated by the compiled schema itself. */
const SHARED_SCHEMAS: object[] = [varsSchema, playbookSchema];

/** The documents tsplay validates at load. */
export const DOCUMENT_SCHEMAS = {
  inventory: inventorySchema as object,
  playbook: playbookSchema as object,
  roleMeta: roleMetaSchema as object,
  vars: varsSchema as object,
  taskList: { $ref: `${playbookSchema.$id}#/definitions/taskList` } as object,
};

/** An ajv instance set up as `variant`; `extra` is for the build's precompile step (code.source). */
export function createAjv(variant: Variant, extra: Options = {}): Ajv {
  const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
  const ajv = new AjvClass({ ...AJV_OPTIONS[variant], ...extra });
  if (variant === 'load') for (const s of SHARED_SCHEMAS) ajv.addSchema(s);
  return ajv;
}

/** `schema` compiled in `ajv` (a shared schema is already there, under its $id). */
export function compileIn(ajv: Ajv, schema: object): ValidateFunction {
  return SHARED_SCHEMAS.includes(schema) ? (ajv.getSchema((schema as { $id: string }).$id) as ValidateFunction) : ajv.compile(schema);
}

let ajvVersion: string | undefined;

/** The file name of `schema`'s precompiled code: it changes with anything that would change the code. */
export function precompiledName(variant: Variant, schema: object): string {
  ajvVersion ??= (require('ajv/package.json') as { version: string }).version;
  const shaping = [ajvVersion, variant, AJV_OPTIONS[variant], variant === 'load' ? SHARED_SCHEMAS : [], schema];
  return `${variant}-${createHash('sha256').update(JSON.stringify(shaping)).digest('hex').slice(0, 32)}.cjs`;
}

/** Where the build writes precompiled validators: dist/engine/schema/compiled/. */
export const PRECOMPILED_DIR = new URL('../schema/compiled/', import.meta.url);

const instances: Partial<Record<Variant, Ajv>> = {};

function validatorFor(variant: Variant, schema: object): ValidateFunction {
  try {
    return require(fileURLToPath(new URL(precompiledName(variant, schema), PRECOMPILED_DIR))) as ValidateFunction;
  } catch (err) {
    if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
  }
  return compileIn((instances[variant] ??= createAjv(variant)), schema);
}

const documents = new Map<keyof typeof DOCUMENT_SCHEMAS, ValidateFunction>();
function documentValidator(name: keyof typeof DOCUMENT_SCHEMAS): ValidateFunction {
  let v = documents.get(name);
  if (!v) documents.set(name, (v = validatorFor('load', DOCUMENT_SCHEMAS[name])));
  return v;
}

/** Each compiled (or loaded) on first use. */
export const validators = {
  get inventory(): ValidateFunction {
    return documentValidator('inventory');
  },
  get playbook(): ValidateFunction {
    return documentValidator('playbook');
  },
  get roleMeta(): ValidateFunction {
    return documentValidator('roleMeta');
  },
  get vars(): ValidateFunction {
    return documentValidator('vars');
  },
  get taskList(): ValidateFunction {
    return documentValidator('taskList');
  },
};

/** A module's argument schema, for the load-time check (callers cache it per module). */
export function compileSchema(schema: object): ValidateFunction {
  return validatorFor('load', schema);
}

/** Validates and coerces in place ("60" -> 60, "true" -> true) where the schema says so. */
export function compileCoercingSchema(schema: object): ValidateFunction {
  return validatorFor('coerce', schema);
}

/** Validate a loaded document (or a part of it at `basePointer`) and report every problem. */
export function validateAt(
  validate: ValidateFunction,
  value: unknown,
  doc: LoadedYaml,
  diags: Diagnostics,
  what: string,
  basePointer = '',
): boolean {
  if (validate(value)) return true;
  reportErrors(validate.errors ?? [], doc, diags, what, basePointer);
  return false;
}

export function reportErrors(errors: ErrorObject[], doc: LoadedYaml, diags: Diagnostics, what: string, basePointer = ''): void {
  for (const err of pruneErrors(errors)) {
    const pointer = basePointer + err.instancePath;
    const { message, hint, atKey } = describe(err, what);
    diags.add(message, atKey ? doc.keyPlaceOf(basePointer + atKey) : doc.placeOf(pointer), hint);
  }
}

/** anyOf/oneOf produce one error per branch; keep the most useful, one per location. */
function pruneErrors(errors: ErrorObject[]): ErrorObject[] {
  const byPath = new Map<string, ErrorObject[]>();
  // if/then/else (a playbook entry is an import_playbook or a play): the branch's errors say it.
  for (const e of errors.filter((e) => e.keyword !== 'if')) {
    const list = byPath.get(e.instancePath) ?? [];
    list.push(e);
    byPath.set(e.instancePath, list);
  }
  const out: ErrorObject[] = [];
  for (const [path, list] of byPath) {
    // oneOf over `required` branches means "exactly one of these keys": say that once.
    const oneOf = list.find((e) => e.keyword === 'oneOf');
    const branches = (oneOf?.schema as Array<{ required?: string[] }> | undefined) ?? [];
    // A bad variable name yields a pattern error and a propertyNames error: keep the second. The
    // value is a mapping then, so a type error beside it is only another anyOf branch's.
    if (list.some((e) => e.keyword === 'propertyNames')) {
      out.push(...list.filter((e) => (e.keyword !== 'pattern' || !(e as { propertyName?: string }).propertyName) && e.keyword !== 'type' && e.keyword !== 'anyOf'));
      continue;
    }
    if (oneOf && branches.every((b) => b.required)) {
      const keys = branches.flatMap((b) => b.required ?? []);
      out.push({ ...oneOf, keyword: 'exactlyOne', params: { keys } });
      out.push(...list.filter((e) => e.keyword !== 'oneOf' && !(e.keyword === 'required' && keys.includes(String(e.params.missingProperty)))));
      continue;
    }
    const deeper = errors.some((e) => e.instancePath.startsWith(path + '/') && e.keyword !== 'anyOf');
    const specific = list.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf');
    if (specific.length === 0) {
      if (!deeper) out.push(list[0]!);
      continue;
    }
    const types = specific.filter((e) => e.keyword === 'type');
    // In an anyOf, a branch whose type matched failed on something more specific (a minimum, an
    // unknown key): that explains it; the other branches' "must be a string" is only noise.
    const nonType = specific.filter((e) => e.keyword !== 'type');
    if (list.some((e) => e.keyword === 'anyOf') && types.length > 0 && nonType.length > 0) {
      out.push(...nonType);
    } else if (types.length > 1) {
      const expected = [...new Set(types.flatMap((e) => String(e.params.type).split(',')))];
      out.push({ ...types[0]!, params: { type: expected.join(' or ') } });
      out.push(...specific.filter((e) => e.keyword !== 'type'));
    } else if (deeper && specific.every((e) => e.keyword === 'type')) {
      continue; // a deeper error in the matching branch explains it better
    } else {
      out.push(...specific);
    }
  }
  return out;
}

function describe(err: ErrorObject, what: string): { message: string; hint?: string; atKey?: string } {
  const field = err.instancePath ? `'${lastSegment(err.instancePath)}'` : what;
  switch (err.keyword) {
    case 'additionalProperties': {
      const key = String(err.params.additionalProperty);
      return {
        message: `unknown key '${key}' in ${container(err, what)}`,
        hint: allowedKeys(err),
        atKey: `${err.instancePath}/${key}`,
      };
    }
    case 'exactlyOne':
      return { message: `${what} need exactly one of: ${(err.params.keys as string[]).join(', ')}` };
    case 'required':
      return { message: `${named(err.instancePath) ?? what} is missing required key '${String(err.params.missingProperty)}'` };
    case 'type':
      return {
        message: `${field} must be ${article(String(err.params.type).replace(/,/g, ' or '))}`,
        hint: lastSegment(err.instancePath) === 'mode' && typeof err.data === 'number' ? "quote it: mode: '0644' (unquoted, 0644 is a number: 420 to Ansible's YAML 1.1, 644 to YAML 1.2; tsplay takes a mode only as the string you mean)" : undefined,
      };
    case 'not': {
      // `not: {anyOf: [{required: [a, b]}, ...]}`: keys that exclude each other.
      const pairs = ((err.schema as { anyOf?: Array<{ required?: string[] }> }).anyOf ?? []).map((b) => b.required ?? []);
      const data = (err.data ?? {}) as Record<string, unknown>;
      const both = pairs.find((keys) => keys.length > 0 && keys.every((k) => k in data));
      if (both) return { message: `${what}: give only one of ${both.join(', ')}`, hint: `remove ${both.slice(1).join(', ')} or ${both[0]}` };
      return { message: `${field} ${err.message ?? 'is invalid'}` };
    }
    case 'enum':
      return {
        message: `${field} must be one of: ${(err.params.allowedValues as unknown[]).map(String).join(', ')}`,
      };
    case 'propertyNames':
      return {
        message: `invalid variable name '${String(err.params.propertyName)}'`,
        hint: 'variable names are letters, digits and _, not starting with a digit',
        atKey: `${err.instancePath}/${String(err.params.propertyName)}`,
      };
    case 'pattern':
      return { message: `${field} has an invalid value (expected to match ${String(err.params.pattern)})` };
    default:
      return { message: `${field} ${err.message ?? 'is invalid'}` };
  }
}

/** Where an unknown key sits: a named property ('loop_control'), a role reference, or the document's `what`. */
function container(err: ErrorObject, what: string): string {
  const prop = /\/properties\/([^/]+)\/additionalProperties$/.exec(err.schemaPath);
  if (prop) return `'${prop[1]}'`;
  // A definition may name what it is ("import_playbook entry"); a document's title is not a container.
  const schema = err.parentSchema as { title?: string; $id?: string } | undefined;
  if (schema?.title && !schema.$id) return schema.title;
  const named = /\/([A-Za-z_]\w*)$/.exec(err.instancePath);
  if (named) return `'${named[1]}'`;
  if (/\/(roles|dependencies)\/\d+$/.test(err.instancePath)) return 'role reference';
  return what;
}

/** The key naming a nested mapping ('condition'), or undefined for the document itself or a list item. */
function named(pointer: string): string | undefined {
  const last = lastSegment(pointer);
  return pointer && !/^\d+$/.test(last) ? `'${last}'` : undefined;
}

function allowedKeys(err: ErrorObject): string | undefined {
  const props = (err.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ? `expected one of: ${Object.keys(props).join(', ')}` : undefined;
}

function lastSegment(pointer: string): string {
  return pointer.slice(pointer.lastIndexOf('/') + 1).replace(/~1/g, '/').replace(/~0/g, '~');
}

function article(type: string): string {
  return /^(array|object|integer)/.test(type) ? `an ${type}` : `a ${type}`;
}
