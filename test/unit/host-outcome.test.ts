/**
 * Wrong results found in review (issue 17), each run end to end on the controller
 * (connection: local): the exit code, the recap and the report must agree with what happened.
 */
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recap, ROOT, tsplay, type CliRun } from '../helpers/cli.js';

const INV = join(ROOT, 'test/fixtures/local/inventory');
const work = mkdtempSync(join(tmpdir(), 'tsplay-outcome-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Project {
  dir: string;
  run: (...args: string[]) => Promise<CliRun>;
}

/** A playbook (and optional role files) in a fresh directory; DIR in any text is that directory. */
function project(playbook: string, files: Record<string, string> = {}): Project {
  const dir = mkdtempSync(join(work, 'p-'));
  for (const [rel, text] of Object.entries({ 'pb.yml': playbook, ...files })) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text.replaceAll('DIR', dir));
  }
  return { dir, run: (...args) => tsplay([join(dir, 'pb.yml'), '-i', INV, ...args]) };
}

describe('host outcome', () => {
  it('a block whose when fails at run time fails the host: counted, exit 2, report says so', async () => {
    const p = project(`- hosts: node-a
  vars: { cfg: "not a map" }
  tasks:
    - block:
        - shell: touch DIR/inside
      when: cfg.enabled
    - shell: touch DIR/after
`);
    const report = join(p.dir, 'report.json');
    const r = await p.run('--report', report);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(recap(r.stdout)['node-a']).toMatchObject({ failed: 1 });
    expect(() => lstatSync(join(p.dir, 'after'))).toThrow(); // the failed host runs nothing more
    const json = JSON.parse(readFileSync(report, 'utf8')) as { exitCode: number; hosts: Record<string, { failed: number; firstError?: string }> };
    expect(json.exitCode).toBe(2);
    expect(json.hosts['node-a']!.failed).toBe(1);
    // Where it failed, as a load error would say it: file:line:col of the block.
    expect(json.hosts['node-a']!.firstError).toContain(`${join(p.dir, 'pb.yml')}:4:7`);
  });

  it('a run-time task failure names the task file:line:col', async () => {
    const p = project(`- hosts: node-a
  tasks:
    - name: fails
      shell: exit 3
`);
    const r = await p.run();
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`${join(p.dir, 'pb.yml')}:3:7`);
  });

  it("ansible.builtin.set_fact and ansible.builtin.debug act as set_fact and debug", async () => {
    const p = project(`- hosts: node-a
  tasks:
    - ansible.builtin.set_fact: { greeting: "hello from set_fact" }
    - ansible.builtin.debug: { msg: "said {{ greeting }}" }
`);
    const r = await p.run();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('said hello from set_fact');
  });

  it('assert: msg is the failure message (an alias of fail_msg); quiet hides the success message', async () => {
    const p = project(`- hosts: node-a
  tasks:
    - assert: { that: ['1 == 1'], success_msg: "loud success" }
    - assert: { that: ['1 == 1'], success_msg: "quiet success", quiet: true }
      register: quiet_one
    - debug: { msg: "registered {{ quiet_one.msg }}" }
    - assert: { that: ['1 == 2'], msg: "the custom failure message" }
`);
    const r = await p.run();
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/ok: \[node-a\] assert\n\s+loud success\n/);
    expect(r.stdout).toMatch(/ok: \[node-a\] assert\n\S+ ok: \[node-a\] debug\n\s+registered quiet success\n/);
    expect(r.stdout).toContain('the custom failure message');
  });

  it("file state: link with group fixes the link's group and reports the change", async () => {
    const p = project(`- hosts: node-a
  tasks:
    - file: { path: DIR/link, src: DIR/target, state: link, owner: root, group: nogroup }
`);
    writeFileSync(join(p.dir, 'target'), 'x');
    symlinkSync(join(p.dir, 'target'), join(p.dir, 'link'));
    expect(lstatSync(join(p.dir, 'link')).gid).toBe(0);
    const first = await p.run();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(recap(first.stdout)['node-a']).toMatchObject({ changed: 1 });
    expect(lstatSync(join(p.dir, 'link')).gid).toBe(65534);
    const second = await p.run();
    expect(recap(second.stdout)['node-a']).toMatchObject({ changed: 0 });
  });
});
