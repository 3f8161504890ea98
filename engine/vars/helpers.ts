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
  if (container === undefined || item === undefined) return false;
  if (Array.isArray(container)) return container.some((x) => x === item);
  const key = typeof item === 'string' ? item : typeof item === 'number' ? String(item) : undefined;
  if (typeof container === 'string' && typeof item === 'string') return container.includes(item);
  if (container && typeof container === 'object' && key !== undefined) return Object.hasOwn(container, key);
  if (typeof container === 'string' || (container && typeof container === 'object')) throw new HelperError(`in: ${JSON.stringify(item)} cannot be in ${JSON.stringify(container)}`);
  throw new HelperError(`in: ${JSON.stringify(container)} is not a list, map or string`);
}

function compare(a: unknown, b: unknown, op: string): boolean {
  if (a === undefined || b === undefined) return false;
  const ok = (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
  if (!ok) throw new HelperError(`${op}: cannot compare ${JSON.stringify(a)} with ${JSON.stringify(b)}`, 'compare two numbers or two strings (convert with int or string)');
  return op === 'lt' ? a < b : op === 'le' ? a <= b : op === 'gt' ? a > b : a >= b;
}

function accepts(table: unknown, name: unknown, version: unknown): boolean {
  if (!Array.isArray(table)) throw new HelperError(`accepts: expected a list of {name, removed}, got ${JSON.stringify(table)}`);
  const entry = table.find((e) => (e as { name?: unknown } | null)?.name === name) as { removed?: unknown } | undefined;
  return entry?.removed === undefined || versionTest(version, '<', entry.removed);
}

/** Jinja's list filter, what `{% for x in value %}` iterates: a map's keys, a string's characters. */
function toList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [...value];
  if (value instanceof Map) return [...value.keys()];
  if (value && typeof value === 'object') return Object.keys(value);
  throw new HelperError(`list: ${JSON.stringify(value)} cannot be iterated`, 'list takes a list, a map (its keys) or a string (its characters)');
}

/**
 * A helper of one value given an undefined one gives undefined (rendered as nothing; the load
 * check already requires the variables a template reads unless it tests them), so that
 * `(and (defined x) (gt (length x) 0))` is false for an undefined x, as Jinja's `and` stops.
 */
const ofValue =
  <T>(fn: (value: unknown, ...rest: unknown[]) => T) =>
  (value: unknown, ...rest: unknown[]): T | undefined =>
    value === undefined ? undefined : fn(value, ...rest);

export const helpers: Record<string, Handlebars.HelperDelegate> = {
  /** {{default x "fallback"}}: x unless it is undefined or null. */
  default: (value: unknown, fallback: unknown) => (value === undefined || value === null ? fallback : value),
  /** {{#if (defined x)}}: Jinja's `x is defined`; x may be undefined here without a load error. */
  defined: (value: unknown) => value !== undefined,
  b64encode: ofValue((value) => Buffer.from(String(value), 'utf8').toString('base64')),
  b64decode: ofValue((value) => Buffer.from(String(value), 'base64').toString('utf8')),
  to_json: ofValue((value) => JSON.stringify(value)),
  // Never folded: a long value (a secret among them) stays on one line.
  to_yaml: ofValue((value) => toYaml(value, { lineWidth: 0 }).trimEnd()),
  /** {{join list ","}} */
  join: ofValue((list, sep) => (Array.isArray(list) ? list.join(typeof sep === 'string' ? sep : ',') : String(list))),
  /** {{indent text 4}}: indent every line but the first, and not empty lines (Jinja's indent), for nesting a block in YAML. */
  indent: ofValue((text, width) => {
    const pad = ' '.repeat(typeof width === 'number' ? width : 2);
    return String(text)
      .split('\n')
      .map((line, i) => (i === 0 || line === '' ? line : pad + line))
      .join('\n');
  }),
  /** {{quote x}}: a single-quoted shell word. */
  quote: ofValue((value) => shellQuote(String(value))),
  lower: ofValue((value) => String(value).toLowerCase()),
  upper: ofValue((value) => String(value).toUpperCase()),
  string: ofValue((value) => (typeof value === 'string' ? value : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value))),
  trim: ofValue((value) => String(value).trim()),
  /** {{replace x "old" "new"}}: every occurrence, as Python's str.replace. */
  replace: ofValue((value, from, to) => String(value).split(String(from)).join(String(to))),
  basename: ofValue((value) => basename(String(value))),
  dirname: ofValue((value) => dirname(String(value))),
  int: ofValue(toInt),
  bool: ofValue(toBool),
  length: ofValue(length),
  list: ofValue(toList),
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
export function filterHint(fqcn: string): string {
  const filter = fqcn.replace(/^ansible\.(builtin|legacy)\./, '');
  if (filter === 'default') return 'write {{default name "fallback"}} instead of {{ name | default("fallback") }}';
  if (Object.hasOwn(helpers, filter)) return `write {{${filter} value}} instead of {{ value | ${filter} }}`;
  return `tsplay has no helper for '| ${filter}'; helpers: ${Object.keys(helpers).join(', ')} (tsplay migrate converts those it can and lists the rest)`;
}
