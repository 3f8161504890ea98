import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSsh, type SshConnection } from '../../../engine/connect/ssh.js';
import { boot, BOOT_TIMEOUT_MS, rejection, specFor, tempDir, type Booted } from './fixture.js';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('ssh exec', () => {
  let booted: Booted;
  let conn: SshConnection;
  const scratch = tempDir('exec');

  beforeAll(async () => {
    booted = await boot(31, 1);
    conn = await connectSsh(specFor(booted, booted.hosts[0]!));
  }, BOOT_TIMEOUT_MS);

  afterAll(async () => {
    await conn?.close();
    await booted?.stop();
    scratch.remove();
  }, 120_000);

  it('returns stdout, stderr and the exit code', async () => {
    const r = await conn.exec('echo out; echo err >&2; exit 7');
    expect(r.code).toBe(7);
    expect(r.stdout.toString()).toBe('out\n');
    expect(r.stderr.toString()).toBe('err\n');
  });

  it('runs the command with /bin/sh, whatever the login shell is', async () => {
    const r = await conn.exec('readlink -f /proc/$$/exe; getent passwd root | cut -d: -f7');
    const [shell] = r.stdout.toString().trim().split('\n');
    expect(shell).toMatch(/\/(dash|sh)$/);
  });

  it('keeps multi-line commands, comments and background jobs intact', async () => {
    const r = await conn.exec('# a leading comment\necho one &\nwait\necho two', { env: { X: '1' } });
    expect(r.stdout.toString()).toBe('one\ntwo\n');
  });

  it('runs 20 execs in parallel over one connection', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => conn.exec(`sleep 0.2; echo ${i}`)),
    );
    expect(results.map((r) => r.code)).toEqual(Array(20).fill(0));
    expect(results.map((r) => r.stdout.toString().trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it('queues execs beyond maxChannels instead of failing', async () => {
    const narrow = await connectSsh(specFor(booted, booted.hosts[0]!), undefined, { maxChannels: 2 });
    try {
      const started = Date.now();
      const results = await Promise.all(Array.from({ length: 6 }, () => narrow.exec('sleep 0.5')));
      expect(results.every((r) => r.code === 0)).toBe(true);
      // 6 commands of 0.5 s, two at a time: three rounds.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    } finally {
      await narrow.close();
    }
  });

  it('round-trips a 50 MB binary stdin (Buffer)', async () => {
    const data = randomBytes(50 * 1024 * 1024);
    const r = await conn.exec('sha256sum | cut -d" " -f1', { stdin: data });
    expect(r.code).toBe(0);
    expect(r.stdout.toString().trim()).toBe(sha256(data));
  }, 120_000);

  it('round-trips a 50 MB binary stdin (stream)', async () => {
    const data = randomBytes(50 * 1024 * 1024);
    const file = join(scratch.path, 'blob');
    writeFileSync(file, data);
    const r = await conn.exec('cat > /tmp/blob && sha256sum /tmp/blob | cut -d" " -f1 && rm /tmp/blob', { stdin: createReadStream(file) });
    expect(r.code).toBe(0);
    expect(r.stdout.toString().trim()).toBe(sha256(data));
  }, 120_000);

  it('returns large stdout whole', async () => {
    const r = await conn.exec('head -c 20000000 /dev/zero');
    expect(r.stdout.length).toBe(20_000_000);
  }, 60_000);

  it('does not hang when the command ignores a large stdin', async () => {
    const r = await conn.exec('exit 3', { stdin: randomBytes(10 * 1024 * 1024) });
    expect(r.code).toBe(3);
  }, 60_000);

  it('passes env through stdin, not the command line', async () => {
    const secret = `tok-${randomBytes(8).toString('hex')}`;
    const value = "it's \"quoted\"\nand $multi `line`";
    const r = await conn.exec('printf "%s|%s" "$VALUE" "$SECRET"; ps -eo args > /tmp/ps-env; cat >/dev/null', {
      env: { VALUE: value, SECRET: secret },
      stdin: 'rest of stdin',
    });
    expect(r.stdout.toString()).toBe(`${value}|${secret}`);
    const ps = await conn.exec('cat /tmp/ps-env; rm /tmp/ps-env');
    expect(ps.stdout.toString()).not.toContain(secret);
  });

  it('keeps the caller stdin intact after the env preamble', async () => {
    const data = randomBytes(1024 * 1024);
    const r = await conn.exec('sha256sum | cut -d" " -f1', { env: { A: 'b' }, stdin: data });
    expect(r.stdout.toString().trim()).toBe(sha256(data));
  });

  it('times out and kills the remote command', async () => {
    const started = Date.now();
    const error = await rejection(conn.exec('sleep 31.5', { timeoutMs: 500 }));
    expect(error.name).toBe('TimeoutError');
    expect(Date.now() - started).toBeLessThan(3000);
    await new Promise((r) => setTimeout(r, 500));
    const left = await conn.exec('pgrep -f "^sleep 31.5" || true');
    expect(left.stdout.toString().trim()).toBe('');
  });

  it('aborts through an AbortSignal', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const error = await rejection(conn.exec('sleep 32.5', { signal: controller.signal }));
    expect(error.name).toBe('AbortError');
    await new Promise((r) => setTimeout(r, 500));
    const left = await conn.exec('pgrep -f "^sleep 32.5" || true');
    expect(left.stdout.toString().trim()).toBe('');
  });

  it('rejects at once with an already aborted signal', async () => {
    const error = await rejection(conn.exec('true', { signal: AbortSignal.abort() }));
    expect(error.name).toBe('AbortError');
  });

  it('still serves execs after aborts and timeouts', async () => {
    const r = await conn.exec('echo alive');
    expect(r.stdout.toString()).toBe('alive\n');
  });
});
