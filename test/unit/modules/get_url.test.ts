/**
 * get_url and unarchive beyond their tables: what only a plan can be shown without a host that
 * lacks a tool (no curl or wget, no unzip), wget's path (the tables' hosts have curl, which is
 * preferred), the checksum and listing parsers, and that a password reaches no script.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { membersOf, unescapeTarName } from '../../../engine/modules/host/archive-list.js';
import { digestFromList, parseChecksum, urlFileName } from '../../../engine/modules/host/checksum.js';
import getUrl, { planGetUrl } from '../../../engine/modules/host/get_url.js';
import { FETCH_FN, fetchConfig, fetchFailure, fetchVarsScript, TOOL_SCRIPT } from '../../../engine/modules/host/http-fetch.js';
import { planUnarchive } from '../../../engine/modules/host/unarchive.js';
import type { ModuleContext } from '../../../engine/modules/types.js';
import { runModule } from '../../../engine/run/module-run.js';
import { serveFiles, type Served } from '../../helpers/file-server.js';
import { SimHost } from '../../helpers/sim-host.js';

const HEX = 'a'.repeat(64);

describe('get_url plans', () => {
  it('a host with neither curl nor wget: fails with the hint to install one', () => {
    const plan = planGetUrl({ url: 'https://example.invalid/k', dest: '/opt/k', checksum: `sha256:${HEX}` }, { cur: { exists: false }, digest: null, tool: 'none' });
    expect(plan.fail).toEqual({ message: 'cannot download https://example.invalid/k: neither curl nor wget is installed on the host', hint: expect.stringMatching(/install curl/) });
  });

  it('a converged file needs no tool', () => {
    const plan = planGetUrl({ url: 'https://example.invalid/k', dest: '/opt/k', checksum: `sha256:${HEX}` }, { cur: { exists: true, type: 'file', mode: '0644' }, digest: HEX, tool: 'none' });
    expect(plan).toMatchObject({ changes: [] });
    expect(plan.fail).toBeUndefined();
  });
});

describe('checksums', () => {
  it('reads the forms Ansible accepts', () => {
    expect(parseChecksum(`SHA256:${HEX.toUpperCase()}`)).toEqual({ algorithm: 'sha256', hex: HEX });
    expect(parseChecksum('sha256:https://dl.k8s.io/x/kubelet.sha256')).toEqual({ algorithm: 'sha256', url: 'https://dl.k8s.io/x/kubelet.sha256' });
    expect(parseChecksum('sha256:abc')).toEqual({ error: expect.stringMatching(/64 hex digits/) });
    expect(parseChecksum(`md5:${HEX}`)).toHaveProperty('error');
  });

  it('finds the line for the file name, or takes a file of one digest', () => {
    expect(digestFromList(`${HEX}  ./kubelet\n`, 'kubelet', 'sha256')).toBe(HEX);
    expect(digestFromList(`# sums\n${'b'.repeat(64)}  kubectl\n${HEX} *kubelet\n`, 'kubelet', 'sha256')).toBe(HEX);
    expect(digestFromList(`${HEX}\n`, 'anything', 'sha256')).toBe(HEX);
    expect(digestFromList(`${HEX}  kubectl\n`, 'kubelet', 'sha256')).toEqual({ error: 'no line for kubelet in it (1 lines)' });
    expect(urlFileName('https://h/a/b/kube%20let?x=1#f')).toBe('kube let');
  });
});

describe('archive listings', () => {
  it("unescapes GNU tar's names and refuses members outside dest", () => {
    expect(unescapeTarName('a\\nb\\\\c\\303\\251')).toBe('a\nb\\cé');
    expect(membersOf(['./', './bin/', 'bin/tool', '/etc/x', 'bin/tool'])).toEqual({ entries: ['bin', 'bin/tool', 'etc/x'] });
    expect(membersOf(['a/../../x'])).toEqual({ error: 'member "a/../../x" would be extracted outside dest' });
  });

  it('a zip on a host without unzip: fails with the hint to install it', () => {
    const plan = planUnarchive({ src: 'a.zip', dest: '/opt/a' }, { created: false, dest: { exists: true, type: 'directory' }, manifest: null, archive: { sha256: HEX, size: 1, format: 'zip', members: { entries: ['x'] } }, unzip: false }, false);
    expect(plan.fail).toEqual({ message: 'a.zip is a zip archive and the host has no unzip', hint: 'install unzip on the host (apt-get install unzip)' });
  });
});

describe('downloading', () => {
  const PASSWORD = 'wget-and-curl-secret';
  let server: Served;
  beforeAll(async () => {
    server = await serveFiles({ '/f': { body: 'payload\n' }, '/private/f': { body: 'private\n', auth: { user: 'u', password: PASSWORD } } });
  });
  afterAll(() => server.stop());

  it('with wget when the host has no curl: credentials, headers and timeout from its configuration file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsplay-wget-'));
    try {
      // A PATH with the machine's tools but curl.
      mkdirSync(join(dir, 'bin'));
      for (const tool of readdirSync('/usr/bin')) if (tool !== 'curl') symlinkSync(join('/usr/bin', tool), join(dir, 'bin', tool));
      const tool = await promisify(execFile)('/bin/sh', ['-c', TOOL_SCRIPT], { env: { PATH: join(dir, 'bin') } });
      expect(tool.stdout).toBe('wget');
      const cfg = fetchConfig({ url: `${server.url}/private/f`, url_username: 'u', url_password: PASSWORD, force_basic_auth: true, headers: { 'X-Fixture': 'yes' }, timeout: 3 });
      const script = `${fetchVarsScript()}\n${FETCH_FN}\n__tsplay_fetch "$1"`;
      await promisify(execFile)('/bin/sh', ['-c', script, 'sh', join(dir, 'out')], { env: { PATH: join(dir, 'bin'), ...cfg } });
      expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('private\n');
      expect(server.requests.at(-1)).toMatchObject({ path: '/private/f', authorization: `Basic ${Buffer.from(`u:${PASSWORD}`).toString('base64')}` });
      const missing = await promisify(execFile)('/bin/sh', ['-c', script, 'sh', join(dir, 'out2')], { env: { PATH: join(dir, 'bin'), ...fetchConfig({ url: `${server.url}/nope` }) } }).catch((e: { code: number; stderr: string }) => e);
      expect(fetchFailure('wget', (missing as { code: number }).code, (missing as { stderr: string }).stderr, 'U', 10)).toMatchObject({ message: 'download of U failed: HTTP 404' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a password is marked secret and appears in no script the host ran, no summary and no result', async () => {
    const host = new SimHost();
    try {
      await host.setup({ '/opt/bin': { dir: true } });
      const marked: string[] = [];
      const ctx: ModuleContext = { host: 'h', conn: host, check: false, diff: false, vars: {}, files: { resolve: () => '' }, secret: (v) => void marked.push(v), log: () => {}, signal: new AbortController().signal };
      const sum = `sha256:${createHash('sha256').update('private\n').digest('hex')}`;
      const run = await runModule(getUrl as never, { url: `${server.url}/private/f`, dest: '/opt/bin/f', checksum: sum, url_username: 'u', url_password: PASSWORD }, ctx, { check: false });
      expect(run.failure).toBeUndefined();
      expect(host.read('/opt/bin/f')).toBe('private\n');
      expect(marked).toContain(PASSWORD);
      const shown = JSON.stringify([run.plan.changes, run.result, host.scripts]);
      expect(shown).not.toContain(PASSWORD);
      expect(shown).not.toContain(Buffer.from(`u:${PASSWORD}`).toString('base64'));
    } finally {
      await host.close();
    }
  });
});
