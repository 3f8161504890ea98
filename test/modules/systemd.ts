/**
 * systemd and systemd_service: (unit files, what systemd has loaded and running, args) -> the
 * systemctl steps planned and the unit after. The simulated host's systemctl keeps enablement and
 * masking on disk as systemd does (sim-bin/systemctl).
 */
import type { FileExpect, HostState } from '../helpers/host-state.js';
import { moduleTable, type Case } from '../helpers/module-tester.js';
import { simulatedHost } from '../helpers/sim-host.js';

const ETC = '/etc/systemd/system/demo.service';
const VENDOR = '/usr/lib/systemd/system/demo.service';
const WANTS = '/etc/systemd/system/multi-user.target.wants/demo.service';
const ACTIVE = '/run/sim-systemd/active/demo.service';
const text = (o: { install?: boolean; fail?: boolean; description?: string } = {}): string =>
  `[Unit]\nDescription=${o.description ?? 'demo'}\n[Service]\nExecStart=/bin/sleep infinity\n${o.fail ? 'X-Sim-Fail=yes\n' : ''}${o.install === false ? '' : '[Install]\nWantedBy=multi-user.target\n'}`;

interface UnitState {
  active?: 'active' | 'failed';
  enabled?: boolean;
  /** The unit file changed on disk since systemd loaded it. */
  stale?: boolean;
  /** Masked: the unit file is the vendor's, /etc has the link to /dev/null. */
  masked?: boolean;
  install?: boolean;
  fail?: boolean;
}

/** A unit demo.service as systemd would have it. */
function unit(o: UnitState = {}): HostState {
  const state: HostState = o.masked ? { [VENDOR]: text(o), [ETC]: { link: '/dev/null' } } : { [ETC]: text(o) };
  if (o.enabled) state[WANTS] = { link: ETC };
  if (o.active) state[ACTIVE] = `${o.active}\n`;
  if (o.stale) state['/run/sim-systemd/loaded/demo.service'] = 'loaded before the edit\n';
  // systemd's last daemon-reload (it remakes its generator directory) came after these files.
  state['/run/systemd/generator'] = { dir: true };
  return state;
}
const running: FileExpect = 'active\n';
const RUNNING = unit({ active: 'active', enabled: true });

