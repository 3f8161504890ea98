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
  `  if [ "$(stat -c %s -- "$1")" -gt 1048576 ]; then`,
  `    if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r < "$1" | cut -d' ' -f1; return; fi`,
  `    if command -v python3 >/dev/null 2>&1; then python3 -c 'import hashlib,sys`,
  `h = hashlib.sha256()`,
  `with open(sys.argv[1], "rb") as f:`,
  `    for b in iter(lambda: f.read(1 << 20), b""): h.update(b)`,
  `print(h.hexdigest())' "$1"; return; fi`,
  `  fi`,
  // From stdin: with a backslash or newline in the name, sha256sum escapes it and prefixes the
  // hash with a backslash.
  `  sha256sum < "$1" | cut -d' ' -f1`,
  `}`,
].join('\n');

export interface FileState {
  exists: boolean;
  type?: 'file' | 'directory' | 'link' | 'other';
  mode?: string; // four octal digits
  owner?: string;
  group?: string;
  uid?: number;
  gid?: number;
  size?: number;
  sha256?: string;
  linkTarget?: string;
  /** Current content, fetched in the same round trip when a diff may need it. */
  content?: Buffer;
}

/**
 * A snippet printing what is at `path`, as fixed fields only: whatever the file's name, link
 * target, owner name or content, no line of the output can be made to look like another field.
 *
 *   stat <b64 of type NUL mode NUL uid NUL gid NUL size NUL owner NUL group>   one lstat
 *   link <b64 of the target>   symlinks
 *   sha <hex>                  regular files, with `hash`
 *   content <b64>              with `contentMax`, when the sha differs from `expectSha`
 *
 * `stat` without -L: a link is reported as the link, never as what it points to.
 */
export function statSnippet(path: string, opts: StatSnippetOptions = {}): string {
  return statSnippetAt(shellQuote(path), opts);
}

export interface StatSnippetOptions {
  hash?: boolean;
  expectSha?: string;
  contentMax?: number;
}

/** statSnippet of a path given as a shell word: quoted already, or a variable ("$r") the script set. */
export function statSnippetAt(p: string, opts: StatSnippetOptions = {}): string {
  const lines = [
    `if [ -e ${p} ] || [ -L ${p} ]; then printf 'stat '; stat --printf '%F\\0%a\\0%u\\0%g\\0%s\\0%U\\0%G' -- ${p} | base64 -w0; echo;`,
    `  if [ -L ${p} ]; then printf 'link '; readlink -n -- ${p} | base64 -w0; echo; fi`,
    `else echo 'absent'; fi`,
  ];
  if (opts.hash) {
    lines.push(SHA256_FN, `if [ -f ${p} ] && [ ! -L ${p} ]; then s=$(__tsplay_sha256 ${p}); echo "sha $s";`);
    if (opts.contentMax) {
      lines.push(`  if [ "$s" != ${shellQuote(opts.expectSha ?? '')} ] && [ "$(stat -c %s -- ${p})" -le ${opts.contentMax} ]; then printf 'content '; base64 -w0 < ${p}; echo; fi;`);
    }
    lines.push('fi');
  }
  return lines.join('\n');
}

const TYPES: Record<string, NonNullable<FileState['type']>> = { 'regular file': 'file', 'regular empty file': 'file', directory: 'directory', 'symbolic link': 'link' };

