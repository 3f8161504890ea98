/**
 * Jinja expressions as jinja2/parser.py reads them, with its precedence: `a if c else b` <
 * or < and < not < comparisons (`==`, `in`, `not in`, ...) < `+ -` < `~` < `* / // %` < `**`
 * < unary minus < filters, tests and calls < attributes and subscripts. The tree is what the
 * converters (to-cel.ts, to-handlebars.ts) read; every node keeps its source offsets.
 */
import type { CmpOp, JExpr, TokenStream } from './jinja-ast.js';
import { describe, JinjaSyntaxError, tokenize, type Token } from './jinja-lexer.js';
import { filterExpr, postfix } from './jinja-postfix.js';

export type { Args, CmpOp, JExpr } from './jinja-ast.js';

const CMP = new Set(['==', '!=', '<', '<=', '>', '>=']);

export class Parser implements TokenStream {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  static expression(source: string, start = 0, stop?: RegExp): { expr: JExpr; end: number } {
    const { tokens, end } = tokenize(source, start, stop);
    const p = new Parser(tokens);
    const expr = p.expression();
    p.expectEnd();
    return { expr, end };
  }

  get current(): Token {
    return this.tokens[this.i]!;
  }
  peek(n = 1): Token {
    return this.tokens[Math.min(this.i + n, this.tokens.length - 1)]!;
  }
  next(): Token {
    const t = this.current;
    if (t.kind !== 'end') this.i++;
    return t;
  }
  isName(value?: string): boolean {
    return this.current.kind === 'name' && (value === undefined || this.current.value === value);
  }
  isOp(value: string): boolean {
    return this.current.kind === 'op' && this.current.value === value;
  }
  expectOp(value: string): Token {
    if (!this.isOp(value)) throw new JinjaSyntaxError(`expected '${value}', found ${describe(this.current)}`, this.current.at);
    return this.next();
  }
  expectName(value?: string): Token {
    if (!this.isName(value)) throw new JinjaSyntaxError(`expected ${value ? `'${value}'` : 'a name'}, found ${describe(this.current)}`, this.current.at);
    return this.next();
  }
  expectEnd(): void {
    if (this.current.kind !== 'end') throw new JinjaSyntaxError(`unexpected ${describe(this.current)}`, this.current.at);
  }
  get atEnd(): boolean {
    return this.current.kind === 'end';
  }

  expression(withCond = true): JExpr {
    return withCond ? this.condExpr() : this.or();
  }

  private condExpr(): JExpr {
    let then = this.or();
    while (this.isName('if')) {
      this.next();
      const test = this.or();
      let otherwise: JExpr | undefined;
      if (this.isName('else')) {
        this.next();
        otherwise = this.condExpr();
      }
      then = { type: 'cond', test, then, ...(otherwise ? { else: otherwise } : {}), at: then.at, end: (otherwise ?? test).end };
    }
    return then;
  }

  private or(): JExpr {
    let left = this.and();
    while (this.isName('or')) {
      this.next();
      const right = this.and();
      left = { type: 'bin', op: 'or', left, right, at: left.at, end: right.end };
    }
    return left;
  }

  private and(): JExpr {
    let left = this.not();
    while (this.isName('and')) {
      this.next();
      const right = this.not();
      left = { type: 'bin', op: 'and', left, right, at: left.at, end: right.end };
    }
    return left;
  }

  private not(): JExpr {
    if (this.isName('not')) {
      const at = this.next().at;
      const value = this.not();
      return { type: 'not', value, at, end: value.end };
    }
    return this.compare();
  }

  private compare(): JExpr {
    const first = this.math1();
    const ops: Array<[CmpOp, JExpr]> = [];
    for (;;) {
      if (this.current.kind === 'op' && CMP.has(this.current.value)) ops.push([this.next().value as CmpOp, this.math1()]);
      else if (this.isName('in')) ops.push([(this.next(), 'in'), this.math1()]);
      else if (this.isName('not') && this.peek().kind === 'name' && this.peek().value === 'in') {
        this.next();
        this.next();
        ops.push(['not in', this.math1()]);
      } else break;
    }
    if (ops.length === 0) return first;
    const last = ops[ops.length - 1]![1];
    if (ops.length > 1) return { type: 'chain', first, at: first.at, end: last.end };
    return { type: 'cmp', op: ops[0]![0], left: first, right: last, at: first.at, end: last.end };
  }

