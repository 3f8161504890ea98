/**
 * lineinfile — make sure a line is in a text file (or replace the line a regexp finds), or that
 * no line matches, as Ansible's ansible.builtin.lineinfile does.
 *
 *   - name: SELinux enforcing
 *     lineinfile: { path: /etc/selinux/config, regexp: '^SELINUX=', line: SELINUX=enforcing }
 *
 * The edit is Ansible's, step for step (editLineinfile below: the last matching line is replaced,
 * or with firstmatch the first; without a match the line goes after insertafter's last match,
 * before insertbefore's, or at the end; backrefs fill \1 and \g<name> from the regexp and never
 * add a line). Regexps are Python's syntax (python-regex.ts says how they are run). Reading,
 * the diff and the atomic write are text-edit.ts.
 */
import type { FromSchema } from 'json-schema-to-ts';
import type { ArgSchema } from '../types.js';
import { expandTemplate, pyRegex } from './python-regex.js';
import { textEditModule, textEditSchemaProperties, type Edit } from './text-edit.js';

const schema = {
  type: 'object',
  properties: {
    ...textEditSchemaProperties,
    state: { enum: ['present', 'absent'], description: "Whether the line should be there (default 'present')." },
    regexp: { type: 'string', description: 'Python regular expression looked for in every line: present replaces the last line it matches, absent removes all (alias regex).' },
    search_string: { type: 'string', description: 'A literal string looked for in every line, instead of regexp.' },
    line: { type: 'string', description: 'The line to put in the file (alias value). With backrefs, \\1 and \\g<name> are filled from the regexp.' },
    backrefs: { type: 'boolean', description: 'Expand backreferences in line; if regexp matches nothing, the file is left as it is.' },
    insertafter: { type: 'string', description: "Without a match: insert after the last line this regexp matches, or 'EOF' (default)." },
    insertbefore: { type: 'string', description: "Without a match: insert before the last line this regexp matches, or 'BOF'." },
    firstmatch: { type: 'boolean', description: 'insertafter/insertbefore (and regexp) use the first matching line instead of the last.' },
    create: { type: 'boolean', description: 'Create the file when it does not exist (default: fail).' },
  },
  required: ['path'],
  not: { anyOf: [{ required: ['insertbefore', 'insertafter'] }, { required: ['regexp', 'search_string'] }, { required: ['backrefs', 'search_string'] }] },
  additionalProperties: false,
} as const satisfies ArgSchema;

export type LineinfileArgs = FromSchema<typeof schema>;

/** Python's readlines(): each line with its \n, the last one perhaps without. */
export function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

const stripEol = (line: string): string => line.replace(/[\r\n]+$/, '');
const endsWithEol = (line: string): boolean => line.endsWith('\n') || line.endsWith('\r');

/** The file's text after the edit (null: the file stays absent), or why not, as Ansible says it. */
export function editLineinfile(args: LineinfileArgs, text: string | null): Edit | { message: string; hint?: string } {
  const warnings: string[] = [];
  if (args.regexp === '') warnings.push("The regular expression is an empty string, which will match every line in the file. This may have unintended consequences, such as replacing the last line in the file rather than appending. If this is desired, use '^' to match every line in the file and avoid this warning.");
  if (args.search_string === '') warnings.push('The search string is an empty string, which will match every line in the file. This may have unintended consequences, such as replacing the last line in the file rather than appending.');
  const edit = (args.state ?? 'present') === 'present' ? present(args, text) : absent(args, text);
  return 'message' in edit ? edit : { ...edit, warnings };
}

