/**
 * get_url — download a file on the host itself (curl or wget), verified against a checksum,
 * written atomically; not downloaded again while dest has that checksum.
 *
 *   - name: kubelet binary from dl.k8s.io
 *     get_url:
 *       url: https://dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubelet
 *       checksum: sha256:https://dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubelet.sha256
 *       dest: /opt/k8s/bin/kubelet
 *       mode: '0755'
 *
 * Probe (one round trip): dest's type, attributes and digest, which download tool the host has,
 * and, for the `<algorithm>:<url>` form, the checksum file (fetched on the host, as Ansible does;
 * a request with credentials or headers, or under `environment:`, takes a second exec whose
 * environment carries them). Plan: converged when dest is a regular file with the checksum (then
 * only its attributes may change); otherwise "download URL to DEST (sha256:...)". `force: true`
 * downloads every time and replaces dest only if it differs. Apply downloads into a temp file in
 * dest's directory, checks the digest, sets the attributes, then renames it over dest: a failed
 * download, or one with another digest, leaves dest as it was.
 *
 * Where Ansible differs: `checksum` is required (a download nothing verifies could be anything,
 * and nothing could tell it is already there), and dest must be a file path, not a directory:
 * Ansible then names the file from the server's answer, which a plan cannot know before it asks.
 */
import type { FromSchema } from 'json-schema-to-ts';
import { TaskError } from '../../errors.js';
import { defineModule, type ArgSchema, type Change, type ModuleContext, type Plan } from '../types.js';
import { contentSchemaProperties } from './content.js';
import { digestFn, digestFromList, digestOf, parseChecksum, urlFileName, type Algorithm } from './checksum.js';
import { fact, fileStat, gather, output, type Fact } from './facts.js';
import { DEFAULT_TIMEOUT, FETCH_FN, fetchConfig, fetchFailure, fetchVarsScript, lineBreakIn, requestIsSecret, TOOL_SCRIPT, type FetchConfig } from './http-fetch.js';
import { atomicWriteScript, attributeChanges, attributeScript, normalizeMode, q, runChecked, type FileState } from './remote.js';

const schema = {
  type: 'object',
  properties: {
    url: { type: 'string', pattern: '^(https?|ftp)://', description: 'HTTP, HTTPS or FTP URL of the file, fetched by the host itself.' },
    dest: { type: 'string', description: 'Absolute path of the file on the host (not a directory).' },
    checksum: { type: 'string', description: "Required: 'sha256:<hex>', 'sha512:<hex>', or '<algorithm>:<url>' of a checksum file (lines '<hex>  <name>', or only the hex)." },
    force: { type: 'boolean', description: 'Download every time; dest is replaced only if it differs (default false: not while dest has the checksum).' },
    timeout: { type: 'number', minimum: 1, description: `Seconds to wait for the connection, and for more bytes during the download (default ${DEFAULT_TIMEOUT}).` },
    mode: contentSchemaProperties.mode,
    owner: contentSchemaProperties.owner,
    group: contentSchemaProperties.group,
    backup: contentSchemaProperties.backup,
    url_username: { type: 'string', description: 'User for HTTP authentication.' },
    url_password: { type: 'string', description: 'Password for HTTP authentication (secret: never shown, never on a command line).' },
    force_basic_auth: { type: 'boolean', description: 'Send Basic credentials with the first request instead of after a 401 challenge.' },
    headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Extra request headers (their values are never shown).' },
    validate_certs: { type: 'boolean', description: "false: do not verify the server's TLS certificate (default true)." },
    http_agent: { type: 'string', description: "User-Agent header (default: the tool's own)." },
    use_proxy: { type: 'boolean', description: 'false: ignore the *_proxy environment variables (default true).' },
  },
  required: ['url', 'dest', 'checksum'],
  additionalProperties: false,
} as const satisfies ArgSchema;

export type GetUrlArgs = FromSchema<typeof schema>;

type Fetched = { ok: true; body: string } | { ok: false; rc: number; stderr: string };

