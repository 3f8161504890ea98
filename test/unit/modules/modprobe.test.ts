/** modprobe's probe output, read. (The plan's table is test/modules/modprobe.ts.) */
import { describe, expect, it } from 'vitest';
import { parseModprobeProbe } from '../../../engine/modules/host/modprobe.js';

describe('modprobe probe parsing', () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  it('loaded from /proc/modules', () => {
    expect(parseModprobeProbe(`proc:loaded\nsys:yes\nbuiltin:no\nkernel:6.1\nmoddir:yes\n@@load\n${b64('br_netfilter\n')}\n@@opts\nabsent\n`)).toEqual({
      live: 'loaded', kernel: '6.1', modulesDir: true, loadConf: 'br_netfilter\n', optsConf: null,
    });
  });
  it('no /proc/modules (kernel without module support) but /sys/module/NAME: built in', () => {
    expect(parseModprobeProbe('proc:none\nsys:yes\nbuiltin:no\nkernel:6.18\nmoddir:no\n@@load\nabsent\n@@opts\nabsent\n').live).toBe('builtin');
  });
  it('listed in modules.builtin', () => {
    expect(parseModprobeProbe('proc:no\nsys:no\nbuiltin:yes\nkernel:6.1\nmoddir:yes\n@@load\nabsent\n@@opts\nabsent\n').live).toBe('builtin');
  });
  it('nowhere: absent', () => {
    expect(parseModprobeProbe('proc:none\nsys:no\nbuiltin:no\nkernel:6.18\nmoddir:no\n@@load\nabsent\n@@opts\nabsent\n')).toMatchObject({ live: 'absent', modulesDir: false });
  });
});
