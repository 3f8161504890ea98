import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSsh } from '../../../engine/connect/ssh.js';
import { resolveConnectionSpec } from '../../../engine/connect/ssh-config.js';
import { UnreachableError, type ConnectionSpec } from '../../../engine/connect/types.js';
import { boot, BOOT_TIMEOUT_MS, rejection, specFor, tempDir, type Booted, type TestHost } from './fixture.js';

const HIDDEN = 'b-only-via-a';

describe('jump host', () => {
  let booted: Booted;
  const scratch = tempDir('jump');

  beforeAll(async () => {
    booted = await boot(34, 2);
    // A name only host A can resolve: reaching it proves the connection went through A.
    const a = await connectSsh(specFor(booted, booted.hosts[0]!));
    await a.exec(`echo "${booted.hosts[1]!.address} ${HIDDEN}" >> /etc/hosts`);
    await a.close();
  }, BOOT_TIMEOUT_MS);

  afterAll(async () => {
    await booted?.stop();
    scratch.remove();
  }, 120_000);

  const hostname = async (spec: ConnectionSpec): Promise<string> => {
    const conn = await connectSsh(spec);
    try {
      return (await conn.exec('cat /etc/hostname')).stdout.toString().trim();
    } finally {
      await conn.close();
    }
  };

  it('reaches host B through host A (jumpHost)', async () => {
    const [a, b] = booted.hosts as [TestHost, TestHost];
    const direct = await hostname(specFor(booted, b));
    const knownHostsFile = join(scratch.path, 'known_hosts');
    copyFileSync(booted.knownHostsFile, knownHostsFile);
    const spec = specFor(booted, b, { address: HIDDEN, jumpHost: `root@${a.address}:${a.port}`, knownHostsFile, acceptNewHostKeys: true });
    expect(await hostname(spec)).toBe(direct);
    // B's key was checked (and recorded) under the name we dialled through A.
    expect(readFileSync(knownHostsFile, 'utf8')).toContain(`${HIDDEN} `);
  });

  it('reaches B through A from Ansible-style inventory vars', async () => {
    const [a, b] = booted.hosts as [TestHost, TestHost];
    const spec = resolveConnectionSpec(
      'b',
      {
        ansible_host: b.address,
        ansible_user: 'root',
        ansible_ssh_private_key_file: booted.keyFile,
        ansible_ssh_common_args: `-o StrictHostKeyChecking=no -o ProxyJump=root@${a.address}:${a.port}`,
        known_hosts_file: booted.knownHostsFile,
      },
      { sshConfigFile: false, env: {} },
    );
    expect(spec.jump).toMatchObject({ address: a.address, port: a.port, user: 'root' });
    expect(await hostname(spec)).toBe(await hostname(specFor(booted, b)));
  });

  it('reports the jump host being down as unreachable', async () => {
    const b = booted.hosts[1]!;
    const started = Date.now();
    const error = await rejection(connectSsh(specFor(booted, b, { jumpHost: 'root@127.0.1.39' })));
    expect(error).toBeInstanceOf(UnreachableError);
    expect(error.message).toContain('127.0.1.39');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('reports a target the jump host cannot reach as unreachable', async () => {
    const [a, b] = booted.hosts as [TestHost, TestHost];
    const error = await rejection(connectSsh(specFor(booted, b, { address: '127.0.1.39', jumpHost: `root@${a.address}` })));
    expect(error).toBeInstanceOf(UnreachableError);
    expect(error.message).toContain('127.0.1.39');
  });
});
