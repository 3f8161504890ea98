/**
 * A Jinja template's structure: text, `{{ expr }}`, `{% if/elif/else/endif %}`,
 * `{% for ... %}...{% else %}...{% endfor %}`, `{# comments #}`, `{% raw %}`. Whitespace is
 * what Ansible's Jinja outputs (trim_blocks on, lstrip_blocks off, `-` strips, `+` keeps): each
 * text node holds exactly what Jinja would write there, and `source` the text as written, so
 * the Handlebars writer can keep the layout and check that it outputs the same.
 */
import { JinjaSyntaxError, tokenize } from './jinja-lexer.js';
import { Parser, type JExpr } from './jinja-parse.js';

export interface Tag {
  /** Offsets of the whole tag, delimiters included. */
  at: number;
  end: number;
  /** `{%-` / `-%}`: strips whitespace on that side. */
  stripBefore: boolean;
  stripAfter: boolean;
  /** `+%}`: keeps the newline trim_blocks would drop. */
  keepNewline?: boolean;
}
export type TNode =
  /** `raw`: from {% raw %}, never read as a template. */
  | { kind: 'text'; text: string; source: string; at: number; raw?: boolean }
  | { kind: 'output'; expr: JExpr; tag: Tag }
  | { kind: 'comment'; tag: Tag }
  | { kind: 'if'; branches: Array<{ test?: JExpr; tag: Tag; body: TNode[] }>; endTag: Tag }
  | { kind: 'for'; targets: string[]; iter: JExpr; tag: Tag; body: TNode[]; elseTag?: Tag; orelse?: TNode[]; endTag: Tag }
  /** A statement or expression left as written: `why` says why. */
  | { kind: 'keep'; tag: Tag; why: string; whyAt: number };

interface Flat {
  kind: 'text' | 'output' | 'comment' | 'stmt' | 'raw' | 'bad';
  tag: Tag;
  text?: string;
  source?: string;
  expr?: JExpr;
  word?: string;
  parser?: Parser;
  why?: string;
  whyAt?: number;
}

/** The template's nodes; a template that is not well formed is one problem for the whole file. */
export function parseTemplate(source: string): TNode[] {
  const flat = lex(source);
  applyWhitespace(flat);
  const pos = { i: 0 };
  return build(flat, pos, source, []);
}

