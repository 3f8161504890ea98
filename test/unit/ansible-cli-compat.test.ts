/**
 * What an Ansible user types on the command line about inventories works as in Ansible: several
 * -i merged in order, -l @file, a pattern name that matches nothing (a warning, or an error with
 * --strict), group_names sorted, and delegate_to: localhost / 127.0.0.1 without an inventory entry.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tsplay } from '../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'tsplay-invcli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function files(entries: Record<string, string>): string {
  const dir = mkdtempSync(join(work, 'p-'));
  for (const [name, text] of Object.entries(entries)) writeFileSync(join(dir, name), text);
  return dir;
}

const LIST = '- hosts: all\n  gather_facts: false\n  tasks: []\n';
const listed = (stdout: string): string[] => stdout.split('\n').filter((l) => /^ {6}\S/.test(l)).map((l) => l.trim()).sort();

describe('inventory options as Ansible users type them', () => {
  it('several -i are merged in order (not the last one only)', async () => {
    const dir = files({ 'pb.yml': LIST, 'a.yml': 'all:\n  hosts:\n    a1:\n    a2:\n', 'b.ini': '[web]\nb1\n' });
    const r = await tsplay(['pb.yml', '-i', 'a.yml', '-i', 'b.ini', '-i', 'c1,c2', '--list-hosts'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(listed(r.stdout)).toEqual(['a1', 'a2', 'b1', 'c1', 'c2']);
  });

  it('-l @file takes one pattern per line', async () => {
    const dir = files({ 'pb.yml': LIST, 'hosts': '[web]\nw[1:4]\n', 'retry.txt': 'w2\nw4\n\n' });
    const r = await tsplay(['pb.yml', '-i', 'hosts', '-l', '@retry.txt', '--list-hosts'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(listed(r.stdout)).toEqual(['w2', 'w4']);
    const missing = await tsplay(['pb.yml', '-i', 'hosts', '-l', '@nope.txt', '--list-hosts'], { cwd: dir });
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain('limit file not found');
  });

  it('an unknown name in a pattern warns and is ignored; --strict makes it an error', async () => {
    const dir = files({ 'pb.yml': '- hosts: web:wbe\n  gather_facts: false\n  tasks: []\n', 'ok.yml': LIST, 'hosts': '[web]\nw1\n' });
    const loose = await tsplay(['pb.yml', '-i', 'hosts', '-l', 'w1,nosuch', '--list-hosts'], { cwd: dir });
    expect(loose.code, loose.stderr).toBe(0);
    expect(listed(loose.stdout)).toEqual(['w1']);
    expect(loose.stderr).toContain("[WARNING]: --limit: host pattern 'nosuch' names no group or host in the inventory");
    expect(loose.stderr).toMatch(/pb\.yml:1:\d+: host pattern 'wbe' names no group or host .* did you mean 'web'/);
    const strict = await tsplay(['pb.yml', '-i', 'hosts', '--strict', '--list-hosts'], { cwd: dir });
    expect(strict.code).toBe(4);
    expect(strict.stderr).toMatch(/pb\.yml:1:\d+: error: host pattern 'wbe' names no group or host/);
    const strictLimit = await tsplay(['ok.yml', '-i', 'hosts', '--strict', '-l', 'w1:nosuch', '--list-hosts'], { cwd: dir });
    expect(strictLimit.code).toBe(5);
    expect(strictLimit.stderr).toContain("error: --limit: host pattern 'nosuch' names no group or host");
    const help = await tsplay(['run', '--help']);
    expect(help.stdout).toMatch(/--strict\s+a host pattern name that matches\s+no\s+group\s+or\s+host\s+is an error[^]*as\s+Ansible\s+does/);
  });

  it('group_names is sorted by name, and delegate_to localhost / 127.0.0.1 runs on the controller without an inventory entry', async () => {
    const log = join(work, 'delegated.log');
    writeFileSync(log, '');
    const dir = files({
      'hosts': '[zeta]\nn1 ansible_connection=local\n[alpha]\nn1\n[Mid]\nn1\n',
      'pb.yml': `- hosts: n1
  gather_facts: false
  tasks:
    - shell: echo "{{#each group_names}}[{{this}}]{{/each}}" >> ${log}
    - shell: echo "via 127.0.0.1" >> ${log}
      delegate_to: 127.0.0.1
    - shell: echo "via localhost" >> ${log}
      delegate_to: localhost
`,
    });
    const r = await tsplay(['pb.yml', '-i', 'hosts'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(["[Mid][alpha][zeta]", 'via 127.0.0.1', 'via localhost']);
  });
});
