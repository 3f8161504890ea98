/**
 * lineinfile, blockinfile and replace on a host: the file read, edited, diffed and written in
 * place, keeping its mode and owner; through a symlink to the file it points at; refusals in
 * Ansible's words. Their edits, case by case against Ansible itself, are
 * test/unit/modules/text-edit-ansible.test.ts; the cases where tsplay deviates on purpose are here.
 */
import { expect } from 'vitest';
import { moduleTable } from '../helpers/module-tester.js';
import { simulatedHost } from '../helpers/sim-host.js';

const SELINUX = 'SELINUX=permissive\nSELINUXTYPE=targeted\n';
const CONF = '/etc/tsplay-text/app.conf';

export const lineinfile = moduleTable('lineinfile', simulatedHost, [
  {
    name: 'regexp: the line replaced in place, mode and owner kept, diffed',
    args: { path: '/etc/selinux/config', regexp: '^SELINUX=', line: 'SELINUX=enforcing' },
    before: { '/etc/selinux/config': { content: SELINUX, mode: '0640', owner: 'kube' } },
    diff: true,
    changes: ['update /etc/selinux/config: line replaced'],
    diffs: [{ path: '/etc/selinux/config', before: SELINUX, after: 'SELINUX=enforcing\nSELINUXTYPE=targeted\n' }],
    after: { '/etc/selinux/config': { content: 'SELINUX=enforcing\nSELINUXTYPE=targeted\n', mode: '0640', owner: 'kube' } },
    result: { msg: 'line replaced', backup: '' },
  },
  { name: 'converged: nothing', args: { path: CONF, regexp: '^port=', line: 'port=80' }, before: { [CONF]: 'a=1\nport=80\n' }, result: { msg: '' } },
  { name: 'the line appended after a last line without a newline', args: { path: CONF, line: 'c=3' }, before: { [CONF]: 'a=1\nb=2' }, changes: [`update ${CONF}: line added`], after: { [CONF]: 'a=1\nb=2\nc=3\n' } },
  // Ansible 2.14 writes 'a=1\nb=2c=3\n' here.
  { name: 'insertafter the last line, which has no newline: a line of its own (Ansible joins them)', args: { path: CONF, insertafter: '^b=', line: 'c=3' }, before: { [CONF]: 'a=1\nb=2' }, changes: [`update ${CONF}: line added`], after: { [CONF]: 'a=1\nb=2\nc=3\n' } },
  {
    name: 'create: the file and its directory, with the mode given',
    args: { path: '/etc/tsplay-new/sub/hosts', line: '192.168.1.99 foo.lab.net foo', create: true, mode: '0600' },
    changes: ['create /etc/tsplay-new/sub/hosts (mode 0600): line added'],
    after: { '/etc/tsplay-new/sub/hosts': { content: '192.168.1.99 foo.lab.net foo\n', mode: '0600', owner: 'root' } },
  },
  { name: 'a missing file without create: refused in Ansible\'s words', args: { path: '/etc/tsplay-none.conf', line: 'x' }, fails: { message: 'Destination /etc/tsplay-none.conf does not exist !', hint: /create: true/ }, after: { '/etc/tsplay-none.conf': null } },
  {
    name: 'the text is right, the mode is not: only chmod',
    args: { path: CONF, line: 'a=1', mode: '0600', owner: 'kube' },
    before: { [CONF]: 'a=1\n' },
    changes: [`${CONF}: mode 0644 -> 0600`, `${CONF}: owner root -> kube`],
    after: { [CONF]: { content: 'a=1\n', mode: '0600', owner: 'kube' } },
    result: { msg: 'ownership, perms or SE linux context changed' },
  },
  { name: 'absent: every matching line removed', args: { path: '/etc/tsplay-sudoers', state: 'absent', regexp: '^%wheel' }, before: { '/etc/tsplay-sudoers': 'root ALL=(ALL) ALL\n%wheel ALL=(ALL) ALL\n%wheel2 x\n' }, changes: ['update /etc/tsplay-sudoers: 2 line(s) removed'], after: { '/etc/tsplay-sudoers': 'root ALL=(ALL) ALL\n' }, result: { found: 2 } },
  { name: 'absent with no file: nothing', args: { path: '/etc/tsplay-none.conf', state: 'absent', line: 'x' }, result: { msg: 'file not present' }, after: { '/etc/tsplay-none.conf': null } },
  {
    name: 'through a symlink: the file it points at is edited, the link stays',
    args: { path: '/etc/tsplay-link.conf', line: 'nameserver 10.96.0.10' },
    before: { '/etc/tsplay-link.conf': { link: '/var/lib/tsplay-text/real.conf' }, '/var/lib/tsplay-text/real.conf': { content: 'search local\n', mode: '0640' } },
    changes: ['update /etc/tsplay-link.conf (-> /var/lib/tsplay-text/real.conf): line added'],
    after: { '/etc/tsplay-link.conf': { type: 'link', link: '/var/lib/tsplay-text/real.conf' }, '/var/lib/tsplay-text/real.conf': { content: 'search local\nnameserver 10.96.0.10\n', mode: '0640' } },
  },
  {
    name: 'backrefs with a Python named group',
    args: { path: CONF, regexp: '^(?P<key>\\w+)\\s*=\\s*(?P<value>.*)$', line: '\\g<key>=\\g<value>', backrefs: true },
    before: { [CONF]: 'key = value\n' },
    changes: [`update ${CONF}: line replaced`],
    after: { [CONF]: 'key=value\n' },
  },
  { name: 'backrefs without a match: the file is left as it is', args: { path: CONF, regexp: '^(host=).*', line: '\\1h1', backrefs: true }, before: { [CONF]: 'a=1\n' }, after: { [CONF]: 'a=1\n' } },
  {
    name: 'backup: the old file kept beside it, its path registered',
    args: { path: '/etc/tsplay-bk/app.conf', line: 'b=2', backup: true },
    before: { '/etc/tsplay-bk/app.conf': 'a=1\n' },
    changes: ['update /etc/tsplay-bk/app.conf: line added'],
    after: { '/etc/tsplay-bk/app.conf': 'a=1\nb=2\n' },
    result: { backup: expect.stringMatching(/^\/etc\/tsplay-bk\/app\.conf\.\d{14}\.bak$/) },
  },
  { name: 'validate refuses the edit: the file is left as it was', args: { path: CONF, regexp: '^SELINUX=', line: 'SELINUX=off', validate: 'grep -q ^SELINUX=enforcing %s' }, before: { [CONF]: 'SELINUX=enforcing\n' }, changes: [/^update/], fails: /^write \/etc\/tsplay-text\/app\.conf failed \(exit 3\): validation failed/, after: { [CONF]: 'SELINUX=enforcing\n' } },
  { name: 'an empty regexp warns, as Ansible does', args: { path: CONF, regexp: '', line: 'z' }, before: { [CONF]: 'a\nb\n' }, changes: [`update ${CONF}: line replaced`], warnings: [/^The regular expression is an empty string/], after: { [CONF]: 'a\nz\n' } },
  { name: 'a directory: refused', args: { path: '/etc/tsplay-dir', line: 'x' }, before: { '/etc/tsplay-dir': { dir: true } }, fails: { message: 'Path /etc/tsplay-dir is a directory !' } },
  { name: 'a binary file: refused, never rewritten', args: { path: '/var/lib/tsplay-blob', line: 'x' }, before: { '/var/lib/tsplay-blob': 'a\u0000b\n' }, fails: { message: '/var/lib/tsplay-blob is not a text file: it holds NUL bytes', hint: /use copy/ }, after: { '/var/lib/tsplay-blob': 'a\u0000b\n' } },
  { name: 'a Python construct JS cannot run: refused, saying how to write it', args: { path: CONF, regexp: '(?i:selinux)=', line: 'x' }, before: { [CONF]: 'a\n' }, fails: { message: /inline flags are supported only at the start of the pattern/, hint: /\(\?i\)\^name=/ } },
  { name: 'a backreference to a group the regexp lacks: refused', args: { path: CONF, regexp: '^(a)=', line: '\\2', backrefs: true }, before: { [CONF]: 'a=1\n' }, fails: { message: /invalid group reference 2 \(the regexp has 1 group\)/ } },
]);

