/**
 * The bad-input corpus (test/bad-inputs/, run case by case by test/unit/bad-inputs.test.ts) is at
 * least 60 cases, and holds to what that runner cannot express: `notExpect` (words that must not
 * appear: noise such as "must be a string" next to the real problem) and `once` (a message that
 * must appear exactly once). Also: inputs the checks must NOT refuse, each one a regression of a
 * fix made for a bad input (a loop task's `when` reads its loop variable; quoted modes; serial
 * percentages). Nothing here contacts a host.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tsplay } from '../../helpers/cli.js';

interface Case {
  args: string[];
  exit: number;
  notExpect?: string[];
  once?: string[];
}

const CORPUS = join(ROOT, 'test/bad-inputs');
const names = readdirSync(CORPUS).sort();
const strict = names.filter((n) => {
  const c = JSON.parse(readFileSync(join(CORPUS, n, 'case.json'), 'utf8')) as Case;
  return c.notExpect !== undefined || c.once !== undefined;
});

describe('bad-input corpus, strict checks', () => {
  it('has at least 60 cases', () => {
    expect(names.length).toBeGreaterThanOrEqual(60);
  });
  it.each(strict)('%s', async (name) => {
    const dir = join(CORPUS, name);
    const c = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as Case;
    const run = await tsplay(c.args, { cwd: dir });
    expect(run.code, run.stderr).toBe(c.exit);
    for (const words of c.notExpect ?? []) expect(run.stderr, `unwanted ${JSON.stringify(words)}`).not.toContain(words);
    for (const words of c.once ?? []) expect(run.stderr.split(words).length - 1, `${JSON.stringify(words)} should appear once in:\n${run.stderr}`).toBe(1);
  });
});

describe('good inputs the checks must not refuse', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsplay-faults-good-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const inv = join(dir, 'inv.yml');
  writeFileSync(inv, 'all:\n  hosts:\n    h1:\n      ansible_connection: local\n');
  it.each([
    ['loop task whose when reads the loop variable', '- hosts: all\n  tasks:\n    - debug: { msg: "{{ item }}" }\n      loop: [a, b]\n      when: item == "a"\n'],
    ['loop_var in when', '- hosts: all\n  tasks:\n    - debug: { msg: "{{ unit }}" }\n      loop: [kubelet]\n      loop_control: { loop_var: unit }\n      when: unit != "x"\n'],
    ['quoted modes', "- hosts: all\n  tasks:\n    - file: { path: /tmp/tsplay-good, state: directory, mode: '0755' }\n    - copy: { content: x, dest: /tmp/tsplay-good/x, mode: \"0600\" }\n"],
    ['serial as a count, a percentage, 0% and a list', '- hosts: all\n  serial: 1\n  tasks: []\n- hosts: all\n  serial: "30%"\n  tasks: []\n- hosts: all\n  serial: "0%"\n  tasks: []\n- hosts: all\n  serial: [1, "50%"]\n  tasks: []\n'],
    ['register with a name close to a magic one', '- hosts: all\n  tasks:\n    - command: hostname\n      register: groups_result\n'],
    ['delegate_to the controller or a templated host', '- hosts: all\n  vars: { cp: h1 }\n  tasks:\n    - command: hostname\n      delegate_to: controller\n    - command: hostname\n      delegate_to: "{{ cp }}"\n'],
  ])('%s', async (_what, text) => {
    const pb = join(dir, `pb-${Math.random().toString(36).slice(2)}.yml`);
    writeFileSync(pb, text);
    const run = await tsplay([pb, '-i', inv, '--syntax-check']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });
});
