/**
 * get_url and unarchive. get_url's cases download from a server on loopback (file-server.ts)
 * that records every request: a converged run must ask for nothing, a check run too. unarchive's
 * archives are made here with the machine's tar (and a zip by hand); the cases that need a tool
 * the real test host lacks (xz, bzip2, unzip) are the simulator's.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { expect } from 'vitest';
import { manifestPath } from '../../engine/modules/host/unarchive.js';
import { serveFiles, type Route } from '../helpers/file-server.js';
import type { FileExpect, HostState } from '../helpers/host-state.js';
import { moduleTable, type Case } from '../helpers/module-tester.js';
import { simulatedHost } from '../helpers/sim-host.js';

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
const sha512 = (s: string | Buffer): string => createHash('sha512').update(s).digest('hex');
const b64 = (s: string): string => Buffer.from(s).toString('base64');

// ------------------------------------------------------------------ get_url

/** One port per test process (the simulated and the real host's tables may run at once). */
const PORT = 20_000 + (process.pid % 10_000);
const BASE = `http://127.0.0.1:${PORT}`;
const KUBELET = 'kubelet v1.37.2 (a stand-in)\n';
const OTHER = 'kubectl v1.37.2 (a stand-in)\n';
const PASSWORD = 'fetcher-secret-pw';
const routes: Record<string, Route> = {
  '/v1/kubelet': { body: KUBELET },
  '/v1/kubelet.sha256': { body: `${sha(KUBELET)}\n` },
  '/v1/SHA256SUMS': { body: `${sha(OTHER)}  kubectl\n${sha(KUBELET)} *kubelet\n` },
  '/v1/BADSUMS': { body: `${sha(OTHER)}  kubectl\n` },
  '/private/kubelet': { body: KUBELET, auth: { user: 'fetcher', password: PASSWORD } },
  '/private/kubelet.sha256': { body: `${sha(KUBELET)}\n`, auth: { user: 'fetcher', password: PASSWORD } },
  '/hang/kubelet': { hang: true },
};

/** The server beside the host for one case; stopping it asserts the requests it saw, in order (when given). */
const served =
  (expected?: string[]) =>
  async (): Promise<() => Promise<void>> => {
    const s = await serveFiles(routes, PORT);
    return async () => {
      await s.stop();
      if (expected) expect(s.requests.map((r) => `${r.method} ${r.path}`), 'requests the server saw').toEqual(expected);
    };
  };

const DEST = '/opt/k8s/bin/kubelet';
const BIN = { '/opt/k8s/bin': { dir: true as const } };
const url = `${BASE}/v1/kubelet`;
const sum = `sha256:${sha(KUBELET)}`;

