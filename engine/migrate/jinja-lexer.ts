/**
 * Jinja's expression tokens (jinja2/lexer.py, the parts an expression uses): names, numbers,
 * strings with Python's escapes, operators. Each token keeps its offset in the source, so a
 * construct left as written can be reported at its own column.
 */

export type TokenKind = 'name' | 'number' | 'string' | 'op' | 'end';

export interface Token {
  kind: TokenKind;
  /** The name, the operator, the number's text, or the string's value (escapes resolved). */
  value: string;
  /** Offset of the token's first character in the source. */
  at: number;
  /** Offset just after the token. */
  end: number;
  /** A string's quote as written. */
  quote?: string;
}

export class JinjaSyntaxError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
    this.name = 'JinjaSyntaxError';
  }
}

// Longest first: '//' before '/', '**' before '*', '==' before '='.
const OPERATORS = ['//', '**', '==', '!=', '<=', '>=', '<', '>', '+', '-', '*', '/', '%', '~', '|', '.', ',', ':', '(', ')', '[', ']', '{', '}', '='];
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v' };

/**
 * The tokens of `source` from `start` until `stop` (a closing delimiter such as `}}` met outside
 * brackets and strings) or the end. Returns them and where lexing stopped.
 */
export function tokenize(source: string, start = 0, stop?: RegExp): { tokens: Token[]; end: number } {
  const tokens: Token[] = [];
  let i = start;
  let depth = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (stop && depth === 0) {
      stop.lastIndex = i;
      const m = stop.exec(source);
      if (m && m.index === i) break;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i))!;
      tokens.push({ kind: 'name', value: m[0], at: i, end: i + m[0].length });
      i += m[0].length;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*(?:\.[0-9][0-9_]*)?(?:[eE][+-]?[0-9]+)?)/.exec(source.slice(i))!;
      tokens.push({ kind: 'number', value: m[0], at: i, end: i + m[0].length });
      i += m[0].length;
      continue;
    }
    if (c === "'" || c === '"') {
      const { value, end } = readString(source, i);
      tokens.push({ kind: 'string', value, at: i, end, quote: c });
      i = end;
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (!op) throw new JinjaSyntaxError(`unexpected character ${JSON.stringify(c)}`, i);
    if (op === '(' || op === '[' || op === '{') depth++;
    if (op === ')' || op === ']' || op === '}') depth = Math.max(0, depth - 1);
    tokens.push({ kind: 'op', value: op, at: i, end: i + op.length });
    i += op.length;
  }
  tokens.push({ kind: 'end', value: '', at: i, end: i });
  return { tokens, end: i };
}

function readString(source: string, start: number): { value: string; end: number } {
  const quote = source[start]!;
  let out = '';
  let i = start + 1;
  while (i < source.length) {
    const c = source[i]!;
    if (c === quote) return { value: out, end: i + 1 };
    if (c === '\\' && i + 1 < source.length) {
      const next = source[i + 1]!;
      const hex = /^(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))/.exec(source.slice(i + 1));
      if (hex) {
        out += String.fromCodePoint(Number.parseInt(hex[1] ?? hex[2] ?? hex[3]!, 16));
        i += 1 + hex[0].length;
        continue;
      }
      // Python keeps an unknown escape as written: '\s' is backslash, s.
      out += ESCAPES[next] ?? (next === '\n' ? '' : `\\${next}`);
      i += 2;
      continue;
    }
    out += c;
    i++;
  }
  throw new JinjaSyntaxError('unterminated string', start);
}

/** A token as messages name it. */
export function describe(t: Token): string {
  return t.kind === 'end' ? 'the end' : t.kind === 'string' ? 'a string' : `'${t.value}'`;
}
