import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../../engine/connect/pool.js';
import { connectSsh } from '../../../engine/connect/ssh.js';
import { UnreachableError, type Connection, type ConnectionSpec } from '../../../engine/connect/types.js';
import { boot, BOOT_TIMEOUT_MS, rejection, specFor, type Booted } from './fixture.js';

describe('connection pool', () => {
  let booted: Booted;

  beforeAll(async () => {
    booted = await boot(38, 1);
  }, BOOT_TIMEOUT_MS);

  afterAll(async () => {
    await booted?.stop();
  }, 120_000);

  it('opens one connection per host, lazily, shared by concurrent callers', async () => {
    const opened: string[] = [];
    const pool = new ConnectionPool({
      ssh: (spec, log) => {
        opened.push(spec.host);
        return connectSsh(spec, log);
      },
    });
    const spec = specFor(booted, booted.hosts[0]!);
    expect(opened).toEqual([]);
    const [a, b] = await Promise.all([pool.get(spec), pool.get(spec)]);
    expect(a).toBe(b);
    expect(await pool.get(spec)).toBe(a);
    expect(opened).toEqual([spec.host]);
    const results = await Promise.all(Array.from({ length: 12 }, () => a.exec('echo x')));
    expect(results.every((r) => r.stdout.toString() === 'x\n')).toBe(true);
    await pool.closeAll();
    await expect(a.exec('true')).rejects.toThrow(/closed/);
    await expect(pool.get(spec)).rejects.toThrow(/closed/);
  });

  it('forgets a failed connect so a later get() tries again', async () => {
    const pool = new ConnectionPool();
    const spec: ConnectionSpec = { ...specFor(booted, booted.hosts[0]!), host: 'ghost', address: '127.0.1.39' };
    expect(await rejection(pool.get(spec))).toBeInstanceOf(UnreachableError);
    expect(pool.has('ghost')).toBe(false);
    const good = await pool.get({ ...spec, address: booted.hosts[0]!.address });
    expect((await good.exec('echo back')).stdout.toString()).toBe('back\n');
    await pool.closeAll();
  });

  it('hands connection: local to the local factory', async () => {
    const local: Connection = { host: 'me', exec: async () => ({ code: 0, stdout: Buffer.from('local'), stderr: Buffer.alloc(0) }), close: async () => {} };
    const pool = new ConnectionPool({ local: async () => local });
    const conn = await pool.get({ host: 'me', connection: 'local', address: 'localhost', port: 22, acceptNewHostKeys: false, connectTimeoutMs: 0 });
    expect(conn).toBe(local);
    await pool.closeAll();
  });

  it('uses LocalConnection by default for connection: local', async () => {
    const pool = new ConnectionPool();
    const conn = await pool.get({ host: 'me', connection: 'local', address: 'localhost', port: 22, acceptNewHostKeys: false, connectTimeoutMs: 0 });
    expect((await conn.exec('echo $((1+2))')).stdout.toString()).toBe('3\n');
    await pool.closeAll();
  });
});
