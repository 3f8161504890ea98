/**
 * gather_facts against Ansible's own setup module, on the same machine (a local connection): every
 * fact tsplay gathers has Ansible's name and Ansible's value, case included (before, os_family was
 * "debian" and `ansible_os_family == "Debian"` was silently false). ansible_fqdn is the one
 * exception, said in README ("Coming from Ansible"): tsplay asks `hostname -f`, Ansible resolves the
 * name with Python's socket.getfqdn().
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factsFrom } from '../../engine/run/facts.js';
import { FACT_NAMES } from '../../engine/vars/context.js';
import { tsplay } from '../helpers/cli.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsplay-facts-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hasAnsible = (() => {
  try {
    execFileSync('ansible', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('facts', () => {
  it.skipIf(!hasAnsible)('(skipped only without ansible-core) equal Ansible setup\'s on this machine, and a when on ansible_os_family == "Debian" holds', async () => {
    writeFileSync(join(dir, 'inv.yml'), 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n');
    writeFileSync(
      join(dir, 'pb.yml'),
      `- hosts: all
  gather_facts: true
  tasks:
    - copy: { content: "{{ to_json ansible_facts }}", dest: ${join(dir, 'facts.json')} }
    - copy: { content: "{{ ansible_distribution }} {{ ansible_distribution_major_version }}", dest: ${join(dir, 'when.txt')} }
      when: ansible_os_family == "Debian" || ansible_os_family == "RedHat"
`,
    );
    const r = await tsplay([join(dir, 'pb.yml'), '-i', join(dir, 'inv.yml')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const ours = JSON.parse(readFileSync(join(dir, 'facts.json'), 'utf8')) as Record<string, unknown>;
    const setup = execFileSync('ansible', ['-i', 'localhost,', '-c', 'local', '-m', 'setup', 'localhost'], { encoding: 'utf8', env: { ...process.env, ANSIBLE_NOCOLOR: '1' } });
    const theirs = (JSON.parse(setup.slice(setup.indexOf('{'))) as { ansible_facts: Record<string, unknown> }).ansible_facts;
    expect(Object.keys(ours).sort()).toEqual(FACT_NAMES.filter((n) => n !== 'ansible_facts').map((n) => n.replace(/^ansible_/, '')).sort());
    for (const [name, value] of Object.entries(ours)) {
      if (name === 'fqdn') continue;
      const expected = theirs[`ansible_${name}`];
      // The environment of each tool's own process: the variables both have, not every one.
      if (name === 'env') {
        for (const k of ['HOME', 'PATH', 'USER']) expect((value as Record<string, string>)[k], `env.${k}`).toBe((expected as Record<string, string>)[k]);
        continue;
      }
      if (name === 'default_ipv4') expect(value, name).toEqual(Object.fromEntries(Object.keys(value as object).map((k) => [k, (expected as Record<string, unknown>)[k]])));
      else expect(value, name).toEqual(expected);
    }
    // The kernel-reported distribution is one Ansible knows: the comparison above is not vacuous.
    expect(ours.os_family).toMatch(/^[A-Z]/);
    expect(readFileSync(join(dir, 'when.txt'), 'utf8')).toBe(`${String(theirs.ansible_distribution)} ${String(theirs.ansible_distribution_major_version)}`);
  });

  it.each([
    ['Debian 12', 'os_id=debian\nos_version_id=12\nos_codename=bookworm\ndebian_version=12.11\npkg=apt-get\nproc1=systemd', { distribution: 'Debian', distribution_version: '12.11', distribution_major_version: '12', os_family: 'Debian', pkg_mgr: 'apt', service_mgr: 'systemd' }],
    ['Debian testing', 'os_id=debian\nos_version_id=\ndebian_version=trixie/sid', { distribution_version: '', os_family: 'Debian' }],
    ['Ubuntu 22.04', 'os_id=ubuntu\nos_version_id=22.04\nos_codename=jammy\ndebian_version=bookworm/sid\nproc1=systemd', { distribution: 'Ubuntu', distribution_version: '22.04', distribution_major_version: '22', distribution_release: 'jammy', os_family: 'Debian' }],
    ['RHEL 9', 'os_id=rhel\nos_version_id=9.4\npkg=dnf\nproc1=systemd', { distribution: 'RedHat', distribution_major_version: '9', os_family: 'RedHat', pkg_mgr: 'dnf' }],
    ['Rocky', 'os_id=rocky\nos_version_id=9.3', { distribution: 'Rocky', os_family: 'RedHat' }],
    ['Amazon Linux', 'os_id=amzn\nos_version_id=2023', { distribution: 'Amazon', os_family: 'RedHat' }],
    ['Alpine in a container', 'os_id=alpine\nos_version_id=3.20.1\npkg=apk\nproc1=sh', { distribution: 'Alpine', os_family: 'Alpine', pkg_mgr: 'apk', service_mgr: 'service' }],
    ['an unknown distribution', 'os_id=exotic\nos_version_id=1', { distribution: 'Exotic', os_family: 'Exotic' }],
    ['a default route', 'route=8.8.8.8 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0\nall_ipv4=127.0.0.1 10.0.0.5 ', { default_ipv4: { address: '10.0.0.5', interface: 'eth0', gateway: '10.0.0.1' }, all_ipv4_addresses: ['10.0.0.5'] }],
    ['no default route (a test host)', 'route=\nall_ipv4=127.0.0.1 10.251.1.3 ', { default_ipv4: {}, all_ipv4_addresses: ['10.251.1.3'] }],
    ['the environment, a value with a newline in it', `env_b64=${Buffer.from('HOME=/root\0MULTI=a\nb\0PATH=/usr/bin\0').toString('base64')}`, { env: { HOME: '/root', MULTI: 'a\nb', PATH: '/usr/bin' } }],
  ])('%s', (_what, out, expected) => {
    expect(factsFrom(out)).toMatchObject(expected);
  });
});
