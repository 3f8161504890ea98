/**
 * modprobe on a real host (43). These hosts share the machine's kernel and have no
 * /lib/modules/$(uname -r), so a live load fails there: the task must fail saying so, after the
 * persistence file was written. A module the kernel already has (loaded or built in) converges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHosts } from '../../hosts/harness.js';
import { bootHost, ensureBuilt, lines, play, sh, snapshot } from './fixture.js';

let t: TestHosts;
/** A module this kernel already has: the first of /proc/modules, else a built-in one in /sys/module. */
let present: string;
/** A module the kernel does not have now (and the host cannot load). */
const MISSING = 'tsplay_nosuch_mod';

beforeAll(async () => {
  await Promise.all([ensureBuilt(), (async () => (t = await bootHost(43)))()]);
  present = (
    await sh(t, "if [ -s /proc/modules ]; then head -1 /proc/modules | cut -d' ' -f1; elif [ -d /sys/module/overlay ]; then echo overlay; else ls /sys/module | head -1; fi")
  ).trim();
});
afterAll(async () => t?.stop());

const files = (name: string): string[] => [`/etc/modules-load.d/${name}.conf`, `/etc/modprobe.d/${name}.conf`];

describe('modprobe on a real host', () => {
  it('--check --diff plans the persistence files and the load, and writes nothing', async () => {
    const before = await snapshot(t, files(MISSING));
    const res = await play(t, `- modprobe: { name: ${MISSING}, params: 'debug=1', persistent: present }\n`, ['--check', '--diff']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.changed).toBe(1);
    const out = lines(res.stdout);
    expect(out).toContain(`    - create /etc/modules-load.d/${MISSING}.conf (load at boot)`);
    expect(out).toContain(`    +options ${MISSING} debug=1`);
    expect(out).toContain(`    - load module ${MISSING} now (modprobe ${MISSING} debug=1)`);
    expect(await snapshot(t, files(MISSING))).toBe(before);
  });

  it('a live load that cannot work fails with the cause, after writing the persistence files', async () => {
    const task = `- modprobe: { name: ${MISSING}, params: 'debug=1', persistent: present }\n`;
    const first = await play(t, task);
    expect(first.code).toBe(2);
    expect(first.failed).toBe(1);
    const kernel = (await sh(t, 'uname -r')).trim();
    expect(first.stdout).toContain(`loading kernel module ${MISSING} failed: modprobe: FATAL: Module ${MISSING} not found`);
    const hasModules = (await sh(t, `[ -d /lib/modules/${kernel} ] && echo yes || echo no`)).trim() === 'yes';
    if (!hasModules) expect(first.stdout).toContain(`cause: /lib/modules/${kernel} does not exist`);
    expect(first.stdout).toContain(`/etc/modules-load.d/${MISSING}.conf, /etc/modprobe.d/${MISSING}.conf written, so the module is loaded at the next boot`);
    expect(await sh(t, `cat /etc/modules-load.d/${MISSING}.conf /etc/modprobe.d/${MISSING}.conf; stat -c %a /etc/modules-load.d/${MISSING}.conf`)).toBe(`${MISSING}\noptions ${MISSING} debug=1\n644\n`);

    // Still failing (the module is still not loaded), but the files are converged: nothing changed.
    const second = await play(t, task);
    expect(second.code).toBe(2);
    expect(second.changed).toBe(0);
    expect(second.stdout).toContain(`loading kernel module ${MISSING} failed`);
    expect(second.stdout).not.toContain('written, so the module');
  });

  it('a module the kernel has: first run writes the file, second changes nothing', async () => {
    const task = `- modprobe: { name: ${present}, state: present, persistent: present }\n`;
    const first = await play(t, task);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.changed).toBe(1);
    expect(await sh(t, `cat /etc/modules-load.d/${present}.conf`)).toBe(`${present}\n`);
    const second = await play(t, task);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.changed).toBe(0);
  });

  it('persistent: absent removes the files once', async () => {
    const task = `- modprobe: { name: ${MISSING}, state: absent, persistent: absent }\n`;
    const first = await play(t, task, ['--diff']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.changed).toBe(1);
    expect(await snapshot(t, files(MISSING))).toBe(files(MISSING).map((f) => `absent ${f}\n`).join(''));
    expect((await play(t, task)).changed).toBe(0);
  });
});
