// Boots three real hosts and checks them over real OpenSSH. Needs root; the first run builds the
// cached image (about a minute or two with a reachable Debian mirror).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootHosts, DEPLOY_PASSWORD, sshExec, type TestHost, type TestHosts } from './harness.js';

// `npm test` builds to dist/ and vitest then also finds dist/test/hosts/harness.test.js; both
// copies run at once, so the built one takes the next range instead of colliding on 201-203.
const fromDist = fileURLToPath(import.meta.url).includes('/dist/');
const FIRST = fromDist ? 204 : 201;
const INDICES = [FIRST, FIRST + 1, FIRST + 2] as const;

function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

describe.skipIf(process.getuid?.() !== 0)('real test hosts', () => {
  let t: TestHosts | undefined;

  beforeAll(async () => {
    t = await bootHosts({ first: FIRST, count: 3, prefix: 'hosttest' });
  }, 900_000);

  afterAll(async () => {
    await t?.stop();
  }, 120_000);

  const hosts = () => {
    if (!t) throw new Error('hosts did not boot');
    return t;
  };

  it('gives each host its address, machine name and own hostname', async () => {
    expect(hosts().hosts.map((h) => [h.index, h.address, h.name, h.port])).toEqual(
      INDICES.map((i) => [i, `127.0.1.${i}`, `hosttest-h${i}`, 22]),
    );
    for (const i of INDICES) {
      const r = await sshExec(hosts(), i, 'hostname');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(`w${i}`);
    }
  }, 60_000);

  it('runs a real systemd that finished booting', async () => {
    for (const i of INDICES) {
      const r = await sshExec(hosts(), i, 'systemctl is-system-running --wait; systemctl --failed --no-legend --plain');
      expect(['running', 'degraded'], r.stdout).toContain(r.stdout.split('\n')[0]!.trim());
      // "degraded" is allowed by contract; today the hosts boot with no failed unit at all
      expect(r.stdout.split('\n').slice(1).join('').trim()).toBe('');
    }
  }, 60_000);

  it('makes deploy give a password for sudo, and nopass not', async () => {
    const i = INDICES[0];
    const noPw = await sshExec(hosts(), i, 'sudo -n true', { user: 'deploy' });
    expect(noPw.code).not.toBe(0);
    expect(noPw.stderr).toMatch(/password is required/);
    const withPw = await sshExec(hosts(), i, "sudo -S -p '' id -u", { user: 'deploy', input: `${DEPLOY_PASSWORD}\n` });
    expect(withPw.code, withPw.stderr).toBe(0);
    expect(withPw.stdout.trim()).toBe('0');
    const wrongPw = await sshExec(hosts(), i, "sudo -S -p '' true", { user: 'deploy', input: 'wrong\n' });
    expect(wrongPw.code).not.toBe(0);
    const nopass = await sshExec(hosts(), i, 'sudo -n id -u', { user: 'nopass' });
    expect(nopass.code, nopass.stderr).toBe(0);
    expect(nopass.stdout.trim()).toBe('0');
  }, 60_000);

  it('gives every host its own ssh host key, as listed in knownHostsFile', async () => {
    const known = readFileSync(hosts().knownHostsFile, 'utf8').trim().split('\n');
    expect(known).toHaveLength(3);
    const keys = new Set<string>();
    for (const i of INDICES) {
      const r = await sshExec(hosts(), i, 'cat /etc/ssh/ssh_host_ed25519_key.pub');
      expect(r.code, r.stderr).toBe(0);
      const [type, blob = ''] = r.stdout.trim().split(/\s+/);
      expect(known).toContain(`127.0.1.${i} ${type} ${blob}`);
      keys.add(blob);
    }
    expect(keys.size).toBe(3);
    // and ssh itself checked them: sshExec runs with StrictHostKeyChecking=yes against that file
  }, 60_000);

  it('writes an inventory naming every host', () => {
    const inv = readFileSync(hosts().inventoryFile, 'utf8');
    for (const i of INDICES) {
      expect(inv).toContain(`    w${i}:\n      ansible_host: 127.0.1.${i}\n      ansible_user: root\n`);
    }
    expect(inv).toContain(`known_hosts_file: ${JSON.stringify(hosts().knownHostsFile)}`);
  });

  it('powers one host off while the others keep running, then stops all', async () => {
    const [a, b, c] = hosts().hosts as [TestHost, TestHost, TestHost];
    await hosts().powerOff(b.index);
    expect(running(b.pid)).toBe(false);
    const down = await sshExec(hosts(), b.index, 'true', { timeoutMs: 15_000 });
    expect(down.code).toBe(255);
    for (const h of [a, c]) expect((await sshExec(hosts(), h.index, 'true')).code).toBe(0);

    const pids = hosts().hosts.map((h) => h.pid);
    await hosts().stop();
    for (const pid of pids) expect(running(pid), `nspawn pid ${pid}`).toBe(false);
    expect(() => readFileSync(hosts().stateFile)).toThrow();
  }, 120_000);
});

describe.skipIf(process.getuid?.() !== 0)('real test hosts on a bridge, each in its own network namespace', () => {
  const first = FIRST + 10;
  let t: TestHosts | undefined;
  const linkExists = (name: string) => {
    try {
      readFileSync(`/sys/class/net/${name}/type`);
      return true;
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    t = await bootHosts({ first, count: 2, prefix: 'nettest', network: 'bridge', hostRoutes: ['10.96.0.0/12'] });
  }, 900_000);

  afterAll(async () => {
    await t?.stop();
  }, 120_000);

  it('gives each host its own address on the harness bridge, reached over real ssh', async () => {
    const net = t!.network!;
    expect(net.bridge).toBe(`tsbr${first}`);
    expect(linkExists(net.bridge)).toBe(true);
    for (const h of t!.hosts) {
      expect(h.address).toBe(`${net.base}.${h.index}`);
      const r = await sshExec(t!, h.index, 'hostname; ip -4 -o addr show dev host0; getent hosts $(hostname)');
      expect(r.code, r.stderr).toBe(0);
      const [name, addr, hosts] = r.stdout.split('\n');
      expect(name).toBe(`w${h.index}`);
      expect(addr).toContain(`inet ${h.address}/24`);
      // a kubelet finds its node's address through its hostname
      expect(hosts).toMatch(new RegExp(`^${h.address.replace(/\./g, '\\.')}\\s+w${h.index}$`));
    }
  }, 60_000);

  it('gives the hosts no default route: a packet off the bridge fails inside the host', async () => {
    for (const h of t!.hosts) {
      const r = await sshExec(t!, h.index, 'ip -4 route show; echo ==; ip route get 198.51.100.1 2>&1; ip route get 10.96.0.1');
      const [routes, lookups] = r.stdout.split('==\n');
      expect(routes).not.toMatch(/^default/m);
      expect(routes).toMatch(new RegExp(`^${t!.network!.subnet.replace(/\./g, '\\.')} dev host0`, 'm'));
      // the caller's on-link route (a Service CIDR for kube-proxy's DNAT), no gateway
      expect(routes).toMatch(/^10\.96\.0\.0\/12 dev host0 .*scope link/m);
      expect(lookups).toContain('Network is unreachable');
      expect(lookups).toMatch(/^10\.96\.0\.1 dev host0/m);
    }
  }, 60_000);

  it('removes the bridge when the hosts stop', async () => {
    const bridge = t!.network!.bridge;
    await t!.stop();
    expect(linkExists(bridge)).toBe(false);
  }, 120_000);
});
