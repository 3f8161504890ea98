/**
 * A Jinja template (a `.j2` file or a YAML string) as a Handlebars one that writes the same
 * text. It is written twice if need be: first keeping the layout as written (Jinja's `-` as
 * Handlebars' `~`, a tag alone on its line as Handlebars' standalone tag), then, when Handlebars'
 * whitespace rules would write something else there, with the text exactly as Jinja outputs it.
 * Either is checked by parsing it with Handlebars and comparing its text with Jinja's, piece by
 * piece. What cannot be converted is kept as written and returned in `left`.
 */
import { checkTemplate, TemplateError } from '../vars/template.js';
import { JinjaSyntaxError } from './jinja-lexer.js';
import type { JExpr } from './jinja-parse.js';
import { parseTemplate, type Tag, type TNode } from './jinja-template.js';
import { escapeText, outputOf, valueOf, type HbsScope } from './hbs-expr.js';
import { bareName, Leave } from './leave.js';

export interface Converted {
  text: string;
  left: Leave[];
}

interface Emit {
  out: string;
  /** What Jinja writes between tags, in order: Handlebars must write the same. */
  expect: string[];
  cur: string;
  left: Leave[];
  /** Keep the layout as written (else: the text as Jinja outputs it). */
  pretty: boolean;
  /** After each block tag an empty comment, so that no tag is standalone and Handlebars strips nothing. */
  guarded: boolean;
  /** The layout cannot be kept (a `-` beside a literal): this attempt is not used. */
  broken: boolean;
  source: string;
}

/** `source` converted; a template that is not well formed is left whole. */
export function templateToHandlebars(written: string): Converted {
  // Jinja (as Ansible sets it up) writes \n for every line break.
  const source = written.replace(/\r\n?/g, '\n');
  // Jinja reads the source without its last newline and Ansible then pads the output; tsplay's
  // renderString does the same, so the body is converted and the last newline kept as it is.
  const body = source.endsWith('\n') ? source.slice(0, -1) : source;
  let nodes: TNode[];
  try {
    nodes = parseTemplate(body);
  } catch (err) {
    if (err instanceof JinjaSyntaxError) return { text: written, left: [new Leave(`the template is not one tsplay migrate reads: ${err.message}`, err.at)] };
    throw err;
  }
  const last = source.slice(body.length);
  // The file must end with the source's newlines (tsplay pads to them as Ansible does); those the
  // text as Jinja writes it lacks go after an empty comment that strips them ({{!~}}).
  const want = /\n*$/.exec(body)![0].length;
  const finish = (out: string): string => (/\n*$/.exec(out)![0].length >= want ? out : `${out}{{!~}}${'\n'.repeat(want)}`) + last;
  const first = emitAll(nodes, source, 'layout');
  if (first.left.length > 0) return { text: first.out + last, left: first.left };
  for (const attempt of [first, emitAll(nodes, source, 'text'), emitAll(nodes, source, 'guarded')]) if (sameText(attempt)) return { text: finish(attempt.out), left: [] };
  return { text: written, left: [new Leave('Handlebars would not write the same whitespace as Jinja here; convert it by hand', 0)] };
}

function emitAll(nodes: TNode[], source: string, mode: 'layout' | 'text' | 'guarded'): Emit {
  const e: Emit = { out: '', expect: [], cur: '', left: [], pretty: mode === 'layout', guarded: mode === 'guarded', broken: false, source };
  emitNodes(e, nodes, { params: new Set(), inLoop: false, source });
  e.expect.push(e.cur);
  return e;
}

function flush(e: Emit): void {
  e.expect.push(e.cur);
  e.cur = '';
}

/** A Handlebars tag with Jinja's `-` as `~` when keeping the layout. */
function tag(e: Emit, t: Tag, inner: string): string {
  if (e.pretty) return `{{${t.stripBefore ? '~' : ''}${inner}${t.stripAfter ? '~' : ''}}}`;
  return e.guarded && !inner.startsWith('!') ? `{{${inner}}}{{!}}` : `{{${inner}}}`;
}

function text(e: Emit, processed: string, asWritten: string, raw: boolean): void {
  e.cur += processed;
  const written = e.pretty ? asWritten : processed;
  // A backslash before a mustache would escape it.
  e.out += raw || written.includes('{{') ? escapeText(written) : written;
}

