import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, connectSsh, type SshConnection } from '../../../engine/connect/ssh.js';
import { UnreachableError } from '../../../engine/connect/types.js';
import { boot, BOOT_TIMEOUT_MS, rejection, specFor, type Booted } from './fixture.js';

describe('unreachable hosts', () => {
  let booted: Booted;

  beforeAll(async () => {
    booted = await boot(36, 1);
  }, BOOT_TIMEOUT_MS);

  afterAll(async () => {
    await booted?.stop();
  }, 120_000);

  it('rejects quickly, after a few retries, when nothing listens', async () => {
    const lines: string[] = [];
    const started = Date.now();
    const spec = { ...specFor(booted, booted.hosts[0]!), host: 'nobody', address: '127.0.1.39' };
    const error = await rejection(connectSsh(spec, (l) => lines.push(l)));
    expect(error).toBeInstanceOf(UnreachableError);
    expect((error as UnreachableError).host).toBe('nobody');
    expect(error.message).toContain('ECONNREFUSED');
    expect(lines.filter((l) => l.includes('retrying'))).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('does not retry an authentication failure', async () => {
    const lines: string[] = [];
    const spec = specFor(booted, booted.hosts[0]!, { user: 'root', privateKeyFile: undefined, password: 'wrong-password' });
    const error = await rejection(connectSsh(spec, (l) => lines.push(l)));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toContain('root@');
    expect(error.message).not.toContain('wrong-password');
    expect(lines.filter((l) => l.includes('retrying'))).toHaveLength(0);
  });

  it('notices a peer that stops answering (no TCP close) through keepalive', async () => {
    const host = booted.hosts[0]!;
    const victim = await connectSsh(specFor(booted, host));
    const helper = await connectSsh(specFor(booted, host));
    try {
      // The sshd process serving `victim` (a root login has no privsep child: it is the shell's parent).
      const sshd = (await victim.exec('echo $PPID')).stdout.toString().trim();
      expect(sshd).toMatch(/^\d+$/);
      expect((await helper.exec(`kill -s STOP ${sshd}`)).code).toBe(0);
      const started = Date.now();
      const error = await rejection(victim.exec('echo never'));
      expect(error).toBeInstanceOf(UnreachableError);
      expect(error.message).toMatch(/Keepalive timeout/);
      // keepaliveInterval 5 s x keepaliveCountMax 3, plus one interval of slack.
      expect(Date.now() - started).toBeLessThan(25_000);
      await helper.exec(`kill -s CONT ${sshd}; kill ${sshd}`);
    } finally {
      await victim.close();
      await helper.close();
    }
  }, 60_000);

  it('fails pending and later execs with UnreachableError when the host goes away mid-run', async () => {
    const host = booted.hosts[0]!;
    const conn: SshConnection = await connectSsh(specFor(booted, host));
    expect((await conn.exec('echo up')).stdout.toString()).toBe('up\n');
    const pending = rejection(conn.exec('sleep 600'));
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await booted.powerOff(host.index);
    const error = await pending;
    expect(error).toBeInstanceOf(UnreachableError);
    // Keepalive is 5 s x 3: the drop must be noticed within that window (plus slack).
    expect(Date.now() - started).toBeLessThan(25_000);
    const later = await rejection(conn.exec('echo again'));
    expect(later).toBeInstanceOf(UnreachableError);
    expect(later.message).toContain(host.name);
    expect(conn.alive).toBe(false);
    await conn.close();
  }, 60_000);
});