const BLOCK = '# BEGIN ANSIBLE MANAGED BLOCK\n10.0.0.1 cp1\n10.0.0.2 w1\n# END ANSIBLE MANAGED BLOCK\n';

export const blockinfile = moduleTable('blockinfile', simulatedHost, [
  {
    name: 'inserted at the end, between the default markers',
    args: { path: '/etc/tsplay-hosts', block: '10.0.0.1 cp1\n10.0.0.2 w1\n' },
    before: { '/etc/tsplay-hosts': { content: '127.0.0.1 localhost\n', mode: '0604' } },
    diff: true,
    changes: ['update /etc/tsplay-hosts: Block inserted'],
    diffs: [{ before: '127.0.0.1 localhost\n', after: `127.0.0.1 localhost\n${BLOCK}` }],
    after: { '/etc/tsplay-hosts': { content: `127.0.0.1 localhost\n${BLOCK}`, mode: '0604' } },
  },
  { name: 'converged: nothing', args: { path: '/etc/tsplay-hosts', block: '10.0.0.1 cp1\n10.0.0.2 w1' }, before: { '/etc/tsplay-hosts': `a\n${BLOCK}z\n` } },
  {
    name: 'the block between the markers replaced, the rest kept',
    args: { path: '/etc/tsplay-hosts', block: '10.0.0.3 w2' },
    before: { '/etc/tsplay-hosts': `a\n${BLOCK}z\n` },
    changes: ['update /etc/tsplay-hosts: Block inserted'],
    after: { '/etc/tsplay-hosts': 'a\n# BEGIN ANSIBLE MANAGED BLOCK\n10.0.0.3 w2\n# END ANSIBLE MANAGED BLOCK\nz\n' },
  },
  { name: 'state absent: the block and its markers removed', args: { path: '/etc/tsplay-hosts', state: 'absent' }, before: { '/etc/tsplay-hosts': `a\n${BLOCK}z\n` }, changes: ['update /etc/tsplay-hosts: Block removed'], after: { '/etc/tsplay-hosts': 'a\nz\n' } },
  // Ansible 2.14 adds the newline (and says Block removed) on every run.
  { name: 'absent, no block, no final newline: nothing (Ansible adds a newline)', args: { path: '/etc/tsplay-hosts', state: 'absent' }, before: { '/etc/tsplay-hosts': 'a' }, after: { '/etc/tsplay-hosts': 'a' } },
  {
    name: 'custom markers, the file made by create',
    args: { path: '/etc/tsplay-www/index.html', marker: '<!-- {mark} -->', marker_begin: 'start', marker_end: 'stop', block: '<h1>Welcome</h1>', create: true },
    changes: ['create /etc/tsplay-www/index.html: File created'],
    after: { '/etc/tsplay-www/index.html': '<!-- start -->\n<h1>Welcome</h1>\n<!-- stop -->\n' },
  },
  { name: 'a missing file without create: refused', args: { path: '/etc/tsplay-none.conf', block: 'x' }, fails: 'Path /etc/tsplay-none.conf does not exist !' },
  { name: 'backup: its path registered as backup_file', args: { path: '/etc/tsplay-bk/hosts', block: 'x', backup: true }, before: { '/etc/tsplay-bk/hosts': 'a\n' }, changes: [/^update/], result: { backup_file: expect.stringMatching(/^\/etc\/tsplay-bk\/hosts\.\d{14}\.bak$/) } },
]);

