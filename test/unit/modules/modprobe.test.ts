/** modprobe plan: (live module state + persistence files, args) -> changes; the state after converges. */
import { describe, expect, it } from 'vitest';
import { parseModprobeProbe, planModprobe, type ModprobeArgs, type ModprobeObserved } from '../../../engine/modules/host/modprobe.js';

const base: ModprobeObserved = { live: 'absent', kernel: '6.1.0-18-amd64', modulesDir: true, loadConf: null, optsConf: null };
const obs = (o: Partial<ModprobeObserved>): ModprobeObserved => ({ ...base, ...o });

/** The host after apply (assuming the live step works). */
function after(before: ModprobeObserved, args: ModprobeArgs, p: ReturnType<typeof planModprobe>): ModprobeObserved {
  const next = { ...before };
  for (const f of p.data?.files ?? []) {
    if (f.path.startsWith('/etc/modules-load.d/')) next.loadConf = f.content;
    else next.optsConf = f.content;
  }
  if (p.data?.live === 'load') next.live = 'loaded';
  if (p.data?.live === 'unload') next.live = 'absent';
  void args;
  return next;
}

const cases: Array<{ name: string; args: ModprobeArgs; obs: ModprobeObserved; summaries: RegExp[]; live?: 'load' | 'unload' }> = [
  { name: 'not loaded: load it', args: { name: 'br_netfilter' }, obs: base, summaries: [/^load module br_netfilter now \(modprobe br_netfilter\)$/], live: 'load' },
  { name: 'loaded: nothing', args: { name: 'br_netfilter' }, obs: obs({ live: 'loaded' }), summaries: [] },
  { name: 'built in: counts as loaded', args: { name: 'overlay', state: 'present' }, obs: obs({ live: 'builtin' }), summaries: [] },
  {
    name: 'persistent present, not loaded: file first, then load',
    args: { name: 'br_netfilter', persistent: 'present' },
    obs: base,
    summaries: [/^create \/etc\/modules-load\.d\/br_netfilter\.conf \(load at boot\)$/, /^load module br_netfilter now/],
    live: 'load',
  },
  {
    name: 'persistent with params writes the options file too',
    args: { name: 'dummy', params: 'numdummies=2', persistent: 'present' },
    obs: obs({ live: 'loaded', loadConf: 'dummy\n' }),
    summaries: [/^create \/etc\/modprobe\.d\/dummy\.conf \(module options\)$/],
  },
  { name: 'params change updates the options file', args: { name: 'dummy', params: 'numdummies=4', persistent: 'present' }, obs: obs({ live: 'loaded', loadConf: 'dummy\n', optsConf: 'options dummy numdummies=2\n' }), summaries: [/^update \/etc\/modprobe\.d\/dummy\.conf/] },
  { name: 'load with params', args: { name: 'dummy', params: 'numdummies=2' }, obs: base, summaries: [/^load module dummy now \(modprobe dummy numdummies=2\)$/], live: 'load' },
  { name: 'persistent absent removes both files', args: { name: 'dummy', state: 'present', persistent: 'absent' }, obs: obs({ live: 'loaded', loadConf: 'dummy\n', optsConf: 'options dummy x=1\n' }), summaries: [/^remove \/etc\/modules-load\.d\/dummy\.conf$/, /^remove \/etc\/modprobe\.d\/dummy\.conf$/] },
  { name: 'persistent disabled (default) leaves files', args: { name: 'dummy' }, obs: obs({ live: 'loaded', loadConf: 'something else\n' }), summaries: [] },
  { name: 'absent: unload a loaded module', args: { name: 'dummy', state: 'absent' }, obs: obs({ live: 'loaded' }), summaries: [/^unload module dummy now \(modprobe -r dummy\)$/], live: 'unload' },
  { name: 'absent: not loaded, nothing', args: { name: 'dummy', state: 'absent' }, obs: base, summaries: [] },
];

describe('modprobe plan', () => {
  for (const c of cases) {
    it(c.name, () => {
      const p = planModprobe(c.args, c.obs);
      expect(p.fail).toBeUndefined();
      expect(p.changes).toHaveLength(c.summaries.length);
      p.changes.forEach((ch, i) => expect(ch.summary).toMatch(c.summaries[i]!));
      expect(p.data?.live).toBe(c.live);
      expect(planModprobe(c.args, after(c.obs, c.args, p)).changes).toEqual([]);
    });
  }

  it('file changes carry diffs with the exact content', () => {
    const p = planModprobe({ name: 'dummy', params: 'numdummies=2', persistent: 'present' }, base);
    expect(p.changes[0]!.diff).toEqual({ path: '/etc/modules-load.d/dummy.conf', before: null, after: 'dummy\n' });
    expect(p.changes[1]!.diff).toEqual({ path: '/etc/modprobe.d/dummy.conf', before: null, after: 'options dummy numdummies=2\n' });
  });

  it('a built-in module cannot be unloaded: clear failure', () => {
    expect(planModprobe({ name: 'overlay', state: 'absent' }, obs({ live: 'builtin' })).fail?.message).toBe('module overlay is built into kernel 6.1.0-18-amd64; it cannot be unloaded');
  });
});

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
