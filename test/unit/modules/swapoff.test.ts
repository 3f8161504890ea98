/** swapoff's fstab editing and probe output. (The module's table is test/modules/swapoff.ts.) */
import { describe, expect, it } from 'vitest';
import { commentOutSwap, parseProcSwaps, parseSwapProbe } from '../../../engine/modules/host/swapoff.js';

const HEADER = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n';
const FSTAB = '# /etc/fstab\nUUID=abc / ext4 errors=remount-ro 0 1\n/swapfile none swap sw 0 0\nUUID=def none swap sw 0 0\n';

describe('swapoff fstab editing', () => {
  it('commentOutSwap keeps a file without a trailing newline as it was', () => {
    expect(commentOutSwap('/a none swap sw 0 0').content).toBe('#/a none swap sw 0 0');
  });
});

describe('swapoff probe parsing', () => {
  it('reads /proc/swaps with escaped spaces', () => {
    expect(parseProcSwaps(`${HEADER}/dev/sda2                               partition\t2097148\t\t0\t\t-2\n/my\\040swap file 10 0 -3\n`)).toEqual([
      { name: '/dev/sda2', type: 'partition' },
      { name: '/my swap', type: 'file' },
    ]);
    expect(parseProcSwaps(HEADER)).toEqual([]);
  });

  it('reads the probe output', () => {
    const b64 = Buffer.from(FSTAB).toString('base64');
    expect(parseSwapProbe(`@@swaps\n${HEADER}@@fstab\nsha:abc\n${b64}\n`)).toEqual({ active: [], fstab: FSTAB, fstabSha: 'abc' });
    expect(parseSwapProbe(`@@swaps\n${HEADER}@@fstab\nabsent\n`)).toEqual({ active: [], fstab: null });
  });
});