  private binary(ops: string[], operand: () => JExpr): JExpr {
    let left = operand();
    while (this.current.kind === 'op' && ops.includes(this.current.value)) {
      const op = this.next().value as '+';
      const right = operand();
      left = { type: 'bin', op, left, right, at: left.at, end: right.end };
    }
    return left;
  }
  private math1(): JExpr {
    return this.binary(['+', '-'], () => this.concat());
  }
  private concat(): JExpr {
    return this.binary(['~'], () => this.math2());
  }
  private math2(): JExpr {
    return this.binary(['*', '/', '//', '%'], () => this.pow());
  }
  private pow(): JExpr {
    return this.binary(['**'], () => this.unary());
  }

  private unary(withFilter = true): JExpr {
    let node: JExpr;
    if (this.isOp('-')) {
      const at = this.next().at;
      const value = this.unary(false);
      node = { type: 'neg', value, at, end: value.end };
    } else if (this.isOp('+')) {
      this.next();
      node = this.unary(false);
    } else node = this.primary();
    node = postfix(this, node);
    return withFilter ? filterExpr(this, node) : node;
  }

  primary(): JExpr {
    const t = this.current;
    if (t.kind === 'name') {
      this.next();
      if (t.value === 'true' || t.value === 'True') return { type: 'lit', value: true, at: t.at, end: t.end };
      if (t.value === 'false' || t.value === 'False') return { type: 'lit', value: false, at: t.at, end: t.end };
      if (t.value === 'none' || t.value === 'None') return { type: 'lit', value: null, at: t.at, end: t.end };
      return { type: 'name', name: t.value, at: t.at, end: t.end };
    }
    if (t.kind === 'string') {
      let value = '';
      let end = t.end;
      // Adjacent strings are one, as in Python.
      while (this.current.kind === 'string') {
        value += this.current.value;
        end = this.next().end;
      }
      return { type: 'lit', value, at: t.at, end, ...(t.quote ? { quote: t.quote } : {}) };
    }
    if (t.kind === 'number') {
      this.next();
      return { type: 'lit', value: Number(t.value.replace(/_/g, '')), at: t.at, end: t.end };
    }
    if (this.isOp('(')) return this.parenthesized();
    if (this.isOp('[')) {
      const at = this.next().at;
      const items = this.list(']');
      return { type: 'list', items, at, end: this.expectOp(']').end };
    }
    if (this.isOp('{')) {
      const at = this.next().at;
      const entries: Array<[JExpr, JExpr]> = [];
      while (!this.isOp('}')) {
        if (entries.length > 0) this.expectOp(',');
        if (this.isOp('}')) break;
        const key = this.expression();
        this.expectOp(':');
        entries.push([key, this.expression()]);
      }
      return { type: 'dict', entries, at, end: this.expectOp('}').end };
    }
    throw new JinjaSyntaxError(`unexpected ${describe(t)}`, t.at);
  }

  private parenthesized(): JExpr {
    const at = this.expectOp('(').at;
    if (this.isOp(')')) return { type: 'tuple', items: [], at, end: this.next().end };
    const first = this.expression();
    if (this.isOp(')')) {
      this.next();
      return first;
    }
    const items = [first];
    while (this.isOp(',')) {
      this.next();
      if (this.isOp(')')) break;
      items.push(this.expression());
    }
    return { type: 'tuple', items, at, end: this.expectOp(')').end };
  }

  private list(close: string): JExpr[] {
    const items: JExpr[] = [];
    while (!this.isOp(close)) {
      if (items.length > 0) this.expectOp(',');
      if (this.isOp(close)) break;
      items.push(this.expression());
    }
    return items;
  }

}