export interface GetUrlObserved {
  cur: FileState;
  /** Digest of dest when it is a regular file, in the checksum's algorithm. */
  digest: string | null;
  tool: 'curl' | 'wget' | 'none';
  /** The checksum file, for the `<algorithm>:<url>` form. */
  sums?: Fetched;
  /** dest's directory exists (false: an earlier task must make it, as Ansible's get_url never does). */
  dirExists?: boolean;
}

export interface GetUrlData {
  algorithm: Algorithm;
  hex: string;
  /** Download into dest (a temp file renamed over it). */
  write: boolean;
  /** force: true over a file that has the checksum: download and check, but keep dest. */
  keepIfSame: boolean;
  attrs: boolean;
  tool: string;
}

/** The checksum file, fetched on the host into a temp file: `ok <b64 body>` or `fail <rc> <b64 stderr>`. */
function checksumFile(inline?: FetchConfig): Fact<Fetched> {
  const script = [
    FETCH_FN,
    fetchVarsScript(inline),
    '__t=$(mktemp) && __e=$(mktemp) || exit 1',
    `if __tsplay_fetch "$__t" >/dev/null 2>"$__e"; then printf 'ok '; head -c 1048576 "$__t" | base64 -w0; else printf 'fail %s ' "$?"; base64 -w0 < "$__e"; fi`,
    'rm -f -- "$__t" "$__e"',
  ].join('\n');
  return fact(script, (out) => {
    const m = /^(?:ok ([A-Za-z0-9+/=]*)|fail (\d+) ([A-Za-z0-9+/=]*))$/.exec(out.trim());
    if (!m) throw new TaskError(`unexpected output fetching the checksum file: ${JSON.stringify(out.slice(0, 120))}`);
    const text = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
    return m[1] !== undefined ? { ok: true, body: text(m[1]) } : { ok: false, rc: Number(m[2]), stderr: text(m[3]!) };
  });
}

/** Mark what the request carries that must never show: the password, one in the URL, header values. */
function markSecrets(ctx: ModuleContext, args: GetUrlArgs): void {
  if (args.url_password) ctx.secret(args.url_password);
  for (const url of [args.url, args.checksum]) {
    const pass = /^[a-z]+:\/\/[^/@:]*:([^/@]*)@/i.exec(url.replace(/^sha\d+:/i, ''))?.[1];
    if (!pass) continue;
    ctx.secret(pass);
    ctx.secret(decodeURIComponent(pass));
  }
  for (const value of Object.values(args.headers ?? {})) ctx.secret(value);
}

async function probeGetUrl(ctx: ModuleContext, args: GetUrlArgs): Promise<GetUrlObserved> {
  markSecrets(ctx, args);
  const spec = parseChecksum(args.checksum);
  const algorithm = 'algorithm' in spec ? spec.algorithm : 'sha256';
  const sumsUrl = 'url' in spec ? spec.url : undefined;
  const request = sumsUrl !== undefined ? { ...args, url: sumsUrl } : undefined;
  // A plain read goes out with the other probes (and may run ahead of its task); a request with
  // secrets or an environment needs an exec of its own, whose environment carries them.
  const privately = request !== undefined && (requestIsSecret(request) || Object.keys(ctx.environment ?? {}).length > 0);
  const inline = request && !privately && !lineBreakIn(request) ? checksumFile(fetchConfig(request)) : undefined;
  const got = await gather(ctx, { cur: fileStat(args.dest), digest: output(digestOf(args.dest, algorithm)), tool: output(TOOL_SCRIPT), dir: isDirectory(dirOf(args.dest)), sums: inline ?? fact<Fetched | undefined>(':', () => undefined) }, `read ${args.dest}`);
  const obs: GetUrlObserved = { cur: got.cur, digest: got.digest.trim() || null, tool: got.tool as GetUrlObserved['tool'], sums: got.sums, dirExists: got.dir };
  if (privately && !lineBreakIn(request)) {
    const sums = checksumFile();
    const res = await runChecked(ctx.conn, sums.script, { what: `fetch ${sumsUrl}`, become: ctx.become, env: { ...ctx.environment, ...fetchConfig(request) }, signal: ctx.signal });
    obs.sums = sums.parse(res.stdout.toString('utf8'));
  }
  return obs;
}

