/** sysctl plan: (live value + file, args) -> changes; the state after converges. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FILE, editSysctlFile, planSysctl, type SysctlArgs, type SysctlObserved } from '../../../engine/modules/host/sysctl.js';

function after(before: SysctlObserved, p: ReturnType<typeof planSysctl>): SysctlObserved {
  return { live: p.data?.live ?? before.live, file: p.data?.content ?? before.file };
}

const F = '/etc/sysctl.d/k8s.conf';
const cases: Array<{ name: string; args: SysctlArgs; obs: SysctlObserved; summaries: RegExp[]; file?: string; live?: string }> = [
  {
    name: 'fresh host: create the file and set live',
    args: { name: 'net.ipv4.ip_forward', value: '1' },
    obs: { live: '0', file: null },
    summaries: [new RegExp(`^create ${DEFAULT_FILE}: net\\.ipv4\\.ip_forward=1$`), /^set net\.ipv4\.ip_forward live: 0 -> 1$/],
    file: 'net.ipv4.ip_forward=1\n',
    live: '1',
  },
  { name: 'live already right: only the file', args: { name: 'net.ipv4.ip_forward', value: 1, sysctl_file: F }, obs: { live: '1', file: null }, summaries: [/^create \/etc\/sysctl\.d\/k8s\.conf/], file: 'net.ipv4.ip_forward=1\n' },
  { name: 'converged: nothing', args: { name: 'net.ipv4.ip_forward', value: '1', sysctl_file: F }, obs: { live: '1', file: 'net.ipv4.ip_forward = 1\n' }, summaries: [] },
  { name: 'reload: false ignores the live value', args: { name: 'net.ipv4.ip_forward', value: '1', sysctl_file: F, reload: false }, obs: { live: '0', file: 'net.ipv4.ip_forward=1\n' }, summaries: [] },
  { name: 'booleans are 1/0', args: { name: 'net.ipv4.ip_forward', value: true, sysctl_file: F }, obs: { live: '1', file: 'net.ipv4.ip_forward=1\n' }, summaries: [] },
  {
    name: 'changed value: first line replaced, duplicates dropped, other keys kept',
    args: { name: 'vm.swappiness', value: '0', sysctl_file: F, reload: false },
    obs: { live: '60', file: '# k8s\nvm.swappiness = 60\nnet.ipv4.ip_forward=1\nvm.swappiness=10\n' },
    summaries: [/^update \/etc\/sysctl\.d\/k8s\.conf: vm\.swappiness=0$/],
    file: '# k8s\nvm.swappiness=0\nnet.ipv4.ip_forward=1\n',
  },
  {
    name: 'multi-valued keys compare with whitespace normalised',
    args: { name: 'net.ipv4.ip_local_port_range', value: '32768  60999', sysctl_file: F },
    obs: { live: '32768 60999', file: 'net.ipv4.ip_local_port_range = 32768\t60999\n' },
    summaries: [],
  },
  { name: 'absent removes the lines and leaves the live value', args: { name: 'vm.swappiness', state: 'absent', sysctl_file: F }, obs: { live: '0', file: 'a.b=1\nvm.swappiness=0\n' }, summaries: [/^update .*: remove vm\.swappiness$/], file: 'a.b=1\n' },
  { name: 'absent with no file: nothing', args: { name: 'vm.swappiness', state: 'absent' }, obs: { live: '0', file: null }, summaries: [] },
  {
    name: 'key missing now (module not loaded yet): planned, and says so',
    args: { name: 'net.bridge.bridge-nf-call-iptables', value: '1', sysctl_file: F },
    obs: { live: null, file: 'net.bridge.bridge-nf-call-iptables=1\n' },
    summaries: [/^set net\.bridge\.bridge-nf-call-iptables=1 live \(the key does not exist now: its kernel module may not be loaded yet\)$/],
    live: '1',
  },
  { name: 'slash-separated key in the file is the same key', args: { name: 'net.ipv4.ip_forward', value: '1', sysctl_file: F }, obs: { live: '1', file: 'net/ipv4/ip_forward=1\n' }, summaries: [] },
  { name: 'commented line does not count', args: { name: 'net.ipv4.ip_forward', value: '1', sysctl_file: F }, obs: { live: '1', file: '#net.ipv4.ip_forward=1' }, summaries: [/^update/], file: '#net.ipv4.ip_forward=1\nnet.ipv4.ip_forward=1\n' },
];

describe('sysctl plan', () => {
  for (const c of cases) {
    it(c.name, () => {
      const p = planSysctl(c.args, c.obs);
      expect(p.fail).toBeUndefined();
      expect(p.changes).toHaveLength(c.summaries.length);
      p.changes.forEach((ch, i) => expect(ch.summary).toMatch(c.summaries[i]!));
      expect(p.data?.content).toBe(c.file);
      expect(p.data?.live).toBe(c.live);
      if (c.file !== undefined) expect(p.changes[0]!.diff).toEqual({ path: c.args.sysctl_file ?? DEFAULT_FILE, before: c.obs.file, after: c.file });
      expect(planSysctl(c.args, after(c.obs, p)).changes).toEqual([]);
    });
  }

  it('present without value fails', () => {
    expect(planSysctl({ name: "vm.swappiness" }, { live: "0", file: null }).fail?.message).toMatch(/value is required/);
  });

  it('removing the only key leaves an empty file; a file without the key is untouched', () => {
    expect(editSysctlFile('vm.swappiness=0\n', 'vm.swappiness', null)).toBe('');
    expect(editSysctlFile('a=1', 'vm.swappiness', null)).toBe('a=1');
  });
});
