/**
 * A real test host as a module tester target (test/integration/modules/tables.test.ts): the same
 * setup script as the simulated host writes a case's state over SSH, and a snapshot reads back
 * the paths the case names (with what is below them), so a host module's table runs unchanged on
 * Debian's own stat, systemd and kernel. Cases that need what only the simulator can fake (swap,
 * kernel modules, a read-only /proc/sys, systemd's state) are left to it.
 */
import { shellQuote as q } from '../../engine/connect/shell.js';
import type { Connection } from '../../engine/connect/types.js';
import { expectState, setupScript, type FileExpect, type FileSnap, type HostState, type Snapshot } from './host-state.js';
import type { Case, Target } from './module-tester.js';

/** Paths only the simulator can hold: a real host's kernel and systemd answer for themselves. */
const SIMULATED = /^\/(proc|sys|sim|lib\/modules|usr\/lib\/modules|run\/sim-systemd)(\/|$)/;

type HostCase = Case<HostState, Record<string, FileExpect>>;

/** Can this case run on a real host? */
export function runsOnRealHost(c: HostCase): boolean {
  if (c.simulatorOnly) return false;
  return ![...Object.keys(c.before ?? {}), ...Object.keys(c.after ?? {})].some((p) => SIMULATED.test(p));
}

/** Directories of the system itself: never cleared, never read whole. */
const SYSTEM = new Set(['/', '/etc', '/var', '/var/lib', '/var/log', '/usr', '/usr/local', '/usr/local/bin', '/tmp', '/home', '/opt', '/run', '/root', '/bin', '/sbin', '/lib']);
const ownPath = (p: string): boolean => p.startsWith('/') && !SYSTEM.has(p.replace(/\/+$/, '') || '/');

/** The paths a case is about: its state before and after, and the path arguments. */
function pathsOf(c: HostCase): string[] {
  const args = ['dest', 'path', 'src', 'creates', 'removes', 'sysctl_file'].map((k) => c.args[k]).filter((v): v is string => typeof v === 'string');
  return [...new Set([...Object.keys(c.before ?? {}), ...Object.keys(c.after ?? {}), ...args])].filter(ownPath).sort();
}

/**
 * What an earlier case may have left at the paths this one names and holds nothing at before:
 * cleared first, so the host starts as the simulator's does, empty but for `before`.
 */
function leftovers(c: HostCase): string[] {
  for (const p of Object.keys(c.after ?? {})) if (!ownPath(p)) throw new Error(`${c.name}: the real host target never clears ${p}`);
  return pathsOf(c).filter((p) => !(c.before && p in c.before));
}

/** What is at the paths and up to three levels below them: one line per path, its name and content base64 (any name, any bytes). */
function snapshotScript(paths: string[]): string {
  const each = [
    'for f; do',
    `  st=$(stat -c '%F|%a|%U|%G' -- "$f" | tr ' |' '_ ')`,
    `  if [ -L "$f" ]; then extra=$(readlink -n -- "$f" | base64 -w0); elif [ -f "$f" ]; then extra=$(base64 -w0 < "$f"); else extra=; fi`,
    `  printf '%s %s %s\\n' "$(printf '%s' "$f" | base64 -w0)" "$st" "$extra"`,
    'done',
  ].join('\n');
  return `for p in ${paths.map(q).join(' ')}; do if [ -e "$p" ] || [ -L "$p" ]; then find "$p" -maxdepth 3 -exec sh -c ${q(each)} _ {} +; fi; done`;
}

/** Ancestors of the case's paths that an earlier case left as files: a directory is needed there. */
function clearAncestors(paths: string[]): string {
  const dirs = new Set(paths.flatMap((p) => p.split('/').slice(1, -1).map((_, i, parts) => `/${parts.slice(0, i + 1).join('/')}`)).filter(ownPath));
  return [...dirs].sort().map((d) => `if [ -e ${q(d)} ] && [ ! -d ${q(d)} ]; then rm -f -- ${q(d)}; fi`).join('\n');
}

const TYPES: Record<string, FileSnap['type']> = { regular_file: 'file', regular_empty_file: 'file', directory: 'directory', symbolic_link: 'link' };

function parseSnapshot(out: string): Snapshot {
  const snap: Snapshot = {};
  for (const line of out.split('\n').filter(Boolean)) {
    const [path, type, mode, owner, group, extra = ''] = line.split(' ');
    const s: FileSnap = { type: TYPES[type!] ?? 'other', mode: mode!.padStart(4, '0'), owner: owner!, group: group! };
    if (s.type === 'link') s.link = Buffer.from(extra, 'base64').toString('utf8');
    if (s.type === 'file') s.content = Buffer.from(extra, 'base64').toString('utf8');
    snap[Buffer.from(path!, 'base64').toString('utf8')] = s;
  }
  return snap;
}

/** Users the tables chown to, made once on the host. */
const USERS_SCRIPT = 'for u in kube etcd; do id -u "$u" >/dev/null 2>&1 || useradd --system --no-create-home --user-group "$u"; done';

export function realHost(conn: Connection): Target<HostState, Record<string, FileExpect>> {
  let users: Promise<unknown> | undefined;
  const run = async (script: string, what: string): Promise<string> => {
    const res = await conn.exec(script);
    if (res.code !== 0) throw new Error(`${what} on ${conn.host} failed (exit ${res.code}): ${res.stderr.toString()}`);
    return res.stdout.toString('utf8');
  };
  return {
    name: `real host ${conn.host}`,
    async start(before, c) {
      users ??= run(USERS_SCRIPT, 'adding the tables\' users');
      await users;
      const paths = pathsOf(c);
      // Whatever an earlier case left where this one expects something goes first; then its own state.
      await run(`${clearAncestors(paths)}\n${setupScript({ ...Object.fromEntries(leftovers(c).map((p) => [p, null])), ...before })}`, 'setting up the case');
      return {
        conn,
        state: async () => parseSnapshot(await run(snapshotScript(paths), 'reading the state')),
        expectAfter: (s, e) => expectState(s as Snapshot, e),
        close: async () => {},
      };
    },
  };
}