const dirOf = (path: string): string => path.replace(/\/+$/, '').replace(/\/[^/]*$/, '') || '/';
const isDirectory = (path: string): Fact<boolean> => fact(`if [ -d ${q(path)} ]; then printf 1; else printf 0; fi`, (out) => out === '1');

export function planGetUrl(args: GetUrlArgs, obs: GetUrlObserved, check = false): Plan<GetUrlData> {
  const refuse = (message: string, hint?: string): Plan<GetUrlData> => ({ changes: [], fail: { message, hint } });
  const spec = parseChecksum(args.checksum);
  if ('error' in spec) return refuse(spec.error, "checksum: 'sha256:<64 hex digits>', or 'sha256:<url of a checksum file>'");
  const broken = lineBreakIn({ ...args, url: 'url' in spec ? `${args.url}${spec.url}` : args.url });
  if (broken) return refuse(`${broken} has a line break`, 'a URL, credential or header is one line');
  let hex: string;
  if ('url' in spec) {
    const sums = obs.sums;
    if (!sums) return refuse(`the checksum file ${spec.url} was not read`);
    if (!sums.ok) {
      const f = fetchFailure(obs.tool, sums.rc, sums.stderr, spec.url, args.timeout ?? DEFAULT_TIMEOUT);
      return refuse(`checksum file: ${f.message}`, f.hint);
    }
    const found = digestFromList(sums.body, urlFileName(args.url), spec.algorithm);
    if (typeof found !== 'string') return refuse(`checksum file ${spec.url}: ${found.error}`, `it must hold only the ${spec.algorithm} digest, or lines '<digest>  ${urlFileName(args.url)}'`);
    hex = found;
  } else hex = spec.hex;
  const { cur } = obs;
  if (cur.type === 'directory') return refuse(`${args.dest} is a directory; dest must be the file's path`, `name the file: dest: ${args.dest.replace(/\/+$/, '')}/${urlFileName(args.url) || 'NAME'}`);
  if (cur.type === 'other') return refuse(`${args.dest} is a device, FIFO or socket, not a regular file; refusing to replace it`);
  const mode = normalizeMode(args.mode);
  const sum = `${spec.algorithm}:${hex}`;
  const has = cur.type === 'file' && obs.digest === hex;
  const changes: Change[] = [];
  const write = !has || args.force === true;
  if (!has && cur.type === 'link') changes.push({ summary: `download ${args.url} to ${args.dest} (${sum}), replacing the symlink there (-> ${JSON.stringify(cur.linkTarget)})` });
  else if (!has && cur.exists) changes.push({ summary: `download ${args.url} to ${args.dest} (${sum}), replacing a file with other content` });
  else if (!has) changes.push({ summary: `download ${args.url} to ${args.dest} (${sum}${mode ? `, mode ${mode}` : ''})` });
  else if (write) changes.push({ summary: `download ${args.url} again (force: true) and check it is ${sum}; ${args.dest} has it already and is kept` });
  if (write && obs.dirExists === false) {
    if (!check) return refuse(`the directory of ${args.dest} does not exist`, `create it first: file: { path: ${dirOf(args.dest)}, state: directory }`);
    changes[0] = { summary: `${changes[0]!.summary} (${dirOf(args.dest)} does not exist yet: an earlier task must make it)` };
  }
  if (write && obs.tool === 'none') return refuse(`cannot download ${args.url}: neither curl nor wget is installed on the host`, 'install curl (apt-get install curl) or wget on the host, or copy the file from the controller');
  const attrChanges = has ? attributeChanges(args.dest, cur, { mode, owner: args.owner, group: args.group }) : [];
  for (const summary of attrChanges) changes.push({ summary });
  const result = { dest: args.dest, url: args.url, checksum: sum };
  if (changes.length === 0) return { changes, result };
  return { changes, result, data: { algorithm: spec.algorithm, hex, write, keepIfSame: has, attrs: attrChanges.length > 0, tool: obs.tool } };
}

