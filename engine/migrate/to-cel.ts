/**
 * A Jinja condition (`when`, `changed_when`, `failed_when`, `until`, assert's `that`) as the
 * CEL expression that means the same: and/or/not -> && || !, `x is defined` -> has(vars.x),
 * `| length` -> size(), `| bool` -> bool(), `| default(v)` -> a has() ternary, comparisons and
 * `in` as they are. What has no exact CEL form throws Leave with the reason.
 */
import { MAGIC_VARS } from '../vars/context.js';
import { checkExpr, ExprError } from '../vars/expr.js';
import { JinjaSyntaxError } from './jinja-lexer.js';
import { Parser, type JExpr } from './jinja-parse.js';
import { bareName, Leave } from './leave.js';

const RESERVED = new Set(['false', 'in', 'null', 'true', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);
const IDENT = /^[_a-zA-Z][_a-zA-Z0-9]*$/;
/** Variables tsplay always defines: `x is defined` of them is true. */
const ALWAYS = new Set(MAGIC_VARS);

// CEL's precedence, loosest first: ?: < || < && < relations < + - < * / % < unary < member.
const enum P {
  Cond = 1,
  Or,
  And,
  Rel,
  Add,
  Mul,
  Unary,
  Member,
}
interface Out {
  text: string;
  prec: P;
}
const out = (text: string, prec: P): Out => ({ text, prec });
const at = (o: Out, min: P): string => (o.prec < min ? `(${o.text})` : o.text);

/** The CEL for `source`, a Jinja condition (a whole `{{ ... }}` is taken as its inside). */
export function conditionToCel(source: string): string {
  const whole = /^\s*\{\{(.*)\}\}\s*$/s.exec(source);
  const offset = whole ? source.indexOf('{{') + 2 : 0;
  let expr: JExpr;
  try {
    expr = Parser.expression(source, offset, whole ? /\}\}/y : undefined).expr;
  } catch (err) {
    if (err instanceof JinjaSyntaxError) throw new Leave(`not a Jinja expression tsplay migrate reads: ${err.message}`, err.at);
    throw err;
  }
  const cel = convert(expr).text;
  try {
    checkExpr(cel);
  } catch (err) {
    if (err instanceof ExprError) throw new Leave(`the CEL it would become does not check: ${err.message}`, 0);
    throw err;
  }
  return cel;
}

function ident(name: string, node: JExpr): string {
  if (!IDENT.test(name) || RESERVED.has(name)) throw new Leave(`'${name}' is a reserved word in CEL`, node.at);
  return name;
}

