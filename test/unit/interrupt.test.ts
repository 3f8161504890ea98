/**
 * Ctrl-C: the first SIGINT lets running tasks finish, starts no new one, runs no handler (unless
 * --force-handlers), prints the recap and exits 99; a second SIGINT aborts at once.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, recap } from '../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'tsplay-int-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const INV = join(ROOT, 'test/fixtures/local/inventory');

function start(args: string[]): { out: () => string; code: Promise<number | null>; signal: (s: NodeJS.Signals) => void; waitFor: (text: string) => Promise<void> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return {
    out: () => out,
    code: new Promise((resolve) => child.on('close', resolve)),
    signal: (s) => child.kill(s),
    waitFor: async (text) => {
      for (let i = 0; i < 300 && !out.includes(text) && !existsSync(text); i++) await new Promise((r) => setTimeout(r, 50));
    },
  };
}

function playbook(dest: string): string {
  const file = join(dest, 'pb.yml');
  writeFileSync(
    file,
    `- hosts: all
  tasks:
    - shell: touch ${dest}/{{ inventory_hostname }}.started; sleep 2; touch ${dest}/{{ inventory_hostname }}.finished
      notify: handler
    - copy: { content: "x", dest: "${dest}/{{ inventory_hostname }}.second" }
  handlers:
    - name: handler
      copy: { content: "h", dest: "${dest}/{{ inventory_hostname }}.handled" }
`,
  );
  return file;
}

describe('Ctrl-C', () => {
  it('first SIGINT: running tasks finish, nothing new starts, no handlers, recap, exit 99', async () => {
    const dest = mkdtempSync(join(work, 'a-'));
    const run = start([playbook(dest), '-i', INV]);
    await run.waitFor(join(dest, 'node-c.started'));
    run.signal('SIGINT');
    expect(await run.code, run.out()).toBe(99);
    for (const h of ['node-a', 'node-b', 'node-c']) {
      expect(existsSync(join(dest, `${h}.finished`))).toBe(true);
      expect(existsSync(join(dest, `${h}.second`))).toBe(false);
      expect(existsSync(join(dest, `${h}.handled`))).toBe(false);
    }
    expect(run.out()).toContain('PLAY RECAP');
    expect(recap(run.out())['node-a']!.changed).toBe(1);
    expect(run.out()).toContain('INTERRUPTED');
  });

  it('with --force-handlers the notified handlers still run', async () => {
    const dest = mkdtempSync(join(work, 'b-'));
    const run = start([playbook(dest), '-i', INV, '--force-handlers']);
    await run.waitFor(join(dest, 'node-c.started'));
    run.signal('SIGINT');
    expect(await run.code).toBe(99);
    expect(existsSync(join(dest, 'node-a.handled'))).toBe(true);
    expect(existsSync(join(dest, 'node-a.second'))).toBe(false);
  });

  it('a second SIGINT aborts at once', async () => {
    const dest = mkdtempSync(join(work, 'c-'));
    const file = join(dest, 'pb.yml');
    writeFileSync(file, `- hosts: all\n  tasks:\n    - shell: touch ${dest}/{{ inventory_hostname }}.started; sleep 30\n`);
    const run = start([file, '-i', INV]);
    await run.waitFor(join(dest, 'node-c.started'));
    const t0 = Date.now();
    run.signal('SIGINT');
    await run.waitFor('press Ctrl-C again');
    run.signal('SIGINT');
    expect(await run.code).toBe(99);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
