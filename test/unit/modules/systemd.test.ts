/** systemd plan: (systemctl show properties, args, check mode) -> changes and steps; the state after converges. */
import { describe, expect, it } from 'vitest';
import { applyScript, failureMessage, parseShow, planSystemd, unitName, type Step, type SystemdArgs, type UnitObserved } from '../../../engine/modules/host/systemd.js';

const unit = (p: Record<string, string>): UnitObserved => ({
  props: { LoadState: 'loaded', ActiveState: 'inactive', SubState: 'dead', UnitFileState: 'disabled', NeedDaemonReload: 'no', FragmentPath: '/etc/systemd/system/demo.service', ...p },
});
const NOT_FOUND: UnitObserved = { props: { LoadState: 'not-found', ActiveState: 'inactive', SubState: 'dead', UnitFileState: '', NeedDaemonReload: 'no', FragmentPath: '' } };
const RUNNING = unit({ ActiveState: 'active', SubState: 'running', UnitFileState: 'enabled' });

/** The unit after apply ran these steps. */
function after(obs: UnitObserved, steps: Step[]): UnitObserved {
  const p = { ...obs.props! };
  for (const s of steps) {
    // systemctl enable/disable/mask/unmask reload the manager themselves.
    if (s === 'daemon-reload' || s === 'enable' || s === 'disable' || s === 'mask' || s === 'unmask') p.NeedDaemonReload = 'no';
    if (s === 'start' || s === 'restart' || s === 'reload') Object.assign(p, { ActiveState: 'active', SubState: 'running' });
    if (s === 'stop') Object.assign(p, { ActiveState: 'inactive', SubState: 'dead' });
    if (s === 'enable') p.UnitFileState = 'enabled';
    if (s === 'disable') p.UnitFileState = 'disabled';
    if (s === 'mask') Object.assign(p, { LoadState: 'masked', UnitFileState: 'masked' });
    if (s === 'unmask') Object.assign(p, { LoadState: 'loaded', UnitFileState: 'disabled' });
  }
  return { props: p };
}

