/**
 * Handlebars templating for `{{ }}` in values and for template files. Strict (an undefined
 * variable is an error, not an empty string) and noEscape (configs, not HTML).
 */
import { createRequire } from 'node:module';
import type Handlebars from 'handlebars';
import type { Place } from '../errors.js';
import { blockHelpers, filterHint, GUARD_HELPERS, HelperError, helpers } from './helpers.js';
import { VersionError } from './version.js';
import { secrets } from '../secrets.js';

export type Vars = Record<string, unknown>;

// Loaded on first use, not at startup: checking templates at load needs only Handlebars' parser
// (the very function Handlebars.parse is); the compiler and runtime wait for the first render.
const require = createRequire(import.meta.url);
let parser: { parse: typeof Handlebars.parse } | undefined;
function parse(source: string): hbs.AST.Program {
  if (!parser) {
    let found: { parse?: unknown } | undefined;
    try {
      found = require('handlebars/dist/cjs/handlebars/compiler/base.js') as { parse?: unknown };
    } catch (err) {
      if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
    }
    // A Handlebars release that moved the file: its full build parses the same.
    parser = typeof found?.parse === 'function' ? (found as { parse: typeof Handlebars.parse }) : handlebars();
  }
  return parser.parse(source);
}
let instance: typeof Handlebars | undefined;
function handlebars(): typeof Handlebars {
  if (!instance) {
    instance = (require('handlebars') as typeof Handlebars).create();
    for (const [name, fn] of Object.entries(helpers)) instance.registerHelper(name, tainting(fn));
    for (const [name, fn] of Object.entries(blockHelpers)) instance.registerHelper(name, fn);
  }
  return instance;
}

/** A helper's output made from a secret is secret: b64encode, upper, to_yaml, b64decode of one. */
function tainting(fn: Handlebars.HelperDelegate): Handlebars.HelperDelegate {
  return (...args: unknown[]) => {
    const out: unknown = fn(...args);
    // The last argument is Handlebars' options object (it holds the whole context): not an input.
    if (typeof out === 'string' && args.slice(0, -1).some((a) => secrets.holds(a))) secrets.add(out, 'derived');
    return out;
  };
}
const helperNames = new Set([...Object.keys(helpers), 'if', 'unless', 'each', 'with', 'lookup', 'log']);

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly place?: Place,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

