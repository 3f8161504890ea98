/**
 * What a host printed is data: a registered result, a set_fact made from it, and gathered facts are
 * read as they are, never rendered again as templates. include_vars values are templates (as in
 * Ansible), read lazily when used.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tsplay } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tsplay-registered-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('registered results are data', () => {
  it('a stdout holding {{ }} is shown as printed, through register, set_fact and a template', async () => {
    writeFileSync(join(dir, 'hosts.yml'), 'all:\n  hosts:\n    node-a: { ansible_connection: local }\n');
    writeFileSync(join(dir, 'later.yml'), 'later_greeting: "hello {{ inventory_hostname }}"\n');
    writeFileSync(
      join(dir, 'play.yml'),
      [
        '- hosts: all',
        '  gather_facts: false',
        '  vars: { target: "ENGINE-RENDERED" }',
        '  tasks:',
        // printf makes the braces, so the task's own text holds no template.
        "    - command: printf '\\173\\173 target }}'",
        '      register: printed',
        '    - debug: { msg: "stdout=[{{ printed.stdout }}]" }',
        '    - set_fact: { kept: "{{ printed.stdout }}" }',
        '    - debug: { msg: "kept=[{{ kept }}]" }',
        '    - include_vars: later.yml',
        '    - debug: { msg: "{{ later_greeting }}" }',
      ].join('\n') + '\n',
    );
    const r = await tsplay([join(dir, 'play.yml'), '-i', join(dir, 'hosts.yml')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('stdout=[{{ target }}]');
    expect(r.stdout).toContain('kept=[{{ target }}]');
    expect(r.stdout).not.toContain('ENGINE-RENDERED');
    // include_vars: still a template, rendered when read.
    expect(r.stdout).toContain('hello node-a');
  });

  it('ansible_env is the environment tasks run with; a secret-named variable in it is masked', async () => {
    writeFileSync(join(dir, 'env.yml'), ['- hosts: all', '  gather_facts: true', '  tasks:', '    - debug: { msg: "home=[{{ ansible_env.HOME }}]" }', '    - debug: { var: ansible_env }'].join('\n') + '\n');
    const r = await tsplay([join(dir, 'env.yml'), '-i', join(dir, 'hosts.yml')], { env: { HOME: '/home/envtest', DEPLOY_TOKEN: 'tok-9f3e1b7c55' } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('home=[/home/envtest]');
    expect(r.stdout).toContain('DEPLOY_TOKEN');
    expect(r.stdout + r.stderr).not.toContain('tok-9f3e1b7c55');
  });
});
