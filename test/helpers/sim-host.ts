/**
 * A simulated host for the module tester: a directory that is the host's whole file system, in
 * which each exec runs the module's real shell script under /bin/sh, chrooted there in a mount
 * namespace of its own. The machine's /usr is bound read-only into it (so stat, base64, sha256sum,
 * mktemp, sysctl, find are the real ones); /etc, /var, /run, /proc, /sys are the host's own plain
 * directories. What a kernel or systemd would answer is files there too: /proc/swaps,
 * /proc/modules, /proc/sys/..., /sys/module/NAME; the few commands that change the machine itself
 * (systemctl, modprobe, swapoff, and `uname -r`) are stand-ins in sim-bin/, first on PATH, that
 * keep their state in those files the way the real ones do. A read-only /proc/sys is a file with
 * the immutable attribute: the real sysctl then fails as on a container host.
 *
 * Needs root (chroot, mount); CI and the test hosts run as root.
 */
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { prepareCommand } from '../../engine/connect/shell.js';
import { supervise } from '../../engine/connect/supervise.js';
import type { Connection, ExecOptions, ExecResult } from '../../engine/connect/types.js';
import { expectState, setupScript, type FileExpect, type FileSnap, type HostState, type Snapshot } from './host-state.js';
import type { Target } from './module-tester.js';

const SIM_BIN = join(import.meta.dirname, 'sim-bin');
/** Users and groups of the simulated host, by name, as on Debian (the file modules chown to them). */
const USERS: Array<[string, number]> = [['root', 0], ['daemon', 1], ['bin', 2], ['kube', 990], ['etcd', 991], ['nobody', 65534]];
const GROUPS: Array<[string, number]> = [['root', 0], ['daemon', 1], ['bin', 2], ['adm', 4], ['users', 100], ['kube', 990], ['etcd', 991], ['nogroup', 65534]];
/** Paths of the simulated root that are the machine's, not the host's: never in a snapshot. */
const NOT_STATE = new Set(['/.hostusr', '/dev', '/sim/bin', '/etc/ld.so.cache', '/etc/alternatives', '/bin', '/sbin', '/lib', '/lib64']);
const PATH = '/sim/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin';

export class SimHost implements Connection {
  readonly base = mkdtempSync(join(tmpdir(), 'tsplay-sim-'));
  readonly root = join(this.base, 'root');
  /** Every script run, in order: what a test may assert about round trips. */
  readonly scripts: string[] = [];

  constructor(readonly host = 'sim') {
    this.skeleton();
  }

  private skeleton(): void {
    const r = this.root;
    for (const d of ['.hostusr', 'usr/lib', 'etc', 'var/lib', 'tmp', 'root', 'proc/sys', 'sys/module', 'dev', 'sim/bin', 'usr/lib/systemd/system', 'etc/systemd/system']) mkdirSync(join(r, d), { recursive: true });
    // /usr: the machine's entries through the read-only bind, except what the host owns itself
    // (kernel modules, systemd's unit directory).
    for (const e of readdirSync('/usr')) if (e !== 'lib') symlinkSync(`/.hostusr/${e}`, join(r, 'usr', e));
    for (const e of readdirSync('/usr/lib')) if (e !== 'modules' && e !== 'systemd') symlinkSync(`/.hostusr/lib/${e}`, join(r, 'usr/lib', e));
    for (const [link, to] of [['bin', 'usr/bin'], ['sbin', 'usr/sbin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64']] as const) if (existsSync(`/usr/${to.slice(4)}`)) symlinkSync(to, join(r, link));
    for (const dev of ['null', 'zero', 'urandom']) writeFileSync(join(r, 'dev', dev), '');
    for (const tool of readdirSync(SIM_BIN)) copyFileSync(join(SIM_BIN, tool), join(r, 'sim/bin', tool));
    for (const tool of readdirSync(join(r, 'sim/bin'))) chmodSync(join(r, 'sim/bin', tool), 0o755);
    if (existsSync('/etc/ld.so.cache')) copyFileSync('/etc/ld.so.cache', join(r, 'etc/ld.so.cache'));
    // awk, which and friends are Debian alternatives: links through /etc/alternatives into /usr,
    // bound read-only from the machine like /usr.
    mkdirSync(join(r, 'etc/alternatives'));
    writeFileSync(join(r, 'etc/passwd'), USERS.map(([n, id]) => `${n}:x:${id}:${id}:${n}:/${n === 'root' ? 'root' : 'nonexistent'}:/bin/sh\n`).join(''));
    writeFileSync(join(r, 'etc/group'), GROUPS.map(([n, id]) => `${n}:x:${id}:\n`).join(''));
    // What Debian's passwd package holds, so the shadow tools (useradd, chpasswd -e, ...) behave
    // here as on a Debian host: shadow files, login.defs' settings that they read, a skeleton.
    writeFileSync(join(r, 'etc/shadow'), USERS.map(([n]) => `${n}:*:19000:0:99999:7:::\n`).join(''), { mode: 0o640 });
    writeFileSync(join(r, 'etc/gshadow'), GROUPS.map(([n]) => `${n}:*::\n`).join(''), { mode: 0o640 });
    writeFileSync(join(r, 'etc/login.defs'), 'MAIL_DIR /var/mail\nUMASK 022\nPASS_MAX_DAYS 99999\nPASS_MIN_DAYS 0\nPASS_WARN_AGE 7\nUID_MIN 1000\nUID_MAX 60000\nGID_MIN 1000\nGID_MAX 60000\nUSERGROUPS_ENAB yes\nENCRYPT_METHOD SHA512\nNONEXISTENT /nonexistent\n');
    mkdirSync(join(r, 'etc/default'));
    writeFileSync(join(r, 'etc/default/useradd'), 'SHELL=/bin/sh\n');
    mkdirSync(join(r, 'etc/skel'));
    writeFileSync(join(r, 'etc/skel/.profile'), '# ~/.profile of a new user (the simulated host\'s /etc/skel)\n');
    writeFileSync(join(r, 'sim/kernel'), '6.1.0-sim\n');
    writeFileSync(join(r, 'proc/swaps'), 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n');
    writeFileSync(join(r, 'proc/modules'), '');
    // Last: systemd made its generator directory at its last daemon-reload, after every unit file.
    mkdirSync(join(r, 'run/systemd/generator'), { recursive: true });
    writeFileSync(join(r, 'proc/mounts'), 'proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\nsysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n');
  }

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.scripts.push(command);
    // The script runs as root in the chroot: becoming root is already the case.
    const options = { ...opts, become: undefined };
    const prepared = prepareCommand(command, options);
    const enter = [
      'set -e',
      'r=$1',
      'mount --bind -o ro /usr "$r/.hostusr"',
      'if [ -d /etc/alternatives ]; then mount --bind -o ro /etc/alternatives "$r/etc/alternatives"; fi',
      'for d in null zero urandom; do mount --bind "/dev/$d" "$r/dev/$d"; done',
      `exec chroot "$r" /usr/bin/env -i PATH=${PATH} HOME=/root LANG=C.UTF-8 /bin/sh -c "$2"`,
    ].join('\n');
    const child = spawn('unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', enter, 'sim', this.root, prepared.command], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const run = supervise(
      {
        stdin: child.stdin,
        stdout: child.stdout,
        stderr: child.stderr,
        terminate: () => {
          try {
            process.kill(-child.pid!, 'SIGTERM');
          } catch {
            child.kill('SIGTERM');
          }
        },
      },
      prepared,
      options,
    );
    child.on('error', (err) => run.fail(err));
    child.on('close', (code) => run.exited(code));
    return run.result;
  }

