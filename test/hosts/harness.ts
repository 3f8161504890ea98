// Real test hosts for tsplay: Debian bookworm with real systemd and real OpenSSH, one
// systemd-nspawn container per host, each on its own loopback address 127.0.1.<i> (the machine's
// network namespace), or, with `network: 'bridge'`, in a network namespace of its own on a bridge
// the harness creates (network.ts).
// See README.md beside this file and ARCHITECTURE.md.
//
// Only Node built-ins: CI and the benchmark load this before anything else is known to work.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as fsc,
  existsSync,
  openSync,
  readFileSync,
  readdirSync,
  rmdirSync,
  statSync,
  writeFileSync,
  type Dirent,
} from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBridge, host0Network, planBridge, removeBridge, type BridgeNetwork } from './network.js';

// ---------------------------------------------------------------------------------------------
// Public types

export interface TestHost {
  /** systemd-nspawn machine name, `${prefix}-h<i>` */
  name: string;
  /** 127.0.1.<i>, or `${network.base}.<i>` on a bridge */
  address: string;
  port: number;
  /** i, the last octet of the address */
  index: number;
  /** the host's own hostname and its name in the inventory: `w<i>` */
  hostname: string;
  /** pid of this host's systemd-nspawn */
  pid: number;
}

export interface TestHosts {
  hosts: TestHost[];
  /** controller private key accepted by root, deploy and nopass on every host */
  keyFile: string;
  /** one line per host: `127.0.1.<i> ssh-ed25519 AAAA...` */
  knownHostsFile: string;
  /** Ansible-style YAML inventory of these hosts */
  inventoryFile: string;
  /** per-boot directory (upper dirs, console logs, inventory, state.json); removed by stop() */
  runDir: string;
  /** JSON with pids and paths, enough for another process to stop these hosts (see stopFromState) */
  stateFile: string;
  /** Power every host off, then remove the run dir. Safe to call twice. */
  stop(): Promise<void>;
  /** Power off the host whose `index` (last address octet) is given, leaving the others running. */
  powerOff(index: number): Promise<void>;
  /** The bridge the hosts are on (`network: 'bridge'`); undefined on the shared loopback. */
  network?: BridgeNetwork;
}

export interface BootOptions {
  first: number;
  count: number;
  /** machine name prefix; default 'tsplay' */
  prefix?: string;
  /** how long to wait for every host to answer ssh; default max(90 s, 3 s per host) */
  timeoutMs?: number;
  /**
   * Leave the hosts running when this process exits (the CLI's `up`). By default an exit or
   * SIGINT/SIGTERM of the booting process shuts its hosts down, so a crashed test run does not
   * leave containers holding the addresses the next run needs.
   */
  keepAfterExit?: boolean;
  /** progress messages; default: stderr */
  log?: (message: string) => void;
  /**
   * 'loopback' (default): every host in the machine's network namespace on 127.0.1.<i>.
   * 'bridge': every host in its own network namespace on a bridge this boot creates (network.ts),
   * with no default route; removed by stop().
   */
  network?: 'loopback' | 'bridge';
  /** On-link routes on the bridge inside every host ('bridge' only; see host0Network). */
  hostRoutes?: string[];
  /** More systemd-nspawn arguments for every host (e.g. a device the caller's test needs), each labelled by the caller. */
  nspawnArgs?: string[];
  /** Called once the bridge exists, before the hosts boot (e.g. to start a server on its address). */
  onBridge?: (net: BridgeNetwork) => void;
}

/** What state.json (and the CLI's --state file) holds. */
export interface HostsState {
  version: 1;
  ownerPid: number;
  /** false: the hosts belong to ownerPid and are orphans once it is gone */
  keepAfterExit: boolean;
  image: string;
  runDir: string;
  stateFile: string;
  keyFile: string;
  knownHostsFile: string;
  inventoryFile: string;
  /** the bridge this boot created ('bridge' mode), removed with the hosts */
  network?: BridgeNetwork;
  hosts: Array<
    TestHost & {
      /** pid of the container's own init (systemd), the nspawn's child; 0 until known */
      leaderPid: number;
      upperDir: string;
      consoleLog: string;
      /** this host's own cgroup directories, one per cgroup hierarchy that nspawn uses */
      cgroups: string[];
    }
  >;
}

// ---------------------------------------------------------------------------------------------
// Paths and constants

export const IMAGE_VERSION = 'image-v3';
export const DEPLOY_PASSWORD = 'deploy-secret-pw';
const SUITE = 'bookworm';
// containerd, runc, the CNI plugins and iproute2: a worker's container runtime (test/e2e/README.md).
// containerd is disabled in the image (DISABLE_UNITS): only the e2e harness starts it. What the
// node-prereqs role installs (conntrack, curl, ...) is not here but in the image's local apt
// repository (LOCAL_REPO_PACKAGES), so the role and the package tables install it for real.
const PACKAGES =
  'systemd,systemd-sysv,openssh-server,dbus,kmod,procps,sudo,python3,' +
  'containerd,runc,containernetworking-plugins,iproute2,ca-certificates';
const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const CGROUP_GROUP = 'tsplay';

export function cacheDir(): string {
  return process.env.TSPLAY_CACHE || '/var/cache/tsplay';
}
export function hostsCacheDir(): string {
  return path.join(cacheDir(), 'hosts');
}
export function imageDir(): string {
  return path.join(hostsCacheDir(), IMAGE_VERSION);
}
export function controllerKeyFile(): string {
  return path.join(hostsCacheDir(), 'id_ed25519');
}
function runRoot(): string {
  return path.join(hostsCacheDir(), 'run');
}

const defaultLog = (m: string) => process.stderr.write(`[tsplay hosts] ${m}\n`);

// ---------------------------------------------------------------------------------------------
// Small process helpers

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; stdoutFd?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      stdio: ['pipe', opts.stdoutFd ?? 'pipe', opts.stdoutFd ?? 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) {
      timer = setTimeout(() => {
        stderr += `\n[killed after ${opts.timeoutMs} ms]`;
        child.kill('SIGKILL');
      }, opts.timeoutMs);
    }
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin!.on('error', () => {}); // a command that ignores stdin may close it early
    child.stdin!.end(opts.input ?? '');
  });
}