/** Read statSnippet's output. Anything that is not one of its fields is an error, not skipped. */
export function parseStat(out: string, path = 'the file'): FileState {
  const lines = out.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const bad = (line: string): never => {
    throw new TaskError(`unexpected probe output for ${path}: ${JSON.stringify(line.slice(0, 120))}`, "the host's stat, base64 or sha256sum behaves unlike GNU coreutils; tsplay needs coreutils on the host");
  };
  const field = (line: string | undefined, name: string): string | undefined => {
    const m = line === undefined ? null : new RegExp(`^${name} ([A-Za-z0-9+/=]*)$`).exec(line);
    return m ? Buffer.from(m[1]!, 'base64').toString('utf8') : undefined;
  };
  const head = lines.shift() ?? bad('');
  if (head === 'absent') {
    if (lines.length > 0) bad(lines[0]!);
    return { exists: false };
  }
  const fields = field(head, 'stat')?.split('\0') ?? bad(head);
  const [rawType, mode, uid, gid, size, owner, group] = fields;
  if (fields.length !== 7 || !/^[0-7]{1,4}$/.test(mode!) || ![uid, gid, size].every((n) => /^\d+$/.test(n!))) bad(head);
  const type = Object.hasOwn(TYPES, rawType!) ? TYPES[rawType!]! : 'other';
  const state: FileState = { exists: true, type, mode: mode!.padStart(4, '0'), uid: Number(uid), gid: Number(gid), size: Number(size), owner, group };
  if (type === 'link') state.linkTarget = field(lines.shift(), 'link') ?? bad(lines[0] ?? '');
  for (const line of lines) {
    const sha = /^sha ([0-9a-f]{64})$/.exec(line);
    const content = field(line, 'content');
    if (sha && type === 'file' && state.sha256 === undefined) state.sha256 = sha[1];
    else if (content !== undefined && state.sha256 !== undefined && state.content === undefined) state.content = Buffer.from(/^content (.*)$/.exec(line)![1]!, 'base64');
    else bad(line);
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
 *
 * The rename replaces whatever is at `path`, a symlink included (the link, never its target).
 * Attributes not given are kept from what was there only when that is a regular file, read with
 * one lstat: a symlink lends nothing (chmod/chown --reference would follow it to the target an
 * attacker chose). `keepOwner: false` (secret content) never takes the owner from dest: the file
 * belongs to the user writing it, unless owner/group are given. The bytes come from stdin, or
 * from `fill`, a script writing "$t".
 */
export function atomicWriteScript(path: string, opts: { mode?: string; owner?: string; group?: string; validate?: string; backup?: boolean; keepMode?: boolean; keepOwner?: boolean; expect?: { size: number; sha256?: string }; fill?: string }): string {
  const p = shellQuote(path);
  const lines = [
    'set -e',
    // Parameter expansion, not $(dirname)/$(basename): those drop a trailing newline of the name.
    `p=${p}; d=\${p%/*}; d=\${d:-/}; b=\${p##*/}`,
    'rm -f -- "$d/.$b.tsplay."*',
    't=$(mktemp -- "$d/.$b.tsplay.XXXXXX")',
    `trap 'rm -f -- "$t"' EXIT HUP INT TERM`,
    // `fill` puts the bytes into "$t" some other way (get_url downloads them there); exiting
    // non-zero, or 0 to keep dest as it is, it leaves dest untouched and the temp file removed.
    opts.fill ?? 'cat > "$t"',
  ];
  if (opts.expect) {
    // A dropped connection ends stdin early and `cat` succeeds on what it got: without these
    // checks the truncated bytes would be renamed over the old file.
    const { size, sha256 } = opts.expect;
    lines.push(`n=$(stat -c %s -- "$t"); if [ "$n" != ${size} ]; then printf 'received %s of ${size} bytes; %s left as it was\\n' "$n" "$p" >&2; exit 4; fi`);
    if (sha256) lines.push(SHA256_FN, `if [ "$(__tsplay_sha256 "$t")" != ${sha256} ]; then printf 'sha256 of the received bytes is not ${sha256}; %s left as it was\\n' "$p" >&2; exit 4; fi`);
  }
  // One lstat of dest: mode, uid, gid, and whether it is a regular file at all.
  lines.push(`ref=$(stat -c '%a:%u:%g:%F' -- "$p" 2>/dev/null) || ref=`, 'case "$ref" in *":regular file"|*":regular empty file") ;; *) ref= ;; esac');
  if (opts.mode) lines.push(`chmod ${opts.mode} "$t"`);
  else if (opts.keepMode) lines.push('if [ -n "$ref" ]; then chmod "${ref%%:*}" "$t"; else chmod 0644 "$t"; fi');
  if (opts.owner || opts.group) lines.push(`chown -- ${shellQuote(`${opts.owner ?? ''}${opts.group ? `:${opts.group}` : ''}`)} "$t"`);
  else if (opts.keepOwner !== false) lines.push('if [ -n "$ref" ]; then o=${ref#*:}; o=${o%:*}; chown "$o" "$t"; fi');
  if (opts.validate) {
    const cmd = opts.validate.includes('%s') ? opts.validate.replace(/%s/g, '"$t"') : `${opts.validate} "$t"`;
    lines.push(`if ! out=$(${cmd} 2>&1); then printf 'validation failed: %s\\n' "$out" >&2; exit 3; fi`);
  }
  // -P: a symlink is backed up as the link, not as a copy of its target.
  if (opts.backup) lines.push('if [ -e "$p" ] || [ -L "$p" ]; then bk="$p.$(date +%Y%m%d%H%M%S).bak"; cp -P -p -- "$p" "$bk"; printf \'backup %s\\n\' "$(printf %s "$bk" | base64 -w0)"; fi');
  // -T: if dest became a directory meanwhile, fail instead of moving the file into it.
  lines.push('mv -fT -- "$t" "$p"', 'trap - EXIT HUP INT TERM');
  return lines.join('\n');
}

/** A file's content is shown as text in diffs only when it is text. */
export function isProbablyText(buf: Buffer): boolean {
  const sample = buf.subarray(0, 8192);
  return !sample.includes(0);
}
