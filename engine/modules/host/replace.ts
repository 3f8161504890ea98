/**
 * replace — replace every match of a regexp in a text file, as Ansible's ansible.builtin.replace
 * does (Python's re.subn in MULTILINE mode: ^ and $ at each line, `.` never a newline).
 *
 *   - name: listen on every address
 *     replace: { path: /etc/ssh/sshd_config, regexp: '^(ListenAddress[ ]+)[^\n]+$', replace: '\g<1>0.0.0.0' }
 *
 * after and before (DOTALL: `.` takes newlines) narrow the replacement to the text after after's
 * first match, before before's last, or, both given, between after's first match and the first
 * match of before after it, as Ansible's one joined pattern finds them; when they match nothing
 * the file is left as it is. The replacement is Python's
 * template (\1, \g<name>); python-regex.ts says how the patterns are run.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { TaskError } from '../../errors.js';
import type { ArgSchema } from '../types.js';
import { expandTemplate, pyRegex, translatePyRegex } from './python-regex.js';
import { textEditModule, textEditSchemaProperties, type Edit } from './text-edit.js';

const schema = {
  type: 'object',
  properties: {
    ...textEditSchemaProperties,
    regexp: { type: 'string', description: 'Python regular expression, MULTILINE: every match is replaced.' },
    replace: { type: 'string', description: 'The replacement, with \\1, \\g<1>, \\g<name> for groups (default: empty, matches are removed).' },
    after: { type: 'string', description: 'Only text after the first match of this Python regexp (DOTALL) is replaced.' },
    before: { type: 'string', description: "Only text before this Python regexp's (DOTALL) last match is replaced; with after, its first match after after's." },
  },
  required: ['path', 'regexp'],
  additionalProperties: false,
} as const satisfies ArgSchema;

export type ReplaceArgs = FromSchema<typeof schema>;

/** The text between after's and before's matches: [start, end) of the text, or null when they do not match. */
function section(args: ReplaceArgs, text: string): { start: number; end: number } | { missed: string } | undefined {
  const { after, before } = args;
  if (!after && !before) return undefined;
  const a = after ? translatePyRegex(after, { dotall: true, what: 'after' }) : undefined;
  const b = before ? translatePyRegex(before, { dotall: true, what: 'before' }) : undefined;
  // Ansible joins them into one pattern: after(?P<subsection>.*?)before, .* with before alone.
  const shown = `${after ?? ''}(?P<subsection>.*${after && before ? '?' : ''})${before ?? ''}`;
  const source = `${a?.source ?? ''}(?<subsection>[\\s\\S]*${a && b ? '?' : ''})${b?.source ?? ''}`;
  let re: RegExp;
  try {
    re = new RegExp(source, `d${a?.ignoreCase || b?.ignoreCase ? 'i' : ''}`);
  } catch (err) {
    throw new TaskError(`after and before make no valid regular expression together (${(err as Error).message})`, 'Ansible joins them as after(?P<subsection>.*?)before: neither may name a group subsection');
  }
  const m = re.exec(text);
  const at = m?.indices?.groups?.subsection;
  if (!at) return { missed: `Pattern for before/after params did not match the given file: ${shown}` };
  return { start: at[0], end: at[1] };
}

export function editReplace(args: ReplaceArgs, text: string | null): Edit | { message: string; hint?: string } {
  if (text === null) return { message: `Path ${args.path} does not exist !` };
  const part = section(args, text);
  if (part && 'missed' in part) return { after: text, msg: part.missed, result: { rc: 0 } };
  const { start, end } = part ?? { start: 0, end: text.length };
  const re = pyRegex(args.regexp, { multiline: true }, 'g');
  const subject = text.slice(start, end);
  const template = args.replace ?? '';
  let out = '';
  let last = 0;
  let count = 0;
  for (const m of subject.matchAll(re)) {
    out += subject.slice(last, m.index) + expandTemplate(template, m, 'replace');
    last = m.index + m[0].length;
    count++;
  }
  out += subject.slice(last);
  if (count === 0 || out === subject) return { after: text, msg: '', result: { rc: 0 } };
  return { after: text.slice(0, start) + out + text.slice(end), msg: `${count} replacements made`, result: { rc: 0 } };
}

export default textEditModule<ReplaceArgs>({
  name: 'replace',
  doc: 'Replace every match of a Python regular expression in a text file, optionally between after and before (Ansible semantics).',
  example: "- name: listen on every address\n  replace: { path: /etc/ssh/sshd_config, regexp: '^(ListenAddress[ ]+)[^\\n]+$', replace: '\\g<1>0.0.0.0' }",
  schema,
  backupKey: 'backup_file',
  edit: editReplace,
});