export const getUrl = moduleTable('get_url', simulatedHost, ([
  {
    name: 'a fresh download: one request, in the real run only; dest gets its mode',
    args: { url, dest: DEST, checksum: sum, mode: '0755' },
    before: BIN,
    service: served(['GET /v1/kubelet']),
    changes: [`download ${url} to ${DEST} (${sum}, mode 0755)`],
    after: { [DEST]: { type: 'file', content: KUBELET, mode: '0755' } },
    result: { dest: DEST, url, checksum: sum, status_code: 200 },
  },
  { name: 'dest has the checksum: converged, no request at all', args: { url, dest: DEST, checksum: sum }, before: { [DEST]: KUBELET }, service: served([]), after: { [DEST]: KUBELET } },
  { name: 'dest has the checksum, another mode: only chmod, no request', args: { url, dest: DEST, checksum: sum, mode: '0755' }, before: { [DEST]: KUBELET }, service: served([]), changes: [`${DEST}: mode 0644 -> 0755`], after: { [DEST]: { content: KUBELET, mode: '0755' } } },
  {
    name: 'the download has another checksum: fails naming both, dest left as it was',
    args: { url, dest: DEST, checksum: `sha256:${sha(OTHER)}` },
    before: { [DEST]: 'old\n' },
    service: served(['GET /v1/kubelet']),
    changes: [`download ${url} to ${DEST} (sha256:${sha(OTHER)}), replacing a file with other content`],
    fails: { message: `checksum mismatch for ${url}: expected sha256:${sha(OTHER)}, got sha256:${sha(KUBELET)}; ${DEST} left as it was`, hint: /check url and checksum/ },
    after: { [DEST]: 'old\n' },
  },
  {
    name: 'force: true downloads again, and keeps a dest that has the checksum',
    args: { url, dest: DEST, checksum: sum, force: true },
    before: { [DEST]: { content: KUBELET, mode: '0755' } },
    service: served(['GET /v1/kubelet']),
    changes: [`download ${url} again (force: true) and check it is ${sum}; ${DEST} has it already and is kept`],
    idempotent: false,
    result: { msg: `${DEST} already had ${sum}` },
    after: { [DEST]: { content: KUBELET, mode: '0755' } },
  },
  {
    name: 'checksum from a SHA256SUMS file: the line for the file name (fetched by every probe, the file once)',
    args: { url, dest: DEST, checksum: `sha256:${BASE}/v1/SHA256SUMS` },
    before: BIN,
    service: served(['GET /v1/SHA256SUMS', 'GET /v1/SHA256SUMS', 'GET /v1/kubelet', 'GET /v1/SHA256SUMS']),
    changes: [`download ${url} to ${DEST} (${sum})`],
    after: { [DEST]: KUBELET },
  },
  { name: "checksum from a file holding only the digest (dl.k8s.io's kubelet.sha256)", args: { url, dest: DEST, checksum: `sha256:${url}.sha256` }, before: BIN, changes: [`download ${url} to ${DEST} (${sum})`], service: served(['GET /v1/kubelet.sha256', 'GET /v1/kubelet.sha256', 'GET /v1/kubelet', 'GET /v1/kubelet.sha256']), after: { [DEST]: KUBELET } },
  { name: 'a checksum file without a line for the file: fails before downloading', args: { url, dest: DEST, checksum: `sha256:${BASE}/v1/BADSUMS` }, before: BIN, fails: { message: `checksum file ${BASE}/v1/BADSUMS: no line for kubelet in it (1 lines)`, hint: /<digest> {2}kubelet/ }, after: { [DEST]: null } },
  { name: 'a checksum file that is not there: fails before downloading', args: { url, dest: DEST, checksum: `sha256:${BASE}/v1/nope.sha256` }, before: BIN, fails: { message: `checksum file: download of ${BASE}/v1/nope.sha256 failed: HTTP 404`, hint: /no such file on the server/ } },
  { name: 'sha512', args: { url, dest: DEST, checksum: `sha512:${sha512(KUBELET).toUpperCase()}` }, before: BIN, changes: [`download ${url} to ${DEST} (sha512:${sha512(KUBELET)})`], after: { [DEST]: KUBELET } },
  { name: 'a URL that is not there: HTTP 404 with a hint, nothing written', args: { url: `${BASE}/v1/nope`, dest: DEST, checksum: sum }, before: BIN, service: served(['GET /v1/nope']), changes: [/^download /], fails: { message: `download of ${BASE}/v1/nope failed: HTTP 404`, hint: /check url/ }, after: { [DEST]: null } },
  { name: 'a server that never answers: timed out after timeout seconds', args: { url: `${BASE}/hang/kubelet`, dest: DEST, checksum: sum, timeout: 1 }, before: BIN, service: served(['GET /hang/kubelet']), changes: [/^download /], fails: { message: /^download of .* timed out \(nothing received for 1 s\)/, hint: /raise timeout \(now 1 s\)/ }, after: { [DEST]: null } },
  {
    name: 'credentials: sent after the 401 challenge, the password marked secret',
    args: { url: `${BASE}/private/kubelet`, dest: DEST, checksum: sum, url_username: 'fetcher', url_password: PASSWORD },
    before: BIN,
    service: served(['GET /private/kubelet', 'GET /private/kubelet']),
    changes: [`download ${BASE}/private/kubelet to ${DEST} (${sum})`],
    secrets: [PASSWORD],
    after: { [DEST]: KUBELET },
  },
  {
    name: 'a checksum file behind the same credentials: fetched with them, in an exec whose environment carries them',
    args: { url: `${BASE}/private/kubelet`, dest: DEST, checksum: `sha256:${BASE}/private/kubelet.sha256`, url_username: 'fetcher', url_password: PASSWORD, force_basic_auth: true },
    before: BIN,
    service: served(['GET /private/kubelet.sha256', 'GET /private/kubelet.sha256', 'GET /private/kubelet', 'GET /private/kubelet.sha256']),
    changes: [`download ${BASE}/private/kubelet to ${DEST} (${sum})`],
    secrets: [PASSWORD],
    after: { [DEST]: KUBELET },
  },
  { name: 'force_basic_auth: credentials with the first request', args: { url: `${BASE}/private/kubelet`, dest: DEST, checksum: sum, url_username: 'fetcher', url_password: PASSWORD, force_basic_auth: true }, before: BIN, service: served(['GET /private/kubelet']), changes: [/^download /], after: { [DEST]: KUBELET } },
  { name: 'a wrong password: HTTP 401 with a hint', args: { url: `${BASE}/private/kubelet`, dest: DEST, checksum: sum, url_username: 'fetcher', url_password: 'not-it-at-all' }, before: BIN, changes: [/^download /], fails: { message: `download of ${BASE}/private/kubelet failed: HTTP 401`, hint: /url_username\/url_password/ }, secrets: ['not-it-at-all'] },
  { name: 'dest is a directory: refused, the hint names the file', args: { url, dest: '/opt/k8s/bin', checksum: sum }, before: BIN, fails: { message: '/opt/k8s/bin is a directory; dest must be the file\'s path', hint: 'name the file: dest: /opt/k8s/bin/kubelet' } },
  { name: 'a checksum of another algorithm: refused', args: { url, dest: DEST, checksum: 'md5:0123456789abcdef0123456789abcdef' }, fails: { message: /is not <algorithm>:<digest or url>/, hint: /sha256:/ } },
  { name: "dest's directory does not exist: fails (check mode: an earlier task may make it)", args: { url, dest: '/opt/none/kubelet', checksum: sum }, check: { changes: [`download ${url} to /opt/none/kubelet (${sum}) (/opt/none does not exist yet: an earlier task must make it)`] }, fails: { message: 'the directory of /opt/none/kubelet does not exist', hint: 'create it first: file: { path: /opt/none, state: directory }' }, after: { '/opt/none': null } },
  { name: 'a symlink at dest is replaced, its target untouched', args: { url, dest: DEST, checksum: sum }, before: { '/opt/victim': 'mine\n', [DEST]: { link: '/opt/victim' } }, changes: [`download ${url} to ${DEST} (${sum}), replacing the symlink there (-> "/opt/victim")`], after: { [DEST]: { type: 'file', content: KUBELET }, '/opt/victim': 'mine\n' } },
] as Array<Case<HostState, Record<string, FileExpect>>>).map((c) => ({ service: served(), ...c })));