function present(args: LineinfileArgs, text: string | null): Edit | { message: string; hint?: string } {
  if (args.backrefs && args.regexp === undefined) return { message: 'regexp is required with backrefs=true' };
  if (args.line === undefined) return { message: 'line is required with state=present', hint: 'give line, or state: absent to remove lines' };
  if (text === null && !args.create) return { message: `Destination ${args.path} does not exist !`, hint: 'create: true makes the file' };
  const { regexp, search_string: search, line, insertbefore, firstmatch } = args;
  const insertafter = insertbefore === undefined && args.insertafter === undefined ? 'EOF' : args.insertafter;
  const lines = text === null ? [] : splitLines(text);
  const re = regexp === undefined ? undefined : pyRegex(regexp);
  const ins =
    insertafter !== undefined && insertafter !== 'BOF' && insertafter !== 'EOF' ? pyRegex(insertafter, { what: 'insertafter' }) : insertbefore !== undefined && insertbefore !== 'BOF' ? pyRegex(insertbefore, { what: 'insertbefore' }) : undefined;

  // index: the line the regexp (or search string, or the line itself) is on; at: where to insert.
  let index = -1;
  let at = -1;
  let match: RegExpExecArray | true | undefined;
  if (re) {
    for (const [n, l] of lines.entries()) {
      const m = re.exec(l);
      if (!m) continue;
      [index, match] = [n, m];
      if (firstmatch) break;
    }
  }
  if (search !== undefined) {
    for (const [n, l] of lines.entries()) {
      if (!l.includes(search)) continue;
      [index, match] = [n, true];
      if (firstmatch) break;
    }
  }
  if (!match) {
    for (const [n, l] of lines.entries()) {
      if (stripEol(l) === line) index = n;
      else if (ins?.test(l)) {
        at = insertafter ? n + 1 : n;
        if (firstmatch) break;
      }
    }
  }

  const added = (): Edit => ({ after: lines.join(''), msg: 'line added' });
  if (index !== -1) {
    let replaced = args.backrefs && match && match !== true ? expandTemplate(line, match) : line;
    if (!replaced.endsWith('\n')) replaced += '\n';
    if (lines[index] === replaced) return { after: text, msg: '' };
    lines[index] = replaced;
    return { after: lines.join(''), msg: 'line replaced' };
  }
  // backrefs without a match: a line made of unfilled backreferences is never added.
  if (args.backrefs) return { after: text, msg: '' };
  if (insertbefore === 'BOF' || insertafter === 'BOF') {
    lines.unshift(`${line}\n`);
    return added();
  }
  if (insertafter === 'EOF' || at === -1) {
    if (lines.length && !endsWithEol(lines[lines.length - 1]!)) lines.push('\n');
    lines.push(`${line}\n`);
    return added();
  }
  if (insertafter) {
    // The line is there already right after the match.
    if (lines.length === at ? stripEol(lines[at - 1]!) === line : stripEol(lines[at]!) === line) return { after: text, msg: '' };
    // After a last line without a newline: Ansible (2.14) would join the two lines; tsplay ends that line first.
    if (at === lines.length && !endsWithEol(lines[at - 1]!)) lines[at - 1] += '\n';
    lines.splice(at, 0, `${line}\n`);
    return added();
  }
  lines.splice(at, 0, `${line}\n`);
  return added();
}

function absent(args: LineinfileArgs, text: string | null): Edit | { message: string; hint?: string } {
  const { regexp, search_string: search, line } = args;
  if (regexp === undefined && search === undefined && line === undefined) return { message: 'one of line, search_string, or regexp is required with state=absent' };
  if (text === null) return { after: null, msg: 'file not present' };
  const re = regexp === undefined ? undefined : pyRegex(regexp);
  const lines = splitLines(text);
  const matches = (l: string): boolean => (re ? re.test(l) : search !== undefined ? l.includes(search) : stripEol(l) === line);
  const kept = lines.filter((l) => !matches(l));
  const found = lines.length - kept.length;
  return found ? { after: kept.join(''), msg: `${found} line(s) removed`, result: { found } } : { after: text, msg: '', result: { found } };
}

export default textEditModule<LineinfileArgs>({
  name: 'lineinfile',
  doc: 'Make sure a line is in a text file, replace the line a regexp matches, or remove matching lines (Ansible semantics).',
  example: "- name: SELinux enforcing\n  lineinfile: { path: /etc/selinux/config, regexp: '^SELINUX=', line: SELINUX=enforcing }",
  schema,
  extraAliases: { regex: 'regexp', value: 'line' },
  backupKey: 'backup',
  edit: editLineinfile,
});
