/**
 * reboot on a real host (91): the host really restarts (the harness boots it again when its
 * systemd asks nspawn for a reboot, test/hosts/README.md), the task waits for a new boot id on a
 * new SSH connection, and the tasks after it run on that connection. A host that powers off
 * instead fails the task after reboot_timeout, saying what it waited for. On the same host (this
 * file's one index), before it powers off: user password hashes never show in a run's output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootHosts, ensureHostTools, ensureImage, sshExec, type TestHosts } from '../../hosts/harness.js';
import { ensureBuilt, lines, play } from './fixture.js';

const INDEX = 91;
let t: TestHosts;
beforeAll(async () => {
  await ensureHostTools();
  await ensureImage();
  await Promise.all([ensureBuilt(), (async () => (t = await bootHosts({ first: INDEX, count: 1, prefix: 'reboot' })))()]);
}, 600_000);
afterAll(async () => t?.stop());

const bootId = async (): Promise<string> => {
  const res = await sshExec(t, INDEX, 'cat /proc/sys/kernel/random/boot_id');
  if (res.code !== 0) throw new Error(`reading the boot id failed: ${res.stderr}`);
  return res.stdout.trim();
};

describe('reboot on a real host', () => {
  it('--check plans the reboot and the host keeps running the same boot', async () => {
    const before = await bootId();
    const res = await play(t, '- reboot: {}\n', ['--check']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.changed).toBe(1);
    expect(lines(res.stdout)).toContain("    - reboot ('/usr/sbin/shutdown' -r +0 'Reboot initiated by tsplay'), then wait up to 600 s for a new boot id and up to 600 s for whoami to succeed");
    expect(await bootId()).toBe(before);
  }, 60_000);

  it('reboots, and the tasks after it run on a new connection, in the new boot (as deploy, with become)', async () => {
    const before = await bootId();
    const tasks = [
      '- command: cat /proc/sys/kernel/random/boot_id',
      '  register: first',
      '- reboot: { reboot_timeout: 120, msg: tsplay integration test }',
      '  register: r',
      '- command: cat /proc/sys/kernel/random/boot_id',
      '  register: second',
      '- assert: { that: [first.stdout != second.stdout, r.rebooted] }',
      '- debug: { msg: "boots {{ first.stdout }} then {{ second.stdout }}" }',
    ].join('\n');
    const res = await play(t, `${tasks}\n`, [], { asDeploy: true });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.failed).toBe(0);
    const after = await bootId();
    expect(after).not.toBe(before);
    // The command after the reboot ran in the boot the host is in now, not in the one before.
    expect(res.stdout).toContain(`boots ${before} then ${after}`);
  }, 240_000);

  it('a user password hash never shows, even at -vvv with --diff (neither the new hash nor the one on the host)', async () => {
    // openssl passwd -6 of two passwords: what password_hash would give.
    const first = '$6$firstsalt$.XrqnOzqfZZtKf6OU3o14mSTpi//B8Sf8RrkRyRV5QiDOT43CqpSFU1KEskivr/ekVObjISE49zksCgW2PY7h1';
    const second = '$6$secondsalt$MtDSOQCCmLrpts62hBWoPXuQlX4xh51LTjftYlv2QrzZkkpfknEaJ6bvgbnMryIWac1aqD4dJVLBbnzmiE7Y/.';
    // The host's own hash, never an argument: only the probe sees it.
    const onHost = '$6$hostsalt$LwziBTQGotwXtFvC8lttLjJ1sgBbiybyHUVMkfWtQloJQK2xTn.gQ4wLLeHsr2F7qaFFp1bDkzpSN8sDxRCXP0';
    const made = await sshExec(t, INDEX, `useradd -M tsu-secret && printf '%s\\n' 'tsu-secret:${onHost}' | chpasswd -e`);
    expect(made.code, made.stderr).toBe(0);
    const tasks = [
      `- user: { name: tsu-secret, password: '${first}' }`,
      '  register: changed',
      '- debug: { var: changed }',
      `- user: { name: tsu-secret, password: '${second}' }`,
      '- user: { name: tsu-secret, state: absent, remove: true }',
    ].join('\n');
    const res = await play(t, `${tasks}\n`, ['-vvv', '--diff']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.changed).toBe(3);
    const out = res.stdout + res.stderr;
    expect(out).toContain('set the password of tsu-secret');
    expect(out).toContain('NOT_LOGGING_PASSWORD');
    for (const hash of [onHost, first, second]) {
      expect(out).not.toContain(hash);
      // Not even its digest alone, nor its salt with it.
      expect(out).not.toContain(hash.split('$')[3]!);
    }
  }, 60_000);

  // Last: the host stays off.
  it('a host that does not come back fails after reboot_timeout, saying what it waited for', async () => {
    const started = Date.now();
    const res = await play(t, "- reboot: { reboot_command: 'systemctl poweroff', reboot_timeout: 5, connect_timeout: 2 }\n");
    expect(res.code).toBe(2);
    expect(res.failed).toBe(1);
    expect(res.stdout).toMatch(/w91 did not come back with a new boot id within reboot_timeout \(5 s\); last: cannot connect to root@127\.0\.1\.91:22/);
    expect(res.stdout).toMatch(/hint: raise reboot_timeout if the host boots slowly/);
    // It waited for about reboot_timeout, no more than a connect attempt's retries beyond it.
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);
});
