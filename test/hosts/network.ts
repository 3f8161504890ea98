// The test hosts' own network: one Linux bridge per boot, created and removed by the harness, and
// one network namespace per host (systemd-nspawn --network-bridge: a veth pair, `host0` inside).
//
// Why: a kubelet reports its node's address, and the apiserver, the CSR checks and kube-proxy's
// rules all use it. On the shared loopback every host has the machine's address; here each host
// has its own, as on a real fleet.
//
// Safety: the hosts get an address on the bridge's subnet and no default route, and nothing does
// NAT, so a packet a host sends to any address outside the subnet (or to a route the caller adds
// on the bridge, see `routes`) finds no gateway and fails inside the host: it never leaves the
// machine. The harness touches only the bridge it created (named for its host range) and the
// veths nspawn attached to it, which vanish with the hosts' namespaces.
//
// Only Node built-ins and `ip` (iproute2), like harness.ts.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface BridgeNetwork {
  /** interface name on the machine, `tsbr<first>` (at most 15 characters) */
  bridge: string;
  /** e.g. 10.251.151.0/24 */
  subnet: string;
  prefixLength: number;
  /** the machine's own address on the bridge: the hosts reach the controller (apiserver) there */
  gateway: string;
  /** host address by index: `${base}.${index}` */
  base: string;
}

/**
 * The subnet for the hosts first..first+count-1: `${TSPLAY_TEST_SUBNET:-10.251}.<first>.0/24`, the
 * machine at .254. An overlap with any route this machine already has is an error (never use an
 * address range that is somebody else's).
 */
export async function planBridge(first: number): Promise<BridgeNetwork> {
  const prefix = process.env.TSPLAY_TEST_SUBNET || '10.251';
  if (!/^\d{1,3}\.\d{1,3}$/.test(prefix) || prefix.split('.').some((o) => Number(o) > 255)) {
    throw new Error(`TSPLAY_TEST_SUBNET=${prefix}: expected the first two octets of a private /16, e.g. 10.251`);
  }
  const base = `${prefix}.${first}`;
  const net: BridgeNetwork = { bridge: `tsbr${first}`, subnet: `${base}.0/24`, prefixLength: 24, gateway: `${base}.254`, base };
  const clash = (await routes()).find((r) => r.dst !== 'default' && overlaps(r.dst, net.subnet));
  if (clash) {
    throw new Error(
      `test subnet ${net.subnet} overlaps this machine's route ${clash.dst} (dev ${clash.dev}); ` +
        `set TSPLAY_TEST_SUBNET to the first two octets of a free /16`,
    );
  }
  return net;
}

interface Route {
  dst: string;
  dev: string;
}

async function routes(): Promise<Route[]> {
  const { stdout } = await execFileP('ip', ['-j', 'route', 'show', 'table', 'all']);
  return (JSON.parse(stdout) as Array<{ dst: string; dev?: string; family?: string }>)
    .filter((r) => r.dst && !r.dst.includes(':'))
    .map((r) => ({ dst: r.dst, dev: r.dev ?? '' }));
}

function toRange(cidr: string): [number, number] {
  const [ip, len = '32'] = cidr.split('/');
  const n = ip!.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(len));
  const start = n - (n % size);
  return [start, start + size - 1];
}

export function overlaps(a: string, b: string): boolean {
  if (!/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(a) || !/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(b)) return false;
  const [a0, a1] = toRange(a);
  const [b0, b1] = toRange(b);
  return a0 <= b1 && b0 <= a1;
}

async function linkExists(name: string): Promise<boolean> {
  try {
    await execFileP('ip', ['link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

/** Create the bridge with the machine's address on it. A leftover of the same name is refused. */
export async function createBridge(net: BridgeNetwork): Promise<void> {
  if (await linkExists(net.bridge)) {
    throw new Error(`interface ${net.bridge} already exists (another test run on these host indices, or a leftover: ip link del ${net.bridge})`);
  }
  await execFileP('ip', ['link', 'add', 'name', net.bridge, 'type', 'bridge']);
  try {
    // No IPv6 on the bridge: nothing here uses it, and no router advertisements or DAD traffic.
    await execFileP('sh', ['-c', `echo 1 > /proc/sys/net/ipv6/conf/${net.bridge}/disable_ipv6`]).catch(() => {});
    await execFileP('ip', ['addr', 'add', `${net.gateway}/${net.prefixLength}`, 'dev', net.bridge]);
    await execFileP('ip', ['link', 'set', 'dev', net.bridge, 'up']);
  } catch (e) {
    await removeBridge(net.bridge);
    throw e;
  }
}

/** Remove a bridge this harness created (its name is in the state file). Safe if already gone. */
export async function removeBridge(bridge: string): Promise<void> {
  if (!/^tsbr\d+$/.test(bridge)) throw new Error(`refusing to remove ${bridge}: not a test bridge`);
  if (await linkExists(bridge)) await execFileP('ip', ['link', 'del', 'dev', bridge]).catch(() => {});
}

/**
 * systemd-networkd configuration for host0 inside a host: its address, no gateway, no DHCP, no
 * IPv6 autoconfiguration. `routes` are on-link routes on the bridge (e.g. a Service CIDR, so that
 * kube-proxy's DNAT in OUTPUT sees the packet: the kernel routes a local packet before netfilter);
 * a destination on them that no rule rewrites gets no ARP answer on the bridge and fails.
 */
export function host0Network(net: BridgeNetwork, index: number, routes: string[] = []): string {
  return [
    '# Written by test/hosts/network.ts: this test host\'s address on the harness\'s bridge.',
    '# No Gateway= and no DHCP: no default route, so no packet can leave the machine.',
    '[Match]',
    'Name=host0',
    '',
    '[Network]',
    `Address=${net.base}.${index}/${net.prefixLength}`,
    'DHCP=no',
    'LinkLocalAddressing=no',
    'IPv6AcceptRA=no',
    ...routes.flatMap((r) => ['', '[Route]', `Destination=${r}`, 'Scope=link']),
    '',
  ].join('\n');
}
