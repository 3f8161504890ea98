/** swapoff: (/proc/swaps + fstab, args) -> changes, fstab and swap after. */
import type { HostState } from '../helpers/host-state.js';
import { moduleTable } from '../helpers/module-tester.js';
import { simulatedHost } from '../helpers/sim-host.js';

const HEADER = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n';
const FSTAB = '# /etc/fstab\nUUID=abc / ext4 errors=remount-ro 0 1\n/swapfile none swap sw 0 0\nUUID=def none swap sw 0 0\n';
const COMMENTED = '# /etc/fstab\nUUID=abc / ext4 errors=remount-ro 0 1\n#/swapfile none swap sw 0 0\n#UUID=def none swap sw 0 0\n';
/** Swap the kernel has on now. */
const swaps = (...devices: string[]): HostState => ({ '/proc/swaps': HEADER + devices.map((d) => `${d}\t\t2097148\t\t0\t\t-2\n`).join('') });
const SWAP_OFF = { '/proc/swaps': HEADER };

export default moduleTable('swapoff', simulatedHost, [
  { name: 'no swap, no swap entry in fstab: nothing (swapoff -a is never run)', args: {}, before: { '/etc/fstab': '# UNCONFIGURED FSTAB FOR BASE SYSTEM\n', '/sim/swapoff-fails': '' }, result: { swaps: [] } },
  { name: 'no swap, no fstab at all', args: {}, after: { '/etc/fstab': null } },
  {
    name: 'swap active, fstab clean: swapoff -a',
    args: {},
    before: { ...swaps('/dev/sda2 partition'), '/etc/fstab': '/dev/sda1 / ext4 defaults 0 1\n' },
    changes: ['swapoff -a (active: /dev/sda2 partition)'],
    after: { ...SWAP_OFF, '/etc/fstab': '/dev/sda1 / ext4 defaults 0 1\n' },
    simulatorOnly: true,
  },
  {
    name: 'swap active and two fstab entries: both commented out, then swapoff',
    args: { fstab: true },
    before: { ...swaps('/swapfile file'), '/etc/fstab': { content: FSTAB, mode: '0640', owner: 'root', group: 'adm' } },
    diff: true,
    changes: ['swapoff -a (active: /swapfile file)', 'comment out 2 swap entries in /etc/fstab: /swapfile none swap sw 0 0; UUID=def none swap sw 0 0'],
    diffs: [undefined, { path: '/etc/fstab', before: FSTAB, after: COMMENTED }],
    // Atomically replaced, keeping mode and owner.
    after: { ...SWAP_OFF, '/etc/fstab': { content: COMMENTED, mode: '0640', owner: 'root', group: 'adm' } },
    simulatorOnly: true,
  },
  { name: 'swap off, entries left in fstab: commented out', args: {}, before: { '/etc/fstab': FSTAB }, changes: [/^comment out 2 swap entries/], after: { '/etc/fstab': COMMENTED } },
  { name: 'fstab: false leaves fstab alone', args: { fstab: false }, before: { '/etc/fstab': FSTAB }, after: { '/etc/fstab': FSTAB } },
  { name: 'already commented entries are left', args: {}, before: { '/etc/fstab': '#/swapfile none swap sw 0 0\n  # UUID=x none swap sw 0 0\n' } },
  { name: 'a custom path', args: { path: '/tmp/fstab' }, before: { '/tmp/fstab': '/swap.img\tnone\tswap\tsw\t0\t0\n' }, changes: [/in \/tmp\/fstab: /], after: { '/tmp/fstab': '#/swap.img\tnone\tswap\tsw\t0\t0\n' } },
  {
    name: 'swapoff refused: fstab is still updated, so swap stays off after a reboot',
    args: {},
    before: { ...swaps('/swapfile file'), '/etc/fstab': FSTAB, '/sim/swapoff-fails': '' },
    changes: [/^swapoff -a/, /^comment out 2/],
    fails: 'turning swap off failed: swapoff -a: swapoff: Not superuser.; /etc/fstab was updated, so swap stays off after a reboot',
    after: { '/etc/fstab': COMMENTED, '/proc/swaps': /\/swapfile/ },
    simulatorOnly: true,
  },
]);
