/**
 * The CLI over real SSH on real hosts: become with a password that never shows, host key
 * checking (unknown refused unless accepted, changed always refused), and a host powered off
 * mid-run while the others converge.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootHosts, DEPLOY_PASSWORD, sshExec, type TestHost, type TestHosts } from '../hosts/harness.js';
import { CLI, recap, tsplay } from '../helpers/cli.js';

const isRoot = process.getuid?.() === 0;
let t: TestHosts;
let dir: string;

function inventory(vars: Record<string, string>, hostVars: (h: TestHosts['hosts'][number]) => Record<string, string> = () => ({})): string {
  const hosts = t.hosts
    .map((h) => {
      const hv = { ansible_host: h.address, ansible_user: 'root', ansible_ssh_private_key_file: t.keyFile, ...hostVars(h) };
      return `    ${h.hostname}:\n${Object.entries(hv).map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`).join('\n')}`;
    })
    .join('\n');
  const file = join(dir, `inv-${randomBytes(3).toString('hex')}.yml`);
  writeFileSync(file, `all:\n  vars:\n${Object.entries(vars).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n')}\n  hosts:\n${hosts}\n`);
  return file;
}

function playbook(text: string): string {
  const file = join(dir, `pb-${randomBytes(3).toString('hex')}.yml`);
  writeFileSync(file, text);
  return file;
}

describe.skipIf(!isRoot)('CLI over SSH (needs root for the test hosts)', () => {
  beforeAll(async () => {
    t = await bootHosts({ first: 71, count: 4 });
    dir = mkdtempSync(join(tmpdir(), 'tsplay-ssh-'));
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('become with a password: works, and the password appears in no output at -vvv', async () => {
    const inv = inventory({ known_hosts_file: t.knownHostsFile, become_password: DEPLOY_PASSWORD }, () => ({ ansible_user: 'deploy' }));
    const pb = playbook(`- hosts: all
  become: true
  tasks:
    - copy: { content: "owned by root\\n", dest: /root/become-test, mode: '0600' }
    - command: id -u
      register: uid
      changed_when: false
    - assert: { that: ['uid.stdout == "0"'] }
`);
    const report = join(dir, 'become.json');
    const run = await tsplay([pb, '-i', inv, '-vvv', '--diff', '--report', report]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const all = run.stdout + run.stderr + readFileSync(report, 'utf8');
    expect(all).not.toContain(DEPLOY_PASSWORD);
    const st = await sshExec(t, 71, 'stat -c %U:%a /root/become-test');
    expect(st.stdout.trim()).toBe('root:600');

    const wrong = inventory({ known_hosts_file: t.knownHostsFile, become_password: 'not-the-password' }, () => ({ ansible_user: 'deploy' }));
    const bad = await tsplay([pb, '-i', wrong, '-vvv']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toContain('incorrect become password');
    expect(bad.stdout + bad.stderr).not.toContain('not-the-password');
  });

  it('refuses an unknown host key unless accepted, and a changed key always', async () => {
    const pb = playbook(`- hosts: all\n  tasks:\n    - command: hostname\n      changed_when: false\n`);
    const known = join(dir, 'known_hosts_empty');
    writeFileSync(known, '');
    const inv = inventory({ known_hosts_file: known });
    const refused = await tsplay([pb, '-i', inv, '-l', 'w72']);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
    expect(refused.stdout).toContain('--accept-new-host-keys');

    const accepted = await tsplay([pb, '-i', inv, '-l', 'w72', '--accept-new-host-keys']);
    expect(accepted.code, accepted.stdout).toBe(0);
    expect(readFileSync(known, 'utf8')).toContain('127.0.1.72');
    const again = await tsplay([pb, '-i', inv, '-l', 'w72']);
    expect(again.code).toBe(0);

    // w72's address with w73's key: a changed key, refused even when accepting new keys.
    const theirs = readFileSync(t.knownHostsFile, 'utf8').split('\n').find((l) => l.startsWith('127.0.1.73 '))!;
    const changed = join(dir, 'known_hosts_changed');
    writeFileSync(changed, theirs.replace('127.0.1.73', '127.0.1.72') + '\n');
    const inv2 = inventory({ known_hosts_file: changed });
    const loud = await tsplay([pb, '-i', inv2, '-l', 'w72', '--accept-new-host-keys']);
    expect(loud.code).toBe(3);
    expect(loud.stdout).toMatch(/changed/i);
    expect(readFileSync(changed, 'utf8')).toBe(theirs.replace('127.0.1.73', '127.0.1.72') + '\n');
  });

  it('ansible.cfg and Ansible flags over SSH: -u over remote_user, private_key_file, host_key_checking = False as accept-new, ssh_args ProxyJump, -b -K', async () => {
    const [w71, w72] = t.hosts as [TestHost, TestHost];
    // A name only w71 resolves: reaching w72 by it proves the connection went through w71.
    await sshExec(t, 71, `grep -q via-w71-only /etc/hosts || echo "${w72.address} via-w71-only" >> /etc/hosts`);
    const project = mkdtempSync(join(dir, 'cfg-'));
    const known = join(project, 'known_hosts');
    writeFileSync(known, '');
    writeFileSync(join(project, 'hosts.ini'), `[web]\nw72 ansible_host=via-w71-only known_hosts_file=${known}\n`);
    writeFileSync(
      join(project, 'ansible.cfg'),
      `[defaults]\ninventory = hosts.ini\nremote_user = not-this-one\nprivate_key_file = ${t.keyFile}\nhost_key_checking = False\n` +
        `[ssh_connection]\nssh_args = -C -o ControlMaster=auto -o ProxyJump=root@${w71.address}:${w71.port}\n`,
    );
    writeFileSync(
      join(project, 'pb.yml'),
      `- hosts: all
  tasks:
    - command: id -un
      register: became
      changed_when: false
    - command: id -un
      become: false
      register: login
      changed_when: false
    - command: cat /etc/hostname
      register: name
      changed_when: false
    - assert: { that: ['became.stdout == "root"', 'login.stdout == "deploy"', 'name.stdout == "w72"'] }
`,
    );
    const run = await tsplay(['pb.yml', '-u', 'deploy', '-b', '-K', '-vvv'], { cwd: project, input: `${DEPLOY_PASSWORD}\n` });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(DEPLOY_PASSWORD);
    // Both keys recorded as with --accept-new-host-keys: the jump host's and w72's, under the name dialled.
    const recorded = readFileSync(known, 'utf8');
    expect(recorded).toContain(w71.address);
    expect(recorded).toContain('via-w71-only');
  });

    it('a host powered off mid-run ends unreachable; the others converge with whole files', async () => {
    const big = randomBytes(24 * 1024 * 1024);
    const bigFile = join(dir, 'big.bin');
    writeFileSync(bigFile, big);
    const sha = createHash('sha256').update(big).digest('hex');
    const inv = inventory({ known_hosts_file: t.knownHostsFile });
    const pb = playbook(`- hosts: all
  tasks:
    - copy: { src: ${bigFile}, dest: /var/tmp/big.bin }
    - shell: echo started > /var/tmp/marker; sleep 4
    - copy: { content: "after\\n", dest: /var/tmp/after }
`);
    const child = spawn(process.execPath, [CLI, pb, '-i', inv], { env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Power w74 off while the others sleep in the second task.
    for (let i = 0; i < 200 && (await sshExec(t, 74, 'cat /var/tmp/marker 2>/dev/null', { timeoutMs: 5000 })).stdout.trim() !== 'started'; i++) await new Promise((r) => setTimeout(r, 100));
    await t.powerOff(74);
    expect(await code, out).toBe(3);
    const stats = recap(out);
    expect(stats.w74!.unreachable).toBe(1);
    for (const h of ['w71', 'w72', 'w73']) {
      expect(stats[h], out).toMatchObject({ failed: 0, unreachable: 0 });
      const idx = Number(h.slice(1));
      expect((await sshExec(t, idx, 'sha256sum /var/tmp/big.bin')).stdout.split(' ')[0]).toBe(sha);
      expect((await sshExec(t, idx, 'cat /var/tmp/after')).stdout).toBe('after\n');
      expect((await sshExec(t, idx, 'ls -a /var/tmp | grep -c tsplay || true')).stdout.trim()).toBe('0');
    }
  });
});
