/** Unified diffs for changes; secret or binary content is shown only as "changed". */
import { createRequire } from 'node:module';
import type * as Diff from 'diff';
import type { FileDiff } from '../modules/types.js';

// `diff` is loaded on the first diff shown (--diff, or a report with changes), not at startup.
let diffLib: typeof Diff | undefined;
const lib = (): typeof Diff => (diffLib ??= createRequire(import.meta.url)('diff') as typeof Diff);

export function unifiedDiff(d: FileDiff): string {
  if (d.opaque) {
    const what = d.opaque === 'secret' ? 'secret content (not shown)' : 'binary content';
    if (d.before === null) return `+++ ${d.path}: new file, ${what}\n`;
    if (d.after === null) return `--- ${d.path}: removed\n`;
    return `*** ${d.path}: ${what} changed\n`;
  }
  const before = d.before ?? '';
  const after = d.after ?? '';
  const patch = lib().createTwoFilesPatch(d.before === null ? '/dev/null' : `${d.path} (before)`, d.after === null ? '/dev/null' : `${d.path} (after)`, before, after, undefined, undefined, { context: 3 });
  // Drop the "Index"/"====" preamble; keep ---/+++ and hunks.
  return patch.split('\n').filter((l) => !l.startsWith('=====') && !l.startsWith('Index:')).join('\n');
}

export function colorizeDiff(text: string): string {
  return text
    .split('\n')
    .map((l) => (l.startsWith('+') && !l.startsWith('+++') ? `\x1b[32m${l}\x1b[0m` : l.startsWith('-') && !l.startsWith('---') ? `\x1b[31m${l}\x1b[0m` : l.startsWith('@@') ? `\x1b[36m${l}\x1b[0m` : l))
    .join('\n');
}
