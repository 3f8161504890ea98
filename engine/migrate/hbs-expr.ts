/**
 * One Jinja expression as Handlebars: as a helper argument (`valueOf`: a path, a literal or a
 * `(helper ...)` subexpression) or as what `{{ expr }}` writes (`outputOf`: mustaches and text).
 * Filters map to the helpers of the same name (engine/vars/helpers.ts), tests and comparisons to
 * `defined`, `eq`, `lt`, `in`, `and`, ... Inside `{% for %}` loop variables are block parameters
 * and every other variable is read from `@root`. What has no exact form throws Leave.
 */
import type { JExpr } from './jinja-parse.js';
import { bareName, Leave } from './leave.js';

export interface HbsScope {
  /** Block parameters of the enclosing loops (the loop variables). */
  params: Set<string>;
  /** Inside a loop: names are read from @root, `loop.*` are @index, @first, @last. */
  inLoop: boolean;
  /** The template's source, for a number's text as written. */
  source: string;
}

const SEGMENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const HBS_RESERVED = new Set(['true', 'false', 'null', 'undefined', 'this', 'else', 'as']);
/** Filters that are a helper of one value, by Jinja name. */
const ONE_VALUE: Record<string, string> = {
  lower: 'lower',
  upper: 'upper',
  trim: 'trim',
  string: 'string',
  int: 'int',
  length: 'length',
  count: 'length',
  basename: 'basename',
  dirname: 'dirname',
  b64encode: 'b64encode',
  b64decode: 'b64decode',
  to_json: 'to_json',
  to_yaml: 'to_yaml',
  quote: 'quote',
  list: 'list',
  bool: 'bool',
};
const CMP_HELPER: Record<string, string> = { '==': 'eq', '!=': 'ne', '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge' };

