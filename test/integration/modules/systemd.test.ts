/**
 * systemd on a real host (42): a `sleep infinity` unit installed by copy and started/enabled,
 * check mode on the fresh host, daemon-reload after an edit, stop, mask, restart, and the
 * unit's own error when a Requires= dependency does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHosts } from '../../hosts/harness.js';
import { bootHost, ensureBuilt, lines, play, sh, snapshot } from './fixture.js';

const UNIT = '/etc/systemd/system/tsplay-sleep.service';
const INSTALL = `- name: install the test unit
  copy:
    dest: ${UNIT}
    content: |
      [Unit]
      Description=tsplay test sleeper
      [Service]
      Type=simple
      ExecStart=/bin/sleep infinity
      [Install]
      WantedBy=multi-user.target
`;
const START = `- name: sleeper running and enabled
  systemd: { name: tsplay-sleep, state: started, enabled: true }
`;
const STATE = 'systemctl show -p LoadState,ActiveState,UnitFileState,NeedDaemonReload tsplay-sleep.service';

let t: TestHosts;
beforeAll(async () => {
  await Promise.all([ensureBuilt(), (async () => (t = await bootHost(42)))()]);
});
afterAll(async () => t?.stop());

describe('systemd on a real host', () => {
  it('--check --diff on the fresh host plans the install and a start it cannot see yet, and changes nothing', async () => {
    const before = await snapshot(t, [UNIT], STATE);
    expect(before).toContain('LoadState=not-found');
    const res = await play(t, INSTALL + START, ['--check', '--diff']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.changed).toBe(2);
    const out = lines(res.stdout);
    expect(out).toContain('    +ExecStart=/bin/sleep infinity');
    expect(out).toContain('    - start tsplay-sleep.service (its unit file does not exist yet; would be started if an earlier task creates it)');
    expect(await snapshot(t, [UNIT], STATE)).toBe(before);
  });

  it('the first run installs, enables and starts; the second changes nothing', async () => {
    const first = await play(t, INSTALL + START);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.changed).toBe(2);
    expect(lines(first.stdout)).toContain('    - start tsplay-sleep.service (was inactive/dead)');
    expect(await sh(t, 'systemctl is-active tsplay-sleep; systemctl is-enabled tsplay-sleep')).toBe('active\nenabled\n');

    const second = await play(t, INSTALL + START);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.changed).toBe(0);
  });

  it('a unit file edited on disk gets a daemon-reload, without daemon_reload being asked for', async () => {
    await sh(t, `sed -i 's/^Description=.*/Description=tsplay sleeper, edited/' ${UNIT}`);
    expect(await sh(t, 'systemctl show -p NeedDaemonReload --value tsplay-sleep')).toBe('yes\n');
    const check = await play(t, START, ['--check']);
    expect(lines(check.stdout)).toContain(`    - systemctl daemon-reload (tsplay-sleep.service changed on disk: ${UNIT})`);
    expect(await sh(t, 'systemctl show -p NeedDaemonReload --value tsplay-sleep')).toBe('yes\n');

    const res = await play(t, START);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.changed).toBe(1);
    expect(await sh(t, 'systemctl show -p NeedDaemonReload --value tsplay-sleep; systemctl show -p Description --value tsplay-sleep')).toBe('no\ntsplay sleeper, edited\n');
    expect((await play(t, START)).changed).toBe(0);
  });

  it('daemon_reload: true reloads when another unit file changed since the last reload, and only then', async () => {
    const DR = '- systemd: { name: tsplay-sleep, state: started, daemon_reload: true }\n';
    // Converged: nothing under the unit directories is newer than the last reload.
    expect((await play(t, DR)).changed).toBe(0);
    const other = '/etc/systemd/system/tsplay-other.service';
    await sh(t, `printf '[Service]\\nExecStart=/bin/sleep infinity\\n' > ${other}; systemctl start tsplay-other; sed -i 's/infinity/1000/' ${other}`);
    expect(await sh(t, 'systemctl show -p NeedDaemonReload --value tsplay-other')).toBe('yes\n');
    const check = await play(t, DR, ['--check']);
    expect(lines(check.stdout)).toContain(`    - systemctl daemon-reload (unit files changed on disk: /etc/systemd/system)`);
    const res = await play(t, DR);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.changed).toBe(1);
    expect(await sh(t, 'systemctl show -p NeedDaemonReload --value tsplay-other')).toBe('no\n');
    expect((await play(t, DR)).changed).toBe(0);
    await sh(t, `systemctl stop tsplay-other; rm -f ${other}; systemctl daemon-reload`);
  });

  it('a changed unit file that is also enabled gets one reload, from enable itself', async () => {
    await sh(t, `systemctl disable tsplay-sleep; sed -i 's/^Description=.*/Description=tsplay sleeper, again/' ${UNIT}`);
    const reloadsBefore = await sh(t, "journalctl -b -o cat | grep -c '^Reloading' || true");
    const res = await play(t, '- systemd: { name: tsplay-sleep, state: started, enabled: true, daemon_reload: true }\n');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.changed).toBe(1);
    expect(await sh(t, 'systemctl show -p NeedDaemonReload --value tsplay-sleep; systemctl show -p Description --value tsplay-sleep; systemctl is-enabled tsplay-sleep')).toBe('no\ntsplay sleeper, again\nenabled\n');
    const reloadsAfter = await sh(t, "journalctl -b -o cat | grep -c '^Reloading' || true");
    expect(Number(reloadsAfter) - Number(reloadsBefore)).toBe(1);
  });

  it('restarted always restarts (a new main pid); stopped stops once', async () => {
    const pid = await sh(t, 'systemctl show -p MainPID --value tsplay-sleep');
    const restart = await play(t, '- systemd_service: { name: tsplay-sleep.service, state: restarted }\n');
    expect(restart.code, restart.stdout + restart.stderr).toBe(0);
    expect(restart.changed).toBe(1);
    expect(await sh(t, 'systemctl show -p MainPID --value tsplay-sleep')).not.toBe(pid);

    const STOP = '- systemd: { name: tsplay-sleep, state: stopped, enabled: false }\n';
    expect((await play(t, STOP)).changed).toBe(1);
    expect(await sh(t, 'systemctl is-active tsplay-sleep; systemctl is-enabled tsplay-sleep || true')).toBe('inactive\ndisabled\n');
    expect((await play(t, STOP)).changed).toBe(0);
  });

  it('masks and unmasks a vendor unit', async () => {
    await sh(t, "mkdir -p /usr/local/lib/systemd/system && printf '[Service]\\nExecStart=/bin/sleep infinity\\n' > /usr/local/lib/systemd/system/tsplay-vendor.service");
    const MASK = '- systemd: { name: tsplay-vendor, masked: true }\n';
    expect((await play(t, MASK)).changed).toBe(1);
    expect(await sh(t, 'systemctl is-enabled tsplay-vendor || true')).toBe('masked\n');
    expect((await play(t, MASK)).changed).toBe(0);
    const UNMASK = '- systemd: { name: tsplay-vendor, masked: false, state: started }\n';
    const res = await play(t, UNMASK);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.changed).toBe(1);
    expect(await sh(t, 'systemctl is-active tsplay-vendor')).toBe('active\n');
    expect((await play(t, UNMASK)).changed).toBe(0);
  });

  // (containerd.service itself is installed in the test image now, disabled: a unit no host has)
  it('a start that fails reports the unit error (missing Requires=tsplay-absent.service)', async () => {
    const res = await play(
      t,
      `- copy:
    dest: /etc/systemd/system/tsplay-needs.service
    content: "[Unit]\\nRequires=tsplay-absent.service\\nAfter=tsplay-absent.service\\n[Service]\\nExecStart=/bin/sleep infinity\\n"
- systemd: { name: tsplay-needs, state: started }
`,
    );
    expect(res.code).toBe(2);
    expect(res.failed).toBe(1);
    expect(res.stdout).toContain('failed: [w42] systemd => systemctl start tsplay-needs.service failed (exit 5): Failed to start tsplay-needs.service: Unit tsplay-absent.service not found.');
    expect(res.stdout).toContain('  systemctl status tsplay-needs.service:');
  });

  it('a failing service shows its own output from the journal', async () => {
    const res = await play(
      t,
      `- copy:
    dest: /etc/systemd/system/tsplay-boom.service
    content: "[Service]\\nType=oneshot\\nExecStart=/bin/sh -c 'echo boom-from-the-unit >&2; exit 3'\\n"
- systemd: { name: tsplay-boom, state: started }
`,
    );
    expect(res.code).toBe(2);
    expect(res.stdout).toContain('systemctl start tsplay-boom.service failed');
    expect(res.stdout).toContain('boom-from-the-unit');
  });

  it('a unit that does not exist fails clearly in a real run', async () => {
    const res = await play(t, '- systemd: { name: tsplay-nosuch, state: started }\n');
    expect(res.code).toBe(2);
    expect(res.stdout).toContain('unit tsplay-nosuch.service not found: systemd has no unit file for it (LoadState=not-found)');
  });
});