  /** Make the host hold this state (the same script a real test host gets). */
  async setup(state: HostState): Promise<void> {
    const res = await this.exec(setupScript(state));
    if (res.code !== 0) throw new Error(`setting up the simulated host failed (exit ${res.code}): ${res.stderr.toString()}`);
  }

  /** Everything the host holds: each path with its type, mode, owner, group, and content or target. */
  snapshot(): Snapshot {
    const out: Snapshot = {};
    const users = new Map(USERS.map(([n, id]) => [id, n]));
    const groups = new Map(GROUPS.map(([n, id]) => [id, n]));
    const walk = (rel: string): void => {
      for (const e of readdirSync(join(this.root, rel)).sort()) {
        const path = `${rel}/${e}`;
        if (NOT_STATE.has(path) || (rel === '/usr' && e !== 'lib') || (rel === '/usr/lib' && e !== 'modules' && e !== 'systemd')) continue;
        const full = join(this.root, path);
        const st = lstatSync(full);
        const snap: FileSnap = {
          type: st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'directory' : st.isFile() ? 'file' : 'other',
          mode: (st.mode & 0o7777).toString(8).padStart(4, '0'),
          owner: users.get(st.uid) ?? String(st.uid),
          group: groups.get(st.gid) ?? String(st.gid),
        };
        if (snap.type === 'link') snap.link = readlinkSync(full);
        if (snap.type === 'file') snap.content = readFileSync(full).toString('utf8');
        out[path] = snap;
        if (snap.type === 'directory') walk(path);
      }
    };
    walk('');
    return out;
  }

  /** A file of the host, read from outside (for assertions on what a snapshot does not hold). */
  read(path: string): string {
    return readFileSync(join(this.root, path), 'utf8');
  }

  /** Write a file of the host from outside, creating its directory. */
  write(path: string, content: string): void {
    mkdirSync(dirname(join(this.root, path)), { recursive: true });
    writeFileSync(join(this.root, path), content);
  }

  async close(): Promise<void> {
    // Immutable files (a read-only /proc/sys) must lose the attribute before they can go.
    try {
      execFileSync('chattr', ['-R', '-i', join(this.root, 'proc')], { stdio: 'ignore' });
    } catch {
      /* nothing was immutable, or no chattr: rm says so if it matters */
    }
    rmSync(this.base, { recursive: true, force: true });
  }
}

/** The host modules' default target: a fresh simulated host per case. */
export const simulatedHost: Target<HostState, Record<string, FileExpect>> = {
  name: 'simulated host',
  async start(before) {
    const h = new SimHost();
    if (before) await h.setup(before);
    // A simulated host has no connection to drop: a new one is the same host.
    return { conn: h, reconnect: async () => h, state: async () => h.snapshot(), expectAfter: (s, e) => expectState(s as Snapshot, e), close: () => h.close() };
  },
};