/** A Handlebars string literal: `\"` is its only escape, so a backslash before a quote or at the end cannot be written. */
export function hbsString(value: string, at = 0): string {
  if (/\\("|$)/.test(value)) throw new Leave(`the string ${JSON.stringify(value)} has no Handlebars literal (a backslash before a quote)`, at);
  return `"${value.replace(/"/g, '\\"')}"`;
}

/** Literal text in a template: `{{` would open a mustache, so it is escaped. */
export function escapeText(text: string): string {
  return text.replace(/\{\{/g, '\\{{');
}

function segment(name: string, node: JExpr): string {
  if (SEGMENT.test(name) && !HBS_RESERVED.has(name)) return name;
  if (name.includes(']') || name === '') throw new Leave(`the key ${JSON.stringify(name)} has no Handlebars path form`, node.at);
  return `[${name}]`;
}

/** `a.b.[c-d].[0]`, or undefined when a part is computed (it needs lookup). */
function staticPath(e: JExpr, scope: HbsScope): string | undefined {
  if (e.type === 'name') {
    if (e.name === 'loop' && scope.inLoop) return undefined;
    const name = segment(e.name, e);
    return scope.params.has(e.name) || !scope.inLoop ? name : `@root.${name}`;
  }
  if (e.type === 'attr') {
    const base = staticPath(e.obj, scope);
    return base === undefined ? undefined : `${base}.${segment(e.name, e)}`;
  }
  if (e.type === 'index' && e.key.type === 'lit' && (typeof e.key.value === 'string' || (typeof e.key.value === 'number' && Number.isInteger(e.key.value) && e.key.value >= 0))) {
    const base = staticPath(e.obj, scope);
    return base === undefined ? undefined : `${base}.${typeof e.key.value === 'number' ? `[${e.key.value}]` : segment(e.key.value, e)}`;
  }
  return undefined;
}

function loopVariable(e: JExpr, scope: HbsScope): string | undefined {
  if (e.type !== 'attr' || e.obj.type !== 'name' || e.obj.name !== 'loop' || !scope.inLoop || scope.params.has('loop')) return undefined;
  const data: Record<string, string> = { index0: '@index', first: '@first', last: '@last' };
  const found = data[e.name];
  if (!found) throw new Leave(`loop.${e.name} has no Handlebars form (there are @index, @first and @last: loop.index0, loop.first, loop.last)`, e.at);
  return found;
}

function numberText(e: Extract<JExpr, { type: 'lit' }>, scope: HbsScope): string {
  const text = scope.source.slice(e.at, e.end);
  if (/^-?\d+(\.\d+)?$/.test(text)) return text;
  if (Number.isInteger(e.value)) return String(e.value);
  throw new Leave(`the number ${text} has no Handlebars literal`, e.at);
}

/** `e` as a helper argument. */
export function valueOf(e: JExpr, scope: HbsScope): string {
  switch (e.type) {
    case 'lit':
      if (typeof e.value === 'string') return hbsString(e.value, e.at);
      if (typeof e.value === 'number') return numberText(e, scope);
      return String(e.value);
    case 'name':
    case 'attr':
    case 'index': {
      const loop = loopVariable(e, scope);
      if (loop) return loop;
      const path = staticPath(e, scope);
      if (path !== undefined) return path;
      if (e.type === 'name') throw new Leave("'loop' outside {% for %}", e.at);
      const key = e.type === 'attr' ? hbsString(e.name, e.at) : valueOf(e.key, scope);
      return `(lookup ${valueOf(e.obj, scope)} ${key})`;
    }
    case 'not':
      return `(not ${valueOf(e.value, scope)})`;
    case 'bin':
      if (e.op === 'and' || e.op === 'or') return `(${e.op} ${flatten(e, e.op).map((x) => valueOf(x, scope)).join(' ')})`;
      throw new Leave(e.op === '~' || e.op === '+' ? `'${e.op}' joins values in Jinja; a Handlebars helper argument cannot: compute it in vars` : `arithmetic ('${e.op}') has no Handlebars form`, e.at);
    case 'cmp':
      return comparison(e, scope);
    case 'filter':
      return filterOf(e, scope);
    case 'test':
      return testOf(e, scope);
    case 'call':
      if (e.fn.type === 'name' && ['lookup', 'query', 'q'].includes(e.fn.name)) throw new Leave(`${e.fn.name}() runs a lookup plugin on the controller; tsplay has none: compute the value in vars or a task`, e.at);
      throw new Leave(`${e.fn.type === 'attr' ? `the method .${e.fn.name}()` : 'a function call'} has no Handlebars form`, e.at);
    case 'cond':
      throw new Leave("'a if c else b' inside a helper argument has no Handlebars form", e.at);
    case 'list':
    case 'tuple':
    case 'dict':
      throw new Leave(`a ${e.type === 'dict' ? 'map' : 'list'} literal has no Handlebars form: define it in vars`, e.at);
    case 'neg':
      if (e.value.type === 'lit' && typeof e.value.value === 'number') return `-${numberText(e.value, scope)}`;
      throw new Leave('unary minus has no Handlebars form', e.at);
    case 'chain':
      throw new Leave('a chained comparison (a < b < c) has no Handlebars form', e.at);
    case 'slice':
      throw new Leave('a slice (x[1:3]) has no Handlebars form', e.at);
  }
}

function flatten(e: JExpr, op: 'and' | 'or' | '+'): JExpr[] {
  return e.type === 'bin' && e.op === op ? [...flatten(e.left, op), ...flatten(e.right, op)] : [e];
}

function comparison(e: Extract<JExpr, { type: 'cmp' }>, scope: HbsScope): string {
  if (e.op === 'in' || e.op === 'not in') {
    const item = valueOf(e.left, scope);
    // `x in ['a', 'b']`: Handlebars has no list literal, but the test is an or of equalities.
    const list = e.right.type === 'list' || e.right.type === 'tuple' ? e.right.items : undefined;
    const test = list ? (list.length === 1 ? `(eq ${item} ${valueOf(list[0]!, scope)})` : `(or ${list.map((x) => `(eq ${item} ${valueOf(x, scope)})`).join(' ')})`) : `(in ${item} ${valueOf(e.right, scope)})`;
    if (list?.length === 0) return e.op === 'in' ? 'false' : 'true';
    return e.op === 'in' ? test : `(not ${test})`;
  }
  return `(${CMP_HELPER[e.op]} ${valueOf(e.left, scope)} ${valueOf(e.right, scope)})`;
}

function isFalse(e: JExpr | undefined): boolean {
  return e === undefined || (e.type === 'lit' && (e.value === false || e.value === 0));
}

function filterOf(e: Extract<JExpr, { type: 'filter' }>, scope: HbsScope): string {
  const name = bareName(e.name);
  const v = (): string => valueOf(e.value, scope);
  const plain = e.args.length === 0 && e.kwargs.length === 0;
  if (ONE_VALUE[name] && plain) return `(${ONE_VALUE[name]} ${v()})`;
  switch (name) {
    case 'default':
    case 'd':
      if (e.kwargs.length === 0 && e.args.length >= 1 && isFalse(e.args[1]) && e.args.length <= 2) return `(default ${v()} ${valueOf(e.args[0]!, scope)})`;
      throw new Leave(`'| ${e.name}(value, true)' (also for empty values) has no Handlebars form`, e.at);
    case 'mandatory':
      // tsplay's templates are strict: an undefined variable is always an error.
      if (plain) return v();
      break;
    case 'join':
      if (e.kwargs.length === 0 && e.args.length <= 1) return `(join ${v()} ${e.args[0] ? valueOf(e.args[0], scope) : '""'})`;
      break;
    case 'indent': {
      const width = e.args[0] ?? e.kwargs.find(([k]) => k === 'width')?.[1];
      const first = e.args[1] ?? e.kwargs.find(([k]) => k === 'first')?.[1];
      const blank = e.args[2] ?? e.kwargs.find(([k]) => k === 'blank')?.[1];
      if ((width === undefined || (width.type === 'lit' && typeof width.value === 'number')) && isFalse(first) && isFalse(blank)) return `(indent ${v()} ${width ? valueOf(width, scope) : '4'})`;
      throw new Leave("'| indent' with first or blank lines, or a width that is not a number, has no Handlebars form", e.at);
    }
    case 'replace':
      if (e.kwargs.length === 0 && e.args.length === 2) return `(replace ${v()} ${valueOf(e.args[0]!, scope)} ${valueOf(e.args[1]!, scope)})`;
      break;
  }
  throw new Leave(`Jinja filter '| ${e.name}${plain ? '' : '(...)'}' has no Handlebars helper`, e.at);
}

function testOf(e: Extract<JExpr, { type: 'test' }>, scope: HbsScope): string {
  const holds = testHolds(e, scope);
  return e.negated ? `(not ${holds})` : holds;
}

function testHolds(e: Extract<JExpr, { type: 'test' }>, scope: HbsScope): string {
  const name = bareName(e.name);
  const v = (): string => valueOf(e.value, scope);
  const none = e.args.length === 0 && e.kwargs.length === 0;
  if (none && name === 'defined') return `(defined ${v()})`;
  if (none && name === 'undefined') return `(not (defined ${v()}))`;
  if (none && (name === 'none' || name === 'true' || name === 'false')) return `(eq ${v()} ${name === 'none' ? 'null' : name})`;
  if ((name === 'version' || name === 'version_compare') && e.kwargs.length === 0 && e.args.length >= 1 && e.args.length <= 2) {
    return `(version ${v()} ${e.args[1] ? valueOf(e.args[1], scope) : '"=="'} ${valueOf(e.args[0]!, scope)})`;
  }
  const result: Record<string, string> = { failed: 'failed', failure: 'failed', changed: 'changed', change: 'changed', skipped: 'skipped', skip: 'skipped' };
  const field = (key: string): string => {
    const base = v();
    return base.startsWith('(') ? `(lookup ${base} "${key}")` : `${base}.${key}`;
  };
  if (none && result[name]) return `(eq ${field(result[name])} true)`;
  if (none && (name === 'succeeded' || name === 'success' || name === 'successful')) return `(ne ${field('failed')} true)`;
  if (e.kwargs.length === 0 && e.args.length === 1 && (name === 'eq' || name === 'equalto' || name === 'sameas')) return `(eq ${v()} ${valueOf(e.args[0]!, scope)})`;
  if (e.kwargs.length === 0 && e.args.length === 1 && name === 'in') return `(in ${v()} ${valueOf(e.args[0]!, scope)})`;
  throw new Leave(`Jinja test 'is ${e.name}' has no Handlebars helper`, e.at);
}

/** What `{{ e }}` writes: literal text and mustaches. Booleans and None are written as Jinja writes them. */
export function outputOf(e: JExpr, scope: HbsScope): string {
  if (e.type === 'lit') {
    if (typeof e.value === 'string') return escapeText(e.value);
    if (typeof e.value === 'number') return numberText(e, scope);
    return e.value === null ? 'None' : e.value ? 'True' : 'False';
  }
  if (e.type === 'bin' && e.op === '~') return outputOf(e.left, scope) + outputOf(e.right, scope);
  if (e.type === 'bin' && e.op === '+') {
    const parts = flatten(e, '+');
    // A string literal among them: Python's + of str is concatenation (any other operand would fail there).
    if (parts.some((p) => p.type === 'lit' && typeof p.value === 'string')) return parts.map((p) => outputOf(p, scope)).join('');
    throw new Leave("'+' of values that may be numbers has no Handlebars form", e.at);
  }
  if (e.type === 'cond') {
    if (!e.else) throw new Leave("'a if c' without else has no Handlebars form", e.at);
    return `{{#if ${valueOf(e.test, scope)}}}${outputOf(e.then, scope)}{{else}}${outputOf(e.else, scope)}{{/if}}`;
  }
  // `x | default(y, true)`: y also when x is empty (Jinja's truth, as tsplay's #if).
  if (e.type === 'filter' && ['default', 'd'].includes(bareName(e.name)) && e.args.length === 2 && e.kwargs.length === 0 && e.args[1]!.type === 'lit' && e.args[1]!.value === true) {
    const v = valueOf(e.value, scope);
    return `{{#if (and (defined ${v}) ${v})}}${outputOf(e.value, scope)}{{else}}${outputOf(e.args[0]!, scope)}{{/if}}`;
  }
  if (e.type === 'filter' && bareName(e.name) === 'ternary' && e.args.length === 2 && e.kwargs.length === 0) {
    return `{{#if ${valueOf(e.value, scope)}}}${outputOf(e.args[0]!, scope)}{{else}}${outputOf(e.args[1]!, scope)}{{/if}}`;
  }
  if (e.type === 'not' || e.type === 'cmp' || e.type === 'test' || (e.type === 'bin' && (e.op === 'and' || e.op === 'or')) || (e.type === 'filter' && bareName(e.name) === 'bool')) {
    throw new Leave('Jinja writes this as True or False and Handlebars as true or false: write it in a condition, or add | lower', e.at);
  }
  const v = valueOf(e, scope);
  return v.startsWith('(') && v.endsWith(')') ? `{{${v.slice(1, -1)}}}` : `{{${v}}}`;
}
