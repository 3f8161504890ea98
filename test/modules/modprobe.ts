/** modprobe: (the kernel's modules: loaded, built in, loadable; persistence files, args) -> changes and the state after. */
import type { HostState } from '../helpers/host-state.js';
import { moduleTable } from '../helpers/module-tester.js';
import { simulatedHost } from '../helpers/sim-host.js';

const K = '/lib/modules/6.1.0-sim';
/** Modules the kernel has loaded now. */
const loaded = (...names: string[]): HostState => ({
  '/proc/modules': names.map((n) => `${n} 16384 0 - Live 0x0000000000000000\n`).join(''),
  ...Object.fromEntries(names.map((n) => [`/sys/module/${n}`, { dir: true } as const])),
});
/** Modules it could load (their .ko files exist for the running kernel). */
const loadable = (...names: string[]): HostState => Object.fromEntries(names.map((n) => [`${K}/kernel/net/${n}.ko`, '']));
/** Built into the kernel image: in modules.builtin and /sys/module, never in /proc/modules. */
const builtin = (name: string): HostState => ({ [`${K}/modules.builtin`]: `kernel/fs/${name}/${name}.ko\n`, [`/sys/module/${name}`]: { dir: true } });
const LOAD = (n: string) => `/etc/modules-load.d/${n}.conf`;
const OPTS = (n: string) => `/etc/modprobe.d/${n}.conf`;

export default moduleTable('modprobe', simulatedHost, [
  { name: 'not loaded: load it', args: { name: 'br_netfilter' }, before: loadable('br_netfilter'), changes: ['load module br_netfilter now (modprobe br_netfilter)'], after: { '/proc/modules': /^br_netfilter / }, simulatorOnly: true },
  { name: 'br-netfilter is br_netfilter', args: { name: 'br-netfilter' }, before: loaded('br_netfilter'), simulatorOnly: true },
  { name: 'loaded: nothing', args: { name: 'br_netfilter' }, before: loaded('br_netfilter'), simulatorOnly: true },
  { name: 'built in: counts as loaded', args: { name: 'overlay', state: 'present' }, before: builtin('overlay'), result: { loaded: true, builtin: true }, simulatorOnly: true },
  {
    name: 'persistent present, not loaded: the file first, then the load',
    args: { name: 'br_netfilter', persistent: 'present' },
    before: loadable('br_netfilter'),
    changes: ['create /etc/modules-load.d/br_netfilter.conf (load at boot)', /^load module br_netfilter now/],
    after: { [LOAD('br_netfilter')]: { content: 'br_netfilter\n', mode: '0644' }, '/proc/modules': /^br_netfilter / },
    simulatorOnly: true,
  },
  {
    name: 'persistent with params writes the options file too',
    args: { name: 'dummy', params: 'numdummies=2', persistent: 'present' },
    before: { ...loaded('dummy'), [LOAD('dummy')]: 'dummy\n' },
    diff: true,
    changes: ['create /etc/modprobe.d/dummy.conf (module options)'],
    diffs: [{ path: OPTS('dummy'), before: null, after: 'options dummy numdummies=2\n' }],
    after: { [OPTS('dummy')]: 'options dummy numdummies=2\n' },
    simulatorOnly: true,
  },
  {
    name: 'params change updates the options file',
    args: { name: 'dummy', params: 'numdummies=4', persistent: 'present' },
    before: { ...loaded('dummy'), [LOAD('dummy')]: 'dummy\n', [OPTS('dummy')]: 'options dummy numdummies=2\n' },
    changes: [/^update \/etc\/modprobe\.d\/dummy\.conf/],
    after: { [OPTS('dummy')]: 'options dummy numdummies=4\n' },
    simulatorOnly: true,
  },
  { name: 'load with params', args: { name: 'dummy', params: 'numdummies=2' }, before: loadable('dummy'), changes: ['load module dummy now (modprobe dummy numdummies=2)'], simulatorOnly: true },
  {
    name: 'persistent absent removes both files',
    args: { name: 'dummy', state: 'present', persistent: 'absent' },
    before: { ...loaded('dummy'), [LOAD('dummy')]: 'dummy\n', [OPTS('dummy')]: 'options dummy x=1\n' },
    changes: ['remove /etc/modules-load.d/dummy.conf', 'remove /etc/modprobe.d/dummy.conf'],
    after: { [LOAD('dummy')]: null, [OPTS('dummy')]: null },
    simulatorOnly: true,
  },
  { name: 'persistent disabled (default) leaves the files', args: { name: 'dummy' }, before: { ...loaded('dummy'), [LOAD('dummy')]: 'something else\n' }, after: { [LOAD('dummy')]: 'something else\n' }, simulatorOnly: true },
  { name: 'absent: unload a loaded module', args: { name: 'dummy', state: 'absent' }, before: loaded('dummy'), changes: ['unload module dummy now (modprobe -r dummy)'], after: { '/proc/modules': '', '/sys/module/dummy': null }, simulatorOnly: true },
  { name: 'absent: not loaded, nothing', args: { name: 'dummy', state: 'absent' } },
  { name: 'a built-in module cannot be unloaded', args: { name: 'overlay', state: 'absent' }, before: builtin('overlay'), fails: 'module overlay is built into kernel 6.1.0-sim; it cannot be unloaded', simulatorOnly: true },
  {
    name: 'no module for the running kernel: the load fails after the persistence file was written',
    args: { name: 'tsplay_nosuch_mod', params: 'debug=1', persistent: 'present' },
    changes: [/^create \/etc\/modules-load\.d/, /^create \/etc\/modprobe\.d/, /^load module/],
    fails: 'loading kernel module tsplay_nosuch_mod failed: modprobe: FATAL: Module tsplay_nosuch_mod not found in directory /lib/modules/6.1.0-sim; cause: /lib/modules/6.1.0-sim does not exist: this host has no modules for its running kernel 6.1.0-sim (a container sharing the machine\'s kernel?) (/etc/modules-load.d/tsplay_nosuch_mod.conf, /etc/modprobe.d/tsplay_nosuch_mod.conf written, so the module is loaded at the next boot)',
    after: { [LOAD('tsplay_nosuch_mod')]: 'tsplay_nosuch_mod\n', [OPTS('tsplay_nosuch_mod')]: 'options tsplay_nosuch_mod debug=1\n' },
    simulatorOnly: true,
  },
]);