const cases: Array<{ name: string; args: SystemdArgs; obs: UnitObserved; check?: boolean; steps: Step[]; summaries: RegExp[]; idempotent?: boolean }> = [
  { name: 'started: inactive unit is started', args: { name: 'demo', state: 'started' }, obs: unit({}), steps: ['start'], summaries: [/^start demo\.service \(was inactive\/dead\)$/] },
  { name: 'started: active unit is left alone', args: { name: 'demo', state: 'started' }, obs: RUNNING, steps: [], summaries: [] },
  { name: 'started: activating counts as started', args: { name: 'demo', state: 'started' }, obs: unit({ ActiveState: 'activating', SubState: 'start' }), steps: [], summaries: [] },
  { name: 'started: failed unit is started again', args: { name: 'demo', state: 'started' }, obs: unit({ ActiveState: 'failed', SubState: 'failed' }), steps: ['start'], summaries: [/^start demo\.service \(was failed\/failed\)$/] },
  { name: 'stopped: running unit is stopped', args: { name: 'demo.service', state: 'stopped' }, obs: RUNNING, steps: ['stop'], summaries: [/^stop demo\.service/] },
  { name: 'stopped: failed unit counts as stopped', args: { name: 'demo', state: 'stopped' }, obs: unit({ ActiveState: 'failed' }), steps: [], summaries: [] },
  { name: 'restarted always acts', args: { name: 'demo', state: 'restarted' }, obs: RUNNING, steps: ['restart'], summaries: [/^restart demo\.service$/], idempotent: false },
  { name: 'restarted on a stopped unit starts it', args: { name: 'demo', state: 'restarted' }, obs: unit({}), steps: ['start'], summaries: [/^start demo\.service$/], idempotent: false },
  { name: 'reloaded on a running unit reloads', args: { name: 'demo', state: 'reloaded' }, obs: RUNNING, steps: ['reload'], summaries: [/^reload demo\.service$/], idempotent: false },
  { name: 'enabled: disabled unit is enabled', args: { name: 'demo', enabled: true }, obs: unit({}), steps: ['enable'], summaries: [/^enable demo\.service \(was disabled\)$/] },
  { name: 'enabled: static unit needs nothing', args: { name: 'demo', enabled: true }, obs: unit({ UnitFileState: 'static' }), steps: [], summaries: [] },
  { name: 'enabled false: enabled unit is disabled', args: { name: 'demo', enabled: false }, obs: RUNNING, steps: ['disable'], summaries: [/^disable demo\.service \(was enabled\)$/] },
  { name: 'enabled false: static unit is left', args: { name: 'demo', enabled: false }, obs: unit({ UnitFileState: 'static' }), steps: [], summaries: [] },
  { name: 'masked: unit is masked and stopped', args: { name: 'demo', masked: true, state: 'stopped' }, obs: RUNNING, steps: ['mask', 'stop'], summaries: [/^mask demo\.service$/, /^stop demo\.service/] },
  { name: 'masked false: masked unit is unmasked, enabled, started', args: { name: 'demo', masked: false, enabled: true, state: 'started' }, obs: unit({ LoadState: 'masked', UnitFileState: 'masked' }), steps: ['unmask', 'enable', 'start'], summaries: [/^unmask/, /^enable demo\.service$/, /^start/] },
  {
    name: 'unit file changed on disk: daemon-reload runs first, without daemon_reload',
    args: { name: 'demo', state: 'started' },
    obs: unit({ NeedDaemonReload: 'yes' }),
    steps: ['daemon-reload', 'start'],
    summaries: [/^systemctl daemon-reload \(demo\.service changed on disk: \/etc\/systemd\/system\/demo\.service\)$/, /^start/],
  },
  { name: 'unit file changed on a running unit: only daemon-reload', args: { name: 'demo', state: 'started' }, obs: unit({ NeedDaemonReload: 'yes', ActiveState: 'active' }), steps: ['daemon-reload'], summaries: [/daemon-reload/] },
  { name: 'daemon_reload: true with nothing to reload and nothing to do: no change', args: { name: 'demo', state: 'started', daemon_reload: true }, obs: RUNNING, steps: [], summaries: [] },
  { name: 'daemon_reload: true runs before other actions', args: { name: 'demo', state: 'started', daemon_reload: true }, obs: unit({}), steps: ['daemon-reload', 'start'], summaries: [/^start/] },
  { name: 'daemon_reload: true when another unit changed on disk', args: { name: 'demo', state: 'started', daemon_reload: true }, obs: { ...RUNNING, anyNeedsReload: true }, steps: ['daemon-reload'], summaries: [/^systemctl daemon-reload \(unit files changed on disk\)$/] },
  {
    name: 'daemon_reload: true says which file changed on disk',
    args: { name: 'demo', state: 'started', daemon_reload: true },
    obs: { ...RUNNING, anyNeedsReload: true, changedOnDisk: '/etc/systemd/system/other.service' },
    steps: ['daemon-reload'],
    summaries: [/^systemctl daemon-reload \(unit files changed on disk: \/etc\/systemd\/system\/other\.service\)$/],
  },
  // systemctl enable/disable/mask/unmask reload the manager themselves: no second reload first.
  { name: 'daemon_reload: true before enable: enable does the reload', args: { name: 'demo', state: 'started', enabled: true, daemon_reload: true }, obs: unit({}), steps: ['enable', 'start'], summaries: [/^enable/, /^start/] },
  { name: 'changed on disk, then enable: enable does the reload', args: { name: 'demo', enabled: true }, obs: unit({ NeedDaemonReload: 'yes' }), steps: ['enable'], summaries: [/^systemctl daemon-reload/, /^enable/] },
  { name: 'changed on disk, enabled already, start: reload then start', args: { name: 'demo', enabled: true, state: 'started' }, obs: unit({ NeedDaemonReload: 'yes', UnitFileState: 'enabled' }), steps: ['daemon-reload', 'start'], summaries: [/^systemctl daemon-reload/, /^start/] },
  { name: 'daemon_reload alone, without name, when something changed', args: { daemon_reload: true }, obs: { anyNeedsReload: true }, steps: ['daemon-reload'], summaries: [/daemon-reload/] },
  { name: 'daemon_reload alone, without name, nothing to reload', args: { daemon_reload: true }, obs: { anyNeedsReload: false }, steps: [], summaries: [] },
  {
    name: 'check mode, unit file not there yet: would start, and says why',
    args: { name: 'kubelet', state: 'started', enabled: true },
    obs: NOT_FOUND,
    check: true,
    steps: ['enable', 'start'],
    summaries: [/^enable kubelet\.service \(its unit file does not exist yet; would be started if an earlier task creates it\)$/, /^start kubelet\.service \(its unit file does not exist yet; would be started if an earlier task creates it\)$/],
    idempotent: false,
  },
  { name: 'not found and stopped: nothing to do', args: { name: 'nope', state: 'stopped', enabled: false }, obs: NOT_FOUND, steps: [], summaries: [] },
];

