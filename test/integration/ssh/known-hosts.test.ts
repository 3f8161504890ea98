import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkHostKey,
  fingerprintSha256,
  HostKeyError,
  knownHostsName,
  parseKnownHosts,
} from '../../../engine/connect/known-hosts.js';
import { connectSsh } from '../../../engine/connect/ssh.js';
import { boot, BOOT_TIMEOUT_MS, rejection, specFor, tempDir, type Booted, type TestHost } from './fixture.js';

const scratch = tempDir('known-hosts');
let counter = 0;
const tempFile = (content: string): string => {
  const file = join(scratch.path, `known_hosts.${++counter}`);
  writeFileSync(file, content);
  return file;
};

/** A key nobody serves, to play "the host was replaced". */
function freshPublicKey(type: 'ed25519' | 'ecdsa'): string {
  const file = join(scratch.path, `fresh-${type}-${++counter}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
}

describe('known_hosts parsing', () => {
  it('reads plain, comma, [host]:port, hashed and marked lines', () => {
    const ed = freshPublicKey('ed25519');
    const ec = freshPublicKey('ecdsa');
    const hashedFile = tempFile(`hashed.example ${ed}\n[hashed.example]:2222 ${ec}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', hashedFile]);
    const hashedLines = readFileSync(hashedFile, 'utf8');
    expect(hashedLines).toMatch(/^\|1\|/);
    const text = [
      '# comment',
      '',
      `a.example,b.example,10.0.0.1 ${ed} comment here`,
      `[c.example]:2222 ${ec}`,
      `*.wild.example,!bad.wild.example ${ed}`,
      `@cert-authority *.example ${ec}`,
      `@revoked * ${ec}`,
      'garbage line',
      `broken.example ssh-ed25519 AAAAnotbase64!!`,
      hashedLines,
    ].join('\n');
    const entries = parseKnownHosts(text, '/k');
    const key = (line: string): Buffer => Buffer.from(line.split(' ')[1]!, 'base64');
    const edKey = key(ed);
    const ecKey = key(ec);
    expect(checkHostKey(entries, 'b.example', edKey).status).toBe('known');
    expect(checkHostKey(entries, '10.0.0.1', edKey).status).toBe('known');
    expect(checkHostKey(entries, knownHostsName('c.example', 2222), ecKey).status).toBe('revoked');
    expect(checkHostKey(entries, knownHostsName('c.example', 22), ecKey).status).toBe('revoked');
    expect(checkHostKey(entries, 'x.wild.example', edKey).status).toBe('known');
    expect(checkHostKey(entries, 'bad.wild.example', edKey).status).toBe('unknown');
    expect(checkHostKey(entries, 'HASHED.example', edKey).status).toBe('known');
    // Only an ecdsa key is known for [hashed.example]:2222: an ed25519 key there is a changed key.
    expect(checkHostKey(entries, '[hashed.example]:2222', edKey).status).toBe('changed');
    expect(checkHostKey(entries, 'hashed.example', key(freshPublicKey('ed25519')))).toMatchObject({ status: 'changed' });
    const changed = checkHostKey(entries, 'a.example', key(freshPublicKey('ed25519')));
    expect(changed).toMatchObject({ status: 'changed', entry: { file: '/k', line: 3 } });
    // Only ed25519 is known for a.example: an ecdsa key is a changed key, not a new one.
    expect(checkHostKey(entries, 'a.example', key(freshPublicKey('ecdsa')))).toMatchObject({ status: 'changed', entry: { file: '/k', line: 3, keyType: 'ssh-ed25519' } });
    expect(checkHostKey(entries, 'nowhere.example', key(freshPublicKey('ecdsa')))).toEqual({ status: 'unknown' });
  });

  it('prints fingerprints the way ssh-keygen -l does', () => {
    const ed = freshPublicKey('ed25519');
    const file = tempFile(`h ${ed}\n`);
    const expected = execFileSync('ssh-keygen', ['-l', '-f', file], { encoding: 'utf8' }).split(' ')[1];
    expect(fingerprintSha256(Buffer.from(ed.split(' ')[1]!, 'base64'))).toBe(expected);
  });
});

