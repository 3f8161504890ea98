/**
 * copy/template to a dest that someone else controls, on the controller (connection: local, run
 * as root like become: true on a host): a symlink at dest is replaced by a regular file, never
 * written through, and lends neither owner nor mode; its target's name cannot fake the probe;
 * secret files belong to the writer unless the task names an owner; odd dest names work.
 * test/integration/modules/copy-dest.test.ts does the same on a real host over SSH.
 */
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recap, tsplay, type CliRun } from '../../helpers/cli.js';

const ATTACKER = 4242;
const SECRET = 'private-key-material\n';
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
let dir: string;
const isRoot = process.getuid?.() === 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsplay-copy-dest-'));
  writeFileSync(join(dir, 'inv.yml'), 'all:\n  hosts:\n    h1:\n      ansible_connection: local\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function play(tasks: string, vars: Record<string, string>, flags: string[] = []): Promise<CliRun & { changed: number; failed: number }> {
  const pb = join(dir, 'pb.yml');
  writeFileSync(pb, `- hosts: all\n  tasks:\n${tasks.replace(/^(?=.)/gm, '    ')}\n`);
  writeFileSync(join(dir, 'vars.json'), JSON.stringify(vars));
  const res = await tsplay([pb, '-i', join(dir, 'inv.yml'), '-e', `@${join(dir, 'vars.json')}`, ...flags]);
  const stats = recap(res.stdout).h1 ?? {};
  return { ...res, changed: stats.changed ?? -1, failed: stats.failed ?? -1 };
}

/** A file the attacker owns, world-writable, and a link to it where the task writes. */
function plantLink(name: string, target = join(dir, `${name}.victim`)): { dest: string; victim: string } {
  writeFileSync(target, 'the attacker chose this file\n');
  chmodSync(target, 0o666);
  chownSync(target, ATTACKER, ATTACKER);
  const dest = join(dir, name);
  symlinkSync(target, dest);
  return { dest, victim: target };
}