async function runOk(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${(r.stderr || r.stdout).trim().slice(-4000)}`);
  }
  return r;
}

async function commandExists(cmd: string): Promise<boolean> {
  const r = await run('sh', ['-c', 'command -v "$1" >/dev/null', 'sh', cmd]);
  return r.code === 0;
}

// ---------------------------------------------------------------------------------------------
// ensureHostTools

const TOOLS: Array<[command: string, pkg: string]> = [
  ['systemd-nspawn', 'systemd-container'],
  ['debootstrap', 'debootstrap'],
  ['ssh', 'openssh-client'],
  ['ssh-keygen', 'openssh-client'],
  ['ip', 'iproute2'],
  ['flock', 'util-linux'],
];

/** apt-get install what the hosts need, only if something is missing (a fresh CI machine). */
export async function ensureHostTools(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('test hosts need root (systemd-nspawn, debootstrap, overlay mounts); run as root');
  }
  const missing = new Set<string>();
  for (const [cmd, pkg] of TOOLS) if (!(await commandExists(cmd))) missing.add(pkg);
  if (missing.size === 0) return;
  const pkgs = [...missing];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Wait for another apt (a parallel test file doing the same) instead of failing on its lock.
  const install = ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', ...pkgs];
  defaultLog(`installing ${pkgs.join(' ')}`);
  let r = await run('apt-get', install, { env });
  if (r.code !== 0) {
    // A fresh machine may have no package lists yet.
    await runOk('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update'], { env });
    r = await run('apt-get', install, { env });
  }
  if (r.code !== 0) throw new Error(`apt-get install ${pkgs.join(' ')} failed:\n${r.stderr.slice(-4000)}`);
}

// ---------------------------------------------------------------------------------------------
// ensureImage

/** The Debian mirror this machine's apt already uses, so debootstrap goes where apt is known to work. */
export function debianMirror(): string {
  if (process.env.TSPLAY_DEBIAN_MIRROR) return process.env.TSPLAY_DEBIAN_MIRROR;
  const files: string[] = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  try {
    for (const f of readdirSync('/etc/apt/sources.list.d').sort()) files.push(path.join('/etc/apt/sources.list.d', f));
  } catch {
    /* no sources.list.d */
  }
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k: string) =>
          stanza.match(new RegExp(`^${k}:\\s*(.+)$`, 'mi'))?.[1]!.trim().split(/\s+/) ?? [];
        if (!field('Types').includes('deb')) continue;
        if (!field('Suites').includes(SUITE)) continue;
        const uri = field('URIs')[0];
        if (uri) return uri.replace(/\/$/, '');
      }
    } else if (file.endsWith('.list')) {
      for (const line of text.split('\n')) {
        const m = line.match(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/);
        if (m && m[2] === SUITE) return m[1]!.replace(/\/$/, '');
      }
    }
  }
  return DEFAULT_MIRROR;
}

/**
 * Hold an exclusive flock on `lockFile` while `fn` runs. The lock is held by a `flock ... cat`
 * child reading our stdin pipe, so the kernel releases it when this process dies in any way:
 * no stale lock to detect, unlike a mkdir lock.
 */
async function withFileLock<T>(lockFile: string, what: string, log: (m: string) => void, fn: () => Promise<T>): Promise<T> {
  const holder = spawn('flock', ['-x', lockFile, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waitingNote = setTimeout(() => log(`waiting for ${what} (another process holds ${lockFile})`), 2000);
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once('data', () => resolve());
      holder.once('error', reject);
      holder.once('exit', (code) => reject(new Error(`flock ${lockFile} exited ${code} before locking`)));
    });
  } finally {
    clearTimeout(waitingNote);
  }
  holder.removeAllListeners('exit');
  try {
    return await fn();
  } finally {
    const done = new Promise((r) => holder.once('exit', r));
    holder.stdin.end();
    await done;
  }
}

async function ensureControllerKey(): Promise<void> {
  const key = controllerKeyFile();
  if (existsSync(key) && existsSync(`${key}.pub`)) return;
  const tmp = await fs.mkdtemp(path.join(hostsCacheDir(), '.key-'));
  try {
    await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tsplay-test-controller', '-f', path.join(tmp, 'k')]);
    await fs.rename(path.join(tmp, 'k.pub'), `${key}.pub`);
    await fs.rename(path.join(tmp, 'k'), key); // private key last: its presence means the pair is whole
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

const AUTHORIZED_KEYS = ['root/.ssh/authorized_keys', 'home/deploy/.ssh/authorized_keys', 'home/nopass/.ssh/authorized_keys'];

async function imageUsable(image: string): Promise<'ok' | 'missing' | 'stale-key'> {
  if (!existsSync(path.join(image, 'etc/tsplay-image'))) return 'missing';
  const key = controllerKeyFile();
  if (!existsSync(key) || !existsSync(`${key}.pub`)) return 'stale-key';
  const pub = (await fs.readFile(`${key}.pub`, 'utf8')).trim();
  for (const f of AUTHORIZED_KEYS) {
    const have = await fs.readFile(path.join(image, f), 'utf8').catch(() => '');
    if (have.trim() !== pub) return 'stale-key';
  }
  return 'ok';
}

// Units a container has no use for. Timers are disabled (not masked) so a test may still enable
// one: left on, apt-daily and friends would take apt's lock or run I/O at random moments in a
// test. The rest fail their conditions in a container or watch hardware the host does not give it.
const DISABLE_UNITS = [
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'dpkg-db-backup.timer',
  'e2scrub_all.timer',
  'fstrim.timer',
  'e2scrub_reap.service',
  'systemd-pstore.service',
  'getty@tty1.service',
  // Every test host has it installed; only a test of a worker (test/e2e) starts it, so the other
  // tests and the benchmark's 50 hosts do not pay for 50 idle container runtimes.
  'containerd.service',
];
// nspawn's console is read-only here (stdin is not a tty), so the console login prompt that the
// getty generator adds in a container can never be used; masked, it costs no process per host.
const MASK_UNITS = ['console-getty.service'];

const CUSTOMIZE_SCRIPT = `
set -eu
useradd --create-home --shell /bin/bash --groups sudo deploy
echo 'deploy:${DEPLOY_PASSWORD}' | chpasswd
useradd --create-home --shell /bin/bash nopass
# '*' rather than useradd's '!': no password, but not a "locked" account that sshd could refuse
usermod --password '*' nopass
printf 'nopass ALL=(ALL:ALL) NOPASSWD: ALL\\n' > /etc/sudoers.d/tsplay-nopass
chmod 0440 /etc/sudoers.d/tsplay-nopass
visudo -cq
for u in root deploy nopass; do
  home=$(getent passwd "$u" | cut -d: -f6)
  install -d -m 700 -o "$u" -g "$u" "$home/.ssh"
  install -m 600 -o "$u" -g "$u" /tmp/tsplay-key.pub "$home/.ssh/authorized_keys"
done
rm -f /tmp/tsplay-key.pub /etc/ssh/ssh_host_*
# Each host gets its own machine-id in its upper dir; the image's must not leak to all of them
# (systemd falls back to dbus's copy when /etc/machine-id is empty).
: > /etc/machine-id
ln -sf /etc/machine-id /var/lib/dbus/machine-id
# pam_env reads it on every ssh login and logs an error when it is missing
echo 'LANG=C.UTF-8' > /etc/default/locale
apt-get clean
`;

/**
 * The node-prereqs role's default node_prereq_packages (roles/node-prereqs/defaults/main.yml;
 * test/unit/node-prereqs.test.ts checks they are the same): the image's local apt repository holds
 * them and the dependencies they need beyond the image, as Debian ships them.
 */
export const LOCAL_REPO_PACKAGES = ['conntrack', 'ipset', 'ipvsadm', 'socat', 'jq', 'curl', 'iptables'];
export const LOCAL_REPO = '/srv/tsplay-apt';

// The test hosts have no network: their only apt source is a local repository in the image. Its
// .debs are downloaded from the mirror the image was bootstrapped from (its package lists, still
// there from debootstrap), with the dependencies the image lacks; `apt-get download` adds the
// role's packages the image already has (iptables, a dependency of the CNI plugins). tsplay-probe
// 1.0 and 2.0 are the package tables' own (test/modules/package.ts): a pin, an upgrade, a
// downgrade. The index is built with the image's own dpkg-deb, as dpkg-scanpackages would.
const LOCAL_REPO_SCRIPT = `
set -eu
export DEBIAN_FRONTEND=noninteractive
r=${LOCAL_REPO}
mkdir -p "$r"
apt-get -q install -y --download-only --no-install-recommends ${LOCAL_REPO_PACKAGES.join(' ')}
mv /var/cache/apt/archives/*.deb "$r/"
cd "$r"
for p in ${LOCAL_REPO_PACKAGES.join(' ')}; do ls "$p"_*.deb >/dev/null 2>&1 || apt-get -q download "$p"; done
for v in 1.0 2.0; do
  d=$(mktemp -d)
  mkdir -p "$d/DEBIAN" "$d/usr/share/tsplay-probe"
  printf 'Package: tsplay-probe\nVersion: %s\nArchitecture: all\nMaintainer: tsplay tests <tests@tsplay.invalid>\nDescription: a package of the tsplay package tests\n' "$v" > "$d/DEBIAN/control"
  echo "$v" > "$d/usr/share/tsplay-probe/version"
  dpkg-deb --root-owner-group --build "$d" "tsplay-probe_\${v}_all.deb" >/dev/null
  rm -rf "$d"
done
for f in *.deb; do
  dpkg-deb -f "$f"
  printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' "$f" "$(stat -c %s "$f")" "$(sha256sum < "$f" | cut -d' ' -f1)"
done > Packages
echo 'deb [trusted=yes] file:${LOCAL_REPO} ./' > /etc/apt/sources.list
rm -f /var/lib/apt/lists/*_*
apt-get -q update
`;

async function buildImage(image: string, log: (m: string) => void): Promise<void> {
  const dir = hostsCacheDir();
  // Under the lock, any earlier temp dir is a dead build's leftover.
  for (const f of await fs.readdir(dir)) {
    if (f.startsWith(`${IMAGE_VERSION}.tmp-`)) await fs.rm(path.join(dir, f), { recursive: true, force: true });
  }
  const tmp = path.join(dir, `${IMAGE_VERSION}.tmp-${process.pid}`);
  const buildLog = path.join(dir, `${IMAGE_VERSION}.build.log`);
  const mirror = debianMirror();
  log(`building ${image} with debootstrap from ${mirror} (a few minutes; log: ${buildLog})`);
  const started = Date.now();
  const fd = openSync(buildLog, 'w');
  let r: RunResult;
  try {
    r = await run(
      'debootstrap',
      ['--variant=minbase', `--include=${PACKAGES}`, SUITE, tmp, mirror],
      { stdoutFd: fd, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } },
    );
  } finally {
    closeSync(fd);
  }
  if (r.code !== 0) {
    const tail = (await fs.readFile(buildLog, 'utf8').catch(() => '')).split('\n').slice(-30).join('\n');
    const debootLog = await fs.readFile(path.join(tmp, 'debootstrap/debootstrap.log'), 'utf8').catch(() => '');
    throw new Error(`debootstrap failed (exit ${r.code}); ${buildLog} ends:\n${tail}\n${debootLog.split('\n').slice(-30).join('\n')}`);
  }
  await fs.copyFile(`${controllerKeyFile()}.pub`, path.join(tmp, 'tmp/tsplay-key.pub'));
  await runOk('chroot', [tmp, '/bin/sh', '-c', CUSTOMIZE_SCRIPT]);
  await runOk('chroot', [tmp, '/bin/sh', '-c', LOCAL_REPO_SCRIPT]);
  // systemctl --root edits unit symlinks offline, with no systemd running in the image.
  await runOk('systemctl', ['--root', tmp, '--quiet', 'disable', ...DISABLE_UNITS]);
  await runOk('systemctl', ['--root', tmp, '--quiet', 'mask', ...MASK_UNITS]);
  await fs.writeFile(
    path.join(tmp, 'etc/tsplay-image'),
    `${IMAGE_VERSION} ${SUITE} built ${new Date().toISOString()} from ${mirror}\n`,
  );
  await fs.rename(tmp, image); // only a complete image ever has this name
  log(`image built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/**
 * Build the host image once (cached outside the repo in `${TSPLAY_CACHE:-/var/cache/tsplay}/hosts/
 * image-v1`) and return its path. Safe to call from several processes at once.
 */
export async function ensureImage(opts: { log?: (m: string) => void } = {}): Promise<string> {
  const log = opts.log ?? defaultLog;
  const image = imageDir();
  if ((await imageUsable(image)) === 'ok') return image;
  await fs.mkdir(hostsCacheDir(), { recursive: true });
  return withFileLock(path.join(hostsCacheDir(), `${IMAGE_VERSION}.lock`), 'the host image', log, async () => {
    await ensureControllerKey();
    const state = await imageUsable(image);
    if (state === 'missing') {
      await buildImage(image, log);
    } else if (state === 'stale-key') {
      // Someone deleted the controller key: trust the new one rather than rebuild everything.
      log(`controller key changed; updating authorized_keys in ${image}`);
      const pub = await fs.readFile(`${controllerKeyFile()}.pub`);
      for (const f of AUTHORIZED_KEYS) await fs.writeFile(path.join(image, f), pub);
    }
    return image;
  });
}

// ---------------------------------------------------------------------------------------------
// Process and cgroup bookkeeping

/** Alive and not a zombie. */
function pidAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** Guards every signal we send against pid reuse: is `pid` still the nspawn of `machine`? */
function isNspawnOf(pid: number, machine: string): boolean {
  if (!pidAlive(pid)) return false;
  const argv = cmdline(pid);
  const m = argv.indexOf('--machine');
  return path.basename(argv[0] ?? '') === 'systemd-nspawn' && m >= 0 && argv[m + 1] === machine;
}

/** Is `pid` a process inside the given host cgroup (nspawn or container)? */
function inCgroup(pid: number, cgroupName: string): boolean {
  if (!pidAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(`/${CGROUP_GROUP}/${cgroupName}/`);
  } catch {
    return false;
  }
}

function childrenOf(pid: number): number[] {
  try {
    const out: number[] = [];
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const c = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (c) out.push(...c.split(/\s+/).map(Number));
    }
    return out;
  } catch {
    return [];
  }
}