describe('host key verification against a real host', () => {
  let booted: Booted;
  let host: TestHost;
  /** The harness's known_hosts lines for this host. */
  let hostLines: string[];

  beforeAll(async () => {
    booted = await boot(33, 1);
    host = booted.hosts[0]!;
    const name = knownHostsName(host.address, host.port);
    const all = parseKnownHosts(readFileSync(booted.knownHostsFile, 'utf8'), booted.knownHostsFile);
    const lines = readFileSync(booted.knownHostsFile, 'utf8').split('\n');
    hostLines = all.filter((e) => checkHostKey([e], name, e.key).status === 'known').map((e) => lines[e.line - 1]!);
    expect(hostLines.length).toBeGreaterThan(0);
  }, BOOT_TIMEOUT_MS);

  afterAll(async () => {
    await booted?.stop();
    scratch.remove();
  }, 120_000);

  const tryConnect = async (knownHostsFile: string, acceptNewHostKeys = false): Promise<void> => {
    const conn = await connectSsh(specFor(booted, host, { knownHostsFile, acceptNewHostKeys }));
    try {
      expect((await conn.exec('echo ok')).stdout.toString()).toBe('ok\n');
    } finally {
      await conn.close();
    }
  };

  it('connects to a known host', async () => {
    await tryConnect(booted.knownHostsFile);
  });

  it('refuses an unknown host with its SHA256 fingerprint and the flag to use', async () => {
    const file = tempFile('');
    const error = await rejection(tryConnect(file));
    expect(error).toBeInstanceOf(HostKeyError);
    const hostKeyError = error as HostKeyError;
    expect(hostKeyError.kind).toBe('unknown');
    expect(hostKeyError.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(error.message).toContain(hostKeyError.fingerprint);
    expect(hostKeyError.hint).toContain('--accept-new-host-keys');
    // The same fingerprint OpenSSH shows for the key the harness recorded.
    const real = execFileSync('ssh-keygen', ['-l', '-f', booted.knownHostsFile], { encoding: 'utf8' });
    expect(real).toContain(hostKeyError.fingerprint);
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('accepts a new host key with acceptNewHostKeys, then knows it without the flag', async () => {
    const file = tempFile('# existing content without a final newline');
    await tryConnect(file, true);
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines[0]).toBe('# existing content without a final newline');
    expect(lines[1]).toMatch(new RegExp(`^${knownHostsName(host.address, host.port).replace(/[[\].]/g, '\\$&')} ssh-\\S+ AAAA`));
    await tryConnect(file);
    // OpenSSH agrees the written line is valid.
    const found = execFileSync('ssh-keygen', ['-F', knownHostsName(host.address, host.port), '-f', file], { encoding: 'utf8' });
    expect(found).toContain('found');
  });

  it('refuses a changed key, loudly, even with acceptNewHostKeys', async () => {
    const name = knownHostsName(host.address, host.port);
    // Every known type gets a different key of that type; types we cannot forge here are dropped.
    const lines = hostLines.map((l) => {
      const [, type] = l.split(' ');
      if (type === 'ssh-ed25519') return `${name} ${freshPublicKey('ed25519')}`;
      if (type === 'ecdsa-sha2-nistp256') return `${name} ${freshPublicKey('ecdsa')}`;
      return `# ${type} left out`;
    });
    const content = `# first line\n${lines.join('\n')}\n`;
    const file = tempFile(content);
    const error = await rejection(tryConnect(file, true));
    expect(error).toBeInstanceOf(HostKeyError);
    expect((error as HostKeyError).kind).toBe('changed');
    expect(error.message).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(error.message).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+`));
    expect(readFileSync(file, 'utf8')).toBe(content);
  });

  it('accepts hashed entries (ssh-keygen -H)', async () => {
    const file = tempFile(`${hostLines.join('\n')}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file]);
    expect(readFileSync(file, 'utf8')).not.toContain(host.address);
    await tryConnect(file);
  });

  it('refuses a @revoked key', async () => {
    const file = tempFile(`${hostLines.join('\n')}\n${hostLines.map((l) => `@revoked * ${l.split(' ').slice(1, 3).join(' ')}`).join('\n')}\n`);
    const error = await rejection(tryConnect(file, true));
    expect((error as HostKeyError).kind).toBe('revoked');
  });

  it('asks the server for the key type it knows (ecdsa only)', async () => {
    // The hosts serve only ed25519; give this one an ecdsa key too, so it offers both.
    const root = await connectSsh(specFor(booted, host));
    const setup = await root.exec(
      "test -f /etc/ssh/ssh_host_ecdsa_key || ssh-keygen -q -t ecdsa -N '' -f /etc/ssh/ssh_host_ecdsa_key\n" +
        'grep -q ecdsa /etc/ssh/sshd_config.d/test.conf || echo HostKey /etc/ssh/ssh_host_ecdsa_key >> /etc/ssh/sshd_config.d/test.conf\n' +
        'systemctl reload ssh && cut -d" " -f1,2 /etc/ssh/ssh_host_ecdsa_key.pub',
    );
    await root.close();
    expect(setup.code).toBe(0);
    const ecdsa = `${knownHostsName(host.address, host.port)} ${setup.stdout.toString().trim()}`;
    expect(ecdsa).toMatch(/ ecdsa-sha2-nistp256 AAAA/);
    // Left to ssh2's default order the server would show its ed25519 key, unknown in this file.
    await tryConnect(tempFile(`${ecdsa}\n`));
  });

  it('refuses a host that offers only a key of another type than the pinned one, even with acceptNewHostKeys', async () => {
    // The man in the middle: ed25519 is pinned, the host (now serving only its ecdsa key) offers ECDSA.
    const pinned = hostLines.filter((l) => l.split(' ')[1] === 'ssh-ed25519');
    expect(pinned.length).toBe(1);
    const root = await connectSsh(specFor(booted, host));
    const only = await root.exec("sed -i '/ssh_host_ed25519_key/d' /etc/ssh/sshd_config.d/test.conf && grep -q ecdsa /etc/ssh/sshd_config.d/test.conf && systemctl reload ssh");
    expect(only.code, only.stderr.toString()).toBe(0);
    try {
      const content = `${pinned[0]}\n`;
      const file = tempFile(content);
      const error = await rejection(tryConnect(file, true));
      expect(error).toBeInstanceOf(HostKeyError);
      expect((error as HostKeyError).kind).toBe('changed');
      expect(error.message).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
      expect(error.message).toMatch(/has ssh-ed25519 SHA256:\S+, the host now presents only a key of another type, ecdsa-sha2-nistp256 SHA256:/);
      expect(readFileSync(file, 'utf8')).toBe(content); // nothing appended: the key was not accepted
    } finally {
      const back = await root.exec("sed -i '1a HostKey /etc/ssh/ssh_host_ed25519_key' /etc/ssh/sshd_config.d/test.conf && systemctl reload ssh");
      await root.close();
      expect(back.code).toBe(0);
    }
  });
});
