/**
 * The bench's hosts: booted fresh by the test-host harness, then described to every tool the same
 * way: one Ansible-style inventory (tsplay, Ansible, Ansible + Mitogen), one JSON file for
 * pyinfra's inventory.py, one known_hosts. Under --rtt every tool connects through the latency
 * proxy (127.0.0.1:<port per host>) and the known_hosts holds `[127.0.0.1]:<port>` lines, so host
 * keys are still checked strictly; `node_ip` (the address the templates render) stays the host's
 * own address either way, so the files are the same bytes with and without the proxy.
 *
 * Host indices: on the shared loopback (127.0.1.<i>) the bench owns 101-150, so at most 50 hosts.
 * More hosts need `--network bridge`: the hosts get their own bridge `tsbr<first>` and subnet
 * (test/hosts/network.ts), where indices 1-254 are the bench's alone (other suites' bridges are
 * named for their own first index), under the bench's machine-name prefix.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { bootHosts, type HostsState, type TestHosts } from '../../test/hosts/harness.js';
import type { Log } from './install.js';
import { writeProxiedKnownHosts, type LatencyProxy } from './latency.js';
import type { BenchHosts } from './tools.js';

export type Network = 'loopback' | 'bridge';

/** The index range the bench may use on each network, and the default first index. */
export const RANGES: Record<Network, { min: number; max: number }> = {
  loopback: { min: 101, max: 150 },
  bridge: { min: 1, max: 254 },
};

export function checkRange(network: Network, first: number, count: number): string | undefined {
  const r = RANGES[network];
  if (first < r.min || first + count - 1 > r.max) {
    return network === 'loopback'
      ? `on the loopback the bench owns host indices ${r.min}-${r.max} (at most ${r.max - r.min + 1} hosts); use --network bridge for more`
      : `on a bridge host indices are ${r.min}-${r.max}`;
  }
  return undefined;
}

/** The hosts' cgroup2 directories, from the harness state file (their cgroup v1 twins have no cpu.stat). */
function hostCgroups(stateFile: string): string[] {
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as HostsState;
  return state.hosts.flatMap((h) => h.cgroups.filter((d) => existsSync(path.join(d, 'cpu.stat')) && existsSync(path.join(d, 'cgroup.controllers'))));
}

export function inventoryYaml(hosts: BenchHosts): string {
  const q = (s: string): string => JSON.stringify(s); // JSON strings are valid YAML scalars
  const lines = ['# The bench\'s hosts (bench/lib/hosts.ts); this file goes away with them.', 'all:', '  hosts:'];
  for (const h of hosts.hosts) {
    lines.push(
      `    ${h.name}:`,
      `      ansible_host: ${h.address}`,
      `      ansible_port: ${h.port}`,
      '      ansible_user: root',
      `      ansible_ssh_private_key_file: ${q(hosts.keyFile)}`,
      `      node_ip: ${h.nodeIp}`,
    );
  }
  lines.push(
    '  vars:',
    `    known_hosts_file: ${q(hosts.knownHostsFile)}`,
    // Ansible (and Mitogen, which runs OpenSSH too) check the same host keys
    `    ansible_ssh_common_args: ${q(`-o UserKnownHostsFile=${hosts.knownHostsFile} -o StrictHostKeyChecking=yes`)}`,
  );
  return lines.join('\n') + '\n';
}

export async function bootBench(opts: { first: number; count: number; network: Network; proxy?: LatencyProxy; log: Log }): Promise<{ t: TestHosts; hosts: BenchHosts }> {
  const t = await bootHosts({ first: opts.first, count: opts.count, prefix: 'bench', network: opts.network, log: (m) => opts.log(`hosts: ${m}`) });
  try {
    const direct = t.hosts.map((h) => ({ name: h.hostname, address: h.address, port: h.port }));
    let knownHostsFile = t.knownHostsFile;
    let reach = direct.map((h) => ({ ...h, nodeIp: h.address }));
    if (opts.proxy) {
      await opts.proxy.add(direct);
      const port = (name: string): number => opts.proxy!.ports.get(name)!;
      knownHostsFile = path.join(t.runDir, 'known_hosts.proxied');
      writeProxiedKnownHosts(knownHostsFile, readFileSync(t.knownHostsFile, 'utf8'), new Map(direct.map((h) => [h.address, port(h.name)])));
      reach = direct.map((h) => ({ name: h.name, address: '127.0.0.1', port: port(h.name), nodeIp: h.address }));
    }
    const hosts: BenchHosts = {
      inventoryFile: path.join(t.runDir, 'bench-inventory.yml'),
      pyinfraHostsFile: path.join(t.runDir, 'pyinfra-hosts.json'),
      keyFile: t.keyFile,
      knownHostsFile,
      hosts: reach,
      direct: { knownHostsFile: t.knownHostsFile, hosts: direct },
      cgroups: hostCgroups(t.stateFile),
    };
    writeFileSync(hosts.inventoryFile, inventoryYaml(hosts));
    writeFileSync(hosts.pyinfraHostsFile, JSON.stringify({ keyFile: hosts.keyFile, knownHostsFile, hosts: reach }, null, 2));
    return { t, hosts };
  } catch (e) {
    await t.stop();
    throw e;
  }
}