const JINJA_FILTER = /\{\{[^}]*\|\s*([a-z_][\w.]*)/;
const WHOLE_PATH = /^\s*\{\{\s*([A-Za-z_][\w]*(?:\.[\w-]+)*)\s*\}\}\s*$/;

/** The type says "a string with a tag in it", so that a false answer does not make TypeScript think a string is not one. */
export function isTemplate(value: unknown): value is `${string}{{${string}` | `${string}{%${string}` {
  return typeof value === 'string' && (value.includes('{{') || value.includes('{%'));
}

/** Parse a template once: Jinja-isms and syntax errors become TemplateErrors with a hint. */
export function checkTemplate(source: string): hbs.AST.Program {
  // Block parameters ({{#each list as |item i|}}) are Handlebars, not a Jinja filter.
  const jinja = JINJA_FILTER.exec(source.replace(/\bas\s+\|[^|}]*\|/g, ''));
  if (jinja) {
    const filter = jinja[1]!;
    throw new TemplateError(`Jinja filter '| ${filter}' is not supported: templates are Handlebars, not Jinja`, filterHint(filter));
  }
  if (/\{%/.test(source)) {
    throw new TemplateError('Jinja statement {% ... %} is not supported', 'use Handlebars blocks: {{#if cond}}...{{/if}}, {{#each list}}...{{/each}}');
  }
  try {
    return parse(source);
  } catch (err) {
    const lines = (err as Error).message.split('\n');
    const open = /got 'EOF'/.test(lines[lines.length - 1]!) ? unclosedBlock(source) : undefined;
    if (open) throw new TemplateError(`template syntax error: line ${open.line}: {{#${open.name}}} is never closed`, `close it with {{/${open.name}}}`);
    const detail = lines.length > 1 ? ` ${lines[lines.length - 1]}` : '';
    throw new TemplateError(`template syntax error: ${lines[0]}${detail}`, 'templates are Handlebars: {{name}}, {{helper arg}}, {{#if x}}...{{/if}}');
  }
}

/** The innermost block helper opened ({{#each ...}}) and not closed, with its line. */
function unclosedBlock(source: string): { name: string; line: number } | undefined {
  const stack: Array<{ name: string; line: number }> = [];
  for (const m of source.matchAll(/\{\{~?\s*([#/])\s*([\w.-]+)/g)) {
    if (m[1] === '#') stack.push({ name: m[2]!, line: source.slice(0, m.index).split('\n').length });
    else stack.pop();
  }
  return stack[stack.length - 1];
}

/**
 * Top-level variable names a template must find defined (for validation before the run). A
 * name the template also hands to `default` or `defined` is optional: it says it may be absent.
 */
export function referencedNames(source: string): Set<string> {
  const names = new Set<string>();
  const optional = new Set<string>();
  const visit = (node: unknown, scoped: boolean): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as { type?: string; [k: string]: unknown };
    if (n.type === 'PathExpression') {
      const p = n as unknown as hbs.AST.PathExpression;
      // @root.x is the variable x wherever it is read (inside #each too).
      if (p.data && p.parts[0] === 'root' && p.parts.length > 1) names.add(p.parts[1]!);
      if (!p.data && p.depth === 0 && !scoped && p.parts.length > 0 && p.original !== 'this' && !p.original.startsWith('this.')) {
        names.add(p.parts[0]!);
      }
      return;
    }
    if (n.type === 'MustacheStatement' || n.type === 'SubExpression' || n.type === 'BlockStatement') {
      const path = n.path as hbs.AST.PathExpression;
      const params = (n.params as unknown[]) ?? [];
      const isHelper = helperNames.has(path.original) || params.length > 0;
      if (!isHelper) visit(path, scoped);
      const guarded = GUARD_HELPERS.has(path.original) ? (params[0] as hbs.AST.PathExpression | undefined) : undefined;
      if (guarded?.type === 'PathExpression' && !guarded.data && guarded.depth === 0 && guarded.parts.length > 0) optional.add(guarded.parts[0]!);
      if (guarded?.type === 'PathExpression' && guarded.data && guarded.parts[0] === 'root' && guarded.parts.length > 1) optional.add(guarded.parts[1]!);
      for (const p of params) visit(p, scoped);
      visit(n.hash, scoped);
      // Inside #each/#with the context changes, so names there are not top-level.
      const inner = n.type === 'BlockStatement' && (path.original === 'each' || path.original === 'with');
      visit(n.program, scoped || inner);
      visit(n.inverse, scoped);
      return;
    }
    for (const value of Object.values(n)) {
      if (Array.isArray(value)) value.forEach((v) => visit(v, scoped));
      else if (value && typeof value === 'object' && 'type' in value) visit(value, scoped);
    }
  };
  visit(checkTemplate(source), false);
  for (const name of optional) names.delete(name);
  return names;
}

const compiled = new Map<string, Handlebars.TemplateDelegate>();

/**
 * The template's output, ending as Ansible's does: rendered without the template's last
 * newline, then given newlines until it ends with as many as the template (so `{{ x }}\n` with
 * an x that ends in a newline writes one, not two).
 */
export function renderString(source: string, vars: Vars): string {
  let fn = compiled.get(source);
  const newlines = /\n*$/.exec(source)![0].length;
  if (!fn) {
    checkTemplate(source);
    fn = handlebars().compile(newlines > 0 ? source.slice(0, -1) : source, { strict: true, noEscape: true });
    compiled.set(source, fn);
  }
  try {
    let out = fn(vars);
    const have = /\n*$/.exec(out)![0].length;
    if (have < newlines) out += '\n'.repeat(newlines - have);
    secrets.derive(out);
    return out;
  } catch (err) {
    if (err instanceof VersionError || err instanceof HelperError) throw new TemplateError(err.message, err.hint);
    if (err instanceof TemplateError) throw err;
    const msg = (err as Error).message;
    const undef = /"([^"]+)" not defined in/.exec(msg);
    if (undef) {
      throw new TemplateError(`undefined variable '${undef[1]}' in template ${JSON.stringify(truncate(source))}`, `define it in vars, or give a fallback: {{default ${undef[1]} "value"}} (or test it: {{#if (defined ${undef[1]})}}...{{/if}})`);
    }
    throw new TemplateError(`template failed: ${msg.split('\n')[0]}`);
  }
}

/** `"{{ x }}"` alone keeps x's type (a list stays a list), as Ansible's native values do. */
export function renderValue(value: unknown, vars: Vars): unknown {
  if (typeof value === 'string') {
    if (!isTemplate(value)) return value;
    const whole = WHOLE_PATH.exec(value);
    if (whole && !helperNames.has(whole[1]!)) {
      const found = lookupPath(vars, whole[1]!);
      if (found.found) return found.value;
    }
    return renderString(value, vars);
  }
  if (Array.isArray(value)) return value.map((v) => renderValue(v, vars));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = renderValue(v, vars);
    return out;
  }
  return value;
}

function lookupPath(vars: Vars, path: string): { found: boolean; value?: unknown } {
  let cur: unknown = vars;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !(part in cur)) return { found: false };
    cur = (cur as Record<string, unknown>)[part];
  }
  return { found: true, value: cur };
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
