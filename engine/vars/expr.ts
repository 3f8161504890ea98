/**
 * CEL expressions for when / until / changed_when / failed_when: the language Kubernetes
 * itself uses for policies. Parsed at load (syntax errors are load errors), evaluated per host.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Cel from '@bufbuild/cel';
import { dict } from '../dict.js';
import { CEL_COST_LIMIT, estimateCost, sizeOfValue } from './cel-cost.js';
import type { Vars } from './template.js';
import { varsReadsOf, type VarsReads } from './expr-vars.js';
import { VersionError, versionTest } from './version.js';

// @bufbuild/cel (and protobuf under it) is loaded with the first expression that runs, not at
// startup. Checking expressions at load needs only its parser: parse.js, the very function the
// package's index exports as parse (the index requires the same file), for a fifth of the cost.
const require = createRequire(import.meta.url);
let celLib: typeof Cel | undefined;
const cel = (): typeof Cel => (celLib ??= require('@bufbuild/cel') as typeof Cel);
let parseOnly: typeof Cel.parse | undefined;
/** Parsed once per source: names, cost and evaluation of one expression on every host share it. */
const parsed = new Map<string, ReturnType<typeof Cel.parse>>();
function parse(source: string): ReturnType<typeof Cel.parse> {
  let hit = parsed.get(source);
  if (!hit) {
    hit = parseUncached(source);
    parsed.set(source, hit);
  }
  return hit;
}
function parseUncached(source: string): ReturnType<typeof Cel.parse> {
  if (!parseOnly) {
    try {
      // By file path: the package's exports map names only its index.
      parseOnly = (require(join(dirname(require.resolve('@bufbuild/cel')), 'parse.js')) as { parse?: typeof Cel.parse }).parse;
    } catch (err) {
      if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
    }
    if (typeof parseOnly !== 'function') parseOnly = cel().parse;
  }
  return parseOnly(source);
}

export class ExprError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ExprError';
  }
}