/**
 * Mount points of the cgroup hierarchies nspawn places containers in: the cgroup2 one
 * (unified or hybrid) and the v1 `name=systemd` one (hybrid).
 */
function cgroupMounts(): string[] {
  const out: string[] = [];
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const [pre = '', post] = line.split(' - ');
    if (!post) continue;
    const mountPoint = pre.split(' ')[4];
    if (!mountPoint) continue;
    const [fstype, , superOpts] = post.split(' ');
    if (fstype === 'cgroup2') out.push(mountPoint);
    else if (fstype === 'cgroup' && superOpts?.split(',').includes('name=systemd')) out.push(mountPoint);
  }
  return out;
}

// Why every host gets its own cgroup: with --keep-unit --register=no, nspawn puts the container
// in `<its own cgroup>/payload`. Started from the same cgroup, all hosts then share one cgroup
// tree and each host's systemd creates and removes the same system.slice/*.service cgroups as the
// others; seen here: "Failed to attach to cgroup /system.slice/systemd-journal-flush.service: No
// such file or directory" and hosts coming up "degraded". A cgroup of its own per host also gives
// an exact way to end a host that will not stop (cgroup.kill), with no search by process name.
async function makeCgroups(cgroupName: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const mount of cgroupMounts()) {
    const dir = path.join(mount, CGROUP_GROUP, cgroupName);
    await fs.mkdir(dir, { recursive: true });
    dirs.push(dir);
  }
  return dirs;
}

