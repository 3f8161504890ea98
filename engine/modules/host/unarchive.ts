/**
 * unarchive — extract a tar (plain, gzip, xz, bzip2, zstd) or zip archive into a directory on
 * the host: a controller file sent there (default), or one already there (`remote_src: true`).
 *
 *   - name: CNI plugins
 *     unarchive: { src: cni-plugins-linux-amd64-v1.5.1.tgz, dest: /opt/cni/bin }
 *
 * Idempotent through a manifest: after extracting, the host keeps in
 * /var/lib/tsplay/unarchive/<sha256 of dest and src>.manifest the archive's sha256 and every
 * member as extracted (a file's sha256, a link's target, a directory). The probe (one round
 * trip) reads it back and checks each member: converged while the archive is the one recorded
 * and nothing it put there changed. `creates` skips the task while that path exists, as in
 * Ansible. Check mode lists what it would extract (a controller archive is listed on the
 * controller; a remote one on the host, only when it is not converged).
 *
 * Not supported (a schema error): include/exclude, extra_opts, keep_newer, mode/owner/group,
 * a URL as src (download it with get_url first).
 */
import { createHash } from 'node:crypto';
import type { FromSchema } from 'json-schema-to-ts';
import { TaskError } from '../../errors.js';
import { defineModule, type ArgSchema, type Change, type Plan } from '../types.js';
import { controllerNames, formatOf, headOf, membersOf, namesOfListing, type ArchiveFormat, type Members } from './archive-list.js';
import { fromControllerFile } from './copy.js';
import type { Desired } from './content.js';
import { exists, fact, fileStat, gather, output, type Fact } from './facts.js';
import { atomicWriteScript, q, SHA256_FN, type FileState } from './remote.js';

const schema = {
  type: 'object',
  properties: {
    src: { type: 'string', description: "The archive: a controller file (looked up in the role's files/ then the playbook's), or with remote_src a path on the host." },
    dest: { type: 'string', description: 'Existing directory on the host to extract into.' },
    remote_src: { type: 'boolean', description: 'src is already on the host (default false: sent from the controller).' },
    creates: { type: 'string', description: 'A path on the host: while it exists, nothing is extracted.' },
    list_files: { type: 'boolean', description: "Register the archive's members as `files`." },
  },
  required: ['src', 'dest'],
  additionalProperties: false,
} as const satisfies ArgSchema;

export type UnarchiveArgs = FromSchema<typeof schema>;

export const MANIFEST_DIR = '/var/lib/tsplay/unarchive';

/** Where the host records what extracting `src` into `dest` put there: one manifest per pair. */
export function manifestPath(args: Pick<UnarchiveArgs, 'src' | 'dest' | 'remote_src'>): string {
  const key = createHash('sha256').update(`${args.dest.replace(/\/+$/, '') || '/'}\0${args.remote_src ? 'host' : 'controller'}:${args.src}`).digest('hex');
  return `${MANIFEST_DIR}/${key}.manifest`;
}

interface Archive {
  sha256: string;
  size: number;
  format: ArchiveFormat;
  /** Its members (undefined: not listed, a remote archive found converged). */
  members?: Members;
}

export interface UnarchiveObserved {
  created: boolean;
  dest: FileState;
  /** The archive's sha256 the manifest records, and the members changed since (null: no manifest). */
  manifest: { archive: string; drift: string[] } | null;
  /** null: a remote src that is not on the host. */
  archive: Archive | null;
  unzip: boolean;
}