function lex(source: string): Flat[] {
  const out: Flat[] = [];
  let i = 0;
  const text = (from: number, to: number): void => {
    if (to > from) out.push({ kind: 'text', text: source.slice(from, to), source: source.slice(from, to), tag: { at: from, end: to, stripBefore: false, stripAfter: false } });
  };
  for (;;) {
    const open = source.slice(i).search(/\{[{%#]/);
    if (open < 0) break;
    const at = i + open;
    text(i, at);
    const kind = source[at + 1]!;
    const stripBefore = source[at + 2] === '-';
    const inner = at + 2 + (source[at + 2] === '-' || source[at + 2] === '+' ? 1 : 0);
    if (kind === '#') {
      const close = source.indexOf('#}', inner);
      if (close < 0) throw new JinjaSyntaxError('a comment {# is never closed', at);
      out.push({ kind: 'comment', tag: { at, end: close + 2, stripBefore, stripAfter: source[close - 1] === '-' } });
      i = close + 2;
      continue;
    }
    const stop = kind === '{' ? /[-+]?\}\}/y : /[-+]?%\}/y;
    let lexed;
    try {
      lexed = tokenize(source, inner, stop);
    } catch (err) {
      if (!(err instanceof JinjaSyntaxError)) throw err;
      const close = source.indexOf(kind === '{' ? '}}' : '%}', inner);
      if (close < 0) throw err;
      out.push({ kind: 'bad', why: err.message, whyAt: err.at, tag: { at, end: close + 2, stripBefore, stripAfter: source[close - 1] === '-' } });
      i = close + 2;
      continue;
    }
    const closeAt = lexed.end;
    if (closeAt >= source.length) throw new JinjaSyntaxError(`${kind === '{' ? '{{' : '{%'} is never closed`, at);
    const stripAfter = source[closeAt] === '-';
    const end = source.indexOf(kind === '{' ? '}}' : '%}', closeAt) + 2;
    const tag: Tag = { at, end, stripBefore, stripAfter, ...(source[closeAt] === '+' ? { keepNewline: true } : {}) };
    const parser = new Parser(lexed.tokens);
    if (kind === '{') {
      try {
        const expr = parser.expression();
        parser.expectEnd();
        out.push({ kind: 'output', expr, tag });
      } catch (err) {
        if (!(err instanceof JinjaSyntaxError)) throw err;
        out.push({ kind: 'bad', why: err.message, whyAt: err.at, tag });
      }
      i = end;
      continue;
    }
    const word = parser.isName() ? parser.current.value : '';
    if (word === 'raw') {
      const endraw = /\{%[-+]?\s*endraw\s*[-+]?%\}/g;
      endraw.lastIndex = end;
      const m = endraw.exec(source);
      if (!m) throw new JinjaSyntaxError('{% raw %} is never closed', at);
      out.push({ kind: 'comment', tag }); // the opening tag outputs nothing
      out.push({ kind: 'raw', text: source.slice(end, m.index), source: source.slice(end, m.index), tag: { at: end, end: m.index, stripBefore: false, stripAfter: false } });
      out.push({ kind: 'comment', tag: { at: m.index, end: m.index + m[0].length, stripBefore: m[0][2] === '-', stripAfter: m[0].at(-3) === '-' } });
      i = m.index + m[0].length;
      continue;
    }
    out.push({ kind: 'stmt', word, parser, tag });
    i = end;
  }
  text(i, source.length);
  return out;
}

/** Jinja's lexer: `-` strips all whitespace on its side; trim_blocks drops one newline after `%}` and `#}` (not after `+%}`). */
function applyWhitespace(flat: Flat[]): void {
  for (let k = 0; k < flat.length; k++) {
    const f = flat[k]!;
    if (f.kind === 'text' || f.kind === 'raw') continue;
    const prev = flat[k - 1];
    const next = flat[k + 1];
    if (f.tag.stripBefore && prev?.kind === 'text') prev.text = prev.text!.replace(/\s+$/, '');
    if (next?.kind !== 'text') continue;
    if (f.tag.stripAfter) next.text = next.text!.replace(/^\s+/, '');
    else if (f.kind !== 'output' && !f.tag.keepNewline) next.text = next.text!.replace(/^\r?\n/, '');
  }
}

function build(flat: Flat[], pos: { i: number }, source: string, until: string[]): TNode[] {
  const nodes: TNode[] = [];
  while (pos.i < flat.length) {
    const f = flat[pos.i]!;
    if (f.kind === 'stmt' && until.includes(f.word!)) return nodes;
    pos.i++;
    if (f.kind === 'text' || f.kind === 'raw') nodes.push({ kind: 'text', text: f.text!, source: f.source!, at: f.tag.at, ...(f.kind === 'raw' ? { raw: true } : {}) });
    else if (f.kind === 'output') nodes.push({ kind: 'output', expr: f.expr!, tag: f.tag });
    else if (f.kind === 'comment') nodes.push({ kind: 'comment', tag: f.tag });
    else if (f.kind === 'bad') nodes.push({ kind: 'keep', tag: f.tag, why: `not a Jinja expression tsplay migrate reads: ${f.why}`, whyAt: f.whyAt! });
    else nodes.push(...statement(f, flat, pos, source));
  }
  if (until.length > 0) throw new JinjaSyntaxError(`{% ${until[until.length - 1]} %} is missing`, source.length);
  return nodes;
}

/** One statement and what it encloses; a for loop tsplay cannot write is its parts, the tags kept as written. */
function statement(f: Flat, flat: Flat[], pos: { i: number }, source: string): TNode[] {
  const p = f.parser!;
  if (f.word === 'if') {
    const branches: Array<{ test?: JExpr; tag: Tag; body: TNode[] }> = [];
    let tag = f.tag;
    let test: JExpr | undefined = condition(p);
    for (;;) {
      const body = build(flat, pos, source, ['elif', 'else', 'endif']);
      branches.push({ ...(test ? { test } : {}), tag, body });
      const next = flat[pos.i++]!;
      if (next.word === 'endif') return [{ kind: 'if', branches, endTag: next.tag }];
      if (test === undefined) throw new JinjaSyntaxError(`{% ${next.word} %} after {% else %}`, next.tag.at);
      tag = next.tag;
      test = next.word === 'elif' ? condition(next.parser!) : (next.parser!.expectName('else'), next.parser!.expectEnd(), undefined);
    }
  }
  if (f.word === 'for') {
    p.expectName('for');
    const targets = [p.expectName().value];
    while (p.isOp(',')) {
      p.expectOp(',');
      targets.push(p.expectName().value);
    }
    p.expectName('in');
    const iter = p.expression(false);
    const recursive = p.isName('recursive') || p.isName('if');
    const body = build(flat, pos, source, ['else', 'endfor']);
    let next = flat[pos.i++]!;
    let orelse: TNode[] | undefined;
    let elseTag: Tag | undefined;
    if (next.word === 'else') {
      elseTag = next.tag;
      orelse = build(flat, pos, source, ['endfor']);
      next = flat[pos.i++]!;
    }
    if (recursive || !p.atEnd) {
      const why = '{% for %} with a filter (if) or recursive has no Handlebars form';
      const kept = (tag: Tag): TNode => ({ kind: 'keep', tag, why, whyAt: f.tag.at });
      return [kept(f.tag), ...body, ...(elseTag ? [kept(elseTag), ...orelse!] : []), kept(next.tag)];
    }
    return [{ kind: 'for', targets, iter, tag: f.tag, body, ...(elseTag ? { elseTag, orelse } : {}), endTag: next.tag }];
  }
  if (['endif', 'endfor', 'elif', 'else'].includes(f.word!)) throw new JinjaSyntaxError(`{% ${f.word} %} without its opening tag`, f.tag.at);
  return [{ kind: 'keep', tag: f.tag, why: `{% ${f.word} %} has no Handlebars form: compute the value in vars or a task`, whyAt: f.tag.at }];
}

function condition(p: Parser): JExpr {
  p.expectName();
  const test = p.expression();
  p.expectEnd();
  return test;
}
