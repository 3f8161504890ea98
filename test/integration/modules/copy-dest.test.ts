/**
 * copy to a dest an attacker prepared, on a real host (47) over SSH: the unprivileged user
 * `nopass` plants a symlink where a root-run task writes a secret. The link is replaced by a
 * regular file owned by the writer (root through become, or root's login) with mode 0600; the
 * file it pointed at keeps its content, owner and mode; the link target's name cannot fake the
 * probe; a dest with a backslash and a newline converges.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHosts } from '../../hosts/harness.js';
import { bootHost, ensureBuilt, play, sh } from './fixture.js';

let t: TestHosts;
const SECRET = 'host-private-key\n';
const DIR = '/srv/tsplay-copy-dest';

beforeAll(async () => {
  await Promise.all([ensureBuilt(), (async () => (t = await bootHost(47)))()]);
  // A directory both root and the attacker (nopass) may write to, like a shared config dir.
  await sh(t, `rm -rf ${DIR} && mkdir -p ${DIR} && chmod 1777 ${DIR}`);
});
afterAll(async () => t?.stop());

/** As nopass: a world-writable file of its own, and a link to it at `name`. */
const plant = (name: string, target: string): Promise<string> =>
  sh(t, `su nopass -s /bin/sh -c ${JSON.stringify(`printf 'the attacker chose this\\n' > '${target}' && chmod 666 '${target}' && ln -sfn '${target}' '${name}'`)}`);

describe('copy to a dest an attacker prepared', () => {
  it('a secret written through become to a planted symlink: the link is replaced, the victim untouched', async () => {
    const dest = `${DIR}/kubelet.key`;
    const victim = `${DIR}/nopass-owned`;
    await plant(dest, victim);
    const task = `- copy: { content: ${JSON.stringify(SECRET)}, dest: ${dest}, secret: true }\n`;
    const check = await play(t, task, ['--check'], { asDeploy: true });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.changed).toBe(1);
    expect(check.stdout).toContain(`replace symlink ${dest} (-> "${victim}") with a regular file (${SECRET.length} bytes, mode 0600)`);
    expect(await sh(t, `stat -c '%F' ${dest}`)).toBe('symbolic link\n');

    const run = await play(t, task, [], { asDeploy: true });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.changed).toBe(1);
    expect(await sh(t, `stat -c '%F %U:%G %a' ${dest}; cat ${dest}`)).toBe(`regular file root:root 600\n${SECRET}`);
    expect(await sh(t, `stat -c '%F %U %a' ${victim}; cat ${victim}`)).toBe('regular file nopass 666\nthe attacker chose this\n');
    const again = await play(t, task, [], { asDeploy: true });
    expect(again.changed, again.stdout).toBe(0);
  });

  it('a link target named "...\\nsha:<hash of the content>" does not make the probe say ok', async () => {
    const content = 'apiVersion: v1\n';
    const hash = createHash('sha256').update(content).digest('hex');
    const dest = `${DIR}/kubelet.conf`;
    const target = `${DIR}/x\nsha:${hash}`;
    await sh(t, `su nopass -s /bin/sh -c "printf 'the attacker chose this\\n' > '${target}' && ln -sfn '${target}' '${dest}'"`);
    const task = `- copy: { content: ${JSON.stringify(content)}, dest: ${dest}, mode: '0644' }\n`;
    const check = await play(t, task, ['--check']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.changed, check.stdout).toBe(1);
    const run = await play(t, task);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await sh(t, `stat -c '%F %U %a' ${dest}; cat ${dest}`)).toBe(`regular file root 644\n${content}`);
  });

  it('a dest with a backslash and a newline in its name is written, then converged', async () => {
    const name = `${DIR}/we\\\\ird\\nname.conf`; // YAML double-quoted: one backslash, one newline
    const task = `- copy: { content: "odd\\n", dest: "${name}", mode: '0640' }\n`;
    const first = await play(t, task);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.changed).toBe(1);
    expect(await sh(t, `cat '${DIR}/we\\ird'"$(printf '\\nname.conf')"`)).toBe('odd\n');
    const second = await play(t, task);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.changed, second.stdout).toBe(0);
  });
});