const JINJA_WORDS = /(^|\s)(and|or|not|is|in\s+\[)(\s|$)|\|\s*\w+|\{\{/;

/** Throws ExprError when the expression does not parse, or uses has() or `vars` in a way that cannot work. */
export function checkExpr(source: string): void {
  let tree;
  try {
    tree = parse(source);
  } catch (err) {
    throw new ExprError(`invalid CEL expression ${JSON.stringify(source)}: ${(err as Error).message.replace(/^<input>:/, 'at ')}`, exprHint(source));
  }
  const reads = varsReads(source);
  if (reads.bareHas) {
    throw new ExprError(
      `has(${reads.bareHas}) tests a field, and '${reads.bareHas}' is a variable: CEL's has() takes a.b`,
      `write has(vars.${reads.bareHas}): vars holds the host's variables, so it tests whether ${reads.bareHas} is defined`,
    );
  }
  if (reads.dynamic) {
    throw new ExprError(
      `vars is read as a whole in ${JSON.stringify(source)}`,
      'vars gives single variables by name: vars.x, vars["x"], has(vars.x) or "x" in vars',
    );
  }
  // Variables are not known yet: literals alone can already be too much.
  checkCost(source, tree.expr, () => undefined);
}

const varsReadsCache = new Map<string, VarsReads>();
function varsReads(source: string): VarsReads {
  let hit = varsReadsCache.get(source);
  if (!hit) varsReadsCache.set(source, (hit = varsReadsOf(parse(source).expr)));
  return hit;
}

/**
 * The variables `exprs` test for with has(vars.x) or "x" in vars: optional for the keyword's
 * scope (a task's arguments and loop, a block's tasks), as Ansible skips what a false `when`
 * guards. Expressions that do not parse test nothing.
 */
export function testedNames(exprs: ReadonlyArray<unknown> | undefined): string[] {
  const out: string[] = [];
  for (const e of exprs ?? []) {
    if (typeof e !== 'string') continue;
    try {
      out.push(...varsReads(e).tested);
    } catch {
      /* reported where it is checked */
    }
  }
  return out;
}

function checkCost(source: string, expr: ReturnType<typeof parse>['expr'], sizeOf: Parameters<typeof estimateCost>[1]): void {
  const cost = estimateCost(expr, sizeOf);
  if (cost > CEL_COST_LIMIT) {
    throw new ExprError(
      `CEL expression ${JSON.stringify(source)} may take up to ${cost.toExponential(1)} evaluation steps, more than the limit of ${CEL_COST_LIMIT.toExponential(0)}`,
      'nested comprehensions (map, filter, all, exists) multiply: iterate over fewer items, or compute the value in a task and register it',
    );
  }
}

function exprHint(source: string): string {
  const filter = /(?<!\|)\|(?!\|)\s*([a-z_]+)/.exec(source);
  if (filter && !source.includes('{{')) {
    return `'| ${filter[1]}' is a Jinja filter; CEL has none: ${filter[1] === 'bool' ? 'compare the value instead, e.g. `x == true` or `x == "yes"`' : filter[1] === 'length' ? 'write size(x)' : filter[1] === 'int' ? 'write int(x)' : 'compare or convert the value directly (int(x), string(x), size(x))'}`;
  }
  if (source.includes('{{')) return 'conditions are CEL expressions, not templates: write `x == "a"`, not `{{ x }} == a`';
  if (JINJA_WORDS.test(source)) {
    return 'conditions are CEL, not Jinja: use && || ! instead of and/or/not, has(vars.x) (a variable) or has(a.b) (a field) instead of "is defined", and size(x) > 0 (tsplay migrate rewrites these)';
  }
  return 'conditions are CEL: e.g. `result.rc == 0 && "workers" in group_names`';
}

// Functions tsplay adds to CEL's standard library. version(a, op, b) is the template helper of
// the same name (engine/vars/version.ts); its arguments are dyn so that a number (unquoted
// YAML 1.30) reaches it and is refused with a hint instead of "no matching overload".
let extraFuncs: Cel.CelFunc[] | undefined;
let versionFailure: VersionError | undefined;
function funcs(): Cel.CelFunc[] {
  if (!extraFuncs) {
    const { celFunc, CelScalar } = cel();
    extraFuncs = [
      // bool() also reads Ansible's words (the `| bool` filter: yes/no/on/off, 1/0), besides CEL's own.
      celFunc('bool', [CelScalar.STRING], CelScalar.BOOL, (s: string) => ansibleBool(s)),
      celFunc('bool', [CelScalar.INT], CelScalar.BOOL, (n: bigint) => ansibleBool(n)),
      // A YAML number reaches CEL as a double.
      celFunc('bool', [CelScalar.DOUBLE], CelScalar.BOOL, (n: number) => ansibleBool(String(n))),
      celFunc('version', [CelScalar.DYN, CelScalar.DYN, CelScalar.DYN], CelScalar.BOOL, (a, op, b) => {
        try {
          return versionTest(a, op, b);
        } catch (err) {
          if (err instanceof VersionError) versionFailure = err;
          throw err;
        }
      }),
    ];
  }
  return extraFuncs;
}

const TRUE_WORDS = new Set(['yes', 'on', '1', 'true', 't']);
const FALSE_WORDS = new Set(['no', 'off', '0', 'false', 'f']);
function ansibleBool(value: string | bigint): boolean {
  const word = String(value).trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new Error(`bool(${JSON.stringify(String(value))}): not a boolean word (true/false, yes/no, on/off, 1/0)`);
}

export function evalExpr(source: string | boolean, vars: Vars): unknown {
  if (typeof source === 'boolean') return source;
  let result: unknown;
  versionFailure = undefined;
  // Null-prototype: a name like `toString` is a variable or nothing, never Object.prototype's.
  const bindings = dict<unknown>();
  try {
    // Only the names the expression reads are converted: resolving every variable would be slow
    // and would fail on unrelated broken templates.
    for (const name of identNames(source)) if (name !== 'vars' && Object.hasOwn(vars, name)) bindings[name] = toCel(vars[name]);
    const byName = varsReads(source).names;
    if (byName.size > 0) bindings.vars = new Map([...byName].filter((n) => Object.hasOwn(vars, n) && vars[n] !== undefined).map((n) => [n, toCel(vars[n])]));
  } catch (err) {
    throw new ExprError(`cannot evaluate ${JSON.stringify(source)}: ${(err as Error).message}`, exprHint(source));
  }
  const sizes = new Map<object, ReturnType<typeof sizeOfValue>>();
  checkCost(source, parse(source).expr, (name) => (name in bindings ? sizeOfValue(bindings[name], sizes) : undefined));
  try {
    result = cel().run(source, bindings as Record<string, never>, { funcs: funcs() });
  } catch (err) {
    throw new ExprError(`cannot evaluate ${JSON.stringify(source)}: ${(err as Error).message}`, exprHint(source));
  }
  if (cel().isCelError(result)) {
    const msg = (result as Error).message;
    // Set by the version function during run() (TypeScript cannot see that assignment).
    const failure = versionFailure as VersionError | undefined;
    if (failure) throw new ExprError(`cannot evaluate ${JSON.stringify(source)}: ${failure.message}`, failure.hint);
    throw new ExprError(
      `cannot evaluate ${JSON.stringify(source)}: ${msg}`,
      msg.includes('unresolved') ? 'a variable it names is not defined; test an optional one first: has(vars.x) && x > 1 (has(a.b) for a field)' : exprHint(source),
    );
  }
  return result;
}

export function evalCondition(source: string | boolean | Array<string | boolean>, vars: Vars): boolean {
  const list = Array.isArray(source) ? source : [source];
  for (const item of list) {
    const value = evalExpr(item, vars);
    if (typeof value !== 'boolean') {
      throw new ExprError(`condition ${JSON.stringify(item)} gave ${typeof value}, not a boolean`, 'compare explicitly, e.g. `size(x) > 0` or `x == "yes"`');
    }
    if (!value) return false;
  }
  return true;
}

/** CEL has no `undefined`; integers that are safe stay numbers (CEL double/int compare fine). */
function toCel(value: unknown): unknown {
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map(toCel);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value && typeof value === 'object') {
    // A Map, not an object: any key (`__proto__` too) is a key, and CEL takes Maps as maps.
    const out = new Map<string, unknown>();
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out.set(k, toCel(v));
    return out;
  }
  return value;
}

/**
 * Top-level variable names an expression reads (for validation before the run and binding):
 * `vars` is not one, and neither is a name the expression tests with has(vars.x): it is optional.
 */
export function exprNames(source: string): Set<string> {
  const names = identNames(source);
  names.delete('vars');
  for (const t of varsReads(source).tested) names.delete(t);
  return names;
}

/** Every top-level name the expression reads (comprehension variables are not). */
function identNames(source: string): Set<string> {
  const names = new Set<string>();
  const bound = new Set<string>();
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as { exprKind?: { case?: string; value?: Record<string, unknown> } };
    const kind = n.exprKind;
    if (kind?.case === 'identExpr') names.add(String(kind.value?.name));
    if (kind?.case === 'comprehensionExpr') {
      for (const key of ['iterVar', 'iterVar2', 'accuVar']) {
        const name = kind.value?.[key];
        if (typeof name === 'string' && name) bound.add(name);
      }
    }
    for (const value of Object.values(node)) {
      if (Array.isArray(value)) value.forEach(visit);
      else if (value && typeof value === 'object') visit(value);
    }
  };
  visit(parse(source).expr);
  for (const b of bound) names.delete(b);
  return names;
}
