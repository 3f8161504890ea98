/**
 * Shell snippets shared by host modules. Each module reads state in one exec and changes it in
 * one exec, so a task costs at most two round trips.
 */
import type { Connection, ExecOptions, ExecResult } from '../../connect/types.js';
import { TaskError } from '../../errors.js';
import { shellQuote } from '../../connect/shell.js';

export { shellQuote as q };

export interface CheckedOptions extends ExecOptions {
  /** What was being done, for the error message: "write /etc/kubernetes/kubelet.conf". */
  what: string;
}

export async function runChecked(conn: Connection, script: string, opts: CheckedOptions): Promise<ExecResult> {
  const res = await conn.exec(script, opts);
  if (res.code !== 0) {
    const err = res.stderr.toString('utf8').trim() || res.stdout.toString('utf8').trim();
    throw new TaskError(`${opts.what} failed (exit ${res.code ?? 'signal'}): ${lastLines(err, 6)}`, hintFor(err));
  }
  return res;
}

function lastLines(text: string, n: number): string {
  return text.split('\n').slice(-n).join('\n');
}

function hintFor(stderr: string): string | undefined {
  if (/permission denied|operation not permitted|not superuser/i.test(stderr)) return 'run the task with become: true, or check the path is writable';
  if (/no space left/i.test(stderr)) return 'the target file system is full';
  if (/sudo: a password is required/i.test(stderr)) return 'set become_password for this host (kept secret)';
  return undefined;
}

/**
 * A shell function printing the sha256 of file $1. Above 1 MiB it uses openssl or Python's
 * hashlib when the host has one: both use the CPU's SHA instructions, where coreutils'
 * sha256sum does not (a 50 MB kubelet binary: ~40 ms against ~150 ms of host CPU). Small files
 * keep sha256sum, which starts faster.
 */
export const SHA256_FN = [
  `__tsplay_sha256() {`,
  `  if [ "$(stat -c %s "$1")" -gt 1048576 ]; then`,
  `    if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r "$1" | cut -d' ' -f1; return; fi`,
  `    if command -v python3 >/dev/null 2>&1; then python3 -c 'import hashlib,sys`,
  `h = hashlib.sha256()`,
  `with open(sys.argv[1], "rb") as f:`,
  `    for b in iter(lambda: f.read(1 << 20), b""): h.update(b)`,
  `print(h.hexdigest())' "$1"; return; fi`,
  `  fi`,
  `  sha256sum "$1" | cut -d' ' -f1`,
  `}`,
].join('\n');

export interface FileState {
  exists: boolean;
  type?: 'file' | 'directory' | 'link' | 'other';
  mode?: string; // four octal digits
  owner?: string;
  group?: string;
  size?: number;
  sha256?: string;
  linkTarget?: string;
  /** Current content, fetched in the same round trip when a diff may need it. */
  content?: Buffer;
}

/**
 * A snippet printing one record per path: `type|mode|owner|group|size|link` then the sha256 and,
 * when the sha differs from `expectSha` and the file is small, its content base64-encoded.
 */
export function statSnippet(path: string, opts: { hash?: boolean; expectSha?: string; contentMax?: number } = {}): string {
  const p = shellQuote(path);
  const lines = [
    `if [ -L ${p} ]; then printf 'link|%s|%s|%s|%s|%s\\n' "$(stat -c '%a|%U|%G|%s' ${p})" "$(readlink ${p})";`,
    `elif [ -e ${p} ]; then printf '%s\\n' "$(stat -c '%F|%a|%U|%G|%s|' ${p})";`,
    `else echo 'absent'; fi`,
  ];
  if (opts.hash) {
    lines.push(SHA256_FN, `if [ -f ${p} ] && [ ! -L ${p} ]; then s=$(__tsplay_sha256 ${p}); echo "sha:$s";`);
    if (opts.contentMax) {
      lines.push(`  if [ "$s" != ${shellQuote(opts.expectSha ?? '')} ] && [ "$(stat -c %s ${p})" -le ${opts.contentMax} ]; then echo 'content:'; base64 -w0 ${p}; echo; fi;`);
    }
    lines.push('fi');
  }
  return lines.join('\n');
}

export function parseStat(out: string): FileState {
  const lines = out.split('\n');
  const head = lines[0] ?? 'absent';
  if (head === 'absent') return { exists: false };
  const [rawType, mode, owner, group, size, link] = head.split('|');
  const type = rawType === 'link' ? 'link' : rawType === 'directory' ? 'directory' : rawType?.startsWith('regular') ? 'file' : 'other';
  const state: FileState = { exists: true, type, mode: mode?.padStart(4, '0'), owner, group, size: Number(size) };
  if (type === 'link') state.linkTarget = link;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('sha:')) state.sha256 = line.slice(4);
    if (line === 'content:') state.content = Buffer.from(lines[i + 1] ?? '', 'base64');
  }
  return state;
}

