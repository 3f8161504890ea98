/**
 * What follows a primary in a Jinja expression (jinja2's parse_postfix and parse_filter_expr):
 * `.attr`, `[key]`, `[a:b]`, calls, `| filter(args)` and `is [not] test(args)`.
 */
import type { Args, JExpr, TokenStream } from './jinja-ast.js';
import { describe, JinjaSyntaxError } from './jinja-lexer.js';

export function postfix(p: TokenStream, node: JExpr): JExpr {
  for (;;) {
    if (p.isOp('.')) {
      p.next();
      const t = p.next();
      if (t.kind === 'name') node = { type: 'attr', obj: node, name: t.value, at: node.at, end: t.end };
      else if (t.kind === 'number' && /^\d+$/.test(t.value)) node = { type: 'index', obj: node, key: { type: 'lit', value: Number(t.value), at: t.at, end: t.end }, at: node.at, end: t.end };
      else throw new JinjaSyntaxError(`expected a name after '.', found ${describe(t)}`, t.at);
    } else if (p.isOp('[')) {
      p.next();
      if (p.isOp(':')) node = sliceRest(p, node);
      else {
        const key = p.expression();
        if (p.isOp(':')) node = sliceRest(p, node);
        else node = { type: 'index', obj: node, key, at: node.at, end: p.expectOp(']').end };
      }
    } else if (p.isOp('(')) node = call(p, node);
    else return node;
  }
}

export function sliceRest(p: TokenStream, obj: JExpr): JExpr {
  while (!p.isOp(']') && !p.atEnd) p.next();
  return { type: 'slice', obj, at: obj.at, end: p.expectOp(']').end };
}

export function call(p: TokenStream, fn: JExpr): JExpr {
  const { args, kwargs, end } = callArgs(p);
  return { type: 'call', fn, args, kwargs, at: fn.at, end };
}

export function callArgs(p: TokenStream): Args & { end: number } {
  p.expectOp('(');
  const args: JExpr[] = [];
  const kwargs: Array<[string, JExpr]> = [];
  while (!p.isOp(')')) {
    if (args.length + kwargs.length > 0) p.expectOp(',');
    if (p.isOp(')')) break;
    if (p.isOp('*') || p.isOp('**')) throw new JinjaSyntaxError('*args and **kwargs are not supported', p.current.at);
    if (p.current.kind === 'name' && p.peek().kind === 'op' && p.peek().value === '=') {
      const name = p.next().value;
      p.next();
      kwargs.push([name, p.expression()]);
    } else args.push(p.expression());
  }
  return { args, kwargs, end: p.expectOp(')').end };
}

export function dottedName(p: TokenStream): { name: string; end: number } {
  let t = p.expectName();
  let name = t.value;
  while (p.isOp('.') && p.peek().kind === 'name') {
    p.next();
    t = p.next();
    name += `.${t.value}`;
  }
  return { name, end: t.end };
}

export function filterExpr(p: TokenStream, node: JExpr): JExpr {
  for (;;) {
    if (p.isOp('|')) {
      p.next();
      const { name, end } = dottedName(p);
      const call = p.isOp('(') ? callArgs(p) : { args: [], kwargs: [], end };
      node = { type: 'filter', value: node, name, args: call.args, kwargs: call.kwargs, at: node.at, end: call.end };
    } else if (p.isName('is')) {
      p.next();
      const negated = p.isName('not') ? (p.next(), true) : false;
      const { name, end } = dottedName(p);
      let call: Args & { end: number } = { args: [], kwargs: [], end };
      if (p.isOp('(')) call = callArgs(p);
      else if (startsBareTestArgument(p)) {
        const arg = postfix(p, p.primary());
        call = { args: [arg], kwargs: [], end: arg.end };
      }
      node = { type: 'test', value: node, name, negated, args: call.args, kwargs: call.kwargs, at: node.at, end: call.end };
    } else if (p.isOp('(')) node = call(p, node);
    else return node;
  }
}

/** `x is divisibleby 3`: a test's one argument without parentheses (jinja2's parse_test). */
export function startsBareTestArgument(p: TokenStream): boolean {
  const t = p.current;
  if (t.kind === 'name') return !['else', 'or', 'and', 'if', 'in', 'not', 'is'].includes(t.value);
  return t.kind === 'string' || t.kind === 'number' || (t.kind === 'op' && ['[', '{'].includes(t.value));
}
