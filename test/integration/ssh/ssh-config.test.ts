import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSsh } from '../../../engine/connect/ssh.js';
import { resolveConnectionSpec } from '../../../engine/connect/ssh-config.js';
import { UnreachableError, type ConnectionSpec } from '../../../engine/connect/types.js';
import { boot, BOOT_TIMEOUT_MS, rejection, tempDir, type Booted } from './fixture.js';

describe('ssh config and inventory variables', () => {
  let booted: Booted;
  const home = tempDir('ssh-config-home');
  let configFile: string;

  beforeAll(async () => {
    booted = await boot(37, 1);
    const host = booted.hosts[0]!;
    mkdirSync(join(home.path, '.ssh'), { mode: 0o700 });
    copyFileSync(booted.keyFile, join(home.path, '.ssh', 'fleet_key'));
    configFile = join(home.path, '.ssh', 'config');
    writeFileSync(
      configFile,
      [
        'Host myalias',
        `  HostName ${host.address}`,
        '  User nopass',
        `  Port ${host.port}`,
        '  IdentityFile ~/.ssh/fleet_key',
        '  ConnectTimeout 7',
        'Host viajump',
        '  HostName 10.9.8.7',
        '  ProxyJump jumper',
        'Host jumper',
        '  HostName 192.0.2.1',
        '  User jumpuser',
        '  Port 2200',
        'Host *',
        `  UserKnownHostsFile ${booted.knownHostsFile}`,
        '',
      ].join('\n'),
    );
  }, BOOT_TIMEOUT_MS);

  afterAll(async () => {
    await booted?.stop();
    home.remove();
  }, 120_000);

  const options = () => ({ sshConfigFile: configFile, homeDir: home.path, currentUser: 'alice', env: {} });

  const whoami = async (spec: ConnectionSpec): Promise<string> => {
    const conn = await connectSsh(spec);
    try {
      return (await conn.exec('id -un')).stdout.toString().trim();
    } finally {
      await conn.close();
    }
  };

  it('resolves a Host alias to HostName, User, Port, IdentityFile and connects', async () => {
    const host = booted.hosts[0]!;
    const spec = resolveConnectionSpec('node-a', { ansible_host: 'myalias' }, options());
    expect(spec).toMatchObject({
      host: 'node-a',
      connection: 'ssh',
      address: host.address,
      port: host.port,
      user: 'nopass',
      identityFiles: [join(home.path, '.ssh', 'fleet_key')],
      knownHostsFile: booted.knownHostsFile,
      connectTimeoutMs: 7000,
    });
    expect(await whoami(spec)).toBe('nopass');
  });

  it('matches the inventory name when there is no ansible_host', () => {
    expect(resolveConnectionSpec('myalias', {}, options())).toMatchObject({ address: booted.hosts[0]!.address, user: 'nopass' });
  });

  it('lets inventory variables win over the ssh config', async () => {
    const spec = resolveConnectionSpec('node-a', { host: 'myalias', ansible_user: 'root', port: String(booted.hosts[0]!.port), timeout: 3 }, options());
    expect(spec).toMatchObject({ user: 'root', connectTimeoutMs: 3000 });
    expect(await whoami(spec)).toBe('root');
  });

  it('falls back to OpenSSH defaults: port 22, current user, default keys, agent', () => {
    writeFileSync(join(home.path, '.ssh', 'id_ecdsa'), 'not used here');
    const spec = resolveConnectionSpec('plain', { ansible_host: '192.0.2.10' }, {
      ...options(),
      sshConfigFile: join(home.path, 'missing'),
      env: { SSH_AUTH_SOCK: '/run/agent.sock' },
    });
    expect(spec).toMatchObject({
      address: '192.0.2.10',
      port: 22,
      user: 'alice',
      identityFiles: [join(home.path, '.ssh', 'id_ecdsa')],
      agentSocket: '/run/agent.sock',
      acceptNewHostKeys: false,
      connectTimeoutMs: 10_000,
    });
    expect(spec.jump).toBeUndefined();
  });

  it('accepts the Ansible aliases for every connection variable', () => {
    const spec = resolveConnectionSpec(
      'n',
      {
        ansible_host: '192.0.2.20',
        ansible_port: 2222,
        ansible_user: 'ops',
        ansible_ssh_private_key_file: '~/.ssh/fleet_key',
        ansible_ssh_pass: 'login-pw',
        ansible_become_pass: 'sudo-pw',
        ansible_become_user: 'admin',
        ansible_ssh_common_args: '-o ProxyJump=hop@192.0.2.1:2201',
        known_hosts_file: '~/kh',
        private_key_passphrase: 'pp',
      },
      { ...options(), acceptNewHostKeys: true },
    );
    expect(spec).toMatchObject({
      address: '192.0.2.20',
      port: 2222,
      user: 'ops',
      privateKeyFile: join(home.path, '.ssh', 'fleet_key'),
      privateKeyPassphrase: 'pp',
      password: 'login-pw',
      become: { user: 'admin', password: 'sudo-pw' },
      jumpHost: 'hop@192.0.2.1:2201',
      knownHostsFile: join(home.path, 'kh'),
      acceptNewHostKeys: true,
    });
    expect(spec.jump).toMatchObject({ address: '192.0.2.1', port: 2201, user: 'hop', knownHostsFile: join(home.path, 'kh') });
    expect(resolveConnectionSpec('l', { ansible_connection: 'local' }, options()).connection).toBe('local');
    expect(resolveConnectionSpec('l', { connection: 'local', ansible_connection: 'ssh' }, options()).connection).toBe('local');
    expect(() => resolveConnectionSpec('x', { ansible_port: 'ssh' }, options())).toThrow(/port/);
    expect(() => resolveConnectionSpec('x', { ansible_connection: 'winrm' }, options())).toThrow(/winrm/);
  });

  it('follows ProxyJump from the ssh config, with the jump host resolved through it too', () => {
    const spec = resolveConnectionSpec('deep', { ansible_host: 'viajump' }, options());
    expect(spec).toMatchObject({ address: '10.9.8.7', jumpHost: 'jumper' });
    expect(spec.jump).toMatchObject({ address: '192.0.2.1', port: 2200, user: 'jumpuser' });
  });

  it('uses an OpenSSH-format private key with a passphrase', async () => {
    const keyFile = join(home.path, 'encrypted_key');
    copyFileSync(booted.keyFile, keyFile);
    execFileSync('ssh-keygen', ['-q', '-p', '-N', 'key-pass-phrase', '-f', keyFile]);
    const base = resolveConnectionSpec('enc', { ansible_host: 'myalias', ansible_user: 'root', private_key: keyFile, private_key_passphrase: 'key-pass-phrase' }, options());
    const spec: ConnectionSpec = { ...base, identityFiles: [] };
    expect(await whoami(spec)).toBe('root');
    const error = await rejection(connectSsh({ ...spec, privateKeyPassphrase: 'wrong' }));
    expect(error).toBeInstanceOf(UnreachableError);
    expect(error.message).toContain(keyFile);
    expect(error.message).not.toContain('wrong');
  });
});
