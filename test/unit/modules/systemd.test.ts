/** systemd's unit names, probe parsing, apply script and failure message. (The module's table is test/modules/systemd.ts.) */
import { describe, expect, it } from 'vitest';
import { applyScript, failureMessage, parseShow, unitName } from '../../../engine/modules/host/systemd.js';

describe('systemd unit names', () => {
  it('unit names get .service only without a suffix', () => {
    expect(unitName('kubelet')).toBe('kubelet.service');
    expect(unitName('kubelet.service')).toBe('kubelet.service');
    expect(unitName('containerd.socket')).toBe('containerd.socket');
    expect(unitName('getty@tty1')).toBe('getty@tty1.service');
  });
});

describe('systemd probe and apply output', () => {
  it('parses systemctl show', () => {
    expect(parseShow('LoadState=loaded\nActiveState=active\nUnitFileState=\nFragmentPath=/a=b\n')).toEqual({ LoadState: 'loaded', ActiveState: 'active', UnitFileState: '', FragmentPath: '/a=b' });
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
