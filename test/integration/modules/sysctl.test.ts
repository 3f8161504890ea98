/**
 * sysctl on a real host (44). /proc/sys is read-only there (shared kernel): a value that differs
 * from the live one must fail clearly after the file was written; a value equal to the live one
 * (or reload: false) converges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHosts } from '../../hosts/harness.js';
import { bootHost, ensureBuilt, lines, play, sh, snapshot } from './fixture.js';

const KEY = 'net.ipv4.ip_forward';
const FILE = '/etc/sysctl.d/90-tsplay-test.conf';
let t: TestHosts;
let live: string;
let other: string;

beforeAll(async () => {
  await Promise.all([ensureBuilt(), (async () => (t = await bootHost(44)))()]);
  live = (await sh(t, `sysctl -n ${KEY}`)).trim();
  other = live === '1' ? '0' : '1';
});
afterAll(async () => t?.stop());

describe('sysctl on a real host', () => {
  it('--check --diff shows the file to create and writes nothing', async () => {
    const before = await snapshot(t, [FILE], `sysctl -n ${KEY}`);
    const res = await play(t, `- sysctl: { name: ${KEY}, value: '${live}', sysctl_file: ${FILE} }\n`, ['--check', '--diff']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.changed).toBe(1);
    expect(lines(res.stdout)).toContain(`    - create ${FILE}: ${KEY}=${live}`);
    expect(lines(res.stdout)).toContain(`    +${KEY}=${live}`);
    expect(await snapshot(t, [FILE], `sysctl -n ${KEY}`)).toBe(before);
  });

  it('the live value already right: first run writes the file, second changes nothing', async () => {
    const task = `- sysctl: { name: ${KEY}, value: '${live}', sysctl_file: ${FILE} }\n`;
    const first = await play(t, task);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.changed).toBe(1);
    expect(await sh(t, `cat ${FILE}`)).toBe(`${KEY}=${live}\n`);
    const second = await play(t, task);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.changed).toBe(0);
  });

  it('a different value: the file is written, then the live step fails naming the read-only /proc/sys', async () => {
    const task = `- sysctl: { name: ${KEY}, value: '${other}', sysctl_file: ${FILE} }\n`;
    const check = await play(t, task, ['--check']);
    expect(lines(check.stdout)).toContain(`    - set ${KEY} live: ${live} -> ${other}`);

    const res = await play(t, task);
    expect(res.code).toBe(2);
    expect(res.failed).toBe(1);
    expect(res.stdout).toContain(`setting ${KEY}=${other} live failed: sysctl: permission denied on key "${KEY}"`);
    expect(res.stdout).toContain('cause: /proc/sys is mounted read-only on this host');
    expect(res.stdout).toContain(`(${FILE} was written, so the value applies at the next boot)`);
    expect(await sh(t, `cat ${FILE}; sysctl -n ${KEY}`)).toBe(`${KEY}=${other}\n${live}\n`);

    // reload: false manages only the file, which is converged now.
    const fileOnly = await play(t, `- sysctl: { name: ${KEY}, value: '${other}', sysctl_file: ${FILE}, reload: false }\n`);
    expect(fileOnly.code, fileOnly.stdout + fileOnly.stderr).toBe(0);
    expect(fileOnly.changed).toBe(0);
  });

  it('state: absent removes the key and leaves the other lines', async () => {
    await sh(t, `printf '# keep\\nvm.swappiness=10\\n${KEY}=${other}\\n' > ${FILE}`);
    const task = `- sysctl: { name: ${KEY}, state: absent, sysctl_file: ${FILE} }\n`;
    const first = await play(t, task);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.changed).toBe(1);
    expect(await sh(t, `cat ${FILE}`)).toBe('# keep\nvm.swappiness=10\n');
    expect((await play(t, task)).changed).toBe(0);
  });

  it('works as a sudo user with a become password (file content on stdin after sudo\'s prompt)', async () => {
    const file = '/etc/sysctl.d/91-tsplay-become.conf';
    const task = `- sysctl: { name: vm.swappiness, value: '0', sysctl_file: ${file}, reload: false }\n`;
    const first = await play(t, task, [], { asDeploy: true });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.changed).toBe(1);
    expect(first.stdout).not.toContain('deploy-secret-pw');
    expect(await sh(t, `stat -c '%U %a' ${file}; cat ${file}`)).toBe('root 644\nvm.swappiness=0\n');
    expect((await play(t, task, [], { asDeploy: true })).changed).toBe(0);
  });
});
