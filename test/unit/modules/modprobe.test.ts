/** What modprobe reads of the kernel, parsed. (The module's table is test/modules/modprobe.ts.) */
import { describe, expect, it } from 'vitest';
import { parseKernelModule } from '../../../engine/modules/host/modprobe.js';

describe('modprobe kernel fact', () => {
  it('loaded from /proc/modules', () => {
    expect(parseKernelModule('proc:loaded\nsys:yes\nbuiltin:no\nkernel:6.1\nmoddir:yes\n')).toEqual({ live: 'loaded', kernel: '6.1', modulesDir: true });
  });
  it('no /proc/modules (kernel without module support) but /sys/module/NAME: built in', () => {
    expect(parseKernelModule('proc:none\nsys:yes\nbuiltin:no\nkernel:6.18\nmoddir:no\n').live).toBe('builtin');
  });
  it('listed in modules.builtin', () => {
    expect(parseKernelModule('proc:no\nsys:no\nbuiltin:yes\nkernel:6.1\nmoddir:yes\n').live).toBe('builtin');
  });
  it('nowhere: absent', () => {
    expect(parseKernelModule('proc:none\nsys:no\nbuiltin:no\nkernel:6.18\nmoddir:no\n')).toMatchObject({ live: 'absent', modulesDir: false });
  });
});
