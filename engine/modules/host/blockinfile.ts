/**
 * blockinfile — a block of lines between two marker lines in a text file, inserted, updated or
 * removed, as Ansible's ansible.builtin.blockinfile does.
 *
 *   - name: cluster hosts
 *     blockinfile:
 *       path: /etc/hosts
 *       block: |
 *         10.0.0.1 cp1
 *         10.0.0.2 w1
 *
 * The markers are `marker` with {mark} replaced by marker_begin and marker_end. When both are in
 * the file, the block between them (markers included) is replaced; otherwise it goes after
 * insertafter's last match (or before insertbefore's, BOF, EOF: the default). An empty block
 * removes it, as state: absent does. One deviation: removing a block that is not there never
 * changes the file (Ansible 2.14 adds a newline to a last line without one).
 */
import type { FromSchema } from 'json-schema-to-ts';
import type { ArgSchema } from '../types.js';
import { pyRegex, translatePyRegex } from './python-regex.js';
import { textEditModule, textEditSchemaProperties, type Edit } from './text-edit.js';

const DEFAULT_MARKER = '# {mark} ANSIBLE MANAGED BLOCK';

const schema = {
  type: 'object',
  properties: {
    ...textEditSchemaProperties,
    state: { enum: ['present', 'absent'], description: "Whether the block should be there (default 'present')." },
    block: { type: 'string', description: 'The lines between the markers (alias content); empty removes the block.' },
    marker: { type: 'string', description: `The marker line; {mark} becomes marker_begin or marker_end (default '${DEFAULT_MARKER}').` },
    marker_begin: { type: 'string', description: "{mark} in the first marker (default 'BEGIN')." },
    marker_end: { type: 'string', description: "{mark} in the last marker (default 'END')." },
    insertafter: { type: 'string', description: "Without the markers: insert after the last line this Python regexp matches, or 'EOF' (default)." },
    insertbefore: { type: 'string', description: "Without the markers: insert before the last line this Python regexp matches, or 'BOF'." },
    create: { type: 'boolean', description: 'Create the file when it does not exist (default: fail).' },
  },
  required: ['path'],
  not: { required: ['insertbefore', 'insertafter'] },
  additionalProperties: false,
} as const satisfies ArgSchema;

export type BlockinfileArgs = FromSchema<typeof schema>;

/** Python's bytes.splitlines(True): lines end at \n, \r\n or \r, each kept. */
function splitLines(text: string): string[] {
  return text.match(/[^\r\n]*(\r\n|\r|\n)|[^\r\n]+$/g) ?? [];
}

export function editBlockinfile(args: BlockinfileArgs, text: string | null): Edit | { message: string; hint?: string } {
  if (text === null && !args.create) return { message: `Path ${args.path} does not exist !`, hint: 'create: true makes the file' };
  const present = (args.state ?? 'present') === 'present';
  if (!present && text === null) return { after: null, msg: `File ${args.path} not present` };
  const { insertbefore } = args;
  const insertafter = insertbefore === undefined && args.insertafter === undefined ? 'EOF' : args.insertafter;
  const insertPattern = insertafter !== undefined && insertafter !== 'EOF' ? { p: insertafter, what: 'insertafter' } : insertbefore !== undefined && insertbefore !== 'BOF' ? { p: insertbefore, what: 'insertbefore' } : undefined;

  const marker = args.marker ?? DEFAULT_MARKER;
  const begin = `${marker.replaceAll('{mark}', args.marker_begin ?? 'BEGIN')}\n`;
  const end = `${marker.replaceAll('{mark}', args.marker_end ?? 'END')}\n`;
  let block = args.block ?? '';
  const blockLines: string[] = [];
  if (present && block) {
    if (!block.endsWith('\n')) block += '\n';
    blockLines.push(begin, ...splitLines(block), end);
  }

  const lines = text === null ? [] : splitLines(text);
  let n0 = lastIndex(lines, (l) => l === begin);
  const n1 = lastIndex(lines, (l) => l === end);
  if (n0 === -1 || n1 === -1) {
    n0 = -1;
    if (insertPattern) {
      const re = pyRegex(insertPattern.p, { what: insertPattern.what });
      if (translatePyRegex(insertPattern.p).multilineFlag) {
        // (?m): the pattern is searched in the whole text; the block goes at the line it ends (insertafter) or starts on.
        const m = re.exec(text ?? '');
        if (m) n0 = countNewlines((text ?? '').slice(0, insertafter !== undefined ? m.index + m[0].length : m.index));
      } else {
        n0 = lastIndex(lines, (l) => re.test(l));
      }
      if (n0 === -1) n0 = lines.length;
      else if (insertafter !== undefined) n0 += 1;
    } else n0 = insertbefore !== undefined ? 0 : lines.length;
  } else if (n0 < n1) lines.splice(n0, n1 - n0 + 1);
  else {
    lines.splice(n1, n0 - n1 + 1);
    n0 = n1;
  }
  // The line before the block ends with a newline (not when nothing is inserted: see the top).
  if (n0 > 0 && blockLines.length && !lines[n0 - 1]!.endsWith('\n')) lines[n0 - 1] += '\n';
  lines.splice(n0, 0, ...blockLines);
  const after = lines.join('');
  if (after === text) return { after: text, msg: '' };
  return { after, msg: text === null ? 'File created' : blockLines.length ? 'Block inserted' : 'Block removed' };
}

function lastIndex(lines: string[], test: (line: string) => boolean): number {
  for (let i = lines.length - 1; i >= 0; i--) if (test(lines[i]!)) return i;
  return -1;
}

function countNewlines(s: string): number {
  return s.split('\n').length - 1;
}

export default textEditModule<BlockinfileArgs>({
  name: 'blockinfile',
  doc: 'Insert, update or remove a block of lines between marker lines in a text file (Ansible semantics).',
  example: "- name: cluster hosts\n  blockinfile:\n    path: /etc/hosts\n    block: |\n      10.0.0.1 cp1\n      10.0.0.2 w1",
  schema,
  extraAliases: { content: 'block' },
  backupKey: 'backup_file',
  edit: editBlockinfile,
});