export const replace = moduleTable('replace', simulatedHost, [
  {
    name: 'every match replaced, with \\g<1> (docs)',
    args: { path: '/etc/tsplay-sshd', regexp: '^(ListenAddress[ ]+)[^\\n]+$', replace: '\\g<1>0.0.0.0' },
    before: { '/etc/tsplay-sshd': { content: 'Port 22\nListenAddress 10.0.0.1\nListenAddress 10.0.0.2\n', mode: '0600' } },
    diff: true,
    changes: ['update /etc/tsplay-sshd: 2 replacements made'],
    diffs: [{ path: '/etc/tsplay-sshd', before: 'Port 22\nListenAddress 10.0.0.1\nListenAddress 10.0.0.2\n', after: 'Port 22\nListenAddress 0.0.0.0\nListenAddress 0.0.0.0\n' }],
    after: { '/etc/tsplay-sshd': { content: 'Port 22\nListenAddress 0.0.0.0\nListenAddress 0.0.0.0\n', mode: '0600' } },
    result: { msg: '2 replacements made', rc: 0 },
  },
  {
    name: 'only between after and before (as the docs, the lines not commented yet)',
    args: { path: CONF, after: '<VirtualHost [*]>', before: '</VirtualHost>', regexp: '^([^#\\n].*)$', replace: '# \\1' },
    before: { [CONF]: 'Listen 80\n<VirtualHost *>\nServerName a\n</VirtualHost>\nInclude x\n' },
    changes: [`update ${CONF}: 1 replacements made`],
    after: { [CONF]: 'Listen 80\n<VirtualHost *>\n# ServerName a\n</VirtualHost>\nInclude x\n' },
  },
  { name: 'no match: nothing', args: { path: CONF, regexp: '^nothing', replace: 'x' }, before: { [CONF]: 'a\n' }, result: { msg: '' } },
  { name: 'after matching nothing: nothing, saying so', args: { path: CONF, after: 'nothing', regexp: 'a', replace: 'b' }, before: { [CONF]: 'a\n' }, result: { msg: 'Pattern for before/after params did not match the given file: nothing(?P<subsection>.*)' } },
  { name: 'a missing file: refused', args: { path: '/etc/tsplay-none.conf', regexp: 'a' }, fails: 'Path /etc/tsplay-none.conf does not exist !' },
  { name: 'a Python escape JS would read as a letter: refused', args: { path: CONF, regexp: 'a\\e', replace: 'b' }, before: { [CONF]: 'a\n' }, fails: { message: 'regexp "a\\\\e": bad escape \\e (Python refuses it too)' } },
]);