function literal(value: string | number | boolean | null, quote?: string): string {
  // 'a' stays 'a' (CEL has single-quoted strings too) when it needs no escape.
  if (typeof value === 'string' && quote === "'" && !/['\\]/.test(value) && [...value].every((c) => c.charCodeAt(0) >= 0x20)) return `'${value}'`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Leave('a number CEL cannot write', 0);
    return String(value);
  }
  return String(value);
}

function member(obj: JExpr, name: string): Out {
  const base = at(convert(obj), P.Member);
  return IDENT.test(name) && !RESERVED.has(name) ? out(`${base}.${name}`, P.Member) : out(`${base}[${JSON.stringify(name)}]`, P.Member);
}

export function convert(e: JExpr): Out {
  switch (e.type) {
    case 'lit':
      return out(literal(e.value, e.quote), P.Member);
    case 'name':
      return out(ident(e.name, e), P.Member);
    case 'attr':
      return member(e.obj, e.name);
    case 'index':
      // m['key'] reads as m.key when the key is a name (the same lookup in CEL, on a map).
      if (e.key.type === 'lit' && typeof e.key.value === 'string') return member(e.obj, e.key.value);
      return out(`${at(convert(e.obj), P.Member)}[${convert(e.key).text}]`, P.Member);
    case 'list':
    case 'tuple':
      return out(`[${e.items.map((i) => convert(i).text).join(', ')}]`, P.Member);
    case 'dict':
      return out(`{${e.entries.map(([k, v]) => `${convert(k).text}: ${convert(v).text}`).join(', ')}}`, P.Member);
    case 'not':
      return out(`!${at(convert(e.value), P.Unary)}`, P.Unary);
    case 'neg':
      return out(`-${at(convert(e.value), P.Unary)}`, P.Unary);
    case 'bin':
      return binary(e);
    case 'cmp': {
      const left = at(convert(e.left), P.Add);
      const right = at(convert(e.right), P.Add);
      if (e.op === 'not in') return out(`!(${left} in ${right})`, P.Unary);
      return out(`${left} ${e.op} ${right}`, P.Rel);
    }
    case 'cond':
      if (!e.else) throw new Leave("'a if c' without else is undefined when c is false; CEL has no undefined", e.at);
      return out(`${at(convert(e.test), P.Or)} ? ${at(convert(e.then), P.Or)} : ${at(convert(e.else), P.Cond)}`, P.Cond);
    case 'filter':
      return filter(e);
    case 'test':
      return test(e);
    case 'call':
      return call(e);
    case 'chain':
      throw new Leave('a chained comparison (a < b < c): write it as two comparisons joined by and', e.at);
    case 'slice':
      throw new Leave('a slice (x[1:3]) has no CEL form', e.at);
  }
}

function binary(e: Extract<JExpr, { type: 'bin' }>): Out {
  switch (e.op) {
    case 'and':
      // && and || are associative: a && (b && c) needs no parentheses.
      return out(`${at(convert(e.left), P.And)} && ${at(convert(e.right), P.And)}`, P.And);
    case 'or':
      return out(`${at(convert(e.left), P.Or)} || ${at(convert(e.right), P.Or)}`, P.Or);
    case '~': {
      // Jinja's ~ turns both sides into strings.
      const str = (x: JExpr): string => (x.type === 'lit' && typeof x.value === 'string' ? literal(x.value) : x.type === 'bin' && x.op === '~' ? binary(x).text : `string(${convert(x).text})`);
      return out(`${str(e.left)} + ${str(e.right)}`, P.Add);
    }
    case '+':
    case '-':
      return out(`${at(convert(e.left), P.Add)} ${e.op} ${at(convert(e.right), P.Mul)}`, P.Add);
    case '*':
      return out(`${at(convert(e.left), P.Mul)} * ${at(convert(e.right), P.Unary)}`, P.Mul);
    default:
      // Python's / is true division, // and % floor: CEL's integer / and % truncate.
      throw new Leave(`'${e.op}' differs between Jinja (Python) and CEL for integers`, e.at);
  }
}

/** The CEL that holds when `e` is defined, as Jinja's `e is defined`. */
export function definedTest(e: JExpr): string {
  const parts: string[] = [];
  const walk = (x: JExpr): void => {
    if (x.type === 'name') {
      if (!ALWAYS.has(x.name)) parts.push(IDENT.test(x.name) && !RESERVED.has(x.name) ? `has(vars.${x.name})` : `${JSON.stringify(x.name)} in vars`);
      return;
    }
    if (x.type === 'attr') {
      walk(x.obj);
      const base = at(convert(x.obj), P.Member);
      parts.push(IDENT.test(x.name) && !RESERVED.has(x.name) ? `has(${base}.${x.name})` : `${JSON.stringify(x.name)} in ${base}`);
      return;
    }
    if (x.type === 'index' && x.key.type === 'lit' && typeof x.key.value === 'string' && IDENT.test(x.key.value) && !RESERVED.has(x.key.value)) {
      walk(x.obj);
      parts.push(`has(${at(convert(x.obj), P.Member)}.${x.key.value})`);
      return;
    }
    if (x.type === 'index' && (x.key.type === 'lit' ? typeof x.key.value === 'string' : x.obj.type === 'name' && (x.obj.name === 'hostvars' || x.obj.name === 'groups'))) {
      walk(x.obj);
      parts.push(`${at(convert(x.key), P.Add)} in ${at(convert(x.obj), P.Add)}`);
      return;
    }
    throw new Leave('`is defined` of something other than a variable, a field or a map key', x.at);
  };
  walk(e);
  return parts.length === 0 ? 'true' : parts.join(' && ');
}

function noArgs(e: Extract<JExpr, { type: 'filter' | 'test' }>, what: string): void {
  if (e.args.length > 0 || e.kwargs.length > 0) throw new Leave(`${what} '${e.name}' with arguments has no CEL form`, e.at);
}

function filter(e: Extract<JExpr, { type: 'filter' }>): Out {
  const name = bareName(e.name);
  const v = (): string => convert(e.value).text;
  switch (name) {
    case 'length':
    case 'count':
      noArgs(e, 'filter');
      return out(`size(${v()})`, P.Member);
    case 'bool':
    case 'int':
    case 'string':
      noArgs(e, 'filter');
      return out(`${name}(${v()})`, P.Member);
    case 'float':
      noArgs(e, 'filter');
      return out(`double(${v()})`, P.Member);
    case 'default':
    case 'd': {
      if (e.args.length !== 1 || e.kwargs.length > 0) throw new Leave(`'| ${e.name}' with a second argument (also for empty values) has no CEL form`, e.at);
      const guard = definedTest(e.value);
      if (guard === 'true') return convert(e.value);
      return out(`(${guard}) ? ${at(convert(e.value), P.Or)} : ${at(convert(e.args[0]!), P.Cond)}`, P.Cond);
    }
    case 'first':
      // Of an empty list Jinja gives undefined, which Ansible refuses to compare: CEL's index fails too.
      noArgs(e, 'filter');
      return out(`${at(convert(e.value), P.Member)}[0]`, P.Member);
    case 'last': {
      noArgs(e, 'filter');
      const list = at(convert(e.value), P.Member);
      return out(`${list}[size(${list}) - 1]`, P.Member);
    }
    case 'ternary':
      if (e.args.length !== 2 || e.kwargs.length > 0) throw new Leave("'| ternary' with a none value has no CEL form", e.at);
      return out(`${at(convert(e.value), P.Or)} ? ${at(convert(e.args[0]!), P.Or)} : ${at(convert(e.args[1]!), P.Cond)}`, P.Cond);
    case 'map': {
      const attribute = e.kwargs.find(([k]) => k === 'attribute');
      if (e.args.length === 0 && e.kwargs.length === 1 && attribute?.[1].type === 'lit' && typeof attribute[1].value === 'string' && IDENT.test(attribute[1].value)) {
        return out(`${at(convert(e.value), P.Member)}.map(m, m.${attribute[1].value})`, P.Member);
      }
      throw new Leave("'| map' other than map(attribute='name') has no CEL form", e.at);
    }
    case 'list':
      if (e.value.type === 'filter' && bareName(e.value.name) === 'map') return convert(e.value);
      throw new Leave("'| list' of something other than '| map(...)'", e.at);
    default:
      throw new Leave(`Jinja filter '| ${e.name}' has no CEL form`, e.at);
  }
}

const RESULT_TESTS: Record<string, string> = { failed: 'failed', failure: 'failed', changed: 'changed', change: 'changed', skipped: 'skipped', skip: 'skipped' };
const TYPE_TESTS: Record<string, string> = { string: 'string', mapping: 'map', boolean: 'bool', integer: 'int', float: 'double' };

function test(e: Extract<JExpr, { type: 'test' }>): Out {
  const holds = testHolds(e);
  return e.negated ? out(`!${at(holds, P.Unary)}`, P.Unary) : holds;
}

function testHolds(e: Extract<JExpr, { type: 'test' }>): Out {
  const name = bareName(e.name);
  const v = (): string => at(convert(e.value), P.Add);
  if (name === 'defined' || name === 'undefined') {
    noArgs(e, 'test');
    const d = definedTest(e.value);
    const prec = d.includes(' && ') ? P.And : d.includes(' in ') ? P.Rel : P.Member;
    return name === 'defined' ? out(d, prec) : out(`!${at(out(d, prec), P.Unary)}`, P.Unary);
  }
  if (name === 'none' || name === 'true' || name === 'false') {
    noArgs(e, 'test');
    return out(`${v()} == ${name === 'none' ? 'null' : name}`, P.Rel);
  }
  if (name === 'version' || name === 'version_compare') {
    if (e.kwargs.length > 0 || e.args.length < 1 || e.args.length > 2) throw new Leave(`'is ${e.name}' with strict or version_type has no CEL form`, e.at);
    const op = e.args[1] ? convert(e.args[1]).text : '"=="';
    return out(`version(${convert(e.value).text}, ${op}, ${convert(e.args[0]!).text})`, P.Member);
  }
  const result = RESULT_TESTS[name];
  if (result) {
    noArgs(e, 'test');
    // Ansible reads a missing key as false (result.get('failed', False)).
    const r = at(convert(e.value), P.Member);
    return out(`(has(${r}.${result}) && ${r}.${result} == true)`, P.Member);
  }
  if (name === 'succeeded' || name === 'success' || name === 'successful') {
    noArgs(e, 'test');
    const r = at(convert(e.value), P.Member);
    return out(`!(has(${r}.failed) && ${r}.failed == true)`, P.Unary);
  }
  if (TYPE_TESTS[name]) {
    noArgs(e, 'test');
    return out(`type(${convert(e.value).text}) == ${TYPE_TESTS[name]}`, P.Rel);
  }
  if (name === 'number') {
    noArgs(e, 'test');
    const x = convert(e.value).text;
    return out(`(type(${x}) == int || type(${x}) == double)`, P.Member);
  }
  if ((name === 'search' || name === 'match' || name === 'regex') && e.args.length === 1 && e.kwargs.length === 0 && e.args[0]!.type === 'lit' && typeof e.args[0]!.value === 'string') {
    // Python's re.search is unanchored as RE2's; re.match anchors at the start only.
    const re = name === 'match' ? `^(?:${e.args[0]!.value})` : e.args[0]!.value;
    return out(`${at(convert(e.value), P.Member)}.matches(${JSON.stringify(re)})`, P.Member);
  }
  if ((name === 'eq' || name === 'equalto' || name === 'sameas') && e.args.length === 1) return out(`${v()} == ${at(convert(e.args[0]!), P.Add)}`, P.Rel);
  if (name === 'in' && e.args.length === 1) return out(`${v()} in ${at(convert(e.args[0]!), P.Add)}`, P.Rel);
  if (name === 'divisibleby' && e.args.length === 1) return out(`${at(convert(e.value), P.Mul)} % ${at(convert(e.args[0]!), P.Unary)} == 0`, P.Rel);
  throw new Leave(`Jinja test 'is ${e.name}' has no CEL form`, e.at);
}

function call(e: Extract<JExpr, { type: 'call' }>): Out {
  if (e.fn.type === 'name') {
    const fn = e.fn.name;
    if (fn === 'lookup' || fn === 'query' || fn === 'q') throw new Leave(`${fn}() runs a lookup plugin on the controller; tsplay has none: compute the value in vars or a task`, e.at);
    throw new Leave(`the function ${fn}() has no CEL form`, e.at);
  }
  if (e.fn.type === 'attr' && e.kwargs.length === 0) {
    const target = at(convert(e.fn.obj), P.Member);
    const args = e.args.map((a) => convert(a).text);
    const method = e.fn.name;
    if ((method === 'startswith' || method === 'endswith') && args.length === 1) return out(`${target}.${method === 'startswith' ? 'startsWith' : 'endsWith'}(${args[0]})`, P.Member);
    if (method === 'get' && (args.length === 1 || args.length === 2)) return out(`(${args[0]} in ${target} ? ${target}[${args[0]}] : ${args[1] ?? 'null'})`, P.Member);
    throw new Leave(`the method .${method}() has no CEL form`, e.at);
  }
  throw new Leave('a call of a computed value has no CEL form', e.at);
}