describe.runIf(isRoot)('copy to a dest someone else controls', () => {
  it('a secret copied to a symlink: --check reports the replacement, the run replaces the link with a root-owned 0600 file', async () => {
    const { dest, victim } = plantLink('secret.key');
    const task = `- copy: { content: "{{ secret }}", dest: "{{ dest }}", secret: true }\n`;
    const check = await play(task, { dest, secret: SECRET }, ['--check']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.changed).toBe(1);
    expect(check.stdout).toContain(`replace symlink ${dest} (-> ${JSON.stringify(victim)}) with a regular file (${SECRET.length} bytes, mode 0600)`);
    expect(lstatSync(dest).isSymbolicLink()).toBe(true);

    const run = await play(task, { dest, secret: SECRET });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.changed).toBe(1);
    const st = lstatSync(dest);
    expect(st.isFile()).toBe(true);
    expect({ uid: st.uid, gid: st.gid, mode: (st.mode & 0o7777).toString(8) }).toEqual({ uid: 0, gid: 0, mode: '600' });
    expect(readFileSync(dest, 'utf8')).toBe(SECRET);
    // The link's target was not written, nor its owner or mode changed.
    const v = statSync(victim);
    expect({ uid: v.uid, mode: (v.mode & 0o7777).toString(8), text: readFileSync(victim, 'utf8') }).toEqual({ uid: ATTACKER, mode: '666', text: 'the attacker chose this file\n' });

    const again = await play(task, { dest, secret: SECRET });
    expect(again.changed, again.stdout).toBe(0);
  });

  it('a link target named "...\\nsha:<hash>" or "...\\nsha <hash>" of the content does not make the probe say ok', async () => {
    const content = 'kubelet config\n';
    for (const [i, fake] of [`\nsha:${sha(content)}`, `\nsha ${sha(content)}`, `\nsha ${sha(content)}\ncontent ${Buffer.from(content).toString('base64')}`].entries()) {
      const target = join(dir, `t${i}${fake}`);
      const { dest } = plantLink(`conf${i}`, target);
      const task = `- copy: { content: "{{ content }}", dest: "{{ dest }}", mode: "0644" }\n`;
      const check = await play(task, { dest, content }, ['--check']);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(check.changed, check.stdout).toBe(1);
      expect(check.stdout).toContain(`replace symlink ${dest}`);
      const run = await play(task, { dest, content });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(lstatSync(dest).isFile()).toBe(true);
      expect(readFileSync(dest, 'utf8')).toBe(content);
      expect(readFileSync(target, 'utf8')).toBe('the attacker chose this file\n');
    }
  });

  it('template to a symlink replaces the link too', async () => {
    const { dest, victim } = plantLink('rendered.conf');
    writeFileSync(join(dir, 'node.conf.hbs'), 'node={{ inventory_hostname }}\n');
    const run = await play(`- template: { src: ${join(dir, 'node.conf.hbs')}, dest: "{{ dest }}" }\n`, { dest });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const st = lstatSync(dest);
    expect({ file: st.isFile(), uid: st.uid, mode: (st.mode & 0o7777).toString(8) }).toEqual({ file: true, uid: 0, mode: '644' });
    expect(readFileSync(dest, 'utf8')).toBe('node=h1\n');
    expect(statSync(victim).uid).toBe(ATTACKER);
  });

  it('a regular file owned by someone else: a secret replacing it is the writer\'s; other content keeps owner and mode (as Ansible)', async () => {
    const secretDest = join(dir, 'planted.key');
    writeFileSync(secretDest, 'old\n');
    chmodSync(secretDest, 0o666);
    chownSync(secretDest, ATTACKER, ATTACKER);
    const s = await play(`- copy: { content: "{{ secret }}", dest: "{{ dest }}", secret: true }\n`, { dest: secretDest, secret: SECRET });
    expect(s.code, s.stdout + s.stderr).toBe(0);
    const st = lstatSync(secretDest);
    expect({ uid: st.uid, gid: st.gid, mode: (st.mode & 0o7777).toString(8) }).toEqual({ uid: 0, gid: 0, mode: '600' });

    const plainDest = join(dir, 'shared.conf');
    writeFileSync(plainDest, 'old\n');
    chmodSync(plainDest, 0o640);
    chownSync(plainDest, ATTACKER, ATTACKER);
    const p = await play(`- copy: { content: "new\\n", dest: "{{ dest }}" }\n`, { dest: plainDest });
    expect(p.code, p.stdout + p.stderr).toBe(0);
    const pt = lstatSync(plainDest);
    expect({ uid: pt.uid, mode: (pt.mode & 0o7777).toString(8), text: readFileSync(plainDest, 'utf8') }).toEqual({ uid: ATTACKER, mode: '640', text: 'new\n' });
  });

  it('force: false refuses a symlink at dest instead of leaving or following it', async () => {
    const { dest } = plantLink('kept.conf');
    const run = await play(`- copy: { content: "x\\n", dest: "{{ dest }}", force: false }\n`, { dest });
    expect(run.code).toBe(2);
    expect(run.stdout).toContain(`${dest} is a symlink`);
    expect(readlinkSync(dest)).toBe(`${dest}.victim`);
  });

  it('a dest with a backslash and a newline in its name is written, then converged', async () => {
    const dest = join(dir, 'we\\ird\nname.conf\n');
    const task = `- copy: { content: "odd\\n", dest: "{{ dest }}", mode: "0640", backup: true }\n`;
    const first = await play(task, { dest });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.changed).toBe(1);
    expect(readFileSync(dest, 'utf8')).toBe('odd\n');
    expect((statSync(dest).mode & 0o7777).toString(8)).toBe('640');
    const second = await play(task, { dest });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.changed, second.stdout).toBe(0);
  });
});