/** rmdir a cgroup tree bottom-up; cgroupfs allows rmdir (not unlink) of empty cgroups only. */
function removeCgroupTree(dir: string): boolean {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return true;
  }
  for (const e of entries) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

function cgroupPopulated(dir: string): boolean {
  try {
    // cgroup2 keeps this for the whole subtree
    return /^populated 1$/m.test(readFileSync(path.join(dir, 'cgroup.events'), 'utf8'));
  } catch {
    return false; // a v1 hierarchy has no such file; the cgroup2 one answers for both
  }
}

function killCgroup(dir: string): void {
  try {
    writeFileSync(path.join(dir, 'cgroup.kill'), '1');
  } catch {
    /* cgroup v1 hierarchy, or already gone */
  }
}

// ---------------------------------------------------------------------------------------------
// Host-side limits and stale leftovers

/** Each booted systemd holds several inotify instances; past ~30 hosts the default 128 runs out. */
async function raiseInotifyLimits(log: (m: string) => void): Promise<void> {
  const want: Array<[string, number]> = [
    ['/proc/sys/fs/inotify/max_user_instances', 8192],
    ['/proc/sys/fs/inotify/max_user_watches', 1048576],
  ];
  for (const [file, min] of want) {
    try {
      const cur = Number((await fs.readFile(file, 'utf8')).trim());
      if (cur < min) await fs.writeFile(file, String(min));
    } catch (e) {
      log(`could not raise ${file} to ${min} (${(e as Error).message}); many hosts may fail to boot`);
    }
  }
}

async function readState(file: string): Promise<HostsState | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as HostsState;
  } catch {
    return undefined;
  }
}

