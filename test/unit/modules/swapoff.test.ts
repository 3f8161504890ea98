/** swapoff's fstab editing and /proc/swaps parsing. (The module's table is test/modules/swapoff.ts.) */
import { describe, expect, it } from 'vitest';
import { commentOutSwap, parseProcSwaps } from '../../../engine/modules/host/swapoff.js';

const HEADER = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n';
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
});
