/**
 * Files holding secrets are written 0600 on a real host (88), with no mode given in the playbook:
 * a bootstrap kubeconfig (kubeconfig module with a token; as root, and through sudo as deploy),
 * `template: {secret: true}` and `copy: {secret: true}`, new files and files that were 0644 before
 * (tightened even when the content is already right). The token never appears in any output at
 * -vvv with --diff. A file that is not secret keeps the usual 0644.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootHosts, DEPLOY_PASSWORD, sshExec, type TestHosts } from '../../hosts/harness.js';
import { recap, tsplay } from '../../helpers/cli.js';

const isRoot = process.getuid?.() === 0;
const TOKEN = 'abcdef.0123456789abcdef';
const DB_PASSWORD = 'db-pw-never-shown-7f3a';
let t: TestHosts;
let dir: string;

function inventory(user: 'root' | 'deploy'): string {
  const file = join(dir, `inv-${user}.yml`);
  const become = user === 'deploy' ? `      ansible_become_password: ${DEPLOY_PASSWORD}\n` : '';
  writeFileSync(file, `all:\n  vars:\n    known_hosts_file: ${t.knownHostsFile}\n  hosts:\n    w88:\n      ansible_host: 127.0.1.88\n      ansible_user: ${user}\n      ansible_ssh_private_key_file: ${t.keyFile}\n${become}`);
  return file;
}

async function modes(paths: string[]): Promise<string[]> {
  const r = await sshExec(t, 88, `stat -c '%U:%G %a' ${paths.join(' ')}`);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split('\n');
}

describe.skipIf(!isRoot)('secret files are 0600 (needs root for the test hosts)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsplay-faults-secrets-'));
    t = await bootHosts({ first: 88, count: 1 });
    mkdirSync(join(dir, 'templates'));
    writeFileSync(join(dir, 'templates', 'db.env.hbs'), 'DB_USER=app\nDB_PASSWORD={{ db_password }}\n');
    writeFileSync(join(dir, 'ca.crt'), '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n');
  });
  afterAll(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('bootstrap kubeconfig, secret template and secret copy: 0600 new, 0644 ones tightened, no secret in output', async () => {
    // Left 0644 by a manual step: the same kubeconfig bytes tsplay will write, and an old env file.
    const pb = join(dir, 'site.yml');
    writeFileSync(
      pb,
      `- hosts: all
  vars:
    db_password: { secret: true, value: ${DB_PASSWORD} }
  tasks:
    - name: bootstrap kubeconfig
      kubeconfig:
        server: https://10.0.0.1:6443
        ca_file: ${join(dir, 'ca.crt')}
        token: ${TOKEN}
        user_name: kubelet-bootstrap
        dest: /etc/kubernetes/bootstrap-kubelet.conf
      register: bk
    - name: a secret copy over a file that was 0644
      copy: { content: "{{ bk.kubeconfig }}", dest: /etc/kubernetes/old-bootstrap.conf, secret: true }
    - name: database env
      template: { src: db.env.hbs, dest: /etc/app/db.env, secret: true }
    - name: plain file
      copy: { content: "not secret\\n", dest: /etc/app/motd }
`,
    );
    await sshExec(t, 88, `mkdir -p /etc/kubernetes /etc/app && printf 'DB_PASSWORD=old\\n' > /etc/app/db.env && chmod 0644 /etc/app/db.env && touch /etc/kubernetes/old-bootstrap.conf && chmod 0644 /etc/kubernetes/old-bootstrap.conf`);

    const run = await tsplay([pb, '-i', inventory('root'), '--diff', '-vvv']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(TOKEN.split('.')[1]);
    expect(run.stdout + run.stderr).not.toContain(DB_PASSWORD);
    expect(await modes(['/etc/kubernetes/bootstrap-kubelet.conf', '/etc/kubernetes/old-bootstrap.conf', '/etc/app/db.env', '/etc/app/motd'])).toEqual(['root:root 600', 'root:root 600', 'root:root 600', 'root:root 644']);
    expect((await sshExec(t, 88, 'cat /etc/app/db.env')).stdout).toBe(`DB_USER=app\nDB_PASSWORD=${DB_PASSWORD}\n`);

    // Right content, wrong mode: only the mode is fixed, and that is a change.
    await sshExec(t, 88, 'chmod 0644 /etc/kubernetes/bootstrap-kubelet.conf /etc/app/db.env');
    const fix = await tsplay([pb, '-i', inventory('root'), '-v']);
    expect(fix.code, fix.stdout + fix.stderr).toBe(0);
    expect(recap(fix.stdout).w88).toMatchObject({ changed: 2 });
    expect(fix.stdout).toContain('/etc/kubernetes/bootstrap-kubelet.conf: mode 0644 -> 0600');
    expect(fix.stdout).toContain('/etc/app/db.env: mode 0644 -> 0600');
    expect(await modes(['/etc/kubernetes/bootstrap-kubelet.conf', '/etc/app/db.env'])).toEqual(['root:root 600', 'root:root 600']);

    const again = await tsplay([pb, '-i', inventory('root')]);
    expect(recap(again.stdout).w88).toMatchObject({ changed: 0, failed: 0 });
  });

  it('a bootstrap kubeconfig written through sudo (deploy -> root) is root-owned 0600', async () => {
    const pb = join(dir, 'become.yml');
    writeFileSync(
      pb,
      `- hosts: all
  become: true
  tasks:
    - kubeconfig:
        server: https://10.0.0.1:6443
        ca_file: ${join(dir, 'ca.crt')}
        token: ${TOKEN}
        dest: /var/lib/kubelet/bootstrap-kubeconfig
`,
    );
    await sshExec(t, 88, 'mkdir -p /var/lib/kubelet');
    const run = await tsplay([pb, '-i', inventory('deploy'), '-vvv', '--diff']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(TOKEN.split('.')[1]);
    expect(await modes(['/var/lib/kubelet/bootstrap-kubeconfig'])).toEqual(['root:root 600']);
    // deploy itself cannot read it.
    const peek = await sshExec(t, 88, 'cat /var/lib/kubelet/bootstrap-kubeconfig', { user: 'deploy' });
    expect(peek.code).not.toBe(0);
    expect(peek.stdout).not.toContain(TOKEN);
  });
});