describe('systemd plan', () => {
  for (const c of cases) {
    it(c.name, () => {
      const p = planSystemd(c.args, c.obs, c.check ?? false);
      expect(p.fail).toBeUndefined();
      expect(p.data?.steps ?? []).toEqual(c.steps);
      expect(p.changes).toHaveLength(c.summaries.length);
      p.changes.forEach((ch, i) => expect(ch.summary).toMatch(c.summaries[i]!));
      if (c.idempotent !== false && c.obs.props) {
        const second = planSystemd(c.args, after(c.obs, p.data?.steps ?? []), c.check ?? false);
        expect(second.changes).toEqual([]);
      }
    });
  }

  it('a real run fails clearly when the unit does not exist', () => {
    const p = planSystemd({ name: 'kubelet', state: 'started' }, NOT_FOUND, false);
    expect(p.fail?.message).toMatch(/^unit kubelet\.service not found: systemd has no unit file for it \(LoadState=not-found\)/);
    expect(p.changes).toEqual([]);
  });

  it('state without name fails', () => {
    expect(planSystemd({ state: 'started' }, {}, false).fail?.message).toMatch(/name is required/);
  });

  it('unit names get .service only without a suffix', () => {
    expect(unitName('kubelet')).toBe('kubelet.service');
    expect(unitName('kubelet.service')).toBe('kubelet.service');
    expect(unitName('containerd.socket')).toBe('containerd.socket');
    expect(unitName('getty@tty1')).toBe('getty@tty1.service');
  });
});

describe('systemd probe and apply output', () => {
  it('parses systemctl show', () => {
    expect(parseShow('LoadState=loaded\nActiveState=active\nUnitFileState=\nFragmentPath=/a=b\n@@any-reload\n')).toEqual({ LoadState: 'loaded', ActiveState: 'active', UnitFileState: '', FragmentPath: '/a=b' });
  });

  it('the apply script runs the steps in order and shows status after a failed start', () => {
    const s = applyScript('demo.service', ['daemon-reload', 'enable', 'start']);
    expect(s.indexOf('step daemon-reload')).toBeLessThan(s.indexOf('step enable'));
    expect(s.indexOf('step enable')).toBeLessThan(s.indexOf('step start'));
    expect(s).toContain("systemctl status --no-pager -n 20 -- 'demo.service'");
    expect(s).toContain("journalctl -u 'demo.service' -n 20 --no-pager");
  });

  it('the failure message carries systemctl error, status and journal', () => {
    const out = [
      '@@failed start 1',
      'Failed to start needs-containerd.service: Unit containerd.service not found.',
      '@@status',
      '○ needs-containerd.service - demo',
      '     Loaded: loaded (/etc/systemd/system/needs-containerd.service; static)',
      '     Active: inactive (dead)',
      '@@journal',
      '-- No entries --',
      '',
    ].join('\n');
    const msg = failureMessage('needs-containerd.service', out);
    expect(msg).toMatch(/^systemctl start needs-containerd\.service failed \(exit 1\): Failed to start needs-containerd\.service: Unit containerd\.service not found\./);
    expect(msg).toContain('\n  systemctl status needs-containerd.service:\n    ○ needs-containerd.service - demo');
    expect(msg).not.toContain('No entries');
  });
});

describe('systemd failure message journal', () => {
  it('journal lines already in the status output are not repeated', () => {
    const line = 'Nov 25 18:07:43 w49 sh[443]: boom-from-unit';
    const out = `@@failed start 1\nJob failed.\n@@status\n× demo.service\n\n${line}\n@@journal\n${line}\nNov 25 18:07:40 w49 systemd[1]: older line\n`;
    const msg = failureMessage('demo.service', out);
    expect(msg.split(line)).toHaveLength(2);
    expect(msg).toContain('  journalctl -u demo.service -n 20:\n    Nov 25 18:07:40 w49 systemd[1]: older line');
  });
});
