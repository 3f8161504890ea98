/**
 * Four kinds of host fault in one CLI run over real SSH (test hosts 83-87), then a plain re-run
 * once the faults are fixed:
 *
 *   w83  healthy                                  -> converges
 *   w84  powered off mid-run                      -> unreachable, "lost the SSH connection"
 *   w85  become as deploy without become_password -> failed, "a password is required"
 *   w86  target dir is a full 1 MB tmpfs          -> failed, "No space left on device"
 *   w87  nothing booted at its address            -> unreachable, "cannot connect ... ECONNREFUSED"
 *
 * Exit code 2 (a host failed), each fault named in the recap's FAILED HOSTS. Then: boot w84 and
 * w87, give w85 its password, unmount w86's tmpfs, and run the same playbook again: exit 0, every
 * host converged, and `changed` only where work was left (w83 nothing, w86 the last two tasks).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootHosts, DEPLOY_PASSWORD, sshExec, type TestHosts } from '../../hosts/harness.js';
import { CLI, recap, tsplay } from '../../helpers/cli.js';

const isRoot = process.getuid?.() === 0;
const groups: TestHosts[] = [];
let t: TestHosts;
let dir: string;
let knownHosts: string;
let payloadSha: string;

const PLAYBOOK = (payload: string) => `- hosts: all
  become: true
  tasks:
    - name: app dir
      file: { path: /srv/app/data, state: directory, mode: '0755' }
    - name: app config
      copy: { content: "port=8080\\n", dest: /srv/app/app.conf, mode: '0644' }
    - name: slow step
      command:
        cmd: sh -c 'touch /var/tmp/slow-started; sleep 4; touch /srv/app/.slow-done'
        creates: /srv/app/.slow-done
    - name: payload
      copy: { src: ${payload}, dest: /srv/app/data/payload.bin }
    - name: done marker
      copy: { content: "done\\n", dest: /srv/app/done }
`;

function inventory(becomePasswordFor85: boolean): string {
  const host = (i: number, user = 'root', extra = '') => `    w${i}:\n      ansible_host: 127.0.1.${i}\n      ansible_user: ${user}\n      ansible_ssh_private_key_file: ${t.keyFile}\n${extra}`;
  const w85 = becomePasswordFor85 ? `      ansible_become_password: ${DEPLOY_PASSWORD}\n` : '';
  const text = `all:\n  vars:\n    known_hosts_file: ${knownHosts}\n    timeout: 5\n  hosts:\n${host(83)}${host(84)}${host(85, 'deploy', w85)}${host(86)}${host(87)}`;
  const file = join(dir, `inv-${randomBytes(3).toString('hex')}.yml`);
  writeFileSync(file, text);
  return file;
}

/** A rebooted (re-imaged) host has a new host key: record it as an operator would. */
function trustKeysOf(g: TestHosts): void {
  const fresh = readFileSync(g.knownHostsFile, 'utf8').trim().split('\n');
  const addresses = new Set(fresh.map((l) => l.split(' ')[0]));
  const kept = readFileSync(knownHosts, 'utf8').trim().split('\n').filter((l) => l && !addresses.has(l.split(' ')[0]));
  writeFileSync(knownHosts, [...kept, ...fresh].join('\n') + '\n');
}

