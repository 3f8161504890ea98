/**
 * ast.literal_eval, as Ansible's INI inventory plugin reads every value with it
 * (lib/ansible/plugins/inventory/ini.py; its host lines are split with shellSplit in
 * connect/shell.ts): a value that is no Python literal stays the string it is. So `n=5` is the number 5, `b=True` a boolean, `l=[1, 2]` a list, `p=80,443` the list [80, 443]
 * (a Python tuple), and `x=yes` the string "yes".
 */

export class PythonLiteralError extends Error {
  constructor(
    message: string,
    readonly column: number, // 0-based offset in the text
  ) {
    super(message);
    this.name = 'PythonLiteralError';
  }
}

/**
 * ast.literal_eval as Ansible uses it: the value of a Python literal, or the text itself when it is
 * not one. A literal JSON cannot carry (complex, set, Ellipsis, a huge integer) is an error, not a
 * silently different value.
 */
export function iniValue(text: string): unknown {
  const parser = new LiteralParser(text.replace(/^[ \t]+/, ''));
  let value: Literal;
  try {
    value = parser.parseTop();
  } catch (err) {
    if (err instanceof NotLiteral) return text;
    throw err;
  }
  return toJson(value, text);
}

class NotLiteral extends Error {}

type Literal =
  | { kind: 'str'; value: string }
  | { kind: 'num'; value: number; int: boolean }
  | { kind: 'complex' }
  | { kind: 'const'; value: boolean | null }
  | { kind: 'ellipsis' }
  | { kind: 'list' | 'tuple' | 'set'; items: Literal[] }
  | { kind: 'dict'; entries: Array<[Literal, Literal]> };

function toJson(v: Literal, text: string): unknown {
  switch (v.kind) {
    case 'str':
    case 'const':
      return v.value;
    case 'num':
      if (!Number.isFinite(v.value)) throw new PythonLiteralError(`'${text}' is a number too large for JSON`, 0);
      if (v.int && !Number.isSafeInteger(v.value)) throw new PythonLiteralError(`integer in '${text}' is beyond 2^53 and would lose digits`, 0);
      return v.value;
    case 'list':
    case 'tuple':
      return v.items.map((i) => toJson(i, text));
    case 'dict': {
      const out: Record<string, unknown> = {};
      for (const [k, val] of v.entries) out[jsonKey(k, text)] = toJson(val, text);
      return out;
    }
    default:
      throw new PythonLiteralError(`'${text}' is a Python ${v.kind === 'set' ? 'set' : v.kind === 'complex' ? 'complex number' : 'Ellipsis'}, which has no JSON form`, 0);
  }
}

/** json.dumps turns int, float, bool and None keys into strings; others are an error there too. */
function jsonKey(k: Literal, text: string): string {
  if (k.kind === 'str') return k.value;
  if (k.kind === 'num') return k.int ? String(k.value) : pyFloatRepr(k.value);
  if (k.kind === 'const') return k.value === null ? 'null' : String(k.value);
  throw new PythonLiteralError(`'${text}' has a dictionary key that is not a string or number`, 0);
}

function pyFloatRepr(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 1e16 ? `${n}.0` : String(n);
}

const NUMBER = /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*\.?)(?:[eE][+-]?[0-9](?:_?[0-9])*)?[jJ]?)/;
const STRING_PREFIX = /^(?:[rRuUbBfF]|[bBrR][rRbB]|[fFrR][rRfF])?(?='|")/;
const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '' };