// ------------------------------------------------------------------ unarchive

const TOOL = '#!/bin/sh\necho tool v1\n';
const README = 'readme\n';
/** Archives of one tree, in a fixed member order: bin/, bin/tool (0755), bin/t -> tool, README. */
function makeArchives(): Record<'tgz' | 'tar' | 'txz' | 'tbz' | 'evil', Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'tsplay-archives-'));
  try {
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'bin'), { recursive: true });
    writeFileSync(join(tree, 'bin/tool'), TOOL, { mode: 0o755 });
    symlinkSync('tool', join(tree, 'bin/t'));
    writeFileSync(join(tree, 'README'), README, { mode: 0o644 });
    const tar = (name: string, flags: string[], members = ['bin', 'bin/tool', 'bin/t', 'README']): Buffer => {
      execFileSync('tar', ['-c', ...flags, '-f', join(dir, name), '--owner=0', '--group=0', '--mtime=2024-01-01', '-C', tree, '--no-recursion', ...members]);
      return readFileSync(join(dir, name));
    };
    const evil = (): Buffer => {
      execFileSync('tar', ['-cPf', join(dir, 'evil.tar'), '-C', tree, 'README', '../tree/README'], { stdio: 'ignore' });
      return readFileSync(join(dir, 'evil.tar'));
    };
    return { tgz: tar('a.tgz', ['-z']), tar: tar('a.tar', []), txz: tar('a.txz', ['-J']), tbz: tar('a.tbz', ['-j']), evil: evil() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A stored (uncompressed) zip of the same tree but the link, made by hand. */
function makeZip(files: Array<[string, string]>): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of files) {
    const data = Buffer.from(text);
    const n = Buffer.from(name);
    const head = Buffer.alloc(30);
    for (const [value, at, bytes] of [[0x04034b50, 0, 4], [10, 4, 2], [crc32(data), 14, 4], [data.length, 18, 4], [data.length, 22, 4], [n.length, 26, 2]] as const) head.writeUIntLE(value, at, bytes);
    const cd = Buffer.alloc(46);
    const attrs = ((name.endsWith('/') ? 0o40755 : 0o100644) << 16) >>> 0;
    for (const [value, at, bytes] of [[0x02014b50, 0, 4], [0x031e, 4, 2], [10, 6, 2], [crc32(data), 16, 4], [data.length, 20, 4], [data.length, 24, 4], [n.length, 28, 2], [attrs, 38, 4], [offset, 42, 4]] as const) cd.writeUIntLE(value, at, bytes);
    locals.push(head, n, data);
    central.push(cd, n);
    offset += 30 + n.length + data.length;
  }
  const cdSize = central.reduce((s, b) => s + b.length, 0);
  const end = Buffer.alloc(22);
  for (const [value, at, bytes] of [[0x06054b50, 0, 4], [files.length, 8, 2], [files.length, 10, 2], [cdSize, 12, 4], [offset, 16, 4]] as const) end.writeUIntLE(value, at, bytes);
  return Buffer.concat([...locals, ...central, end]);
}