export default defineModule<GetUrlArgs, GetUrlObserved, GetUrlData>({
  name: 'get_url',
  doc: 'Download a file on the host (curl or wget) to dest, checked against a required checksum, atomically; skipped while dest has it.',
  example:
    "- name: kubelet binary from dl.k8s.io\n  get_url:\n    url: https://dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubelet\n    checksum: sha256:https://dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubelet.sha256\n    dest: /opt/k8s/bin/kubelet\n    mode: '0755'",
  runsOn: 'target',
  schema,
  aliases: { username: 'url_username', password: 'url_password' },
  probe: probeGetUrl,
  plan: (args, obs, ctx) => planGetUrl(args, obs, ctx.check),
  async apply(ctx, args, plan) {
    const d = plan.data!;
    const mode = normalizeMode(args.mode);
    const lines = ['set -e', fetchVarsScript(), digestFn(d.algorithm), FETCH_FN];
    if (d.write) {
      const fill = [
        'set +e; __tsplay_out=$(__tsplay_fetch "$t"); __tsplay_s=$?; set -e',
        `printf '%s\\n' "$__tsplay_out"`,
        `if [ $__tsplay_s -ne 0 ]; then printf 'fetch-failed %s\\n' $__tsplay_s; exit 20; fi`,
        `__tsplay_got=$(__tsplay_digest "$t"); if [ "$__tsplay_got" != ${d.hex} ]; then printf 'checksum-mismatch %s\\n' "$__tsplay_got"; exit 21; fi`,
        ...(d.keepIfSame ? [`if [ -f "$p" ] && [ ! -L "$p" ] && [ "$(__tsplay_digest "$p")" = ${d.hex} ]; then echo kept; exit 0; fi`] : []),
      ].join('\n');
      lines.push('(', atomicWriteScript(args.dest, { mode, owner: args.owner, group: args.group, backup: args.backup, keepMode: true, fill }), ')');
    }
    if (d.attrs) {
      // chmod follows links: if dest became one since the probe, stop rather than change its target.
      lines.push(`if [ -L ${q(args.dest)} ] || [ ! -f ${q(args.dest)} ]; then echo 'dest is no longer a regular file; run again' >&2; exit 5; fi`, attributeScript(q(args.dest), { mode, owner: args.owner, group: args.group }));
    }
    const res = await ctx.conn.exec(lines.join('\n'), { become: ctx.become, env: { ...ctx.environment, ...fetchConfig(args) }, signal: ctx.signal });
    const out = res.stdout.toString('utf8');
    const stderr = res.stderr.toString('utf8');
    const status = /^status (\d{3})$/m.exec(out)?.[1];
    const result: Record<string, unknown> = { ...plan.result, ...(status && status !== '000' ? { status_code: Number(status) } : {}) };
    const backup = /^backup ([A-Za-z0-9+/=]+)$/m.exec(out);
    if (backup) result.backup_file = Buffer.from(backup[1]!, 'base64').toString('utf8');
    if (res.code === 20) return { changed: false, result, failure: fetchFailure(d.tool, Number(/^fetch-failed (\d+)$/m.exec(out)?.[1] ?? -1), stderr, args.url, args.timeout ?? DEFAULT_TIMEOUT) };
    if (res.code === 21) {
      const got = /^checksum-mismatch (\S*)$/m.exec(out)?.[1] ?? '?';
      return { changed: false, result, failure: { message: `checksum mismatch for ${args.url}: expected ${d.algorithm}:${d.hex}, got ${d.algorithm}:${got}; ${args.dest} left as it was`, hint: 'the file at url is not the one the checksum names: check url and checksum (the release, version and architecture in both)' } };
    }
    if (res.code !== 0) throw new TaskError(`download to ${args.dest} failed (exit ${res.code ?? 'signal'}): ${stderr.trim().split('\n').slice(-4).join('\n')}`);
    const kept = /^kept$/m.test(out);
    return { changed: !kept || d.attrs, result: { ...result, msg: kept ? `${args.dest} already had ${d.algorithm}:${d.hex}` : `OK` } };
  },
});
