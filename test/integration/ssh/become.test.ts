import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSsh, type SshConnection } from '../../../engine/connect/ssh.js';
import { BecomeError } from '../../../engine/connect/supervise.js';
import type { ExecResult } from '../../../engine/connect/types.js';
import { boot, BOOT_TIMEOUT_MS, rejection, specFor, type Booted } from './fixture.js';

const PASSWORD = 'deploy-secret-pw';
const WRONG = 'not-the-pw-7c1e';

describe('become (sudo)', () => {
  let booted: Booted;
  let nopass: SshConnection;
  let deploy: SshConnection;
  let root: SshConnection;
  /** Everything the tests saw: no password may appear in any of it. */
  const seen: string[] = [];
  const record = (r: ExecResult): ExecResult => {
    seen.push(r.stdout.toString('latin1'), r.stderr.toString('latin1'));
    return r;
  };
  const recordError = (e: Error): Error => {
    seen.push(e.message, String((e as { hint?: string }).hint ?? ''), e.stack ?? '');
    return e;
  };

  beforeAll(async () => {
    booted = await boot(32, 1);
    const host = booted.hosts[0]!;
    const logs = (line: string): void => void seen.push(line);
    [nopass, deploy, root] = await Promise.all([
      connectSsh(specFor(booted, host, { user: 'nopass' }), logs),
      connectSsh(specFor(booted, host, { user: 'deploy' }), logs),
      connectSsh(specFor(booted, host, { user: 'root' }), logs),
    ]);
  }, BOOT_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all([nopass?.close(), deploy?.close(), root?.close()]);
    await booted?.stop();
  }, 120_000);

  it('becomes root through NOPASSWD sudo without a password', async () => {
    const r = record(await nopass.exec('id -u', { become: { user: 'root' } }));
    expect(r.code).toBe(0);
    expect(r.stdout.toString().trim()).toBe('0');
    expect(r.stderr.toString()).toBe('');
  });

  it('becomes another user with a HOME of that user', async () => {
    const r = record(await nopass.exec('id -un; echo "$HOME"', { become: { user: 'deploy' } }));
    expect(r.stdout.toString()).toBe('deploy\n/home/deploy\n');
  });

  it('becomes root with the sudo password, prompt stripped, stdin after it intact', async () => {
    const data = randomBytes(4 * 1024 * 1024);
    const r = record(
      await deploy.exec('id -u; echo to-stderr >&2; sha256sum | cut -d" " -f1', {
        become: { user: 'root', password: PASSWORD },
        stdin: data,
      }),
    );
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe(`0\n${createHash('sha256').update(data).digest('hex')}\n`);
    expect(r.stderr.toString()).toBe('to-stderr\n');
  });

  it('runs many password becomes in parallel', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => deploy.exec(`echo ${i}; id -u`, { become: { user: 'root', password: PASSWORD } })),
    );
    results.forEach((r, i) => expect(record(r).stdout.toString()).toBe(`${i}\n0\n`));
  });

  it("falls back to the host's become password (spec.become) when the exec gives none", async () => {
    const conn = await connectSsh(specFor(booted, booted.hosts[0]!, { user: 'deploy', become: { user: 'root', password: PASSWORD } }));
    try {
      expect(record(await conn.exec('id -u', { become: { user: 'root' } })).stdout.toString()).toBe('0\n');
    } finally {
      await conn.close();
    }
  });

  it('exports env inside the become shell', async () => {
    const r = record(await deploy.exec('echo "$TOKEN"', { become: { user: 'root', password: PASSWORD }, env: { TOKEN: 'abc def' } }));
    expect(r.stdout.toString()).toBe('abc def\n');
  });

  it('fails clearly on a wrong password, without leaking it', async () => {
    const started = Date.now();
    const error = recordError(await rejection(deploy.exec('id -u', { become: { user: 'root', password: WRONG } })));
    expect(error).toBeInstanceOf(BecomeError);
    expect(error.message).toContain('sudo: incorrect become password');
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const text of seen) expect(text).not.toContain(WRONG);
  });

  it('fails at once without a password instead of hanging', async () => {
    const started = Date.now();
    const error = recordError(await rejection(deploy.exec('id -u', { become: { user: 'root' } })));
    expect(error).toBeInstanceOf(BecomeError);
    expect(error.message).toMatch(/password is required/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("reports sudo's own refusal (unknown user) as a BecomeError", async () => {
    const error = recordError(await rejection(nopass.exec('id', { become: { user: 'no-such-user' } })));
    expect(error).toBeInstanceOf(BecomeError);
    expect(error.message).toContain('no-such-user');
  });

  it('never puts the password on a command line', async () => {
    const running = deploy.exec('sleep 1.5; id -u', { become: { user: 'root', password: PASSWORD } });
    await new Promise((r) => setTimeout(r, 700));
    const ps = record(await root.exec('ps -eo args'));
    expect(ps.stdout.toString()).toContain('sleep 1.5');
    expect(record(await running).stdout.toString()).toBe('0\n');
  });

  it('leaves the password out of every output and error seen', () => {
    expect(seen.length).toBeGreaterThan(5);
    for (const text of seen) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(WRONG);
    }
  });
});
