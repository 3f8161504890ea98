/** swapoff plan: (observed /proc/swaps + fstab, args) -> changes; the state after converges. */
import { describe, expect, it } from 'vitest';
import mod, { commentOutSwap, parseProcSwaps, parseSwapProbe, type SwapObserved, type SwapoffArgs, type SwapoffPlanData } from '../../../engine/modules/host/swapoff.js';
import type { Plan } from '../../../engine/modules/types.js';

const HEADER = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n';
const FSTAB = '# /etc/fstab\nUUID=abc / ext4 errors=remount-ro 0 1\n/swapfile none swap sw 0 0\nUUID=def none swap sw 0 0\n';

function plan(args: SwapoffArgs, obs: SwapObserved): Plan<SwapoffPlanData> {
  return mod.plan(args, obs, undefined as never) as Plan<SwapoffPlanData>;
}

/** What the host looks like after apply ran this plan. */
function after(obs: SwapObserved, p: Plan<SwapoffPlanData>): SwapObserved {
  return { active: p.data?.swapoff ? [] : obs.active, fstab: p.data?.fstab?.content ?? obs.fstab, fstabSha: 'x' };
}

const cases: Array<{ name: string; args: SwapoffArgs; obs: SwapObserved; summaries: RegExp[] }> = [
  { name: 'no swap, empty fstab: nothing (swapoff -a is never run)', args: {}, obs: { active: [], fstab: '# UNCONFIGURED FSTAB FOR BASE SYSTEM\n' }, summaries: [] },
  { name: 'no swap, no fstab at all', args: {}, obs: { active: [], fstab: null }, summaries: [] },
  { name: 'swap active, fstab clean', args: {}, obs: { active: [{ name: '/dev/sda2', type: 'partition' }], fstab: '/dev/sda1 / ext4 defaults 0 1\n' }, summaries: [/^swapoff -a \(active: \/dev\/sda2 partition\)$/] },
  {
    name: 'swap active and two fstab entries',
    args: { fstab: true },
    obs: { active: [{ name: '/swapfile', type: 'file' }], fstab: FSTAB },
    summaries: [/^swapoff -a/, /^comment out 2 swap entries in \/etc\/fstab: \/swapfile none swap sw 0 0; UUID=def none swap sw 0 0$/],
  },
  { name: 'swap off, one fstab entry left', args: {}, obs: { active: [], fstab: FSTAB }, summaries: [/^comment out 2 swap entries/] },
  { name: 'fstab: false leaves fstab alone', args: { fstab: false }, obs: { active: [], fstab: FSTAB }, summaries: [] },
  { name: 'already commented entries are left', args: {}, obs: { active: [], fstab: '#/swapfile none swap sw 0 0\n  # UUID=x none swap sw 0 0\n' }, summaries: [] },
  { name: 'a custom path', args: { path: '/tmp/fstab' }, obs: { active: [], fstab: '/swap.img\tnone\tswap\tsw\t0\t0\n' }, summaries: [/in \/tmp\/fstab: /] },
];

describe('swapoff plan', () => {
  for (const c of cases) {
    it(c.name, () => {
      const p = plan(c.args, c.obs);
      expect(p.changes.map((x) => x.summary)).toHaveLength(c.summaries.length);
      p.changes.forEach((ch, i) => expect(ch.summary).toMatch(c.summaries[i]!));
      const second = plan(c.args, after(c.obs, p));
      expect(second.changes).toEqual([]);
    });
  }

  it('the fstab change carries a diff that only comments lines', () => {
    const p = plan({}, { active: [], fstab: FSTAB });
    const diff = p.changes[0]!.diff!;
    expect(diff.before).toBe(FSTAB);
    expect(diff.after).toBe('# /etc/fstab\nUUID=abc / ext4 errors=remount-ro 0 1\n#/swapfile none swap sw 0 0\n#UUID=def none swap sw 0 0\n');
  });

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
