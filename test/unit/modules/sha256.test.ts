/**
 * The host-side sha256 (remote.ts SHA256_FN) gives sha256sum's answer whichever tool it uses:
 * openssl, python3, or coreutils when neither is on PATH, for small and large files.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { SHA256_FN } from '../../../engine/modules/host/remote.js';

const dir = mkdtempSync(join(tmpdir(), 'tsplay-sha-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A PATH holding only the named tools (linked from the real ones that exist). */
function pathWith(tools: string[]): string {
  const bin = join(dir, `bin-${tools.join('-') || 'none'}`);
  mkdirSync(bin, { recursive: true });
  for (const tool of ['sh', 'stat', 'cut', 'sha256sum', ...tools]) {
    // /usr/bin first: a shim elsewhere on PATH (pyenv) needs more than this PATH to run.
    const real = execFileSync('/bin/sh', ['-c', `PATH=/usr/bin:/bin:$PATH command -v ${tool} || true`], { encoding: 'utf8' }).trim();
    if (real) symlinkSync(real, join(bin, tool));
  }
  return bin;
}

function hostSha(file: string, path: string): string {
  return execFileSync('/bin/sh', ['-c', `${SHA256_FN}\n__tsplay_sha256 "$1"`, 'sh', file], { env: { PATH: path }, encoding: 'utf8' }).trim();
}

describe('host sha256', () => {
  const small = join(dir, 'small');
  const large = join(dir, 'large');
  const smallBytes = randomBytes(1000);
  const largeBytes = randomBytes(3 << 20);
  writeFileSync(small, smallBytes);
  writeFileSync(large, largeBytes);
  const want = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

  for (const tools of [['openssl'], ['python3'], []]) {
    const label = tools[0] ?? 'sha256sum only';
    const available = tools.every((t) => execFileSync('/bin/sh', ['-c', `command -v ${t} || true`], { encoding: 'utf8' }).trim() !== '');
    it.skipIf(!available)(`${label}: same digest as Node's for a small and a 3 MiB file`, () => {
      const path = pathWith(tools);
      expect(hostSha(small, path)).toBe(want(smallBytes));
      expect(hostSha(large, path)).toBe(want(largeBytes));
    });
  }
});
