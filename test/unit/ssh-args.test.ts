/**
 * ssh argument strings (ansible_ssh_common_args, ssh_args in ansible.cfg, --ssh-common-args):
 * ProxyJump and -J are honoured, options without effect are ignored (said at -v), and anything
 * that would change where or as whom ssh connects is refused: never a silent direct dial.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSshArgs } from '../../engine/connect/ssh-args.js';
import { resolveConnectionSpec } from '../../engine/connect/ssh-config.js';

const options = { sshConfigFile: false as const, env: {}, homeDir: '/nonexistent', currentUser: 'alice' };

describe('ssh arguments', () => {
  it('takes the first ProxyJump or -J, in any spelling ssh accepts', () => {
    expect(readSshArgs('-o ProxyJump=a@b:1').jump).toBe('a@b:1');
    expect(readSshArgs('-C -o "ProxyJump b"').jump).toBe('b');
    expect(readSshArgs('-oProxyJump=c').jump).toBe('c');
    expect(readSshArgs('-J x,y').jump).toBe('x,y');
    expect(readSshArgs('-Jz').jump).toBe('z');
    expect(readSshArgs('-J first -o ProxyJump=second').jump).toBe('first');
  });

  it('ignores what has no effect over ssh2 or only relaxes checks tsplay keeps', () => {
    const args = readSshArgs('-C -q -o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ServerAliveInterval=30');
    expect(args.refused).toEqual([]);
    expect(args.jump).toBeUndefined();
    expect(args.ignored).toEqual(['-C', '-q', '-o ControlMaster=auto', '-o ControlPersist=60s', '-o StrictHostKeyChecking=no', '-o UserKnownHostsFile=/dev/null', '-o ServerAliveInterval=30']);
  });

  it('refuses what would change the target, the login or the transport, and what it does not know', () => {
    const refused = (text: string) => readSshArgs(text).refused;
    expect(refused('-o ProxyCommand="nc -X connect -x proxy:3128 %h %p"')).toMatchObject([{ option: '-o ProxyCommand=nc -X connect -x proxy:3128 %h %p', hint: expect.stringMatching(/ProxyJump/) }]);
    expect(refused('-p 2222')).toMatchObject([{ option: '-p 2222', hint: expect.stringMatching(/ansible_port/) }]);
    expect(refused('-o User=root')).toMatchObject([{ hint: expect.stringMatching(/ansible_user/) }]);
    expect(refused('-i ~/.ssh/other')).toMatchObject([{ hint: expect.stringMatching(/ansible_ssh_private_key_file/) }]);
    expect(refused('-L 8080:localhost:80')).toMatchObject([{ hint: expect.stringMatching(/port forwards/) }]);
    expect(refused('-F ./ssh.cfg')).toMatchObject([{ hint: expect.stringMatching(/~\/\.ssh\/config/) }]);
    expect(refused('-o Tunnel=yes')).toMatchObject([{ option: '-o Tunnel=yes', hint: expect.stringMatching(/does not know/) }]);
    expect(refused('-qP')).toMatchObject([{ option: '-qP' }]);
    expect(refused('bastion')).toMatchObject([{ hint: expect.stringMatching(/not an ssh option/) }]);
    expect(refused('-o "ProxyJump x')).toMatchObject([{ hint: expect.stringMatching(/no closing " quote/) }]);
  });

  it('turns the usual ProxyCommand into the ProxyJump that does the same, in the hint', () => {
    expect(readSshArgs(`-o ProxyCommand="ssh -W %h:%p -q -p 2222 ops@bastion.example"`).refused[0]!.hint).toMatch(/write -o ProxyJump=ops@bastion\.example:2222 instead/);
    expect(readSshArgs(`-o 'ProxyCommand=/usr/bin/ssh -l ops -W [%h]:%p jump'`).refused[0]!.hint).toMatch(/ProxyJump=ops@jump /);
  });
});

describe('ssh arguments in a host\'s connection', () => {
  it('honours ProxyJump from ansible_ssh_common_args, and from the run\'s ssh_args when the host sets none', () => {
    expect(resolveConnectionSpec('w1', { ansible_ssh_common_args: '-o ProxyJump=ops@bastion:2222' }, options)).toMatchObject({ jumpHost: 'ops@bastion:2222', jump: { address: 'bastion', port: 2222, user: 'ops' } });
    const defaults = { sshArgs: { ssh_args: { text: '-C -J cfgjump', from: 'ssh_args (ansible.cfg:3)' } } };
    expect(resolveConnectionSpec('w2', {}, { ...options, defaults }).jumpHost).toBe('cfgjump');
    // The host's own variable for the same option wins; ssh_args comes first on ssh's command line.
    expect(resolveConnectionSpec('w3', { ansible_ssh_args: '-C' }, { ...options, defaults }).jumpHost).toBeUndefined();
    expect(resolveConnectionSpec('w4', { ansible_ssh_common_args: '-J hostjump' }, { ...options, defaults }).jumpHost).toBe('cfgjump');
    expect(resolveConnectionSpec('w5', { jump_host: 'own', ansible_ssh_common_args: '-J other' }, options).jumpHost).toBe('own');
    expect(resolveConnectionSpec('w6', { ansible_ssh_common_args: '-o ProxyJump=none' }, options).jumpHost).toBeUndefined();
  });

  it('refuses a ProxyCommand naming the host and the variable, and never resolves a direct dial', () => {
    expect(() => resolveConnectionSpec('w1', { ansible_host: '10.0.0.5', ansible_ssh_common_args: '-o ProxyCommand="ssh -W %h:%p bastion"' }, options)).toThrow(
      'host w1: ansible_ssh_common_args: -o ProxyCommand=ssh -W %h:%p bastion is not supported',
    );
    const defaults = { sshArgs: { ssh_extra_args: { text: '-p 2200', from: 'ssh_extra_args (env: ANSIBLE_SSH_EXTRA_ARGS)' } } };
    expect(() => resolveConnectionSpec('w2', {}, { ...options, defaults })).toThrow('host w2: ssh_extra_args (env: ANSIBLE_SSH_EXTRA_ARGS): -p 2200 is not supported');
  });

  it('refuses a ProxyCommand from ~/.ssh/config unless a jump host is set above it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsplay-sshcfg-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const sshConfig = join(dir, 'config');
    writeFileSync(sshConfig, 'Host behind\n  ProxyCommand ssh -W %h:%p gate\nHost direct\n  ProxyCommand none\n');
    const withConfig = { ...options, sshConfigFile: sshConfig };
    expect(() => resolveConnectionSpec('behind', {}, withConfig)).toThrow(/the ssh config sets ProxyCommand for behind/);
    expect(resolveConnectionSpec('behind', { jump_host: 'gate' }, withConfig).jumpHost).toBe('gate');
    expect(resolveConnectionSpec('direct', {}, withConfig).jumpHost).toBeUndefined();
  });

  it('tells what it ignores', () => {
    const said: string[] = [];
    resolveConnectionSpec('w1', { ansible_ssh_extra_args: '-o StrictHostKeyChecking=no' }, { ...options, onIgnored: (m) => said.push(m) });
    expect(said).toEqual([expect.stringMatching(/^ansible_ssh_extra_args: -o StrictHostKeyChecking=no ignored/)]);
  });
});

describe('run defaults under host variables', () => {
  const defaults = { user: 'cliuser', port: 2200, privateKeyFile: '/keys/cli', password: 'cli-password', connection: 'ssh' as const, timeoutMs: 30_000 };

  it('-u, remote_port, --private-key, -k, -T apply where the inventory says nothing, and lose to it', () => {
    expect(resolveConnectionSpec('a', {}, { ...options, defaults })).toMatchObject({ user: 'cliuser', port: 2200, privateKeyFile: '/keys/cli', password: 'cli-password', connectTimeoutMs: 30_000 });
    expect(
      resolveConnectionSpec('b', { ansible_user: 'inv', ansible_port: 22, ansible_ssh_private_key_file: '/keys/inv', ansible_password: 'inv-password', ansible_timeout: 5 }, { ...options, defaults }),
    ).toMatchObject({ user: 'inv', port: 22, privateKeyFile: '/keys/inv', password: 'inv-password', connectTimeoutMs: 5000 });
  });

  it('-c local runs hosts on the controller unless the inventory names their connection', () => {
    const local = { ...options, defaults: { connection: 'local' as const } };
    expect(resolveConnectionSpec('a', {}, local).connection).toBe('local');
    expect(resolveConnectionSpec('b', { ansible_connection: 'ssh' }, local).connection).toBe('ssh');
  });

  it('ansible_host_key_checking false means accept-new for that host; true wins over --accept-new-host-keys', () => {
    expect(resolveConnectionSpec('a', { ansible_host_key_checking: false }, options).acceptNewHostKeys).toBe(true);
    expect(resolveConnectionSpec('b', { ansible_host_key_checking: 'True' }, { ...options, acceptNewHostKeys: true }).acceptNewHostKeys).toBe(false);
    expect(resolveConnectionSpec('c', {}, { ...options, acceptNewHostKeys: true }).acceptNewHostKeys).toBe(true);
  });

  it('a become method other than sudo is refused, naming the host', () => {
    expect(() => resolveConnectionSpec('a', { ansible_become_method: 'su' }, options)).toThrow('host a: become method "su" is not supported');
    expect(resolveConnectionSpec('b', { ansible_become_method: 'sudo' }, options).host).toBe('b');
  });
});