/** Remove run dirs and cgroups of runs whose owner and hosts are all gone (a killed test process). */
async function sweepStale(log: (m: string) => void): Promise<void> {
  let runs: string[] = [];
  try {
    runs = await fs.readdir(runRoot());
  } catch {
    /* nothing yet */
  }
  for (const r of runs) {
    const dir = path.join(runRoot(), r);
    const st = await readState(path.join(dir, 'state.json'));
    if (!st) {
      const age = Date.now() - (statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age > 3600_000) await fs.rm(dir, { recursive: true, force: true });
      continue;
    }
    if (pidAlive(st.ownerPid)) continue;
    const running = st.hosts.some((h) => isNspawnOf(h.pid, h.name) || inCgroup(h.leaderPid, cgroupName(h)));
    if (running && st.keepAfterExit !== false) continue; // the CLI's `up`: hosts outlive their booter on purpose
    if (running) log(`stopping hosts ${st.hosts.map((h) => h.index).join(',')} left by dead process ${st.ownerPid}`);
    // (an owner killed by SIGKILL runs no exit hook)
    await stopFromState(st, log);
  }
  for (const mount of cgroupMounts()) {
    const base = path.join(mount, CGROUP_GROUP);
    let names: string[];
    try {
      names = readdirSync(base);
    } catch {
      continue;
    }
    for (const n of names) {
      const owner = Number(n.split('.')[1]);
      // A populated cgroup refuses rmdir, so this never removes a running host's cgroup.
      if (owner && !pidAlive(owner)) removeCgroupTree(path.join(base, n));
    }
  }
}

function tcpOpen(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * True once sshd sends its banner. We answer with an identification string before closing:
 * a bare connect-and-close makes every host log "error: kex_exchange_identification" at boot,
 * noise for any test that reads the journal for errors.
 */
function sshBanner(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port });
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => {
      s.destroy();
      done(false);
    });
    s.once('data', (d) => {
      const ok = d.toString('latin1').startsWith('SSH-');
      if (ok) s.end('SSH-2.0-tsplay_probe\r\n');
      else s.destroy();
      done(ok);
    });
    s.once('error', () => done(false));
    s.once('close', () => done(false));
  });
}