describe.skipIf(!isRoot)('host faults in one run, then a re-run (needs root for the test hosts)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsplay-faults-hosts-'));
    t = await bootHosts({ first: 83, count: 4 });
    groups.push(t);
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, readFileSync(t.knownHostsFile));
    const payload = randomBytes(2 * 1024 * 1024);
    writeFileSync(join(dir, 'payload.bin'), payload);
    payloadSha = createHash('sha256').update(payload).digest('hex');
    // w86: the payload's directory is a 1 MB tmpfs, too small for the 2 MB payload.
    const m = await sshExec(t, 86, 'mkdir -p /srv/app/data && mount -t tmpfs -o size=1m tmpfs /srv/app/data && df -k /srv/app/data | tail -1');
    expect(m.code, m.stderr).toBe(0);
  });
  afterAll(async () => {
    for (const g of groups) await g.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports each fault with its reason, converges the rest, exits 2; a re-run after fixing finishes only what was left', async () => {
    const pb = join(dir, 'site.yml');
    writeFileSync(pb, PLAYBOOK(join(dir, 'payload.bin')));
    const inv = inventory(false);

    const child = spawn(process.execPath, [CLI, pb, '-i', inv], { env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Power w84 off while it sleeps in the slow step.
    for (let i = 0; i < 300; i++) {
      if ((await sshExec(t, 84, 'cat /var/tmp/slow-started 2>/dev/null && echo yes', { timeoutMs: 5000 })).stdout.includes('yes')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await t.powerOff(84);
    expect(await code, out).toBe(2);

    const stats = recap(out);
    expect(stats.w83, out).toMatchObject({ failed: 0, unreachable: 0, changed: 5 });
    expect(stats.w84, out).toMatchObject({ unreachable: 1, failed: 0 });
    expect(stats.w85, out).toMatchObject({ failed: 1, unreachable: 0, ok: 0 });
    expect(stats.w86, out).toMatchObject({ failed: 1, unreachable: 0, changed: 3 });
    expect(stats.w87, out).toMatchObject({ unreachable: 1, ok: 0 });
    const failedHosts = out.slice(out.lastIndexOf('FAILED HOSTS'));
    const reason = (h: string) => failedHosts.split('\n').find((l) => l.trim().startsWith(`${h}:`)) ?? '';
    expect(reason('w84')).toMatch(/lost the SSH connection to w84/);
    expect(reason('w85')).toMatch(/app dir.*sudo: a password is required to become root/);
    expect(reason('w85')).not.toMatch(/internal error|at .*\.js:\d+/);
    expect(reason('w86')).toMatch(/payload.*write \/srv\/app\/data\/payload\.bin failed.*No space left on device/);
    expect(reason('w87')).toMatch(/cannot connect to root@127\.0\.1\.87:22.*ECONNREFUSED/);
    // Hints go with the failures.
    expect(out).toContain('set become_password');
    expect(out).toContain('the target file system is full');
    // The healthy host converged completely; the full disk kept its old state (no partial payload).
    expect((await sshExec(t, 83, 'sha256sum /srv/app/data/payload.bin; cat /srv/app/done')).stdout).toBe(`${payloadSha}  /srv/app/data/payload.bin\ndone\n`);
    expect((await sshExec(t, 86, 'ls -A /srv/app/data; test -e /srv/app/done || echo no-done')).stdout).toBe('no-done\n');

    // Fix the faults.
    const umount = await sshExec(t, 86, 'umount /srv/app/data');
    expect(umount.code, umount.stderr).toBe(0);
    const [g84, g87] = await Promise.all([bootHosts({ first: 84, count: 1 }), bootHosts({ first: 87, count: 1 })]);
    groups.push(g84, g87);
    trustKeysOf(g84);
    trustKeysOf(g87);

    const rerun = await tsplay([pb, '-i', inventory(true)]);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    const after = recap(rerun.stdout);
    expect(after.w83, rerun.stdout).toMatchObject({ changed: 0, failed: 0, unreachable: 0 });
    expect(after.w86, rerun.stdout).toMatchObject({ changed: 2, failed: 0, unreachable: 0 });
    for (const h of ['w84', 'w85', 'w87']) expect(after[h], rerun.stdout).toMatchObject({ changed: 5, failed: 0, unreachable: 0 });
    for (const [g, i] of [[t, 83], [g84, 84], [t, 85], [t, 86], [g87, 87]] as const) {
      expect((await sshExec(g, i, 'sha256sum /srv/app/data/payload.bin; cat /srv/app/done; ls -a /srv/app /srv/app/data | grep -c tsplay || true')).stdout).toBe(`${payloadSha}  /srv/app/data/payload.bin\ndone\n0\n`);
    }
  });
});
