/**
 * A large copy over an existing file, cut off mid-transfer by killing the SSH connection on the
 * host itself (its `sshd: root@notty` session process, from a second login as another user), on
 * real test hosts 81-82:
 *
 *   - the destination afterwards holds the old bytes or the new bytes, never a mix (sha256);
 *   - the run reports the host unreachable (exit 3);
 *   - a plain re-run converges it and leaves no `.NAME.tsplay.*` temp file behind (the cut can
 *     leave one: the killed session's shell does not always get to its cleanup trap);
 *   - the same holds when the destination did not exist before (absent, or the whole new file).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootHosts, sshArgs, sshExec, type TestHosts } from '../../hosts/harness.js';
import { CLI, recap, tsplay } from '../../helpers/cli.js';

const isRoot = process.getuid?.() === 0;
const BIG = 200 * 1024 * 1024;
let t: TestHosts;
let dir: string;
let bigFile: string;
let bigSha: string;

/** 200 MB of random bytes, written in 8 MB chunks (never all in memory). */
async function writeBig(path: string): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let done = 0; done < BIG; done += 8 << 20) {
    const chunk = randomBytes(8 << 20);
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return hash.digest('hex');
}

function inventory(): string {
  const file = join(dir, 'inv.yml');
  const hosts = t.hosts.map((h) => `    ${h.hostname}:\n      ansible_host: ${h.address}\n      ansible_user: root\n      ansible_ssh_private_key_file: ${t.keyFile}\n`).join('');
  writeFileSync(file, `all:\n  vars:\n    known_hosts_file: ${t.knownHostsFile}\n  hosts:\n${hosts}`);
  return file;
}

async function sha(index: number, path: string): Promise<string> {
  const r = await sshExec(t, index, `if [ -e ${path} ]; then sha256sum ${path} | cut -d' ' -f1; else echo absent; fi`);
  return r.stdout.trim();
}

async function leftovers(index: number, d: string): Promise<string> {
  return (await sshExec(t, index, `ls -a ${d} | grep '\\.tsplay\\.' || true`)).stdout.trim();
}

/**
 * Run the copy, and once the temp file on host `index` holds more than `atBytes`, kill tsplay's
 * sshd session there. The watcher runs on the host itself (as user nopass through sudo, so its
 * own login is not matched) and is started before tsplay: a 200 MB copy over loopback can finish
 * in well under a second on a quiet machine, faster than polling it over fresh SSH logins.
 */
async function copyAndCut(index: number, dest: string, atBytes: number): Promise<{ code: number | null; out: string; sizeAtKill: number }> {
  const pb = join(dir, `copy-${index}.yml`);
  writeFileSync(pb, `- hosts: w${index}\n  tasks:\n    - copy: { src: ${bigFile}, dest: ${dest} }\n`);
  const d = dest.slice(0, dest.lastIndexOf('/'));
  const base = dest.slice(dest.lastIndexOf('/') + 1);
  const tempSize = `stat -c %s ${d}/.${base}.tsplay.* 2>/dev/null | head -1`;
  // Polls every few milliseconds for up to ~60 s; prints the size the cut happened at.
  const watch = [
    'echo watching',
    `i=0; while [ $i -lt 12000 ]; do s=$(${tempSize}); [ "\${s:-0}" -gt ${atBytes} ] && break; sleep 0.005; i=$((i+1)); done`,
    `[ "\${s:-0}" -gt ${atBytes} ] || { echo "never got past ${atBytes} bytes" >&2; exit 7; }`,
    `sudo -n pkill -f 'sshd: root@[n]otty' && echo "cut $s"`,
  ].join('\n');
  const host = t.hosts.find((h) => h.index === index)!;
  const watcher = spawn('ssh', [...sshArgs(t, host.address, 'nopass'), watch]);
  let watchOut = '';
  let watchErr = '';
  watcher.stderr.on('data', (b: Buffer) => (watchErr += b.toString()));
  const watchDone = new Promise<number | null>((resolve) => watcher.on('close', resolve));
  await new Promise<void>((resolve, reject) => {
    watcher.stdout.on('data', (b: Buffer) => {
      watchOut += b.toString();
      if (watchOut.includes('watching')) resolve();
    });
    watcher.on('close', () => reject(new Error(`the watcher on w${index} ended early: ${watchErr}`)));
  });

  const child = spawn(process.execPath, [CLI, pb, '-i', inventory()], { env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const code = new Promise<number | null>((resolve) => child.on('close', resolve));

  expect(await watchDone, `the cut did not happen: ${watchErr}\n${out}`).toBe(0);
  const sizeAtKill = Number(/cut (\d+)/.exec(watchOut)?.[1] ?? NaN);
  expect(sizeAtKill, watchOut).toBeGreaterThan(atBytes);
  // Well short of the end, so the cut is mid-transfer and not during the host's final checks
  // (after which the host would finish the rename on its own, which is fine but proves less).
  expect(sizeAtKill, 'the copy was nearly done before it could be cut').toBeLessThan(BIG - (16 << 20));
  return { code: await code, out, sizeAtKill };
}

describe.skipIf(!isRoot)('interrupted copy (needs root for the test hosts)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsplay-faults-copy-'));
    bigFile = join(dir, 'big.bin');
    [t, bigSha] = await Promise.all([bootHosts({ first: 81, count: 2 }), writeBig(bigFile)]);
  });
  afterAll(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('over an old file: old or new afterwards, never a mix; a re-run finishes and leaves no temp file', async () => {
    const dest = '/var/tmp/payload.bin';
    await sshExec(t, 81, `head -c 3000000 /dev/urandom > ${dest} && chmod 0640 ${dest}`);
    const oldSha = await sha(81, dest);

    const cut = await copyAndCut(81, dest, 20 << 20);
    expect(cut.code, cut.out).toBe(3);
    expect(recap(cut.out).w81).toMatchObject({ unreachable: 1, failed: 0 });
    expect(cut.out).toMatch(/lost the SSH connection to w81/);
    const after = await sha(81, dest);
    expect([oldSha, bigSha], `dest is neither the old nor the new file (cut at ${cut.sizeAtKill} bytes)`).toContain(after);
    expect(after, 'the copy was cut early, yet the new file is in place').toBe(oldSha);
    expect((await sshExec(t, 81, `stat -c %a ${dest}`)).stdout.trim()).toBe('640');

    const again = await tsplay([join(dir, 'copy-81.yml'), '-i', inventory()]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(recap(again.stdout).w81).toMatchObject({ changed: 1, failed: 0, unreachable: 0 });
    expect(await sha(81, dest)).toBe(bigSha);
    expect(await leftovers(81, '/var/tmp')).toBe('');
    // The old file's mode is kept by the replacement.
    expect((await sshExec(t, 81, `stat -c %a ${dest}`)).stdout.trim()).toBe('640');

    const third = await tsplay([join(dir, 'copy-81.yml'), '-i', inventory()]);
    expect(third.code).toBe(0);
    expect(recap(third.stdout).w81).toMatchObject({ changed: 0 });
  });

  it('to a new path: absent or whole afterwards; a re-run creates it and leaves no temp file', async () => {
    const dest = '/opt/payload.bin';
    const cut = await copyAndCut(82, dest, 60 << 20);
    expect(cut.code, cut.out).toBe(3);
    expect(await sha(82, dest), `cut at ${cut.sizeAtKill} bytes`).toBe('absent');

    const again = await tsplay([join(dir, 'copy-82.yml'), '-i', inventory()]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await sha(82, dest)).toBe(bigSha);
    expect(await leftovers(82, '/opt')).toBe('');
  });
});
