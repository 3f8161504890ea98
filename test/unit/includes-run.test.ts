/**
 * What only tsplay decides about includes at run time (Ansible has no load-time check to compare
 * with): a file whose name is known only per host is validated when the host reaches it, and its
 * problems are that include's failure with the file's own places; an include that includes itself
 * stops when its when does, or at a depth limit; delegate_to: localhost is the controller when the
 * inventory has no such host.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recap, tsplay } from '../helpers/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'tsplay-includes-run-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function project(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

describe('includes at run time', () => {
  it("a templated include's file is validated when a host reaches it; its problems fail that include, with the file's places", async () => {
    const dir = project('templated-bad', {
      'inv.ini': 'good ansible_connection=local which=fine\nbad ansible_connection=local which=broken\n',
      'site.yml': `- hosts: all
  tasks:
    - include_tasks: "{{ which }}.yml"
    - debug: { msg: "after {{ inventory_hostname }}" }
    - include_tasks: "{{ which }}.yml"
      ignore_errors: true
`,
      'fine.yml': '- debug: { msg: "fine on {{ inventory_hostname }}" }\n',
      'broken.yml': '- debug: { msg: ok }\n- name: typo\n  cpoy: { content: x, dest: /tmp/x }\n',
    });
    const run = await tsplay(['site.yml', '-i', 'inv.ini'], { cwd: dir });
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout).toContain('fine on good');
    expect(run.stdout).toContain('after good');
    expect(run.stdout).not.toContain('after bad');
    expect(run.stdout).toContain(`${join(dir, 'broken.yml')}:3:3: error: unknown module or keyword 'cpoy'`);
    expect(recap(run.stdout).bad).toMatchObject({ failed: 1, ok: 0 });
    // The good host includes fine.yml twice (each counts once, as Ansible counts included files).
    expect(recap(run.stdout).good).toMatchObject({ failed: 0, ok: 5 });
  });

  it('an include that includes itself runs until its when stops it', async () => {
    const dir = project('recursion', {
      'inv.ini': 'localhost ansible_connection=local\n',
      'site.yml': `- hosts: all
  vars: { n: "0" }
  tasks:
    - include_tasks: count.yml
`,
      'count.yml': `- shell: echo $(( {{ n }} + 1 ))
  register: next
  changed_when: false
- set_fact: { n: "{{ next.stdout }}" }
- include_tasks: count.yml
  when: n != "3"
- debug: { msg: "unwinding at {{ n }}" }
`,
    });
    const run = await tsplay(['site.yml', '-i', 'inv.ini'], { cwd: dir });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout.match(/unwinding at 3/g)).toHaveLength(3);
    expect(recap(run.stdout).localhost).toMatchObject({ skipped: 1, failed: 0 });
  });

  it('an include that never stops including itself fails at the depth limit', async () => {
    const dir = project('endless', {
      'inv.ini': 'localhost ansible_connection=local\n',
      'site.yml': '- hosts: all\n  tasks:\n    - include_tasks: again.yml\n',
      'again.yml': '- include_tasks: again.yml\n',
    });
    const run = await tsplay(['site.yml', '-i', 'inv.ini'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('includes nested 64 deep');
  });

  it('delegate_to: localhost runs on the controller when the inventory has no localhost', async () => {
    const marker = join(scratch, 'delegated');
    const dir = project('delegate', {
      // A host nothing listens for: only a task that never connects to it can succeed.
      'inv.ini': 'far ansible_host=127.0.0.1 ansible_port=1 ansible_user=nobody\n',
      'site.yml': `- hosts: all
  tasks:
    - shell: echo "for {{ inventory_hostname }}" > ${marker}
      delegate_to: localhost
`,
    });
    const run = await tsplay(['site.yml', '-i', 'inv.ini'], { cwd: dir });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(readFileSync(marker, 'utf8')).toBe('for far\n');
  });
});
