/**
 * The Handlebars helpers of tsplay's templates. Those named after a Jinja filter or test do
 * what Ansible's does (`tsplay migrate` rewrites `{{ x | basename }}` as `{{basename x}}` and
 * relies on that); the comparison and logic helpers make Jinja's `{% if %}` conditions
 * writable as `{{#if (and (defined x) (ne x ""))}}`.
 */
import type Handlebars from 'handlebars';
import { stringify as toYaml } from 'yaml';
import { shellQuote } from '../connect/shell.js';
import { secrets } from '../secrets.js';
import { versionTest } from './version.js';

export class HelperError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'HelperError';
  }
}

/**
 * Python's (and so Jinja's) truth: empty maps are false too, where Handlebars' own `if` takes
 * `{}` as true. `if`, `unless`, `and`, `or` and `not` all use this one.
 */
export function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof Map) return value.size > 0;
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}

/** The positional arguments of a helper call: Handlebars passes its options object last. */
const params = (args: unknown[]): unknown[] => args.slice(0, -1);

/** Ansible's bool filter: the well-known words, case-insensitive; anything else is refused. */
function toBool(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  const word = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (word !== undefined && ['yes', 'on', '1', 'true'].includes(word)) return true;
  if (word !== undefined && ['no', 'off', '0', 'false'].includes(word)) return false;
  throw new HelperError(`bool: ${JSON.stringify(value)} is not a boolean`, 'use true/false, yes/no, on/off or 1/0 (as Ansible\'s bool filter)');
}

/** Jinja's int filter: an integer, the whole part of a decimal, else 0. */
function toInt(value: unknown): number {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : 0;
  const text = String(value).trim().replace(/_/g, '');
  if (/^[+-]?\d+$/.test(text)) return Number.parseInt(text, 10);
  const n = Number(text);
  return text !== '' && Number.isFinite(n) ? Math.trunc(n) : 0;
}

/** Python's os.path.basename / dirname (a trailing slash gives an empty basename). */
function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
function dirname(path: string): string {
  const head = path.slice(0, path.lastIndexOf('/') + 1);
  return head && !/^\/+$/.test(head) ? head.replace(/\/+$/, '') : head;
}

function length(value: unknown): number {
  if (typeof value === 'string' || Array.isArray(value)) return value.length;
  if (value instanceof Map) return value.size;
  if (value && typeof value === 'object') return Object.keys(value).length;
  throw new HelperError(`length: ${JSON.stringify(value)} has no length`, 'length takes a string, a list or a map');
}

/** Jinja's `in`: an item of a list, a key of a map, a substring of a string. */
function contains(container: unknown, item: unknown): boolean {
  if (Array.isArray(container)) return container.some((x) => x === item);
  if (typeof container === 'string') return container.includes(String(item));
  if (container && typeof container === 'object') return Object.hasOwn(container, String(item));
  throw new HelperError(`in: ${JSON.stringify(container)} is not a list, map or string`);
}