/** Running nspawns (ours from an earlier run, or anyone's) already using a machine name. */
function nspawnsNamed(machine: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    if (isNspawnOf(Number(p), machine)) out.push(Number(p));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ssh helpers

/** ssh arguments up to and including the destination; append the remote command. */
export function sshArgs(t: Pick<TestHosts, 'keyFile' | 'knownHostsFile'>, address: string, user = 'root'): string[] {
  return [
    '-F', '/dev/null', // a developer's ~/.ssh/config must not change what tests see
    '-i', t.keyFile,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${t.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'ConnectTimeout=5',
    '-o', 'LogLevel=ERROR',
    `${user}@${address}`,
  ];
}

/** Run a command on a host over real OpenSSH. `index` is the host's index (address octet). */
export async function sshExec(
  t: Pick<TestHosts, 'keyFile' | 'knownHostsFile' | 'hosts' | 'network'>,
  index: number,
  command: string,
  opts: { user?: string; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const h = t.hosts.find((x) => x.index === index);
  if (!h) throw new Error(`no host with index ${index}`);
  if (!addressesLocal(t)) throw new Error(`the hosts' bridge ${t.network!.bridge} is gone (hosts stopped): not connecting to ${h.address}`);
  return run('ssh', [...sshArgs(t, h.address, opts.user), command], {
    input: opts.input,
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
}

// ---------------------------------------------------------------------------------------------
// Stopping (shared by bootHosts' TestHosts, the exit hook and the CLI's `down`)

type HostRec = HostsState['hosts'][number];

async function waitExit(h: HostRec, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isNspawnOf(h.pid, h.name)) return true;
    await sleep(100);
  }
  return !isNspawnOf(h.pid, h.name);
}

function cgroupName(h: HostRec): string {
  return path.basename(h.cgroups[0] ?? '');
}

function forceKill(h: HostRec): void {
  // Killing only the nspawn would orphan the container's systemd (seen here: it keeps running,
  // reparented to pid 1), so end the container's init too: that ends its whole pid namespace.
  const name = cgroupName(h);
  for (const pid of [h.leaderPid, ...childrenOf(h.pid), h.pid]) {
    if (pid && (inCgroup(pid, name) || isNspawnOf(pid, h.name))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  for (const cg of h.cgroups) killCgroup(cg);
}

/**
 * May we connect to the hosts' addresses? On a bridge only while it exists: without it, the
 * machine would route their addresses to its default gateway, off the machine.
 */
function addressesLocal(t: { network?: BridgeNetwork }): boolean {
  return !t.network || existsSync(`/sys/class/net/${t.network.bridge}`);
}

async function stopHost(t: { keyFile: string; knownHostsFile: string; network?: BridgeNetwork }, h: HostRec, log: (m: string) => void): Promise<void> {
  if (isNspawnOf(h.pid, h.name)) {
    const r = addressesLocal(t)
      ? await run('ssh', [...sshArgs(t, h.address), 'systemctl poweroff'], { timeoutMs: 15_000 })
      : { code: 1, stdout: '', stderr: 'bridge gone' };
    // A host that took the command needs ~2 s to shut down; one that did not (no sshd), none.
    if (!(await waitExit(h, r.code === 0 ? 10_000 : 1_000))) {
      // nspawn's own orderly shutdown: it asks the container's systemd to power off
      try {
        process.kill(h.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      if (!(await waitExit(h, 5_000))) {
        log(`${h.name} (pid ${h.pid}) did not power off; killing it`);
        forceKill(h);
        await waitExit(h, 5_000);
      }
    }
  }
  // A container whose nspawn died first may outlive it.
  if (h.leaderPid && inCgroup(h.leaderPid, cgroupName(h))) forceKill(h);
  // Killed processes take a moment to leave; until then their cgroups refuse rmdir.
  const deadline = Date.now() + 5_000;
  while (h.cgroups.some(cgroupPopulated) && Date.now() < deadline) await sleep(100);
  for (const cg of h.cgroups) removeCgroupTree(cg);
  try {
    // nspawn leaves this behind when it is killed rather than exiting on its own
    rmdirSync(`/run/systemd/nspawn/propagate/${h.name}`);
  } catch {
    /* not there, or in use by a new nspawn of the same name */
  }
}

const live = new Set<HostGroup>();
let hooksInstalled = false;

function syncCleanupAll(): void {
  for (const g of live) g.cleanupSync();
  live.clear();
}

function onSignal(sig: NodeJS.Signals): void {
  syncCleanupAll();
  uninstallHooks();
  // Keep the signal's usual effect when nobody else handles it (the default handler was
  // replaced by ours merely by listening).
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', syncCleanupAll);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
}

function uninstallHooks(): void {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.off('exit', syncCleanupAll);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
}

class HostGroup implements TestHosts {
  private stopping?: Promise<void>;
  private readonly stopped = new Set<number>();
  /** Hosts being powered off or stopped: a reboot they asked for is not followed by a new boot. */
  private readonly ending = new Set<number>();

  constructor(
    readonly state: HostsState,
    private readonly log: (m: string) => void,
  ) {}

  get hosts(): TestHost[] {
    return this.state.hosts.map(({ name, address, port, index, hostname, pid }) => ({ name, address, port, index, hostname, pid }));
  }
  get network() {
    return this.state.network;
  }
  get keyFile() {
    return this.state.keyFile;
  }
  get knownHostsFile() {
    return this.state.knownHostsFile;
  }
  get inventoryFile() {
    return this.state.inventoryFile;
  }
  get runDir() {
    return this.state.runDir;
  }
  get stateFile() {
    return this.state.stateFile;
  }

  /** Is this host being powered off (or already off)? Then nspawn's exit is no reboot to follow. */
  stopsHost(index: number): boolean {
    return this.ending.has(index) || this.stopped.has(index) || this.stopping !== undefined;
  }

  async powerOff(index: number): Promise<void> {
    const h = this.state.hosts.find((x) => x.index === index);
    if (!h) throw new Error(`no host with index ${index} (have ${this.state.hosts.map((x) => x.index).join(', ')})`);
    if (this.stopped.has(index)) return;
    this.ending.add(index);
    await stopHost(this.state, h, this.log);
    this.stopped.add(index);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(
        this.state.hosts.filter((h) => !this.stopped.has(h.index)).map((h) => this.powerOff(h.index)),
      );
      // After the hosts: their veths leave the bridge with their namespaces.
      if (this.state.network) await removeBridge(this.state.network.bridge);
      await fs.rm(this.state.runDir, { recursive: true, force: true });
      live.delete(this);
      if (live.size === 0) uninstallHooks();
    })();
    return this.stopping;
  }

  /**
   * For 'exit' and signals, where nothing async runs: ask every nspawn for its orderly shutdown
   * now, and leave a detached shell to wait for them, kill what is left by pid and cgroup, and
   * remove the run dir.
   */
  cleanupSync(): void {
    const hosts = this.state.hosts.filter((h) => !this.stopped.has(h.index) && isNspawnOf(h.pid, h.name));
    for (const h of hosts) {
      this.ending.add(h.index);
      try {
        process.kill(h.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    // Per host: nspawn pid, container init pid, cgroup name, cgroup dirs. All are numbers or
    // paths this file made, so plain interpolation into the script is safe.
    const lines = hosts.map((h) => `${h.pid} ${h.leaderPid || 0} ${cgroupName(h)} ${h.cgroups.join(' ')}`);
    const script = `
      end=$(( $(date +%s) + 15 ))
      echo '${lines.join('\n')}' | while read -r pid leader name cgs; do
        # a zombie counts as gone: once orphaned, pid 1 may take a while to reap it
        while st=$(sed 's/.*) //' /proc/$pid/stat 2>/dev/null) && [ "\${st%% *}" != Z ] && [ $(date +%s) -lt $end ]; do sleep 0.2; done
        for p in $leader $pid; do
          grep -qs "/${CGROUP_GROUP}/$name/" /proc/$p/cgroup && kill -KILL $p
        done
        for cg in $cgs; do [ -e "$cg/cgroup.kill" ] && echo 1 > "$cg/cgroup.kill"; done
        sleep 0.5
        for cg in $cgs; do find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null; done
      done
      ${this.state.network ? `ip link del dev '${this.state.network.bridge}' 2>/dev/null` : ''}
      rm -rf '${this.state.runDir}'
    `;
    try {
      const c = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
      c.unref();
    } catch {
      /* nothing more can be done while exiting */
    }
    for (const h of hosts) this.stopped.add(h.index);
  }
}

/** Stop hosts described by a state file written by bootHosts (the CLI's `down`). */
export async function stopFromState(state: HostsState, log: (m: string) => void = defaultLog): Promise<void> {
  await new HostGroup(state, log).stop();
}

// ---------------------------------------------------------------------------------------------
// bootHosts

function hostAddress(i: number, net: BridgeNetwork | undefined): string {
  return net ? `${net.base}.${i}` : `127.0.1.${i}`;
}

function hostFiles(
  i: number,
  machineId: string,
  net: BridgeNetwork | undefined,
  routes: string[],
): Record<string, { text: string; mode: number }> {
  const address = hostAddress(i, net);
  const files: Record<string, { text: string; mode: number }> = {
    'etc/ssh/sshd_config.d/test.conf': {
      // HostKey: only the per-host key exists (the image has none); naming it spares sshd
      // from trying and logging the missing rsa/ecdsa defaults at every start. On a bridge the
      // host has a namespace of its own, so sshd listens on all of it: binding the address would
      // race systemd-networkd configuring it.
      text: `${net ? '' : `ListenAddress ${address}\n`}MaxSessions 64\nHostKey /etc/ssh/ssh_host_ed25519_key\n`,
      mode: 0o644,
    },
    'etc/hostname': { text: `w${i}\n`, mode: 0o644 },
    // sudo resolves the hostname: without an entry it would warn and wait on DNS at each call.
    // On a bridge this is also how a kubelet finds its node's address (its hostname's address).
    'etc/hosts': {
      text: `127.0.0.1\tlocalhost\n${address}\tw${i}\n::1\t\tlocalhost ip6-localhost ip6-loopback\n`,
      mode: 0o644,
    },
    'etc/machine-id': { text: `${machineId}\n`, mode: 0o444 },
  };
  if (net) {
    // 10-: before the image's 80-container-host0.network, which would ask for DHCP.
    files['etc/systemd/network/10-tsplay-host0.network'] = { text: host0Network(net, i, routes), mode: 0o644 };
  }
  return files;
}

/** systemd-networkd, enabled offline (the image leaves it disabled), for a host on a bridge. */
const NETWORKD_LINKS: Array<[link: string, target: string]> = [
  ['etc/systemd/system/multi-user.target.wants/systemd-networkd.service', '/lib/systemd/system/systemd-networkd.service'],
  ['etc/systemd/system/sockets.target.wants/systemd-networkd.socket', '/lib/systemd/system/systemd-networkd.socket'],
];

async function prepareUpper(upper: string, i: number, net: BridgeNetwork | undefined, routes: string[]): Promise<string> {
  // Explicit modes: an upper dir's directories replace the image's in the merged view, so a
  // strict umask here would make /etc unreadable for deploy and nopass.
  const dirs = ['', 'etc', 'etc/ssh', 'etc/ssh/sshd_config.d'];
  if (net) {
    dirs.push('etc/systemd', 'etc/systemd/network', 'etc/systemd/system', 'etc/systemd/system/multi-user.target.wants', 'etc/systemd/system/sockets.target.wants');
  }
  for (const d of dirs) {
    await fs.mkdir(path.join(upper, d), { recursive: true });
    await fs.chmod(path.join(upper, d), 0o755);
  }
  for (const [rel, { text, mode }] of Object.entries(hostFiles(i, randomBytes(16).toString('hex'), net, routes))) {
    await fs.writeFile(path.join(upper, rel), text);
    await fs.chmod(path.join(upper, rel), mode);
  }
  if (net) for (const [link, target] of NETWORKD_LINKS) await fs.symlink(target, path.join(upper, link));
  const key = path.join(upper, 'etc/ssh/ssh_host_ed25519_key');
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@w${i}`, '-f', key]);
  const [type, blob] = (await fs.readFile(`${key}.pub`, 'utf8')).trim().split(/\s+/);
  return `${hostAddress(i, net)} ${type} ${blob}`;
}

function inventoryYaml(state: HostsState): string {
  const q = (s: string) => JSON.stringify(s); // JSON strings are valid YAML scalars
  const lines = [
    `# Test hosts booted by test/hosts/harness.ts; this file goes away with them.`,
    'all:',
    '  hosts:',
  ];
  for (const h of state.hosts) {
    lines.push(
      `    ${h.hostname}:`,
      `      ansible_host: ${h.address}`,
      `      ansible_user: root`,
      `      ansible_ssh_private_key_file: ${q(state.keyFile)}`,
    );
  }
  lines.push(
    '  vars:',
    `    known_hosts_file: ${q(state.knownHostsFile)}`,
    // lets ansible-playbook itself (the benchmark's peer) verify the same host keys
    `    ansible_ssh_common_args: ${q(`-o UserKnownHostsFile=${state.knownHostsFile} -o StrictHostKeyChecking=yes`)}`,
  );
  return lines.join('\n') + '\n';
}

function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex -- ANSI escape sequences are what it strips
  return s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
}

async function consoleTail(file: string, lines = 40): Promise<string> {
  const text = stripAnsi(await fs.readFile(file, 'utf8').catch(() => '(no console output)'));
  return text.split('\n').slice(-lines).join('\n');
}

// nspawn is started through this sh so that it is already in its host's own cgroup when it
// execs (its pid stays the one we recorded); exit 97 marks a failed cgroup move.
const NSPAWN_WRAPPER = 'for d in $TSPLAY_CGROUPS; do echo $$ > "$d/cgroup.procs" || exit 97; done; unset TSPLAY_CGROUPS; exec "$@"';

/**
 * Start (or, after a reboot, restart) one host's nspawn in its own cgroup, console to its log;
 * `onExit` gets nspawn's exit code. Sets h.pid; h.leaderPid is learned once the host answers.
 */
function startNspawn(h: HostRec, image: string, args: string[], append: boolean, onExit: (code: number | null) => void): void {
  const fd = openSync(h.consoleLog, fsc.O_WRONLY | fsc.O_CREAT | (append ? fsc.O_APPEND : fsc.O_TRUNC), 0o644);
  try {
    const nspawn = ['systemd-nspawn', '-D', image, `--overlay=${image}:${h.upperDir}:/`, '--boot', '--machine', h.name, '--register=no', '--keep-unit', '-q', ...args];
    const child = spawn('sh', ['-c', NSPAWN_WRAPPER, 'tsplay-nspawn', ...nspawn], {
      detached: true, // setsid: a terminal's ^C reaches the test runner, not the hosts' consoles
      stdio: ['ignore', fd, fd],
      env: { ...process.env, TSPLAY_CGROUPS: h.cgroups.join(' ') },
    });
    child.on('error', () => {}); // reported by the caller as "exited before answering"
    child.on('exit', (code) => onExit(code));
    child.unref();
    h.pid = child.pid ?? 0;
  } finally {
    closeSync(fd);
  }
}

/** After a restart: the new container's init, once nspawn has forked it (a few seconds at most). */
async function adoptLeader(h: HostRec): Promise<void> {
  const pid = h.pid;
  h.leaderPid = 0;
  for (let i = 0; i < 100 && h.pid === pid && isNspawnOf(pid, h.name); i++) {
    const leader = childrenOf(pid)[0];
    if (leader) {
      h.leaderPid = leader;
      return;
    }
    await sleep(100);
  }
}

/**
 * Boot hosts first..first+count-1: host i is `${prefix}-h<i>` on 127.0.1.<i> (or, on a bridge,
 * `${network.base}.<i>`) with hostname w<i>.
 * Resolves when every host answers a real ssh login; rejects (after stopping them all) with the
 * console output of the hosts that did not.
 */
export async function bootHosts(opts: BootOptions): Promise<TestHosts> {
  const log = opts.log ?? defaultLog;
  const { first, count } = opts;
  const prefix = opts.prefix ?? 'tsplay';
  if (!Number.isInteger(first) || !Number.isInteger(count) || count < 1 || first < 1 || first + count - 1 > 254) {
    throw new Error(`bad host range first=${first} count=${count}: indices must be integers within 1..254`);
  }
  if (!/^[a-zA-Z0-9][a-zA-Z0-9-]*$/.test(prefix)) throw new Error(`bad prefix ${JSON.stringify(prefix)}`);
  const indices = Array.from({ length: count }, (_, k) => first + k);

  await ensureHostTools();
  const image = await ensureImage({ log });
  await raiseInotifyLimits(log);
  await sweepStale(log);
  const net = opts.network === 'bridge' ? await planBridge(first) : undefined;

  // Refuse to share an address: a leftover host would answer instead of ours and tests would
  // pass or fail against the wrong machine.
  const busy: string[] = [];
  await Promise.all(
    indices.map(async (i) => {
      const name = `${prefix}-h${i}`;
      const pids = nspawnsNamed(name);
      if (pids.length) busy.push(`${name} already runs (systemd-nspawn pid ${pids.join(', ')})`);
      // On a bridge, no probe: until the bridge exists the address would route off the machine.
      // planBridge already refused a subnet some interface (a leftover bridge) has a route for.
      else if (!net && (await tcpOpen(hostAddress(i, net), 22, 1000))) busy.push(`${hostAddress(i, net)}:22 already accepts connections`);
    }),
  );
  if (busy.length) {
    throw new Error(
      `cannot boot hosts ${first}..${first + count - 1}:\n  ${busy.sort().join('\n  ')}\n` +
        `stop them first (test/hosts/cli.ts down --state FILE), or use another index range`,
    );
  }

  const runId = `${prefix}-${first}-${count}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const runDir = path.join(runRoot(), runId);
  await fs.mkdir(runDir, { recursive: true });
  const state: HostsState = {
    version: 1,
    ownerPid: process.pid,
    keepAfterExit: !!opts.keepAfterExit,
    image,
    runDir,
    stateFile: path.join(runDir, 'state.json'),
    keyFile: controllerKeyFile(),
    knownHostsFile: path.join(runDir, 'known_hosts'),
    inventoryFile: path.join(runDir, 'inventory.yml'),
    network: net,
    hosts: [],
  };
  const saveState = () => fs.writeFile(state.stateFile, JSON.stringify(state, null, 2) + '\n');
  await saveState();

  const group = new HostGroup(state, log);
  const started = Date.now();
  try {
    if (net) {
      await createBridge(net);
      log(`bridge ${net.bridge} ${net.gateway}/${net.prefixLength}: hosts in their own network namespaces, no default route`);
      opts.onBridge?.(net);
    }
    const knownLines = await Promise.all(
      indices.map(async (i) => {
        const hostDir = path.join(runDir, `h${i}`);
        const upperDir = path.join(hostDir, 'upper');
        const line = await prepareUpper(upperDir, i, net, opts.hostRoutes ?? []);
        const name = `${prefix}-h${i}`;
        state.hosts.push({
          name,
          address: hostAddress(i, net),
          port: 22,
          index: i,
          hostname: `w${i}`,
          pid: 0,
          leaderPid: 0,
          upperDir,
          consoleLog: path.join(hostDir, 'console.log'),
          cgroups: await makeCgroups(`${name}.${process.pid}.${randomBytes(3).toString('hex')}`),
        });
        return line;
      }),
    );
    state.hosts.sort((a, b) => a.index - b.index);
    await fs.writeFile(state.knownHostsFile, knownLines.sort().join('\n') + '\n');
    await fs.writeFile(state.inventoryFile, inventoryYaml(state));

    if (!opts.keepAfterExit) {
      live.add(group);
      installHooks();
    }
    const nspawnArgs = [...(net ? [`--network-bridge=${net.bridge}`] : []), ...(opts.nspawnArgs ?? [])];
    const start = (h: HostRec, append: boolean): void => {
      startNspawn(h, image, nspawnArgs, append, (code) => {
        // 133: the host's systemd asked for a reboot (systemd-nspawn(1)); the next boot runs
        // on the same upper dir, as a machine reboots on the same disk.
        if (code !== 133 || group.stopsHost(h.index)) return;
        log(`${h.name} rebooted itself; booting it again`);
        start(h, true);
        // The state file may be gone already when the hosts are being stopped: nothing to record then.
        saveState().then(() => adoptLeader(h)).then(saveState).catch(() => {});
      });
    };
    for (const h of state.hosts) start(h, false);
    await saveState();

    const timeoutMs = opts.timeoutMs ?? Math.max(90_000, 3_000 * count);
    const deadline = Date.now() + timeoutMs;
    const failures: string[] = [];
    await Promise.all(
      state.hosts.map(async (h) => {
        let last = 'port 22 never opened';
        // the wrapper execs nspawn at once; until then argv is still sh's
        await sleep(50);
        while (Date.now() < deadline) {
          if (!pidAlive(h.pid)) {
            last = `systemd-nspawn exited before the host answered ssh`;
            break;
          }
          if (await sshBanner(h.address, 22, 2000)) {
            const r = await run('ssh', [...sshArgs(state, h.address), 'true'], { timeoutMs: 15_000 });
            if (r.code === 0) {
              h.leaderPid = childrenOf(h.pid)[0] ?? 0;
              return;
            }
            last = `ssh exited ${r.code}: ${r.stderr.trim()}`;
          }
          await sleep(200);
        }
        failures.push(
          `${h.name} (${h.address}, pid ${h.pid}): ${last}\n--- console (${h.consoleLog}) ---\n${await consoleTail(h.consoleLog)}`,
        );
      }),
    );
    await saveState();
    if (failures.length) {
      throw new Error(`${failures.length} of ${count} hosts did not come up within ${timeoutMs} ms:\n${failures.join('\n')}`);
    }
    log(`${count} host(s) ${first}..${first + count - 1} answer ssh after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return group;
  } catch (e) {
    await group.stop().catch(() => {});
    throw e;
  }
}