type SystemdCase = Case<HostState, Record<string, FileExpect>>;
const cases: SystemdCase[] = [
  { name: 'started: an inactive unit is started', args: { name: 'demo', state: 'started' }, before: unit(), changes: ['start demo.service (was inactive/dead)'], after: { [ACTIVE]: running } },
  { name: 'started: an active unit is left alone', args: { name: 'demo', state: 'started' }, before: RUNNING },
  { name: 'started: a failed unit is started again', args: { name: 'demo', state: 'started' }, before: unit({ active: 'failed' }), changes: ['start demo.service (was failed/failed)'], after: { [ACTIVE]: running } },
  { name: 'stopped: a running unit is stopped', args: { name: 'demo.service', state: 'stopped' }, before: RUNNING, changes: ['stop demo.service (was active/running)'], after: { [ACTIVE]: null } },
  { name: 'stopped: a failed unit counts as stopped', args: { name: 'demo', state: 'stopped' }, before: unit({ active: 'failed' }) },
  { name: 'restarted always acts', args: { name: 'demo', state: 'restarted' }, before: RUNNING, changes: ['restart demo.service'], idempotent: false },
  { name: 'restarted on a stopped unit starts it', args: { name: 'demo', state: 'restarted' }, before: unit(), changes: ['start demo.service'], after: { [ACTIVE]: running }, idempotent: false },
  { name: 'reloaded on a running unit reloads', args: { name: 'demo', state: 'reloaded' }, before: RUNNING, changes: ['reload demo.service'], idempotent: false },
  { name: 'enabled: a disabled unit is enabled', args: { name: 'demo', enabled: true }, before: unit(), changes: ['enable demo.service (was disabled)'], after: { [WANTS]: { type: 'link', link: ETC } } },
  { name: 'enabled: a static unit needs nothing', args: { name: 'demo', enabled: true }, before: unit({ install: false }) },
  { name: 'enabled false: an enabled unit is disabled', args: { name: 'demo', enabled: false }, before: RUNNING, changes: ['disable demo.service (was enabled)'], after: { [WANTS]: null, [ACTIVE]: running } },
  { name: 'enabled false: a static unit is left', args: { name: 'demo', enabled: false }, before: unit({ install: false }) },
  { name: 'masked: the unit is masked and stopped', args: { name: 'demo', masked: true, state: 'stopped' }, before: { [VENDOR]: text(), [ACTIVE]: 'active\n' }, changes: ['mask demo.service', 'stop demo.service (was active/running)'], after: { [ETC]: { type: 'link', link: '/dev/null' }, [ACTIVE]: null } },
  {
    name: 'masked false: a masked unit is unmasked, enabled, started',
    args: { name: 'demo', masked: false, enabled: true, state: 'started' },
    before: unit({ masked: true }),
    changes: ['unmask demo.service', 'enable demo.service', 'start demo.service (was inactive/dead)'],
    after: { [ETC]: null, [WANTS]: { type: 'link', link: VENDOR }, [ACTIVE]: running },
  },
  {
    name: 'the unit file changed on disk: daemon-reload runs first, without daemon_reload',
    args: { name: 'demo', state: 'started' },
    before: unit({ stale: true }),
    changes: [`systemctl daemon-reload (demo.service changed on disk: ${ETC})`, /^start demo\.service/],
    after: { [ACTIVE]: running },
  },
  { name: 'the unit file changed on a running unit: only daemon-reload', args: { name: 'demo', state: 'started' }, before: unit({ stale: true, active: 'active' }), changes: [/daemon-reload/] },
  { name: 'daemon_reload with nothing to reload and nothing to do: no change', args: { name: 'demo', state: 'started', daemon_reload: true }, before: RUNNING },
  { name: 'daemon_reload runs before other actions', args: { name: 'demo', state: 'started', daemon_reload: true }, before: unit(), changes: [/^start/], after: { [ACTIVE]: running } },
  {
    name: 'daemon_reload when another unit changed on disk says which file',
    args: { name: 'demo', state: 'started', daemon_reload: true },
    // Written after systemd's last reload (the vendor directory sorts after /run in the setup).
    before: { ...RUNNING, '/usr/lib/systemd/system/other.service': text({ description: 'other' }) },
    changes: [/^systemctl daemon-reload \(unit files changed on disk: \/usr\/lib\/systemd\/system/],
  },
  // systemctl enable/disable/mask/unmask reload the manager themselves: no second reload first.
  { name: 'changed on disk, then enable: enable does the reload', args: { name: 'demo', enabled: true }, before: unit({ stale: true }), changes: [/^systemctl daemon-reload/, /^enable/] },
  { name: 'daemon_reload alone, without name, when something changed', args: { daemon_reload: true }, before: { '/usr/lib/systemd/system/other.service': text() }, changes: [/^systemctl daemon-reload \(unit files changed on disk/] },
  { name: 'daemon_reload alone, without name, nothing to reload', args: { daemon_reload: true } },
  {
    name: 'check mode on a fresh host: would enable and start a unit an earlier task installs; the real run fails clearly',
    args: { name: 'kubelet', state: 'started', enabled: true },
    check: {
      changes: [
        'enable kubelet.service (its unit file does not exist yet; would be started if an earlier task creates it)',
        'start kubelet.service (its unit file does not exist yet; would be started if an earlier task creates it)',
      ],
    },
    fails: { message: 'unit kubelet.service not found: systemd has no unit file for it (LoadState=not-found)', hint: 'install the unit file first (e.g. with copy to /etc/systemd/system/kubelet.service)' },
  },
  { name: 'not found and stopped: nothing to do', args: { name: 'nope', state: 'stopped', enabled: false } },
  { name: 'a state without name fails', args: { state: 'started' }, fails: { message: /name is required/, hint: /name: kubelet/ } },
  {
    name: 'a unit that fails to start: systemctl\'s error and the unit\'s status',
    args: { name: 'demo', state: 'started', enabled: true },
    before: unit({ fail: true }),
    changes: ['enable demo.service (was disabled)', 'start demo.service (was inactive/dead)'],
    fails: /^systemctl start demo\.service failed \(exit 1\): Job for demo\.service failed because the control process exited with error code\.\n {2}systemctl status demo\.service:\n {4}× demo\.service - demo/,
    // enable took effect before the start failed.
    after: { [WANTS]: { type: 'link' }, [ACTIVE]: 'failed\n' },
  },
];

export default moduleTable('systemd', simulatedHost, cases.map((c) => ({ ...c, simulatorOnly: true as const })));
export const systemdService = moduleTable('systemd_service', simulatedHost, [...cases.slice(0, 4), cases.find((c) => c.name === 'a state without name fails')!].map((c) => ({ ...c, simulatorOnly: true as const })));
/** service is systemd with service's arguments: every case those arguments can say, planned and done the same. */
const SERVICE_ARGS = new Set(['name', 'state', 'enabled']);
export const service = moduleTable(
  'service',
  simulatedHost,
  cases.filter((c) => c.args.name !== undefined && Object.keys(c.args).every((k) => SERVICE_ARGS.has(k))).map((c) => ({ ...c, simulatorOnly: true as const })),
);
