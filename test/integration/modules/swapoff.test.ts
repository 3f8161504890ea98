/** swapoff on a real host (41): fstab swap entries commented out atomically; swapoff -a never run without swap. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHosts } from '../../hosts/harness.js';
import { bootHost, ensureBuilt, lines, play, sh, snapshot } from './fixture.js';

const FSTAB = '# /etc/fstab: test\nproc /proc proc defaults 0 0\n/swapfile none swap sw 0 0\nUUID=0a1b none swap sw,pri=5 0 0\n';
const TASKS = `- name: swap off
  swapoff: { fstab: true }
`;

let t: TestHosts;
beforeAll(async () => {
  await Promise.all([ensureBuilt(), (async () => (t = await bootHost(41)))()]);
  await sh(t, `printf '%s' '${FSTAB}' > /etc/fstab && chmod 0644 /etc/fstab`);
});
afterAll(async () => t?.stop());

describe('swapoff on a real host', () => {
  it('--check --diff shows the fstab edit and leaves the host as it was', async () => {
    const before = await snapshot(t, ['/etc/fstab'], 'cat /proc/swaps');
    const res = await play(t, TASKS, ['--check', '--diff']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.changed).toBe(1);
    const out = lines(res.stdout);
    expect(out).toContain('    - comment out 2 swap entries in /etc/fstab: /swapfile none swap sw 0 0; UUID=0a1b none swap sw,pri=5 0 0');
    expect(out).toContain('    -/swapfile none swap sw 0 0');
    expect(out).toContain('    +#/swapfile none swap sw 0 0');
    expect(res.stdout).not.toContain('swapoff -a'); // no swap is on: nothing to turn off
    expect(await snapshot(t, ['/etc/fstab'], 'cat /proc/swaps')).toBe(before);
  });

  it('the first run comments the entries out, the second changes nothing', async () => {
    const first = await play(t, TASKS);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.changed).toBe(1);
    expect(await sh(t, 'cat /etc/fstab')).toBe(FSTAB.replace('/swapfile', '#/swapfile').replace('UUID=0a1b', '#UUID=0a1b'));
    // mode and owner kept, no temp file left behind
    expect(await sh(t, "stat -c '%a %U' /etc/fstab; ls -a /etc | grep -c '^[.]fstab[.]tsplay' || true")).toBe('644 root\n0\n');

    const second = await play(t, TASKS);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.changed).toBe(0);
  });

  it('fstab: false with no active swap is a no-op (swapoff -a is not run)', async () => {
    await sh(t, `printf '%s' '${FSTAB}' > /etc/fstab`);
    const res = await play(t, '- swapoff: { fstab: false }\n  register: s\n- debug: { var: s.swaps }\n');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.changed).toBe(0);
    expect(await sh(t, 'cat /etc/fstab')).toBe(FSTAB);
  });
});
