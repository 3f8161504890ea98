/**
 * 50 real test hosts for the sharding test and the controller-cost measurement: indices 160-199
 * and 207-216 (201-206 belong to test/hosts, 151-156 to the e2e test and demo, 101-150 to the
 * bench). Both use these, so they do not run at once (the harness refuses a range in use).
 * One inventory (group `workers`, hosts w160 ...) and one known_hosts file for both ranges, and
 * a small project: a few file/copy/template tasks per host and one run_once task on the controller.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootHosts, type TestHosts } from '../hosts/harness.js';

export const RANGES = [
  { first: 160, count: 40 },
  { first: 207, count: 10 },
];

export interface Fleet {
  /** w160 ... w199, w207 ... w216 */
  names: string[];
  inventory: string;
  playbook: string;
  stop(): Promise<void>;
}

export async function bootFleet(dir: string, log?: (m: string) => void): Promise<Fleet> {
  const booted: TestHosts[] = [];
  try {
    // One range after the other: 50 systemds booting at once on 2 cores is slow enough.
    for (const r of RANGES) booted.push(await bootHosts({ ...r, prefix: 'shard', log }));
  } catch (err) {
    await Promise.all(booted.map((t) => t.stop()));
    throw err;
  }
  mkdirSync(dir, { recursive: true });
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, booted.map((t) => readFileSync(t.knownHostsFile, 'utf8')).join(''));
  const hosts = booted.flatMap((t) => t.hosts.map((h) => ({ ...h, keyFile: t.keyFile })));
  const inventory = join(dir, 'inventory.yml');
  writeFileSync(
    inventory,
    [
      'all:',
      '  vars:',
      `    known_hosts_file: ${JSON.stringify(knownHosts)}`,
      '  children:',
      '    workers:',
      '      hosts:',
      ...hosts.flatMap((h) => [`        ${h.hostname}:`, `          ansible_host: ${h.address}`, '          ansible_user: root', `          ansible_ssh_private_key_file: ${JSON.stringify(h.keyFile)}`]),
    ].join('\n') + '\n',
  );
  const playbook = writeProject(dir);
  return { names: hosts.map((h) => h.hostname), inventory, playbook, stop: async () => void (await Promise.all(booted.map((t) => t.stop()))) };
}

/** The playbook: what a worker role does per node, in small (files), plus cluster-wide setup once. */
function writeProject(dir: string): string {
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'templates/node.conf.hbs'), 'name={{ inventory_hostname }}\naddress={{ ansible_host }}\nmax_pods={{ max_pods }}\n');
  const playbook = join(dir, 'site.yml');
  writeFileSync(
    playbook,
    `- name: cluster-wide setup and nodes
  hosts: workers
  vars:
    fail_host: none
    max_pods: 110
    root: /var/lib/tsplay-shard
    controller_dir: ${JSON.stringify(join(dir, 'controller'))}
  tasks:
    - name: cluster-wide setup, once, from the controller
      run_once: true
      delegate_to: controller
      copy: { content: "bindings v1\\n", dest: "{{ controller_dir }}/cluster-setup", mode: "0644" }
    - name: working directory
      file: { path: "{{ root }}", state: directory, mode: "0755" }
    - name: node config
      template: { src: node.conf.hbs, dest: "{{ root }}/node.conf", mode: "0644" }
    - name: static file
      copy: { content: "static\\n", dest: "{{ root }}/static.txt", mode: "0644" }
    - name: only on hosts ending in 0
      when: inventory_hostname.endsWith("0")
      copy: { content: "ten\\n", dest: "{{ root }}/ten.txt", mode: "0600" }
    - name: link
      file: { src: "{{ root }}/node.conf", path: "{{ root }}/current.conf", state: link }
    - name: healthy
      assert: { that: ['inventory_hostname != fail_host'] }
    - name: after the check
      file: { path: "{{ root }}/done", state: touch, mode: "0644" }
`,
  );
  mkdirSync(join(dir, 'controller'), { recursive: true });
  return playbook;
}