const A = makeArchives();
const ZIP = makeZip([['bin/', ''], ['bin/tool', TOOL], ['README', README]]);
/** The plain tar as text a host state can hold: every byte is ASCII. */
const TAR_TEXT = ((): string => {
  if (A.tar.some((b) => b > 0x7f)) throw new Error('the plain tar fixture is not ASCII');
  return A.tar.toString('latin1');
})();

const APP = '/opt/app';
const M = manifestPath({ src: 'app.tgz', dest: APP });
const extracted = (dest = APP) => ({ [`${dest}/bin/tool`]: { type: 'file' as const, content: TOOL, mode: '0755' }, [`${dest}/bin/t`]: { type: 'link' as const, link: 'tool' }, [`${dest}/README`]: README });
/** What the host holds after extracting the tgz: the tree and its manifest, as the module writes it. */
const manifestOf = (archive: Buffer | string, src: string, dest: string): string =>
  [`tsplay-unarchive 1`, `archive ${sha(archive)}`, `src ${b64(src)}`, `dest ${b64(dest)}`, `d ${b64('bin')}`, `f ${b64('bin/tool')} ${sha(TOOL)}`, `l ${b64('bin/t')} ${b64('tool')}`, `f ${b64('README')} ${sha(README)}`, ''].join('\n');
const extractedBefore = (archive: Buffer = A.tgz) => ({ [`${APP}/bin`]: { dir: true as const }, [`${APP}/bin/tool`]: { content: TOOL, mode: '0755' }, [`${APP}/bin/t`]: { link: 'tool' }, [`${APP}/README`]: README, [M]: manifestOf(archive, 'app.tgz', APP) });
const members = 'bin, bin/tool, bin/t, README';

