/**
 * Edits of a YAML file's text in place: only the scalars that change are rewritten, in the
 * style they were written in where it can hold the new value (plain, 'single', "double",
 * literal |, folded >), so comments, key order, anchors and layout stay as the author left them.
 */
import type { Scalar } from 'yaml';

export interface Edit {
  from: number;
  to: number;
  text: string;
}

/** The file with the edits applied (they must not overlap). */
export function applyEdits(source: string, edits: Edit[]): string {
  let out = '';
  let at = 0;
  for (const e of [...edits].sort((a, b) => a.from - b.from)) {
    out += source.slice(at, e.from) + e.text;
    at = e.to;
  }
  return out + source.slice(at);
}

// What a plain scalar may not be or hold (YAML 1.2 and the 1.1 words Ansible's PyYAML reads).
const PLAIN_WORDS = /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~|[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|0x[\da-fA-F]+|0o?[0-7]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|\d+:\d+(?::\d+)*)$/;

function plainOk(value: string, inFlow: boolean): boolean {
  if (value === '' || value !== value.trim() || /[\n\t\r]/.test(value) || PLAIN_WORDS.test(value)) return false;
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(value) && !/^[-?:][^\s]/.test(value)) return false;
  if (/^[-?:]([\s]|$)/.test(value) || /: |:$| #/.test(value)) return false;
  return !(inFlow && /[,[\]{}]/.test(value));
}

function singleQuoted(value: string): string | undefined {
  // A control character (a line break among them) has no single-quoted form that keeps it.
  return [...value].some((c) => c.charCodeAt(0) < 0x20) ? undefined : `'${value.replace(/'/g, "''")}'`;
}

/** JSON's escapes are YAML's double-quoted ones. */
function doubleQuoted(value: string): string {
  return JSON.stringify(value);
}

/** The new text for the scalar's span [range[0], range[1]): `value` in its style, or the nearest one that holds it. */
export function renderScalar(source: string, node: Scalar, value: string, inFlow: boolean): string {
  const type = node.type;
  if (type === 'BLOCK_LITERAL' || type === 'BLOCK_FOLDED') {
    const block = renderBlock(source, node, value);
    if (block !== undefined) return block;
  }
  if (type === 'PLAIN' && plainOk(value, inFlow)) return value;
  if (type !== 'QUOTE_DOUBLE' && !/\\/.test(value)) {
    const single = singleQuoted(value);
    if (single !== undefined && (type === 'QUOTE_SINGLE' || type === 'PLAIN' || !value.includes('\n'))) return single;
  }
  return doubleQuoted(value);
}

/**
 * A block scalar keeps its header (chomping, comment) and indentation; a folded one whose new
 * value has line breaks inside becomes literal (same value, no refolding to get wrong).
 */
function renderBlock(source: string, node: Scalar, value: string): string | undefined {
  const [start, end] = node.range!;
  const text = source.slice(start, end);
  const headerEnd = text.indexOf('\n');
  if (headerEnd < 0) return undefined;
  let header = text.slice(0, headerEnd);
  const body = text.slice(headerEnd + 1);
  const indentOf = /^( +)\S/m.exec(body);
  if (!indentOf || /^\s/.test(value)) return undefined;
  const indent = indentOf[1]!;
  const content = value.replace(/\n+$/, '');
  const trailing = value.length - content.length;
  const chomp = /^[|>][1-9]?([-+]?)/.exec(header)?.[1] ?? '';
  // The chomping indicator must still give the value's trailing newlines.
  if ((chomp === '-' && trailing !== 0) || (chomp === '' && trailing !== 1) || (chomp === '+' && trailing === 0)) return undefined;
  if (header.startsWith('>') && content.includes('\n')) header = `|${header.slice(1)}`;
  const lines = content.split('\n').map((l) => (l === '' ? '' : indent + l));
  const extra = chomp === '+' ? '\n'.repeat(trailing - 1) : '';
  return `${header}\n${lines.join('\n')}\n${extra}`;
}

/** Where a character of the scalar's value is in the file (as near as escapes and folding allow). */
export function sourceOffset(source: string, node: Scalar, offset: number): number {
  const [start, end] = node.range!;
  const text = source.slice(start, end);
  if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
    const body = start + text.indexOf('\n') + 1;
    const indent = /^( *)/.exec(source.slice(body))![1]!.length;
    const value = String(node.value);
    const before = value.slice(0, offset).split('\n');
    if (node.type === 'BLOCK_FOLDED') return body + indent;
    let at = body;
    for (let i = 0; i < before.length - 1; i++) at = source.indexOf('\n', at) + 1;
    return at + indent + before[before.length - 1]!.length;
  }
  if (text.includes('\n')) return start;
  return start + (node.type === 'PLAIN' ? 0 : 1) + offset;
}

/** 1-based line and column of an offset. */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(source: string) {
    for (let i = 0; i < source.length; i++) if (source[i] === '\n') this.starts.push(i + 1);
  }
  position(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.starts[lo]! + 1 };
  }
}