export interface UnarchiveData {
  archive: Archive & { members: { entries: string[] } };
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/**
 * The host's side, one fact: the manifest checked member by member, and for a remote archive its
 * sha256, format and (when not converged, or list_files) its listing. Fixed lines, names base64.
 */
function hostState(args: UnarchiveArgs): Fact<Pick<UnarchiveObserved, 'manifest'> & { remote?: Archive | null }> {
  const src = q(args.src);
  const lines = [
    SHA256_FN,
    `D=${q(args.dest)}; m=${q(manifestPath(args))}; drift=`,
    'if [ -f "$m" ]; then',
    `  echo "manifest $(sed -n 's/^archive \\([0-9a-f]*\\)$/\\1/p' "$m")"`,
    '  while read -r k e x; do',
    '    case "$k" in f|d|l) ;; *) continue ;; esac',
    '    p="$D/$(printf %s "$e" | base64 -d)"; ok=',
    '    case "$k" in',
    '      f) if [ -f "$p" ] && [ ! -L "$p" ] && [ "$(__tsplay_sha256 "$p")" = "$x" ]; then ok=1; fi ;;',
    '      d) if [ -d "$p" ] && [ ! -L "$p" ]; then ok=1; fi ;;',
    '      l) if [ -L "$p" ] && [ "$(readlink -n -- "$p" | base64 -w0)" = "$x" ]; then ok=1; fi ;;',
    '    esac',
    '    if [ -z "$ok" ]; then echo "drift $e"; drift=1; fi',
    '  done < "$m"',
    "else echo 'manifest none'; fi",
  ];
  if (args.remote_src) {
    lines.push(
      `if [ ! -f ${src} ]; then echo 'archive missing'; exit 0; fi`,
      `a=$(__tsplay_sha256 ${src}); f=tar; case "$(head -c 4 ${src} | od -An -tx1 | tr -d ' \\n')" in 504b0304|504b0506) f=zip ;; esac`,
      `echo "archive $a $(stat -c %s -- ${src}) $f"`,
      `if [ -n "$drift" ] || ! grep -qx "archive $a" "$m" 2>/dev/null || [ ${args.list_files ? 1 : 0} = 1 ]; then`,
      '  e=$(mktemp)',
      `  if [ $f = zip ]; then if command -v unzip >/dev/null 2>&1; then l=$(unzip -Z1 ${src} 2>"$e") && s=0 || s=$?; else echo 'unzip is not installed' > "$e"; s=127; fi`,
      `  else l=$(tar -tf ${src} 2>"$e") && s=0 || s=$?; fi`,
      '  if [ "$s" = 0 ]; then echo "list $(printf \'%s\\n\' "$l" | base64 -w0)"; else echo "listfail $(base64 -w0 < "$e")"; fi',
      '  rm -f -- "$e"',
      'fi',
    );
  }
  return fact(lines.join('\n'), (out) => {
    const state: Pick<UnarchiveObserved, 'manifest'> & { remote?: Archive | null } = { manifest: null };
    let format: ArchiveFormat = 'tar';
    for (const line of out.split('\n').filter(Boolean)) {
      const [k, a, b, c] = line.split(' ');
      if (k === 'manifest') state.manifest = a === 'none' ? null : { archive: a ?? '', drift: [] };
      else if (k === 'drift' && state.manifest) state.manifest.drift.push(unb64(a ?? ''));
      else if (k === 'archive' && a === 'missing') state.remote = null;
      else if (k === 'archive' && /^[0-9a-f]{64}$/.test(a ?? '')) {
        format = c === 'zip' ? 'zip' : 'tar';
        state.remote = { sha256: a!, size: Number(b), format };
      }
      else if (k === 'list' && state.remote) state.remote.members = membersOf(namesOfListing(format, unb64(a ?? '')));
      else if (k === 'listfail' && state.remote) state.remote.members = { error: `listing ${args.src} on the host failed: ${unb64(a ?? '').trim().split('\n').slice(-2).join('; ')}` };
      else throw new TaskError(`unexpected probe output for ${args.dest}: ${JSON.stringify(line.slice(0, 120))}`);
    }
    return state;
  });
}

/** "a, b, c and 12 more" */
function some(names: string[], n = 5): string {
  return names.length <= n ? names.join(', ') : `${names.slice(0, n).join(', ')} and ${names.length - n} more`;
}

export function planUnarchive(args: UnarchiveArgs, obs: UnarchiveObserved, check: boolean): Plan<UnarchiveData> {
  const result: Record<string, unknown> = { dest: args.dest, src: args.src };
  if (obs.created) return { changes: [], result, say: `skipped: ${args.creates} exists` };
  const refuse = (message: string, hint?: string): Plan<UnarchiveData> => ({ changes: [], result, fail: { message, hint } });
  const mkdirHint = `create it first: file: { path: ${args.dest}, state: directory }`;
  if (obs.dest.exists && obs.dest.type !== 'directory') return refuse(`dest ${args.dest} is not a directory`, mkdirHint);
  // In check mode an earlier task may not have made them yet: say what would happen, as copy does.
  const notYet = !obs.dest.exists ? `${args.dest} does not exist yet` : obs.archive === null ? `${args.src} is not on the host yet` : undefined;
  if (notYet && !check) return obs.dest.exists ? refuse(`src ${args.src} is not a file on the host`, 'with remote_src: true, src is a path on the host (a get_url task before this one can put it there)') : refuse(`dest ${args.dest} does not exist`, mkdirHint);
  if (notYet) return { changes: [{ summary: `extract ${args.src} into ${args.dest} (${notYet}: an earlier task must make it)` }], result };
  const archive = obs.archive!;
  const members = archive.members;
  const { manifest } = obs;
  const converged = manifest !== null && manifest.archive === archive.sha256 && manifest.drift.length === 0;
  if (members && 'entries' in members && args.list_files) result.files = members.entries;
  if (converged) return { changes: [], result };
  if (!members) throw new TaskError(`internal: ${args.src} was not listed`);
  if ('error' in members) return refuse(members.error, /unzip/.test(members.error) ? 'install unzip on the host (apt-get install unzip)' : /xz|bzip2|zstd|gzip/.test(members.error) ? 'install the compressor the archive needs on the host (xz-utils, bzip2, zstd, gzip)' : undefined);
  if (archive.format === 'zip' && !obs.unzip) return refuse(`${args.src} is a zip archive and the host has no unzip`, 'install unzip on the host (apt-get install unzip)');
  const why = manifest === null ? '' : manifest.archive !== archive.sha256 ? '; it is not the archive extracted there last' : `; changed since it was extracted: ${some(manifest.drift, 3)}`;
  const changes: Change[] = [
    { summary: `extract ${args.src} (sha256 ${archive.sha256.slice(0, 12)}, ${members.entries.length} members: ${some(members.entries)}) into ${args.dest}${why}` },
    { summary: `record what it extracted in ${manifestPath(args)}` },
  ];
  return { changes, result, data: { archive: { ...archive, members } } };
}

/** The manifest, made on the host after extracting: each member as it is now. */
function manifestScript(args: UnarchiveArgs, archive: UnarchiveData['archive']): string {
  const path = manifestPath(args);
  const each = [
    '    p="$D/$(printf %s "$e" | base64 -d)"',
    `    if [ -L "$p" ]; then printf 'l %s %s\\n' "$e" "$(readlink -n -- "$p" | base64 -w0)"`,
    `    elif [ -d "$p" ]; then printf 'd %s\\n' "$e"`,
    `    elif [ -f "$p" ]; then printf 'f %s %s\\n' "$e" "$(__tsplay_sha256 "$p")"; fi`,
  ];
  return [
    `mkdir -p ${q(MANIFEST_DIR)}`,
    '{',
    `  printf 'tsplay-unarchive 1\\narchive %s\\nsrc %s\\ndest %s\\n' ${archive.sha256} ${b64(args.src)} ${b64(args.dest)}`,
    '  while read -r e; do',
    ...each,
    '  done <<__TSPLAY_MEMBERS__',
    ...archive.members.entries.map(b64),
    '__TSPLAY_MEMBERS__',
    `} | (\n${atomicWriteScript(path, { mode: '0644' })}\n)`,
  ].join('\n');
}

export default defineModule<UnarchiveArgs, UnarchiveObserved & { send?: Desired }, UnarchiveData>({
  name: 'unarchive',
  doc: 'Extract a tar or zip archive (from the controller, or on the host with remote_src) into a directory; idempotent through a manifest of what it extracted.',
  example: '- name: CNI plugins\n  unarchive: { src: cni-plugins-linux-amd64-v1.5.1.tgz, dest: /opt/cni/bin }',
  runsOn: 'target',
  schema,
  controllerFiles: (args) => (args.remote_src ? [] : [{ kind: 'files', name: args.src, template: false }]),
  async probe(ctx, args) {
    const facts = { created: args.creates ? exists(args.creates) : fact(':', () => false), dest: fileStat(args.dest), state: hostState(args), unzip: output('command -v unzip >/dev/null 2>&1 && printf 1 || printf 0') };
    let local: { send: Desired; archive: Archive } | undefined;
    if (!args.remote_src) {
      const path = ctx.files.resolve('files', args.src);
      const format = formatOf(headOf(path));
      const [send, names] = await Promise.all([fromControllerFile(path, false), controllerNames(path, format)]);
      local = { send, archive: { sha256: send.sha256, size: send.size, format, members: membersOf(names) } };
    }
    const got = await gather(ctx, facts, `read ${args.dest}`);
    return {
      created: got.created,
      dest: got.dest,
      manifest: got.state.manifest,
      archive: local ? local.archive : (got.state.remote ?? null),
      unzip: got.unzip === '1',
      send: local?.send,
    };
  },
  plan: (args, obs, ctx) => planUnarchive(args, obs, ctx.check),
  async apply(ctx, args, plan) {
    const { archive } = plan.data!;
    const lines = ['set -e', SHA256_FN, `D=${q(args.dest)}`, 'w=$(mktemp -d)', `trap 'rm -rf -- "$w"' EXIT HUP INT TERM`];
    let stdin: Desired | undefined;
    if (args.remote_src) lines.push(`a=${q(args.src)}`);
    else {
      stdin = await fromControllerFile(ctx.files.resolve('files', args.src), false);
      lines.push('a="$w/archive"', 'cat > "$a"');
    }
    // A dropped connection ends stdin early, and a remote archive may have changed since the probe.
    lines.push(`if [ "$(__tsplay_sha256 "$a")" != ${archive.sha256} ]; then echo ${q(`${args.src} is not the archive the plan listed (sha256 ${archive.sha256}); run again`)} >&2; exit 4; fi`);
    lines.push(archive.format === 'zip' ? 'unzip -o -q "$a" -d "$D"' : 'tar -xf "$a" -C "$D"');
    lines.push('echo @@extracted', manifestScript(args, archive));
    const res = await ctx.conn.exec(lines.join('\n'), { become: ctx.become, stdin: stdin ? (stdin.content ?? stdin.open!()) : undefined, signal: ctx.signal });
    stdin?.verifySent?.();
    if (res.code !== 0) {
      const err = res.stderr.toString('utf8').trim().split('\n').slice(-4).join('\n');
      const extracted = res.stdout.toString('utf8').includes('@@extracted');
      if (!extracted) throw new TaskError(`extracting ${args.src} into ${args.dest} failed (exit ${res.code ?? 'signal'}): ${err}`, /Cannot exec|not found/.test(err) ? 'install the compressor the archive needs on the host (xz-utils, bzip2, zstd, gzip)' : undefined);
      return { changed: true, failure: { message: `${args.src} was extracted into ${args.dest}, but writing ${manifestPath(args)} failed: ${err}`, hint: 'the next run extracts it again' } };
    }
    return { result: { ...plan.result, ...(args.list_files ? { files: archive.members.entries } : {}) } };
  },
});
