/**
 * The engine end to end on the controller (connection: local): roles with meta dependencies,
 * handlers, loops, when, register, block/rescue/always, tags, run_once and --limit.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { changedTasks, hashTree, recap, ROOT, totalChanged, tsplay } from '../helpers/cli.js';

const PLAYBOOK = 'test/fixtures/local/site.yml';
const INVENTORY = 'test/fixtures/local/inventory';
const dirs: string[] = [];
function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tsplay-local-'));
  dirs.push(d);
  return d;
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('local run', () => {
  it('converges, then reports 0 changed on the second run', async () => {
    const dest = freshDir();
    const first = await tsplay([PLAYBOOK, '-i', INVENTORY, '-e', `dest_root=${dest}`]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(totalChanged(first.stdout)).toBeGreaterThan(10);
    const stats = recap(first.stdout);
    expect(Object.keys(stats).sort()).toEqual(['node-a', 'node-b', 'node-c']);
    // The rescued block counts as rescued, not failed.
    expect(stats['node-a']).toMatchObject({ failed: 0, rescued: 1 });

    // Template rendered with group_vars (child over all), host_vars and role defaults.
    const confA = readFileSync(join(dest, 'node-a/etc/node.conf'), 'utf8');
    expect(confA).toContain('role=worker');
    expect(confA).toContain('maxPods=110');
    expect(confA).toContain('port=10256');
    expect(readFileSync(join(dest, 'node-b/etc/node.conf'), 'utf8')).toContain('maxPods=200');
    expect(readFileSync(join(dest, 'node-c/etc/node.conf'), 'utf8')).toContain('role=generic');
    // when: only workers get the marker; the rescue ran and the always section too.
    expect(existsSync(join(dest, 'node-a/etc/worker'))).toBe(true);
    expect(existsSync(join(dest, 'node-c/etc/worker'))).toBe(false);
    expect(existsSync(join(dest, 'node-a/unreached'))).toBe(false);
    expect(readFileSync(join(dest, 'node-a/log/rescue.txt'), 'utf8')).toBe('rescued\n');
    expect(existsSync(join(dest, 'node-a/log/always'))).toBe(true);
    // The handler ran exactly once per host.
    expect(readFileSync(join(dest, 'node-a/log/restarts'), 'utf8')).toBe('restarted\n');
    expect(first.stdout).toContain('run_once said once');

    const before = hashTree(dest);
    const second = await tsplay([PLAYBOOK, '-i', INVENTORY, '-e', `dest_root=${dest}`]);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(totalChanged(second.stdout)).toBe(0);
    expect(hashTree(dest)).toBe(before);
    expect(readFileSync(join(dest, 'node-a/log/restarts'), 'utf8')).toBe('restarted\n');
  });

  it('--check on a fresh dir reports the same changes as the real run and leaves it untouched', async () => {
    const dest = freshDir();
    const before = hashTree(dest);
    const check = await tsplay([PLAYBOOK, '-i', INVENTORY, '-e', `dest_root=${dest}`, '--check', '--diff']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(hashTree(dest)).toBe(before);
    expect(check.stdout).toContain('+ip=10.0.0.11');

    const real = await tsplay([PLAYBOOK, '-i', INVENTORY, '-e', `dest_root=${dest}`]);
    expect(real.code).toBe(0);
    expect(changedTasks(check.stdout)).toEqual(changedTasks(real.stdout));
    expect(totalChanged(check.stdout)).toBe(totalChanged(real.stdout));
  });

  it('--limit, --tags and --skip-tags select hosts and tasks', async () => {
    const dest = freshDir();
    const limited = await tsplay([PLAYBOOK, '-i', INVENTORY, '-e', `dest_root=${dest}`, '-l', 'workers:!node-b']);
    expect(limited.code).toBe(0);
    expect(Object.keys(recap(limited.stdout)).sort()).toEqual(['node-a']);
    expect(existsSync(join(dest, 'node-b'))).toBe(false);

    const tagged = await tsplay([PLAYBOOK, '-i', INVENTORY, '-e', `dest_root=${dest}`, '-l', 'node-a', '-t', 'payload']);
    expect(tagged.code).toBe(0);
    expect(changedTasks(tagged.stdout)).toEqual([]); // payload already there from the limited run
    const skip = await tsplay([PLAYBOOK, '-i', INVENTORY, '-e', `dest_root=${dest}`, '-l', 'node-c', '--skip-tags', 'greet']);
    expect(skip.code).toBe(0);
    expect(existsSync(join(dest, 'node-c/etc/node.conf'))).toBe(true);
    expect(existsSync(join(dest, 'node-c/etc/greeting'))).toBe(false);
  });

  it('a failing host stops only itself, and its notified handler still runs', async () => {
    const dest = freshDir();
    const pb = join(dest, 'pb.yml');
    await import('node:fs').then((fs) =>
      fs.writeFileSync(
        pb,
        `- hosts: all
  tasks:
    - copy: { content: "v1\\n", dest: "${dest}/{{ inventory_hostname }}.conf" }
      notify: reload
    - command: /bin/false
      when: inventory_hostname == "node-b"
    - copy: { content: "after\\n", dest: "${dest}/{{ inventory_hostname }}.after" }
  handlers:
    - name: reload
      shell: echo reloaded > ${dest}/{{ inventory_hostname }}.reloaded
`,
      ),
    );
    const run = await tsplay([pb, '-i', INVENTORY]);
    expect(run.code).toBe(2);
    const stats = recap(run.stdout);
    expect(stats['node-b']!.failed).toBe(1);
    expect(stats['node-a']!.failed).toBe(0);
    expect(existsSync(join(dest, 'node-a.after'))).toBe(true);
    expect(existsSync(join(dest, 'node-b.after'))).toBe(false);
    expect(existsSync(join(dest, 'node-b.reloaded'))).toBe(true);
    expect(run.stdout).toMatch(/FAILED HOSTS\n {2}node-b: \S+\.yml:\d+:\d+: command: non-zero exit 1/);
  });
});

describe('tsplay --version', () => {
  it('prints the package version, with no playbook or -i', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = await tsplay([flag]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe(`tsplay ${version} (node ${process.version})\n`);
      expect(run.stderr).toBe('');
    }
  });
});
