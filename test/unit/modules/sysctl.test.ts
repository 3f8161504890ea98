/** sysctl's file editing, Ansible's way. (The module's table is test/modules/sysctl.ts.) */
import { describe, expect, it } from 'vitest';
import { editSysctlFile } from '../../../engine/modules/host/sysctl.js';

describe('sysctl file editing', () => {
  it('removing the only key leaves an empty file; a file without the key is untouched', () => {
    expect(editSysctlFile('vm.swappiness=0\n', 'vm.swappiness', null)).toBe('');
    expect(editSysctlFile('a=1', 'vm.swappiness', null)).toBe('a=1');
  });
});