function compare(a: unknown, b: unknown, op: string): boolean {
  const ok = (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
  if (!ok) throw new HelperError(`${op}: cannot compare ${JSON.stringify(a)} with ${JSON.stringify(b)}`, 'compare two numbers or two strings (convert with int or string)');
  return op === 'lt' ? a < b : op === 'le' ? a <= b : op === 'gt' ? a > b : a >= b;
}

function accepts(table: unknown, name: unknown, version: unknown): boolean {
  if (!Array.isArray(table)) throw new HelperError(`accepts: expected a list of {name, removed}, got ${JSON.stringify(table)}`);
  const entry = table.find((e) => (e as { name?: unknown } | null)?.name === name) as { removed?: unknown } | undefined;
  return entry?.removed === undefined || versionTest(version, '<', entry.removed);
}

export const helpers: Record<string, Handlebars.HelperDelegate> = {
  /** {{default x "fallback"}}: x unless it is undefined or null. */
  default: (value: unknown, fallback: unknown) => (value === undefined || value === null ? fallback : value),
  /** {{#if (defined x)}}: Jinja's `x is defined`; x may be undefined here without a load error. */
  defined: (value: unknown) => value !== undefined,
  b64encode: (value: unknown) => Buffer.from(String(value), 'utf8').toString('base64'),
  b64decode: (value: unknown) => Buffer.from(String(value), 'base64').toString('utf8'),
  to_json: (value: unknown) => JSON.stringify(value),
  // Never folded: a long value (a secret among them) stays on one line.
  to_yaml: (value: unknown) => toYaml(value, { lineWidth: 0 }).trimEnd(),
  /** {{join list ","}} */
  join: (list: unknown, sep: unknown) => (Array.isArray(list) ? list.join(typeof sep === 'string' ? sep : ',') : String(list)),
  /** {{indent text 4}}: indent every line but the first, for nesting a block in YAML. */
  indent: (text: unknown, width: unknown) => {
    const pad = ' '.repeat(typeof width === 'number' ? width : 2);
    return String(text).split('\n').join(`\n${pad}`);
  },
  /** {{quote x}}: a single-quoted shell word. */
  quote: (value: unknown) => shellQuote(String(value)),
  lower: (value: unknown) => String(value).toLowerCase(),
  upper: (value: unknown) => String(value).toUpperCase(),
  string: (value: unknown) => (typeof value === 'string' ? value : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)),
  trim: (value: unknown) => String(value).trim(),
  basename: (value: unknown) => basename(String(value)),
  dirname: (value: unknown) => dirname(String(value)),
  int: (value: unknown) => toInt(value),
  bool: (value: unknown) => toBool(value),
  length: (value: unknown) => length(value),
  eq: (a: unknown, b: unknown) => a === b,
  ne: (a: unknown, b: unknown) => a !== b,
  lt: (a: unknown, b: unknown) => compare(a, b, 'lt'),
  le: (a: unknown, b: unknown) => compare(a, b, 'le'),
  gt: (a: unknown, b: unknown) => compare(a, b, 'gt'),
  ge: (a: unknown, b: unknown) => compare(a, b, 'ge'),
  /** {{#if (in "coredns" dns_modes)}}: Jinja's `item in container`. */
  in: (item: unknown, container: unknown) => contains(container, item),
  not: (value: unknown) => !truthy(value),
  and: (...args: unknown[]) => params(args).every(truthy),
  or: (...args: unknown[]) => params(args).some(truthy),
  /** {{#if (version kubernetes_version "<" "1.24")}}: Ansible's version test (also a CEL function). */
  version: (a: unknown, op: unknown, b: unknown) => versionTest(a, op, b),
  /**
   * {{#if (accepts table "--network-plugin" kubernetes_version)}}: false when `table` (a list of
   * {name, removed}) says the option was removed at or before that version, else true.
   */
  accepts: (table: unknown, name: unknown, version: unknown) => accepts(table, name, version),
  /** {{to_yaml (accepted table gates kubernetes_version)}}: `map` without the keys `accepts` refuses. */
  accepted: (table: unknown, map: unknown, version: unknown) => {
    if (!map || typeof map !== 'object' || Array.isArray(map)) throw new HelperError(`accepted: expected a map, got ${JSON.stringify(map)}`);
    return Object.fromEntries(Object.entries(map).filter(([key]) => accepts(table, key, version)));
  },
  /** {{log x}}: Handlebars' own writes raw values to stdout; this one writes them masked to stderr. */
  log: (...args: unknown[]) => {
    const text = params(args).map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
    process.stderr.write(secrets.redact(`template log: ${text}`) + '\n');
    return '';
  },
};

/**
 * Handlebars' `if` and `unless` with Jinja's truth (an empty map is false, as `{{#each}}` of it
 * renders nothing), so a `{% if x %}` reads the same in both.
 */
export const blockHelpers: Record<string, Handlebars.HelperDelegate> = {
  if(this: unknown, condition: unknown, options: Handlebars.HelperOptions) {
    const value: unknown = typeof condition === 'function' ? (condition as (this: unknown) => unknown).call(this) : condition;
    const zeroIsTrue = (options.hash as { includeZero?: boolean }).includeZero === true && value === 0;
    return zeroIsTrue || truthy(value) ? options.fn(this) : options.inverse(this);
  },
  unless(this: unknown, condition: unknown, options: Handlebars.HelperOptions) {
    const value: unknown = typeof condition === 'function' ? (condition as (this: unknown) => unknown).call(this) : condition;
    return truthy(value) ? options.inverse(this) : options.fn(this);
  },
};

/** Helpers whose first argument may be undefined: the names they read are optional at load. */
export const GUARD_HELPERS = new Set(['default', 'defined']);

/**
 * What `| name` of Jinja is in tsplay's templates, for hints: the helper of the same name, or
 * the reason there is none.
 */
export function filterHint(filter: string): string {
  if (filter === 'default') return 'write {{default name "fallback"}} instead of {{ name | default("fallback") }}';
  if (Object.hasOwn(helpers, filter)) return `write {{${filter} value}} instead of {{ value | ${filter} }}`;
  return `tsplay has no helper for '| ${filter}'; helpers: ${Object.keys(helpers).join(', ')} (tsplay migrate converts those it can and lists the rest)`;
}