function keep(e: Emit, t: Tag, why: string, whyAt: number): void {
  e.left.push(new Leave(why, whyAt));
  e.out += e.source.slice(t.at, t.end);
}

function emitNodes(e: Emit, nodes: TNode[], scope: HbsScope): void {
  for (const [i, n] of nodes.entries()) {
    if (n.kind === 'text') {
      text(e, n.text, n.source, n.raw === true);
      if (/\\$/.test(e.out) && nodes[i + 1] && nodes[i + 1]!.kind !== 'text') e.out += '\\';
    } else if (n.kind === 'comment') {
      const body = e.source.slice(n.tag.at + 2, n.tag.end - 2).replace(/^[-+]|[-+]$/g, '');
      if (e.pretty) e.out += tag(e, n.tag, `!--${body.replace(/--\}\}/g, '-- }}')}--`);
    } else if (n.kind === 'keep') keep(e, n.tag, n.why, n.whyAt);
    else if (n.kind === 'output') output(e, n.expr, n.tag, scope);
    else if (n.kind === 'if') ifBlock(e, n, scope);
    else forBlock(e, n, scope);
  }
}

function output(e: Emit, expr: JExpr, t: Tag, scope: HbsScope): void {
  let written: string;
  try {
    written = outputOf(expr, scope);
  } catch (err) {
    if (!(err instanceof Leave)) throw err;
    keep(e, t, err.reason, err.at);
    return;
  }
  // The text parts of the output count as Jinja's text; each mustache is a separator.
  for (const part of written.split(/(\{\{[^]*?\}\})/)) {
    if (part.startsWith('{{')) flush(e);
    else e.cur += part.replace(/\\\{\{/g, '{{');
  }
  if (e.pretty && (t.stripBefore || t.stripAfter)) {
    // Jinja's `-` is Handlebars' `~` on the first and last mustache; a literal at either end has none.
    if ((t.stripBefore && !written.startsWith('{{')) || (t.stripAfter && !written.endsWith('}}'))) e.broken = true;
    if (t.stripBefore) written = `{{~${written.slice(2)}`;
    if (t.stripAfter && written.endsWith('}}')) written = `${written.slice(0, -2)}~}}`;
  }
  // {{ x }} as written: a mustache keeps the spaces inside it (block tags are written close).
  if (/^\{\{[-+]?\s/.test(e.source.slice(t.at, t.end))) written = written.replace(/\{\{(~?)(?![#/!^]|else\b)([^{}]+?)(~?)\}\}/g, '{{$1 $2 $3}}');
  e.out += written;
}

function ifBlock(e: Emit, n: Extract<TNode, { kind: 'if' }>, scope: HbsScope): void {
  let tests: string[];
  try {
    tests = n.branches.filter((b) => b.test).map((b) => valueOf(b.test!, scope));
  } catch (err) {
    if (!(err instanceof Leave)) throw err;
    // The tags stay Jinja; what they enclose is still converted.
    e.left.push(err);
    for (const b of n.branches) {
      e.out += e.source.slice(b.tag.at, b.tag.end);
      emitNodes(e, b.body, scope);
    }
    e.out += e.source.slice(n.endTag.at, n.endTag.end);
    return;
  }
  n.branches.forEach((b, i) => {
    flush(e);
    e.out += tag(e, b.tag, i === 0 ? `#if ${tests[0]}` : b.test ? `else if ${tests[i]}` : 'else');
    emitNodes(e, b.body, scope);
  });
  flush(e);
  e.out += tag(e, n.endTag, '/if');
}

/** What `{% for %}` iterates, as Jinja does (a map's keys); `.items()` gives values with their keys. */
function iteration(n: Extract<TNode, { kind: 'for' }>, scope: HbsScope): { over: string; params: string } {
  const method = n.iter.type === 'call' && n.iter.fn.type === 'attr' && n.iter.args.length === 0 ? n.iter.fn.name : undefined;
  if (method && n.iter.type === 'call' && n.iter.fn.type === 'attr') {
    const map = valueOf(n.iter.fn.obj, scope);
    if (method === 'items' && n.targets.length === 2) return { over: map, params: `${n.targets[1]} ${n.targets[0]}` };
    if (method === 'values' && n.targets.length === 1) return { over: map, params: n.targets[0]! };
    if (method === 'keys' && n.targets.length === 1) return { over: `(list ${map})`, params: n.targets[0]! };
  }
  if (n.targets.length !== 1) throw new Leave('{% for a, b in ... %} other than over .items() has no Handlebars form', n.tag.at);
  // `x | default([])`: nothing to iterate when x is undefined; list of "" is that empty list.
  const it = n.iter;
  if (it.type === 'filter' && ['default', 'd'].includes(bareName(it.name)) && it.args.length === 1 && it.kwargs.length === 0) {
    const fallback = it.args[0]!;
    if ((fallback.type === 'list' || fallback.type === 'tuple') && fallback.items.length === 0) return { over: `(list (default ${valueOf(it.value, scope)} ""))`, params: n.targets[0]! };
    if (fallback.type === 'dict' && fallback.entries.length === 0) return { over: `(list (default ${valueOf(it.value, scope)} ""))`, params: n.targets[0]! };
  }
  const over = valueOf(n.iter, scope);
  // groups[...] and the play's host lists are lists; anything else may be a map, whose keys Jinja iterates.
  const isList = (x: JExpr): boolean =>
    (x.type === 'index' || x.type === 'attr') && x.obj.type === 'name' && x.obj.name === 'groups'
      ? true
      : x.type === 'name' && ['ansible_play_hosts', 'ansible_play_batch', 'play_hosts', 'group_names'].includes(x.name)
        ? true
        : x.type === 'filter' && ['list', 'sort', 'unique', 'split'].includes(bareName(x.name));
  return { over: isList(n.iter) ? over : `(list ${over})`, params: n.targets[0]! };
}

function forBlock(e: Emit, n: Extract<TNode, { kind: 'for' }>, scope: HbsScope): void {
  let it: { over: string; params: string };
  try {
    it = iteration(n, scope);
  } catch (err) {
    if (!(err instanceof Leave)) throw err;
    e.left.push(err);
    e.out += e.source.slice(n.tag.at, n.tag.end);
    emitNodes(e, n.body, scope);
    if (n.elseTag) {
      e.out += e.source.slice(n.elseTag.at, n.elseTag.end);
      emitNodes(e, n.orelse!, scope);
    }
    e.out += e.source.slice(n.endTag.at, n.endTag.end);
    return;
  }
  const inner: HbsScope = { ...scope, params: new Set([...scope.params, ...n.targets]), inLoop: true };
  flush(e);
  e.out += tag(e, n.tag, `#each ${it.over} as |${it.params}|`);
  emitNodes(e, n.body, inner);
  if (n.elseTag) {
    flush(e);
    e.out += tag(e, n.elseTag, 'else');
    emitNodes(e, n.orelse!, scope);
  }
  flush(e);
  e.out += tag(e, n.endTag, '/each');
}

/** Does Handlebars, with its whitespace rules, write the text Jinja writes? */
function sameText(e: Emit): boolean {
  if (e.broken) return false;
  let program: hbs.AST.Program;
  try {
    program = checkTemplate(e.out);
  } catch (err) {
    if (err instanceof TemplateError) return false;
    throw err;
  }
  const got: string[] = [];
  let cur = '';
  const push = (): void => {
    got.push(cur);
    cur = '';
  };
  const visit = (p: hbs.AST.Program | undefined): void => {
    for (const s of p?.body ?? []) {
      if (s.type === 'ContentStatement') cur += (s as hbs.AST.ContentStatement).value;
      else if (s.type === 'MustacheStatement') push();
      else if (s.type === 'BlockStatement') block(s as hbs.AST.BlockStatement, false);
    }
  };
  // `{{else if}}` is a block chained inside the inverse: its program follows the else directly.
  const block = (b: hbs.AST.BlockStatement, chained: boolean): void => {
    if (!chained) push();
    visit(b.program);
    if (b.inverse) {
      push();
      const inverse = b.inverse as hbs.AST.Program & { chained?: boolean };
      if (inverse.chained) block(inverse.body[0] as hbs.AST.BlockStatement, true);
      else visit(inverse);
    }
    if (!chained) push();
  };
  visit(program);
  got.push(cur);
  return got.length === e.expect.length && got.every((g, i) => g === e.expect[i]);
}
