/**
 * `tsplay migrate SRC DEST` on whole projects (the built CLI). A project that converts whole
 * (test/fixtures/migrate/converge, written for these tests) loads, and its run writes the files
 * ansible-playbook writes from the original, byte for byte; a second run changes nothing. A
 * project with what has no exact form gets each construct listed at its place, kept as written,
 * and DEST's --syntax-check fails only there. DEST is never a directory with files in it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { hashTree, recap, ROOT, totalChanged, tsplay } from '../helpers/cli.js';

const run = promisify(execFile);
const hasAnsible = await run('ansible-playbook', ['--version']).then(
  () => true,
  () => false,
);
const CONVERGE = join(ROOT, 'test/fixtures/migrate/converge');
const scratch = mkdtempSync(join(tmpdir(), 'tsplay-migrate-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function project(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

describe('tsplay migrate', () => {
  it('--help shows an example and the exit codes', async () => {
    const help = await tsplay(['migrate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Example:\n\s+tsplay migrate \S+ \S+/);
    expect(help.stdout).toMatch(/Exit: 0 all converted, 3 some constructs left as written/);
  });

  it('converts a whole project: it loads, and keeps every line without Jinja as it was', async () => {
    const dest = join(scratch, 'converged');
    const m = await tsplay(['migrate', CONVERGE, dest]);
    expect(m.code, m.stdout + m.stderr).toBe(0);
    expect(m.stdout).toMatch(/(\d+) of \1 lines with Jinja converted \(100%\); 0 constructs left as written/);
    expect(existsSync(join(dest, 'roles/app/templates/app.conf.hbs'))).toBe(true);
    expect(existsSync(join(dest, 'roles/app/templates/app.conf.j2'))).toBe(false);
    const tasks = readFileSync(join(dest, 'roles/app/tasks/main.yml'), 'utf8');
    expect(tasks).toContain('src: app.conf.hbs');
    expect(tasks).toContain('when: bool(app_debug)');
    const site = readFileSync(join(dest, 'site.yml'), 'utf8');
    expect(site).toContain('loop: "{{ app_features }}"');
    expect(site).toContain(`when: has(vars.node_role) && node_role == 'worker'`);
    // Comments, blank lines and every line without Jinja are as written.
    const before = readFileSync(join(CONVERGE, 'site.yml'), 'utf8').split('\n');
    const after = site.split('\n');
    expect(after.length).toBe(before.length);
    before.forEach((line, i) => {
      if (!/\{\{|when:|with_|that:|^\s+- (app_|not)/.test(line)) expect(after[i]).toBe(line);
    });
    const check = await tsplay(['site.yml', '-i', 'hosts.yml', '--syntax-check'], { cwd: dest });
    expect(check.code, check.stderr).toBe(0);
  });

  it.skipIf(!hasAnsible)('the converted project writes what ansible-playbook writes from the original (skipped only without ansible-core)', async () => {
    const theirs = join(scratch, 'by-ansible', 'out');
    const ours = join(scratch, 'by-tsplay', 'out');
    mkdirSync(theirs, { recursive: true });
    mkdirSync(ours, { recursive: true });
    const env = { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCALHOST_WARNING: 'false' };
    await run('ansible-playbook', ['-i', 'hosts.yml', 'site.yml', '-e', `out=${theirs}`], { cwd: CONVERGE, env });
    const dest = join(scratch, 'converged-run');
    expect((await tsplay(['migrate', CONVERGE, dest])).code).toBe(0);
    const first = await tsplay(['site.yml', '-i', 'hosts.yml', '-e', `out=${ours}`], { cwd: dest });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(recap(first.stdout)['node-a']).toMatchObject({ failed: 0, skipped: 2 });
    const files = (root: string): Record<string, string> => {
      const out: Record<string, string> = {};
      for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
        const path = join(e.parentPath, e.name);
        out[relative(root, path)] = e.isFile() ? readFileSync(path, 'utf8') : '(directory)';
      }
      return out;
    };
    expect(files(ours)).toEqual(files(theirs));
    const again = await tsplay(['site.yml', '-i', 'hosts.yml', '-e', `out=${ours}`], { cwd: dest });
    expect(totalChanged(again.stdout), again.stdout).toBe(2); // the shell tasks (features) run each time, in Ansible too
  });

  it('lists what it leaves as written at its place, and DEST fails --syntax-check only there', async () => {
    const src = project('left', {
      'site.yml': `- hosts: all
  gather_facts: false
  tasks:
    - name: Split
      debug: { msg: "{{ words.split(',') | first }}" }
    - name: Nested
      debug: { msg: "{{ item }}" }
      with_nested: [[1, 2], [3]]
    - name: Fine
      debug: { msg: "{{ words | upper }}" }
      when: words is defined and words | length > 0
    - name: Chained
      debug: { msg: hi }
      when: 1 < n < 5
`,
      'hosts.yml': 'all:\n  hosts:\n    h1: { ansible_connection: local }\n  vars:\n    words: "a,b"\n    n: 3\n',
      'group_vars/all.yml': "merged: \"{{ a | combine(b) }}\"\nplain: \"{{ words | default('x') }}\"\n",
      'templates/t.j2': '{% set x = 1 %}\nvalue={{ x }}\n',
    });
    const dest = join(scratch, 'left-out');
    const m = await tsplay(['migrate', src, dest]);
    expect(m.code, m.stderr).toBe(3);
    const listed = m.stdout.split('\n').filter((l) => l.includes(': left as written: '));
    expect(listed.map((l) => l.replace(/: left as written: .*/, ''))).toEqual(['group_vars/all.yml:1:13', 'site.yml:5:25', 'site.yml:8:7', 'site.yml:14:13', 'templates/t.j2:1:1']);
    expect(listed.join('\n')).toMatch(/combine.*\n.*'\| first'.*\n.*with_nested has no tsplay form.*\n.*chained comparison.*\n.*\{% set %\}/);
    expect(m.stdout).toMatch(/5 constructs left as written/);
    // Kept as written; the rest converted around them.
    expect(readFileSync(join(dest, 'group_vars/all.yml'), 'utf8')).toBe('merged: "{{ a | combine(b) }}"\nplain: "{{ default words \\"x\\" }}"\n');
    const check = await tsplay(['site.yml', '-i', 'hosts.yml', '--syntax-check'], { cwd: dest });
    expect(check.code).toBe(4);
    const lines = [...check.stderr.matchAll(/\/site\.yml:(\d+):\d+: error/g)].map((x) => Number(x[1]));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect([5, 8, 14]).toContain(line);
  });

  it('says gather_facts where Ansible gathers by default; with_* as loop; a template src renamed', async () => {
    const play = `# gathers facts in Ansible
- name: p
  hosts: all
  tasks:
    - template: src=motd.j2 dest=/etc/motd
    - template: { src: a.conf.j2, dest: /etc/a.conf }
    - debug: { msg: "{{ item }}" }
      with_items: [a, b]
    - debug: { msg: "{{ item }}" }
      with_items: "{{ names }}"
    - debug: { msg: "{{ item }}" }
      with_sequence: start=1 end=3
`;
    const src = project('rewrites', { 'site.yml': play, 'templates/motd.j2': 'hi\n', 'templates/a.conf.j2': 'a\n' });
    const dest = join(scratch, 'rewrites-out');
    expect((await tsplay(['migrate', src, dest])).code).toBe(0);
    expect(readFileSync(join(dest, 'site.yml'), 'utf8')).toBe(`# gathers facts in Ansible
- name: p
  gather_facts: true
  hosts: all
  tasks:
    - template: src=motd.hbs dest=/etc/motd
    - template: { src: a.conf.hbs, dest: /etc/a.conf }
    - debug: { msg: "{{ item }}" }
      loop: [a, b]
    - debug: { msg: "{{ item }}" }
      with_items: "{{ names }}"
    - debug: { msg: "{{ item }}" }
      loop: ["1", "2", "3"]
`);
    const explicit = project('explicit', { 'site.yml': play.replace(/\n {4}- template.*$/gm, ''), 'ansible.cfg': '[defaults]\ngathering = explicit\n' });
    const out = join(scratch, 'explicit-out');
    await tsplay(['migrate', explicit, out]);
    expect(readFileSync(join(out, 'site.yml'), 'utf8')).not.toContain('gather_facts');
  });

  it('never writes into a directory that has files, nor inside SRC', async () => {
    const src = project('small', { 'site.yml': '- hosts: all\n  gather_facts: false\n  tasks: []\n' });
    const full = join(scratch, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'keep.txt'), 'mine\n');
    const before = hashTree(full);
    const refused = await tsplay(['migrate', src, full]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/exists and is not an empty directory[\s\S]*hint: tsplay migrate never overwrites files/);
    expect(hashTree(full)).toBe(before);
    expect((await tsplay(['migrate', src, join(src, 'inner')])).stderr).toMatch(/inside SRC/);
    expect((await tsplay(['migrate', join(scratch, 'missing'), join(scratch, 'x')])).code).toBe(1);
    const empty = join(scratch, 'empty');
    mkdirSync(empty);
    expect((await tsplay(['migrate', src, empty])).code).toBe(0);
    expect(readFileSync(join(empty, 'site.yml'), 'utf8')).toBe('- hosts: all\n  gather_facts: false\n  tasks: []\n');
    expect(readdirSync(scratch).filter((f) => f.includes('tsplay-migrate'))).toEqual([]);
  });
});
