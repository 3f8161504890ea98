/** slurp plan: registers content/encoding, never changes, fails clearly on a missing file. */
import { describe, expect, it } from 'vitest';
import { planSlurp } from '../../../engine/modules/host/slurp.js';

describe('slurp plan', () => {
  const cases = [
    { name: 'a file', args: { src: '/etc/hostname' }, obs: { kind: 'file', content: 'dzQxCg==' } as const, result: { content: 'dzQxCg==', encoding: 'base64', source: '/etc/hostname' } },
    { name: 'path is an alias of src', args: { path: '/etc/hostname' }, obs: { kind: 'file', content: '' } as const, result: { content: '', encoding: 'base64', source: '/etc/hostname' } },
    { name: 'missing', args: { src: '/nope' }, obs: { kind: 'absent' } as const, fail: 'file not found: /nope' },
    { name: 'directory', args: { src: '/etc' }, obs: { kind: 'directory' } as const, fail: 'source is a directory and must be a file: /etc' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = planSlurp(c.args, c.obs);
      expect(p.changes).toEqual([]);
      expect(p.result).toEqual(c.result);
      expect(p.fail?.message).toBe(c.fail);
    });
  }
});