/** Normalise "644", "0644", 420 to "0644"; symbolic modes are not supported (say so). */
export function normalizeMode(mode: string | number | undefined): string | undefined {
  if (mode === undefined) return undefined;
  const text = typeof mode === 'number' ? mode.toString(8) : mode;
  if (!/^[0-7]{3,4}$/.test(text)) throw new TaskError(`mode '${mode}' is not an octal mode`, "quote it as a string, e.g. mode: '0644'");
  return text.padStart(4, '0');
}

export function attributeChanges(path: string, cur: FileState, want: { mode?: string; owner?: string; group?: string }): string[] {
  const out: string[] = [];
  if (want.mode && cur.mode !== want.mode) out.push(`mode ${cur.mode ?? 'none'} -> ${want.mode}`);
  if (want.owner && cur.owner !== want.owner) out.push(`owner ${cur.owner ?? 'none'} -> ${want.owner}`);
  if (want.group && cur.group !== want.group) out.push(`group ${cur.group ?? 'none'} -> ${want.group}`);
  return out.map((c) => `${path}: ${c}`);
}

/** chmod/chown commands for the attributes that differ. */
export function attributeScript(target: string, want: { mode?: string; owner?: string; group?: string }, recurse = false): string {
  const r = recurse ? '-R ' : '';
  const cmds: string[] = [];
  if (want.owner || want.group) cmds.push(`chown ${r}${shellQuote(`${want.owner ?? ''}${want.group ? `:${want.group}` : ''}`)} ${target}`);
  if (want.mode) cmds.push(`chmod ${r}${want.mode} ${target}`);
  return cmds.join(' && ');
}

/**
 * Write stdin to `path` atomically: a temp file in the same directory, attributes set on it,
 * optional validation and backup, then rename. A dropped connection leaves at most the temp
 * file, which the next write of the same path removes.
 */
export function atomicWriteScript(path: string, opts: { mode?: string; owner?: string; group?: string; validate?: string; backup?: boolean; keepMode?: boolean; expect?: { size: number; sha256?: string } }): string {
  const p = shellQuote(path);
  const lines = [
    'set -e',
    `p=${p}; d=$(dirname "$p"); b=$(basename "$p")`,
    'rm -f "$d/.$b.tsplay."*',
    't=$(mktemp "$d/.$b.tsplay.XXXXXX")',
    `trap 'rm -f "$t"' EXIT HUP INT TERM`,
    'cat > "$t"',
  ];
  if (opts.expect) {
    // A dropped connection ends stdin early and `cat` succeeds on what it got: without these
    // checks the truncated bytes would be renamed over the old file.
    const { size, sha256 } = opts.expect;
    lines.push(`n=$(stat -c %s "$t"); if [ "$n" != ${size} ]; then echo "received $n of ${size} bytes; $p left as it was" >&2; exit 4; fi`);
    if (sha256) lines.push(SHA256_FN, `if [ "$(__tsplay_sha256 "$t")" != ${sha256} ]; then echo "sha256 of the received bytes is not ${sha256}; $p left as it was" >&2; exit 4; fi`);
  }
  if (opts.mode) lines.push(`chmod ${opts.mode} "$t"`);
  else if (opts.keepMode) lines.push('if [ -e "$p" ]; then chmod --reference="$p" "$t"; else chmod 0644 "$t"; fi');
  if (opts.owner || opts.group) lines.push(`chown ${shellQuote(`${opts.owner ?? ''}${opts.group ? `:${opts.group}` : ''}`)} "$t"`);
  else lines.push('if [ -e "$p" ]; then chown --reference="$p" "$t"; fi');
  if (opts.validate) {
    const cmd = opts.validate.includes('%s') ? opts.validate.replace(/%s/g, '"$t"') : `${opts.validate} "$t"`;
    lines.push(`if ! out=$(${cmd} 2>&1); then echo "validation failed: $out" >&2; exit 3; fi`);
  }
  if (opts.backup) lines.push('if [ -e "$p" ]; then bk="$p.$(date +%Y%m%d%H%M%S).bak"; cp -p "$p" "$bk"; echo "backup:$bk"; fi');
  lines.push('mv -f "$t" "$p"', 'trap - EXIT HUP INT TERM');
  return lines.join('\n');
}

/** A file's content is shown as text in diffs only when it is text. */
export function isProbablyText(buf: Buffer): boolean {
  const sample = buf.subarray(0, 8192);
  return !sample.includes(0);
}