/** A recursive-descent reader of exactly the expressions ast.literal_eval accepts. */
class LiteralParser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly s: string) {}

  parseTop(): Literal {
    this.skip();
    const first = this.parseExpr();
    this.skip();
    if (this.peek(',')) {
      const items = [first];
      while (this.eat(',')) {
        this.skip();
        if (this.atEnd()) break;
        items.push(this.parseExpr());
        this.skip();
      }
      this.expectEnd();
      return { kind: 'tuple', items };
    }
    this.expectEnd();
    return first;
  }

  private expectEnd(): void {
    this.skip();
    if (!this.atEnd()) throw new NotLiteral();
  }

  private atEnd(): boolean {
    return this.pos >= this.s.length;
  }

  private peek(t: string): boolean {
    return this.s.startsWith(t, this.pos);
  }

  private eat(t: string): boolean {
    if (!this.peek(t)) return false;
    this.pos += t.length;
    return true;
  }

  /** Whitespace and a trailing # comment (inside brackets newlines are whitespace too). */
  private skip(): void {
    for (;;) {
      const c = this.s[this.pos];
      if (c === ' ' || c === '\t' || c === '\f' || (this.depth > 0 && (c === '\n' || c === '\r'))) this.pos++;
      else if (c === '#') {
        while (this.pos < this.s.length && this.s[this.pos] !== '\n') this.pos++;
      } else return;
    }
  }

  private parseExpr(): Literal {
    this.skip();
    let left = this.parseUnary();
    this.skip();
    // Python allows only number (+|-) complex as a binary operation in a literal.
    while (this.peek('+') || this.peek('-')) {
      this.pos++;
      this.skip();
      const right = this.parseUnary();
      if ((left.kind !== 'num' && left.kind !== 'complex') || right.kind !== 'complex') throw new NotLiteral();
      left = { kind: 'complex' };
      this.skip();
    }
    return left;
  }

  private parseUnary(): Literal {
    if (this.peek('+') || this.peek('-')) {
      const neg = this.s[this.pos] === '-';
      this.pos++;
      this.skip();
      const operand = this.parseUnary();
      if (operand.kind === 'num') return { ...operand, value: neg ? -operand.value : operand.value };
      if (operand.kind === 'complex') return operand;
      throw new NotLiteral();
    }
    return this.parseAtom();
  }

  private parseAtom(): Literal {
    const rest = this.s.slice(this.pos);
    if (rest.startsWith('[')) return this.parseSeq('[', ']', 'list');
    if (rest.startsWith('(')) return this.parseSeq('(', ')', 'tuple');
    if (rest.startsWith('{')) return this.parseBrace();
    if (rest.startsWith('...')) {
      this.pos += 3;
      return { kind: 'ellipsis' };
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest)?.[0];
    if (word && !STRING_PREFIX.test(rest)) {
      this.pos += word.length;
      if (word === 'True' || word === 'False') return { kind: 'const', value: word === 'True' };
      if (word === 'None') return { kind: 'const', value: null };
      if (word === 'set') {
        this.skip();
        if (this.eat('(')) {
          this.skip();
          if (this.eat(')')) return { kind: 'set', items: [] };
        }
      }
      throw new NotLiteral();
    }
    if (STRING_PREFIX.test(rest)) return this.parseStrings();
    const num = NUMBER.exec(rest)?.[0];
    if (num && num !== '.') {
      this.pos += num.length;
      // An identifier character right after a number is a syntax error (1x), so not a literal.
      if (/^[A-Za-z0-9_]/.test(this.s.slice(this.pos))) throw new NotLiteral();
      return parseNumber(num);
    }
    throw new NotLiteral();
  }

  private parseSeq(open: string, close: string, kind: 'list' | 'tuple'): Literal {
    this.pos += open.length;
    this.depth++;
    const items: Literal[] = [];
    let sawComma = false;
    this.skip();
    while (!this.eat(close)) {
      if (this.atEnd()) throw new NotLiteral();
      items.push(this.parseExpr());
      this.skip();
      if (this.eat(',')) {
        sawComma = true;
        this.skip();
      } else if (!this.peek(close)) throw new NotLiteral();
    }
    this.depth--;
    // (x) is x; (x,) and () are tuples.
    if (kind === 'tuple' && items.length === 1 && !sawComma) return items[0]!;
    return { kind, items };
  }

  private parseBrace(): Literal {
    this.pos++;
    this.depth++;
    this.skip();
    if (this.eat('}')) {
      this.depth--;
      return { kind: 'dict', entries: [] };
    }
    const first = this.parseExpr();
    this.skip();
    if (this.eat(':')) {
      const entries: Array<[Literal, Literal]> = [];
      let key = first;
      for (;;) {
        this.skip();
        const value = this.parseExpr();
        if (key.kind === 'list' || key.kind === 'dict' || key.kind === 'set') throw new PythonLiteralError('a Python dictionary key cannot be a list, dict or set', this.pos);
        entries.push([key, value]);
        this.skip();
        if (this.eat('}')) break;
        if (!this.eat(',')) throw new NotLiteral();
        this.skip();
        if (this.eat('}')) break;
        key = this.parseExpr();
        this.skip();
        if (!this.eat(':')) throw new NotLiteral();
      }
      this.depth--;
      return { kind: 'dict', entries };
    }
    const items = [first];
    for (;;) {
      if (this.eat('}')) break;
      if (!this.eat(',')) throw new NotLiteral();
      this.skip();
      if (this.eat('}')) break;
      items.push(this.parseExpr());
      this.skip();
    }
    this.depth--;
    return { kind: 'set', items };
  }

  /** One or more adjacent string literals, concatenated as Python does. */
  private parseStrings(): Literal {
    let out = '';
    let bytes: boolean | undefined;
    while (STRING_PREFIX.test(this.s.slice(this.pos))) {
      const prefix = STRING_PREFIX.exec(this.s.slice(this.pos))![0].toLowerCase();
      if (prefix.includes('f')) throw new NotLiteral(); // an f-string is no literal
      const isBytes = prefix.includes('b');
      if (bytes !== undefined && bytes !== isBytes) throw new NotLiteral(); // mixing bytes and str is a syntax error
      bytes = isBytes;
      this.pos += prefix.length;
      out += this.parseOneString(prefix.includes('r'), isBytes);
      this.skip();
    }
    return { kind: 'str', value: out };
  }

  private parseOneString(raw: boolean, bytes: boolean): string {
    const q = this.s[this.pos]!;
    const triple = this.s.startsWith(q.repeat(3), this.pos);
    const delim = triple ? q.repeat(3) : q;
    this.pos += delim.length;
    let out = '';
    for (;;) {
      if (this.atEnd()) throw new NotLiteral();
      if (this.s.startsWith(delim, this.pos)) {
        this.pos += delim.length;
        return out;
      }
      const c = this.s[this.pos]!;
      if (!triple && c === '\n') throw new NotLiteral();
      if (bytes && c.charCodeAt(0) > 127) throw new NotLiteral();
      if (c !== '\\') {
        out += c;
        this.pos++;
        continue;
      }
      const n = this.s[this.pos + 1];
      if (n === undefined) throw new NotLiteral();
      if (raw) {
        out += c + n;
        this.pos += 2;
        continue;
      }
      this.pos += 2;
      if (n in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[n];
      else if (/[0-7]/.test(n)) {
        const oct = /^[0-7]{1,2}/.exec(this.s.slice(this.pos))?.[0] ?? '';
        this.pos += oct.length;
        out += String.fromCharCode(parseInt(n + oct, 8));
      } else if (n === 'x' || (!bytes && (n === 'u' || n === 'U'))) {
        const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
        const hex = this.s.slice(this.pos, this.pos + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new NotLiteral();
        this.pos += len;
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) throw new NotLiteral();
        if (bytes && code > 127) throw new PythonLiteralError('a bytes literal with non-ASCII bytes is not supported in an inventory value', this.pos);
        out += String.fromCodePoint(code);
      } else if (!bytes && n === 'N') {
        throw new PythonLiteralError('\\N{...} escapes are not supported in inventory values; write the character itself', this.pos);
      } else out += c + n; // Python keeps an unknown escape as written
    }
  }
}

function parseNumber(text: string): Literal {
  const t = text.replace(/_/g, '');
  if (/[jJ]$/.test(t)) return { kind: 'complex' };
  if (/^0[xX]/.test(t)) return { kind: 'num', value: parseInt(t.slice(2), 16), int: true };
  if (/^0[oO]/.test(t)) return { kind: 'num', value: parseInt(t.slice(2), 8), int: true };
  if (/^0[bB]/.test(t)) return { kind: 'num', value: parseInt(t.slice(2), 2), int: true };
  if (/[.eE]/.test(t)) return { kind: 'num', value: Number(t), int: false };
  // Python 3 forbids leading zeros in a decimal integer (0777), except zero itself (00).
  if (/^0[0-9]*[1-9]/.test(t)) throw new NotLiteral();
  return { kind: 'num', value: Number(t), int: true };
}
