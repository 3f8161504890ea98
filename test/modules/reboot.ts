/**
 * reboot: (the host's boot id, args) -> the reboot planned, the command the host got, a new boot
 * id. The simulated host cannot restart: its `shutdown` (sim-bin/shutdown) records its arguments
 * and writes a new boot id at once, and a new connection to it is the same host, so every case
 * here is simulatorOnly. A real reboot over SSH, with the connection replaced for the tasks after
 * it, is test/integration/modules/reboot.test.ts.
 */
import type { Case } from '../helpers/module-tester.js';
import type { FileExpect, HostState } from '../helpers/host-state.js';
import { moduleTable } from '../helpers/module-tester.js';
import { simulatedHost } from '../helpers/sim-host.js';

const BOOT_ID = '/proc/sys/kernel/random/boot_id';
const OLD = '0b9e3f1c-5a7d-4c2e-9f10-3d6a8b2c4e01';
const booted: HostState = { [BOOT_ID]: `${OLD}\n` };
/** Another boot id than the one before. */
const NEW_ID = new RegExp(`^(?!${OLD})[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\n$`);
const waits = (timeout = 600, test = 'whoami'): string => `then wait up to ${timeout} s for a new boot id and up to ${timeout} s for ${test} to succeed`;

const cases: Array<Case<HostState, Record<string, FileExpect>>> = [
  {
    name: 'reboots with shutdown -r now and the default message, and comes back with a new boot id',
    args: {},
    before: booted,
    changes: [`reboot ('/sim/bin/shutdown' -r +0 'Reboot initiated by tsplay'), ${waits()}`],
    after: { '/sim/shutdown': '-r +0 Reboot initiated by tsplay\n', [BOOT_ID]: NEW_ID },
    result: { rebooted: true },
    // Always changed, as Ansible's: a second run reboots again.
    idempotent: false,
  },
  {
    name: 'pre_reboot_delay goes to shutdown in whole minutes; msg and post_reboot_delay',
    args: { pre_reboot_delay: 150, msg: "kernel 6.1's upgrade", post_reboot_delay: 1, reboot_timeout: 30, test_command: 'test -d /etc' },
    before: booted,
    changes: [`reboot ('/sim/bin/shutdown' -r +2 'kernel 6.1'\\''s upgrade'), wait 1 s, ${waits(30, 'test -d /etc')}`],
    after: { '/sim/shutdown': "-r +2 kernel 6.1's upgrade\n", [BOOT_ID]: NEW_ID },
    idempotent: false,
  },
  {
    name: 'reboot_command instead of shutdown',
    args: { reboot_command: 'shutdown -r +0 now-by-hand' },
    before: booted,
    changes: [`reboot (shutdown -r +0 now-by-hand), ${waits()}`],
    after: { '/sim/shutdown': '-r +0 now-by-hand\n', [BOOT_ID]: NEW_ID },
    idempotent: false,
  },
  {
    name: 'a host that does not come back: fails after reboot_timeout, naming the boot id it still has',
    args: { reboot_command: 'true', reboot_timeout: 1 },
    before: booted,
    changes: [`reboot (true), ${waits(1)}`],
    fails: {
      message: `h1 did not come back with a new boot id within reboot_timeout (1 s); last: the boot id is still ${OLD}: the host has not rebooted yet`,
      hint: /^raise reboot_timeout if the host boots slowly; otherwise see its console/,
    },
    result: { rebooted: true },
    after: { [BOOT_ID]: `${OLD}\n` },
  },
  {
    name: 'back, but test_command never succeeds: fails after reboot_timeout with its error',
    args: { test_command: 'echo not ready >&2; exit 3', reboot_timeout: 1 },
    before: booted,
    changes: [/^reboot \('\/sim\/bin\/shutdown' -r \+0 'Reboot initiated by tsplay'\), then wait up to 1 s/],
    fails: /^h1 rebooted, but test_command \(echo not ready >&2; exit 3\) did not succeed within reboot_timeout \(1 s\); last: exit 3: not ready$/,
    after: { [BOOT_ID]: NEW_ID },
  },
  {
    name: 'a reboot command that fails: not rebooted, nothing changed',
    args: { reboot_command: 'echo "shutdown: not allowed" >&2; exit 4' },
    before: booted,
    changes: [/^reboot \(echo/],
    fails: { message: 'reboot command failed (exit 4): shutdown: not allowed', hint: /become: true/ },
    result: { rebooted: false },
  },
  {
    name: 'no boot id to compare: the probe fails',
    args: {},
    fails: /^read the boot id failed \(exit 1\): cat: \/proc\/sys\/kernel\/random\/boot_id: No such file or directory$/,
  },
  {
    name: 'a boot_time_command that prints nothing is refused before rebooting',
    args: { boot_time_command: 'true' },
    fails: { message: 'boot_time_command (true) printed nothing: the reboot could not be told from no reboot', hint: /unique to each boot/ },
  },
  {
    name: 'msg with reboot_command would not be used: refused',
    args: { reboot_command: 'reboot', msg: 'bye' },
    before: booted,
    fails: { message: /^msg and pre_reboot_delay are arguments of shutdown -r/, hint: /into reboot_command/ },
  },
];

export default moduleTable('reboot', simulatedHost, cases.map((c) => ({ ...c, simulatorOnly: true as const })));
