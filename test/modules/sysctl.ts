/** sysctl: (live value in /proc/sys + the sysctl.d file, args) -> changes, the file and the live value after. */
import { DEFAULT_FILE } from '../../engine/modules/host/sysctl.js';
import type { HostState } from '../helpers/host-state.js';
import { moduleTable } from '../helpers/module-tester.js';
import { simulatedHost } from '../helpers/sim-host.js';

const F = '/etc/sysctl.d/k8s.conf';
/** The live value of a key, as the kernel shows it under /proc/sys. */
export const live = (key: string, value: string | null): HostState => ({ [`/proc/sys/${key.replace(/\./g, '/')}`]: value === null ? null : `${value}\n` });
const liveAfter = (key: string, value: string) => ({ [`/proc/sys/${key.replace(/\./g, '/')}`]: `${value}\n` });
/** /proc/sys read-only, as on a container sharing the machine's kernel. */
const readOnly = (key: string, value: string): HostState => ({
  [`/proc/sys/${key.replace(/\./g, '/')}`]: { content: `${value}\n`, immutable: true },
  '/proc/mounts': 'proc /proc proc rw,nosuid 0 0\nproc /proc/sys proc ro,nosuid,nodev,noexec,relatime 0 0\n',
});

export default moduleTable('sysctl', simulatedHost, [
  {
    name: 'fresh host: create the file and set live',
    args: { name: 'net.ipv4.ip_forward', value: '1' },
    before: live('net.ipv4.ip_forward', '0'),
    changes: [`create ${DEFAULT_FILE}: net.ipv4.ip_forward=1`, 'set net.ipv4.ip_forward live: 0 -> 1'],
    diffs: [{ path: DEFAULT_FILE, before: null, after: 'net.ipv4.ip_forward=1\n' }, undefined],
    after: { [DEFAULT_FILE]: { content: 'net.ipv4.ip_forward=1\n', mode: '0644' }, ...liveAfter('net.ipv4.ip_forward', '1') },
    result: { name: 'net.ipv4.ip_forward', value: '1', sysctl_file: DEFAULT_FILE },
  },
  {
    name: 'live already right: only the file',
    args: { name: 'net.ipv4.ip_forward', value: 1, sysctl_file: F },
    before: live('net.ipv4.ip_forward', '1'),
    changes: [/^create \/etc\/sysctl\.d\/k8s\.conf/],
    after: { [F]: 'net.ipv4.ip_forward=1\n' },
  },
  { name: 'converged: nothing', args: { name: 'net.ipv4.ip_forward', value: '1', sysctl_file: F }, before: { ...live('net.ipv4.ip_forward', '1'), [F]: 'net.ipv4.ip_forward = 1\n' } },
  { name: 'reload: false ignores the live value', args: { name: 'net.ipv4.ip_forward', value: '1', sysctl_file: F, reload: false }, before: { ...live('net.ipv4.ip_forward', '0'), [F]: 'net.ipv4.ip_forward=1\n' }, after: liveAfter('net.ipv4.ip_forward', '0') },
  { name: 'booleans are 1/0', args: { name: 'net.ipv4.ip_forward', value: true, sysctl_file: F }, before: { ...live('net.ipv4.ip_forward', '1'), [F]: 'net.ipv4.ip_forward=1\n' } },
  {
    name: 'changed value: first line replaced, duplicates dropped, other keys kept',
    args: { name: 'vm.swappiness', value: '0', sysctl_file: F, reload: false },
    before: { ...live('vm.swappiness', '60'), [F]: { content: '# k8s\nvm.swappiness = 60\nnet.ipv4.ip_forward=1\nvm.swappiness=10\n', mode: '0640' } },
    changes: ['update /etc/sysctl.d/k8s.conf: vm.swappiness=0'],
    // Written atomically, keeping the file's mode.
    after: { [F]: { content: '# k8s\nvm.swappiness=0\nnet.ipv4.ip_forward=1\n', mode: '0640' } },
  },
  {
    name: 'multi-valued keys compare with whitespace normalised',
    args: { name: 'net.ipv4.ip_local_port_range', value: '32768  60999', sysctl_file: F },
    before: { ...live('net.ipv4.ip_local_port_range', '32768\t60999'), [F]: 'net.ipv4.ip_local_port_range = 32768\t60999\n' },
  },
  { name: 'absent removes the lines and leaves the live value', args: { name: 'vm.swappiness', state: 'absent', sysctl_file: F }, before: { ...live('vm.swappiness', '0'), [F]: 'a.b=1\nvm.swappiness=0\n' }, changes: [/^update .*: remove vm\.swappiness$/], after: { [F]: 'a.b=1\n', ...liveAfter('vm.swappiness', '0') } },
  { name: 'absent with no file: nothing', args: { name: 'vm.swappiness', state: 'absent' }, before: live('vm.swappiness', '0'), after: { [DEFAULT_FILE]: null } },
  {
    name: 'key missing now (module not loaded yet): planned, and the live step fails after the file is written',
    args: { name: 'net.bridge.bridge-nf-call-iptables', value: '1', sysctl_file: F },
    before: { [F]: 'net.bridge.bridge-nf-call-iptables=1\n' },
    changes: ['set net.bridge.bridge-nf-call-iptables=1 live (the key does not exist now: its kernel module may not be loaded yet)'],
    fails: /^setting net\.bridge\.bridge-nf-call-iptables=1 live failed: sysctl: cannot stat \/proc\/sys\/net\/bridge\/bridge-nf-call-iptables: No such file or directory$/,
    simulatorOnly: true,
  },
  { name: 'slash-separated key in the file is the same key', args: { name: 'net.ipv4.ip_forward', value: '1', sysctl_file: F }, before: { ...live('net.ipv4.ip_forward', '1'), [F]: 'net/ipv4/ip_forward=1\n' } },
  {
    name: 'a commented line does not count',
    args: { name: 'net.ipv4.ip_forward', value: '1', sysctl_file: F },
    before: { ...live('net.ipv4.ip_forward', '1'), [F]: '#net.ipv4.ip_forward=1' },
    changes: [/^update/],
    after: { [F]: '#net.ipv4.ip_forward=1\nnet.ipv4.ip_forward=1\n' },
  },
  {
    name: 'read-only /proc/sys: the file is written, then the live step fails naming the cause',
    args: { name: 'vm.swappiness', value: '0', sysctl_file: F },
    before: readOnly('vm.swappiness', '60'),
    changes: [`create ${F}: vm.swappiness=0`, 'set vm.swappiness live: 60 -> 0'],
    fails: 'setting vm.swappiness=0 live failed: sysctl: permission denied on key "vm.swappiness"; cause: /proc/sys is mounted read-only on this host (a container sharing the machine kernel?) (/etc/sysctl.d/k8s.conf was written, so the value applies at the next boot)',
    after: { [F]: 'vm.swappiness=0\n', ...liveAfter('vm.swappiness', '60') },
    simulatorOnly: true,
  },
  { name: 'sysctl_set: false leaves a live value when the file is right (Ansible reloads only on a file change)', args: { name: 'vm.swappiness', value: '0', sysctl_file: F, sysctl_set: false }, before: { ...live('vm.swappiness', '60'), [F]: 'vm.swappiness=0\n' }, after: liveAfter('vm.swappiness', '60') },
  { name: 'sysctl_set: false still sets it live with a file change', args: { name: 'vm.swappiness', value: '0', sysctl_file: F, sysctl_set: false }, before: live('vm.swappiness', '60'), changes: [`create ${F}: vm.swappiness=0`, 'set vm.swappiness live: 60 -> 0'], after: { [F]: 'vm.swappiness=0\n', ...liveAfter('vm.swappiness', '0') }, simulatorOnly: true },
  {
    name: 'ignoreerrors: a key the kernel lacks now gets only the file',
    args: { name: 'net.bridge.bridge-nf-call-iptables', value: '1', sysctl_file: F, ignoreerrors: true },
    changes: [`create ${F}: net.bridge.bridge-nf-call-iptables=1`],
    after: { [F]: 'net.bridge.bridge-nf-call-iptables=1\n' },
    simulatorOnly: true,
  },
  { name: 'present without value fails', args: { name: 'vm.swappiness' }, before: live('vm.swappiness', '0'), fails: { message: 'value is required for vm.swappiness with state: present', hint: /state: absent/ } },
]);
