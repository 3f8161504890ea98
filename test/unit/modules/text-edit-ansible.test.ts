/**
 * lineinfile, blockinfile and replace edit as Ansible does: Ansible itself (ansible-core,
 * installed by .ci/run) is the oracle. Each case is a file's text and the module's arguments;
 * one ansible-playbook run on a local connection edits a file per case, and tsplay's pure edit
 * of the same text must give the same file, changed and msg (or the same failure message). The
 * cases are Ansible's documented examples and the corners of its code (the last match, firstmatch,
 * a missing final newline, CRLF lines, Python's `$` before a final newline, empty matches).
 * Where tsplay deviates on purpose the table in test/modules/text-edit.ts shows it instead.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editBlockinfile, type BlockinfileArgs } from '../../../engine/modules/host/blockinfile.js';
import { editLineinfile, type LineinfileArgs } from '../../../engine/modules/host/lineinfile.js';
import { editReplace, type ReplaceArgs } from '../../../engine/modules/host/replace.js';

const run = promisify(execFile);
const hasAnsible = await run('ansible-playbook', ['--version']).then(
  () => true,
  () => false,
);

type Module = 'lineinfile' | 'blockinfile' | 'replace';
interface Case {
  module: Module;
  before: string | null;
  args: Record<string, unknown>;
}

const SELINUX = 'SELINUX=permissive\nSELINUXTYPE=targeted\n';
const HTTPD = '#Listen 12.34.56.78:80\n#Listen 80\nServerName x\n';
const SERVICES = 'ftp\t21/tcp\nwww\t80/tcp\nwww-alt\t8080/tcp\nssh\t22/tcp\n';
const HOSTS = '127.0.0.1 old.host.name other\n10.0.0.1 old.host.name\n::1 localhost6\n';
const APACHE = 'Listen 80\nNameVirtualHost *\n<VirtualHost *>\nServerName a\nDocumentRoot /srv\n</VirtualHost>\n# live site config\nInclude x\n';

const CASES: Record<string, Case> = {
  'lineinfile: SELinux enforcing (docs)': { module: 'lineinfile', before: SELINUX, args: { regexp: '^SELINUX=', line: 'SELINUX=enforcing' } },
  'lineinfile: converged': { module: 'lineinfile', before: 'SELINUX=enforcing\n', args: { regexp: '^SELINUX=', line: 'SELINUX=enforcing' } },
  'lineinfile: absent removes every match (docs)': { module: 'lineinfile', before: 'root ALL=(ALL) ALL\n%wheel ALL=(ALL) ALL\n%wheel2 x\n', args: { state: 'absent', regexp: '^%wheel' } },
  'lineinfile: localhost entry (docs)': { module: 'lineinfile', before: '127.0.0.1 old\n::1 localhost\n', args: { regexp: '^127\\.0\\.0\\.1', line: '127.0.0.1 localhost' } },
  'lineinfile: search_string (docs)': { module: 'lineinfile', before: '127.0.0.1 old\n::1 localhost\n', args: { search_string: '127.0.0.1', line: '127.0.0.1 localhost' } },
  'lineinfile: insertafter the last match (docs)': { module: 'lineinfile', before: HTTPD, args: { regexp: '^Listen ', insertafter: '^#Listen ', line: 'Listen 8080' } },
  'lineinfile: insertafter, firstmatch': { module: 'lineinfile', before: HTTPD, args: { insertafter: '^#Listen ', line: 'Listen 8080', firstmatch: true } },
  'lineinfile: insertbefore the last match (docs)': { module: 'lineinfile', before: SERVICES, args: { regexp: '^# port for http', insertbefore: '^www.*80/tcp', line: '# port for http by default' } },
  'lineinfile: insertafter, the line already after the match: nothing': { module: 'lineinfile', before: 'a\n[x]\nk=1\n', args: { insertafter: '^\\[x\\]', line: 'k=1', firstmatch: true } },
  'lineinfile: insertbefore, firstmatch': { module: 'lineinfile', before: SERVICES, args: { insertbefore: '^www.*80/tcp', line: '# http', firstmatch: true } },
  'lineinfile: insertbefore BOF': { module: 'lineinfile', before: SERVICES, args: { insertbefore: 'BOF', line: '# top' } },
  'lineinfile: insertafter BOF is the beginning too': { module: 'lineinfile', before: SERVICES, args: { insertafter: 'BOF', line: '# top' } },
  'lineinfile: insertafter matching nothing: EOF': { module: 'lineinfile', before: SERVICES, args: { insertafter: '^nothing', line: 'x 1/tcp' } },
  'lineinfile: insertbefore matching nothing: EOF': { module: 'lineinfile', before: SERVICES, args: { insertbefore: '^nothing', line: 'x 1/tcp' } },
  'lineinfile: create (docs)': { module: 'lineinfile', before: null, args: { line: '192.168.1.99 foo.lab.net foo', create: true } },
  'lineinfile: missing file without create fails': { module: 'lineinfile', before: null, args: { line: 'x' } },
  'lineinfile: backrefs (docs, JBoss)': { module: 'lineinfile', before: 'a=1\nJAVA_OPTS="-Xms128m -Xmx512m"\n', args: { regexp: '^(.*)Xms(\\d+)m(.*)$', line: '\\1Xms256m\\3', backrefs: true } },
  'lineinfile: backrefs without a match leave the file': { module: 'lineinfile', before: 'a=1\n', args: { regexp: '^(host=).*', line: '\\g<1>h1', backrefs: true } },
  'lineinfile: backrefs \\g<1> (docs)': { module: 'lineinfile', before: 'port=1\nhost=old\n', args: { regexp: '^(host=).*', line: '\\g<1>h1', backrefs: true } },
  'lineinfile: named groups': { module: 'lineinfile', before: 'key = value\n', args: { regexp: '^(?P<k>\\w+)\\s*=\\s*(?P<v>.*)$', line: '\\g<k>=\\g<v>', backrefs: true } },
  'lineinfile: the last of several matches is replaced': { module: 'lineinfile', before: 'x=1\ny=2\nx=3\n', args: { regexp: '^x=', line: 'x=9' } },
  'lineinfile: firstmatch replaces the first': { module: 'lineinfile', before: 'x=1\ny=2\nx=3\n', args: { regexp: '^x=', line: 'x=9', firstmatch: true } },
  'lineinfile: no final newline: one is added before the line': { module: 'lineinfile', before: 'a\nb', args: { line: 'c' } },
  'lineinfile: the line is there: nothing': { module: 'lineinfile', before: 'a\nc\nb\n', args: { line: 'c' } },
  'lineinfile: the line is there, the regexp matches nothing: nothing': { module: 'lineinfile', before: 'a\nY=1\n', args: { regexp: '^X=', line: 'Y=1' } },
  'lineinfile: absent by line removes duplicates': { module: 'lineinfile', before: 'a\nc\nb\nc\n', args: { state: 'absent', line: 'c' } },
  'lineinfile: absent by search_string': { module: 'lineinfile', before: 'a=1\nb=2\n', args: { state: 'absent', search_string: '=2' } },
  'lineinfile: absent, no file': { module: 'lineinfile', before: null, args: { state: 'absent', line: 'c' } },
  "lineinfile: Python's $ matches before the final newline": { module: 'lineinfile', before: 'foo\nbar\n', args: { regexp: '^foo$', line: 'foo=1' } },
  'lineinfile: a CRLF line equal to line is rewritten with \\n': { module: 'lineinfile', before: 'a\r\nb\r\n', args: { line: 'b' } },
  'lineinfile: (?i)': { module: 'lineinfile', before: SELINUX, args: { regexp: '(?i)^selinux=', line: 'SELINUX=disabled' } },
  'lineinfile: an empty regexp matches the last line': { module: 'lineinfile', before: 'a\nb\n', args: { regexp: '', line: 'z' } },
  'lineinfile: . is not a newline, [^#] is': { module: 'lineinfile', before: 'a=1 # c\nb\n', args: { regexp: '^a=[^#]*', line: 'a=2' } },
  'lineinfile: backrefs template escapes': { module: 'lineinfile', before: 'k v\n', args: { regexp: '^(\\w+) (\\w+)$', line: '\\2\\t\\1\\-', backrefs: true } },

  'blockinfile: inserted at EOF (default markers)': { module: 'blockinfile', before: '127.0.0.1 localhost\n', args: { block: '10.0.0.1 cp1\n10.0.0.2 w1\n' } },
  'blockinfile: a block without a final newline': { module: 'blockinfile', before: 'a\n', args: { block: 'x\ny' } },
  'blockinfile: the block updated between its markers': { module: 'blockinfile', before: 'a\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\nz\n', args: { block: 'new\n' } },
  'blockinfile: converged': { module: 'blockinfile', before: 'a\n# BEGIN ANSIBLE MANAGED BLOCK\nnew\n# END ANSIBLE MANAGED BLOCK\n', args: { block: 'new' } },
  'blockinfile: state absent removes it': { module: 'blockinfile', before: 'a\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\nz\n', args: { state: 'absent' } },
  'blockinfile: an empty block removes it': { module: 'blockinfile', before: 'a\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\n', args: { block: '' } },
  'blockinfile: insertafter the last match': { module: 'blockinfile', before: 'a\n[x]\nb\n[x]\nc\n', args: { block: 'k=v', insertafter: '^\\[x\\]' } },
  'blockinfile: insertbefore the last match': { module: 'blockinfile', before: 'a\n[x]\nb\n[x]\nc\n', args: { block: 'k=v', insertbefore: '^\\[x\\]' } },
  'blockinfile: insertbefore BOF': { module: 'blockinfile', before: 'a\n', args: { block: 'k=v', insertbefore: 'BOF' } },
  'blockinfile: insertafter matching nothing: EOF': { module: 'blockinfile', before: 'a\n', args: { block: 'k=v', insertafter: '^nothing' } },
  'blockinfile: custom markers (docs)': { module: 'blockinfile', before: '<html>\n<body>\n</body>\n', args: { marker: '<!-- {mark} ANSIBLE MANAGED BLOCK -->', insertafter: '<body>', block: '<h1>Welcome</h1>', marker_begin: 'start', marker_end: 'stop' } },
  'blockinfile: create': { module: 'blockinfile', before: null, args: { block: 'x', create: true } },
  'blockinfile: missing file without create fails': { module: 'blockinfile', before: null, args: { block: 'x' } },
  'blockinfile: absent, no file (create)': { module: 'blockinfile', before: null, args: { state: 'absent', create: true } },
  'blockinfile: no final newline before the block': { module: 'blockinfile', before: 'a\nb', args: { block: 'x' } },
  'blockinfile: only the begin marker: inserted anew': { module: 'blockinfile', before: 'a\n# BEGIN ANSIBLE MANAGED BLOCK\nb\n', args: { block: 'x' } },
  'blockinfile: (?m) insertafter spans lines': { module: 'blockinfile', before: 'a\n[s]\nk=1\nb\n', args: { block: 'x', insertafter: '(?m)^\\[s\\]\\nk=1$' } },

  'replace: old hostname (docs)': { module: 'replace', before: HOSTS, args: { regexp: '(\\s+)old\\.host\\.name(\\s+.*)?$', replace: '\\1new.host.name\\2' } },
  'replace: after (docs)': { module: 'replace', before: APACHE, args: { after: 'NameVirtualHost [*]', regexp: '^(.+)$', replace: '# \\1' } },
  'replace: before (docs)': { module: 'replace', before: APACHE, args: { before: '# live site config', regexp: '^(.+)$', replace: '# \\1' } },
  'replace: between after and before (docs)': { module: 'replace', before: APACHE, args: { after: '<VirtualHost [*]>', before: '</VirtualHost>', regexp: '^(.+)$', replace: '# \\1' } },
  'replace: remove lines (docs)': { module: 'replace', before: 'a\nold.host.name ssh-rsa x\nb\n', args: { regexp: '^old\\.host\\.name[^\\n]*\\n' } },
  'replace: \\b and \\d (docs)': { module: 'replace', before: '127.0.0.1 localhost localhost2 x\n', args: { regexp: '\\b(localhost)(\\d*)\\b', replace: '\\1\\2.localdomain\\2 \\1\\2' } },
  'replace: \\g<1> (docs)': { module: 'replace', before: 'Port 22\nListenAddress 10.0.0.1\n', args: { regexp: '^(ListenAddress[ ]+)[^\\n]+$', replace: '\\g<1>0.0.0.0' } },
  'replace: named groups and \\n in the replacement (docs)': { module: 'replace', before: 'ListenAddress 10.0.0.1\n', args: { regexp: '^(?P<dctv>ListenAddress[ ]+)(?P<host>[^\\n]+)$', replace: '#\\g<dctv>\\g<host>\\n\\g<dctv>0.0.0.0' } },
  'replace: before alone: up to its last match': { module: 'replace', before: 'b\nX\nb\nX\nb\n', args: { before: 'X', regexp: 'b', replace: 'B' } },
  'replace: after alone: from its first match': { module: 'replace', before: 'b\nX\nb\nX\nb\n', args: { after: 'X', regexp: 'b', replace: 'B' } },
  'replace: no match: nothing': { module: 'replace', before: 'a\n', args: { regexp: '^b', replace: 'c' } },
  'replace: replaced by the same: nothing': { module: 'replace', before: 'a\n', args: { regexp: '^a', replace: 'a' } },
  'replace: after matching nothing': { module: 'replace', before: 'a\n', args: { after: 'nothing', regexp: 'a', replace: 'b' } },
  'replace: missing file fails': { module: 'replace', before: null, args: { regexp: 'a', replace: 'b' } },
  'replace: ^ matches after the final newline too': { module: 'replace', before: 'a\nb\n', args: { regexp: '^', replace: '# ' } },
  'replace: $ at each line': { module: 'replace', before: 'a\nb\n', args: { regexp: '$', replace: ';' } },
  'replace: empty matches beside others': { module: 'replace', before: 'abxd\n', args: { regexp: 'x*', replace: '-' } },
  'replace: an unmatched group is empty': { module: 'replace', before: 'ab\n', args: { regexp: '(a)|b', replace: '[\\1]' } },
};

const EDITS: Record<Module, (args: never, text: string | null) => ReturnType<typeof editLineinfile>> = {
  lineinfile: (args: LineinfileArgs, text) => editLineinfile(args, text),
  blockinfile: (args: BlockinfileArgs, text) => editBlockinfile(args, text),
  replace: (args: ReplaceArgs, text) => editReplace(args, text),
};

interface Oracle {
  changed: boolean;
  failed?: boolean;
  msg: string;
}

const scratch = mkdtempSync(join(tmpdir(), 'tsplay-text-oracle-'));
const names = Object.keys(CASES);
const fileOf = (i: number): string => join(scratch, `f${i}`);
let oracle: Record<string, Oracle> = {};

beforeAll(async () => {
  if (!hasAnsible) return;
  const tasks = names.map((name, i) => {
    const c = CASES[name]!;
    if (c.before !== null) writeFileSync(fileOf(i), c.before);
    return { name: `c${i}`, [c.module]: { ...c.args, path: fileOf(i) }, register: `r${i}`, ignore_errors: true };
  });
  const results = `{{ { ${names.map((_, i) => `'r${i}': r${i}`).join(', ')} } | to_json }}`;
  tasks.push({ name: 'results', copy: { dest: join(scratch, 'results.json'), content: results } } as never);
  writeFileSync(join(scratch, 'site.yml'), JSON.stringify([{ hosts: 'localhost', gather_facts: false, connection: 'local', tasks }]));
  const env = { ...process.env, ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_NOCOLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: 'false', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false', ANSIBLE_PIPELINING: 'true' };
  await run('ansible-playbook', [join(scratch, 'site.yml')], { env, cwd: scratch, maxBuffer: 1 << 24 });
  oracle = JSON.parse(readFileSync(join(scratch, 'results.json'), 'utf8')) as Record<string, Oracle>;
}, 120_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.skipIf(!hasAnsible)('text edits against ansible-playbook', () => {
  names.forEach((name, i) => {
    it(name, () => {
      const c = CASES[name]!;
      const theirs = oracle[`r${i}`]!;
      const ours = EDITS[c.module]({ ...c.args, path: fileOf(i) } as never, c.before);
      if ('message' in ours) {
        expect(theirs.failed, `Ansible did not fail: ${JSON.stringify(theirs)}`).toBe(true);
        expect(ours.message).toBe(theirs.msg);
        return;
      }
      expect(theirs.failed ?? false, `Ansible failed: ${theirs.msg}`).toBe(false);
      const after = existsSync(fileOf(i)) ? readFileSync(fileOf(i), 'utf8') : null;
      expect(ours.after ?? c.before).toBe(after);
      expect({ changed: (ours.after ?? c.before) !== c.before, msg: ours.msg }).toEqual({ changed: theirs.changed, msg: theirs.msg });
    });
  });
});