export const unarchive = moduleTable('unarchive', simulatedHost, [
  {
    name: 'a controller tgz: extracted, listed, recorded in its manifest',
    args: { src: 'app.tgz', dest: APP, list_files: true },
    files: { 'files/app.tgz': A.tgz },
    before: { [APP]: { dir: true } },
    changes: [`extract app.tgz (sha256 ${sha(A.tgz).slice(0, 12)}, 4 members: ${members}) into ${APP}`, `record what it extracted in ${M}`],
    after: { ...extracted(), [M]: { type: 'file', content: manifestOf(A.tgz, 'app.tgz', APP) } },
    result: { dest: APP, files: ['bin', 'bin/tool', 'bin/t', 'README'] },
  },
  { name: 'extracted and unchanged since: converged', args: { src: 'app.tgz', dest: APP }, files: { 'files/app.tgz': A.tgz }, before: extractedBefore(), after: extracted() },
  {
    name: 'a member changed since it was extracted: extracted again',
    args: { src: 'app.tgz', dest: APP },
    files: { 'files/app.tgz': A.tgz },
    before: { ...extractedBefore(), [`${APP}/bin/tool`]: { content: 'tampered\n', mode: '0755' } },
    changes: [/^extract app\.tgz .* into \/opt\/app; changed since it was extracted: bin\/tool$/, `record what it extracted in ${M}`],
    after: extracted(),
  },
  {
    name: 'another archive than the one extracted there last: extracted',
    args: { src: 'app.tgz', dest: APP },
    files: { 'files/app.tgz': A.tgz },
    before: extractedBefore(A.tar),
    changes: [/; it is not the archive extracted there last$/, /^record /],
    after: { [M]: { content: manifestOf(A.tgz, 'app.tgz', APP) } },
  },
  { name: 'creates exists: skipped', args: { src: 'app.tgz', dest: APP, creates: `${APP}/bin/tool` }, files: { 'files/app.tgz': A.tgz }, before: { [`${APP}/bin/tool`]: 'old\n' }, says: `skipped: ${APP}/bin/tool exists`, after: { [`${APP}/bin/tool`]: 'old\n', [`${APP}/README`]: null } },
  {
    name: 'remote_src: a tar already on the host',
    args: { src: '/opt/dl/app.tar', remote_src: true, dest: '/opt/app2' },
    before: { '/opt/dl/app.tar': TAR_TEXT, '/opt/app2': { dir: true } },
    changes: [`extract /opt/dl/app.tar (sha256 ${sha(A.tar).slice(0, 12)}, 4 members: ${members}) into /opt/app2`, `record what it extracted in ${manifestPath({ src: '/opt/dl/app.tar', remote_src: true, dest: '/opt/app2' })}`],
    after: { ...extracted('/opt/app2'), [manifestPath({ src: '/opt/dl/app.tar', remote_src: true, dest: '/opt/app2' })]: { type: 'file' } },
  },
  { name: 'remote_src not on the host: fails (check mode: an earlier task may download it)', args: { src: '/opt/dl/none.tar', remote_src: true, dest: APP }, before: { [APP]: { dir: true } }, check: { changes: ['extract /opt/dl/none.tar into /opt/app (/opt/dl/none.tar is not on the host yet: an earlier task must make it)'] }, fails: { message: 'src /opt/dl/none.tar is not a file on the host', hint: /get_url/ } },
  { name: 'dest does not exist: fails (check mode: an earlier task may make it)', args: { src: 'app.tgz', dest: '/opt/none' }, files: { 'files/app.tgz': A.tgz }, check: { changes: [/^extract app\.tgz into \/opt\/none \(\/opt\/none does not exist yet/] }, fails: { message: 'dest /opt/none does not exist', hint: 'create it first: file: { path: /opt/none, state: directory }' } },
  { name: 'dest is a file: refused', args: { src: 'app.tgz', dest: '/opt/file' }, files: { 'files/app.tgz': A.tgz }, before: { '/opt/file': 'x' }, fails: 'dest /opt/file is not a directory' },
  { name: 'a member that would land outside dest: refused', args: { src: 'evil.tar', dest: APP }, files: { 'files/evil.tar': A.evil }, before: { [APP]: { dir: true } }, fails: 'member "../tree/README" would be extracted outside dest', after: { '/opt/README': null } },
  { name: 'not an archive: listing it on the controller fails', args: { src: 'notes.txt', dest: APP }, files: { 'files/notes.txt': 'just text\n' }, before: { [APP]: { dir: true } }, fails: { message: /^listing .*notes\.txt on the controller failed/, hint: /GNU tar/ } },
  // The test host image has no xz, bzip2 or unzip: these need the machine's.
  { name: 'a controller tar.xz', args: { src: 'app.tar.xz', dest: APP }, files: { 'files/app.tar.xz': A.txz }, before: { [APP]: { dir: true } }, changes: [/^extract app\.tar\.xz \(sha256 \w+, 4 members/, /^record /], after: extracted(), simulatorOnly: true },
  { name: 'a controller tar.bz2', args: { src: 'app.tar.bz2', dest: APP }, files: { 'files/app.tar.bz2': A.tbz }, before: { [APP]: { dir: true } }, changes: [/^extract app\.tar\.bz2 /, /^record /], after: extracted(), simulatorOnly: true },
  { name: 'a controller zip (unzip on the host)', args: { src: 'app.zip', dest: APP }, files: { 'files/app.zip': ZIP }, before: { [APP]: { dir: true } }, changes: [`extract app.zip (sha256 ${sha(ZIP).slice(0, 12)}, 3 members: bin, bin/tool, README) into ${APP}`, /^record /], after: { [`${APP}/bin/tool`]: TOOL, [`${APP}/README`]: README }, simulatorOnly: true },
]);
