/**
 * Scheduling keywords on the controller: serial batches, linear vs free, any_errors_fatal,
 * max_fail_percentage, run_once sharing, delegate_to controller.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, recap, tsplay } from '../helpers/cli.js';

const INV = join(ROOT, 'test/fixtures/local/inventory');
const work = mkdtempSync(join(tmpdir(), 'tsplay-sched-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function run(play: string, ...args: string[]): Promise<{ code: number | null; log: string[]; stdout: string }> {
  const dir = mkdtempSync(join(work, 'p-'));
  const file = join(dir, 'pb.yml');
  writeFileSync(file, play.replaceAll('LOG', join(dir, 'log')));
  writeFileSync(join(dir, 'log'), '');
  const r = await tsplay([file, '-i', INV, ...args]);
  return { code: r.code, stdout: r.stdout, log: readFileSync(join(dir, 'log'), 'utf8').trim().split('\n').filter(Boolean) };
}

const twoSteps = (head: string): string => `- hosts: all
${head}
  tasks:
    - shell: echo "{{ inventory_hostname }} one" >> LOG
    - shell: echo "{{ inventory_hostname }} two" >> LOG
`;

describe('scheduling', () => {
  it('serial: 1 runs the whole play host by host', async () => {
    const r = await run(twoSteps('  serial: 1'));
    expect(r.code).toBe(0);
    expect(r.log).toEqual(['node-a one', 'node-a two', 'node-b one', 'node-b two', 'node-c one', 'node-c two']);
  });

  it('serial as a list ([1, "50%"]) makes batches of 1 then the rest', async () => {
    const r = await run(twoSteps('  serial: [1, "100%"]'));
    expect(r.log.slice(0, 2)).toEqual(['node-a one', 'node-a two']);
    expect(r.log.slice(2, 4).every((l) => l.endsWith(' one'))).toBe(true);
  });

  it('linear: every host finishes a task before any starts the next', async () => {
    const r = await run(twoSteps('  strategy: linear'));
    expect(r.log.slice(0, 3).every((l) => l.endsWith(' one'))).toBe(true);
    expect(r.log.slice(3).every((l) => l.endsWith(' two'))).toBe(true);
  });

  it('free: a host does not wait for a slow one', async () => {
    const free = await run(`- hosts: all
  strategy: free
  tasks:
    - shell: 'if [ {{ inventory_hostname }} = node-a ]; then sleep 1.5; fi; echo "{{ inventory_hostname }} one" >> LOG'
    - shell: echo "{{ inventory_hostname }} two" >> LOG
`);
    expect(free.code).toBe(0);
    expect(free.log.indexOf('node-b two')).toBeLessThan(free.log.indexOf('node-a one'));
  });

  it('any_errors_fatal stops every host after one fails', async () => {
    const r = await run(`- hosts: all
  any_errors_fatal: true
  tasks:
    - command: /bin/false
      when: inventory_hostname == "node-b"
    - shell: echo "{{ inventory_hostname }} after" >> LOG
`);
    expect(r.code).toBe(2);
    expect(r.log).toEqual([]);
  });

  it('max_fail_percentage stops the play when too many hosts failed', async () => {
    const r = await run(`- hosts: all
  max_fail_percentage: 50
  tasks:
    - command: /bin/false
      when: inventory_hostname != "node-a"
    - shell: echo "{{ inventory_hostname }} after" >> LOG
`);
    expect(r.code).toBe(2);
    expect(r.log).toEqual([]);
    const ok = await run(`- hosts: all
  max_fail_percentage: 50
  tasks:
    - command: /bin/false
      when: inventory_hostname == "node-b"
    - shell: echo "{{ inventory_hostname }} after" >> LOG
`);
    expect(ok.log.sort()).toEqual(['node-a after', 'node-c after']);
  });

  it('run_once runs on one host and shares its registered result; delegate_to controller', async () => {
    const r = await run(`- hosts: all
  tasks:
    - shell: echo "{{ inventory_hostname }} once" >> LOG; echo from-{{ inventory_hostname }}
      run_once: true
      register: once
    - shell: echo "{{ inventory_hostname }} saw {{ once.stdout }}" >> LOG
      delegate_to: controller
`);
    expect(r.code).toBe(0);
    expect(r.log.filter((l) => l.endsWith(' once'))).toEqual(['node-a once']);
    expect(r.log.filter((l) => l.includes(' saw ')).sort()).toEqual(['node-a saw from-node-a', 'node-b saw from-node-a', 'node-c saw from-node-a']);
    // Every host of the batch shares (and counts) the run_once result; merged shard reports rely
    // on that (only the shard that runs it differs from one run otherwise).
    expect(recap(r.stdout)['node-b']!.changed).toBe(2);
  });

  it('-e k=v strings are coerced to the argument types modules declare (as Ansible does)', async () => {
    const r = await run(`- hosts: node-a
  tasks:
    - shell: echo "{{ inventory_hostname }} {{ n }}" >> LOG
      retries: 0
    - assert: { that: ['true'] }
    - file: { path: LOG, state: file, recurse: "{{ flag }}" }
`, '-e', 'n=60', '-e', 'flag=false');
    expect(r.code, r.stdout).toBe(0);
    expect(r.log).toEqual(['node-a 60']);
  });
});
