/** The tree of a Jinja expression (jinja-parse.ts reads it): every node keeps its source offsets. */
import type { Token } from './jinja-lexer.js';

/** What jinja-postfix.ts needs of the parser. */
export interface TokenStream {
  readonly current: Token;
  readonly atEnd: boolean;
  next(): Token;
  peek(n?: number): Token;
  isName(value?: string): boolean;
  isOp(value: string): boolean;
  expectOp(value: string): Token;
  expectName(value?: string): Token;
  expression(withCond?: boolean): JExpr;
  primary(): JExpr;
}

export interface Span {
  at: number;
  end: number;
}
export type Args = { args: JExpr[]; kwargs: Array<[string, JExpr]> };
export type JExpr = Span &
  (
    | { type: 'lit'; value: string | number | boolean | null; quote?: string }
    | { type: 'name'; name: string }
    | { type: 'attr'; obj: JExpr; name: string }
    | { type: 'index'; obj: JExpr; key: JExpr }
    | { type: 'slice'; obj: JExpr }
    | ({ type: 'call'; fn: JExpr } & Args)
    | ({ type: 'filter'; value: JExpr; name: string } & Args)
    | ({ type: 'test'; value: JExpr; name: string; negated: boolean } & Args)
    | { type: 'not'; value: JExpr }
    | { type: 'neg'; value: JExpr }
    | { type: 'bin'; op: 'and' | 'or' | '+' | '-' | '*' | '/' | '//' | '%' | '**' | '~'; left: JExpr; right: JExpr }
    | { type: 'cmp'; op: CmpOp; left: JExpr; right: JExpr }
    | { type: 'chain'; first: JExpr }
    | { type: 'cond'; test: JExpr; then: JExpr; else?: JExpr }
    | { type: 'list' | 'tuple'; items: JExpr[] }
    | { type: 'dict'; entries: Array<[JExpr, JExpr]> }
  );
export type CmpOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in';
