/**
 * gather_facts: the facts Ansible users compare (ansible_os_family == "Debian", ...), with
 * Ansible's names and Ansible's values (its setup module's case and format), in one round trip and
 * without Python on the host. Not Ansible's full setup: FACT_NAMES (vars/context.ts) lists them all.
 * test/unit/facts.test.ts compares each with `ansible -m setup` on the same machine.
 */
import { UnreachableError } from '../connect/types.js';
import { recordOutcome } from './outcome.js';
import type { HostState, RunState } from './state.js';
import { assignResolved } from '../vars/context.js';
import { secrets } from '../secrets.js';

// key=value lines; values are single-line by construction (tr -d of newlines where needed).
// `ip route get` only asks the kernel which route it would take: no packet is sent.
const SCRIPT = `
n=$(uname -n); echo "nodename=$n"; echo "hostname=\${n%%.*}"
echo "fqdn=$(hostname -f 2>/dev/null || uname -n)"
echo "kernel=$(uname -r)"; echo "kernel_version=$(uname -v)"; echo "machine=$(uname -m)"; echo "system=$(uname -s)"
if [ -r /etc/os-release ]; then . /etc/os-release; fi
echo "os_id=\${ID:-}"; echo "os_version_id=\${VERSION_ID:-}"; echo "os_codename=\${VERSION_CODENAME:-}"; echo "os_name=\${NAME:-}"
echo "debian_version=$(cat /etc/debian_version 2>/dev/null | head -n1)"
echo "route=$(ip -4 route get 8.8.8.8 2>/dev/null | head -n1)"
echo "all_ipv4=$(ip -4 -o addr show 2>/dev/null | awk '{sub("/.*", "", $4); print $4}' | tr '\\n' ' ')"
echo "vcpus=$(grep -c '^processor' /proc/cpuinfo 2>/dev/null)"; echo "nproc=$(nproc 2>/dev/null)"
echo "memtotal_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null)"
echo "user_id=$(id -un)"
echo "proc1=$(cat /proc/1/comm 2>/dev/null)"; [ -d /run/systemd/system ] && echo "systemd_dir=yes"
for p in apt-get dnf yum zypper apk pacman; do if command -v $p >/dev/null 2>&1; then echo "pkg=$p"; break; fi; done
echo "env_b64=$(env -0 2>/dev/null | base64 | tr -d '\\n')"
`;

/** Ansible's names for /etc/os-release IDs (its distribution facts); others are capitalized. */
const DISTRIBUTION: Record<string, string> = {
  debian: 'Debian', ubuntu: 'Ubuntu', raspbian: 'Debian', linuxmint: 'Linux Mint', devuan: 'Devuan', kali: 'Kali',
  rhel: 'RedHat', centos: 'CentOS', fedora: 'Fedora', rocky: 'Rocky', almalinux: 'AlmaLinux', ol: 'OracleLinux', amzn: 'Amazon',
  sles: 'SLES', 'opensuse-leap': 'openSUSE Leap', 'opensuse-tumbleweed': 'openSUSE Tumbleweed', arch: 'Archlinux', alpine: 'Alpine',
};

/** Ansible's OS_FAMILY_MAP (module_utils/facts/system/distribution.py), for the distributions above. */
const FAMILY: Record<string, string> = {
  Debian: 'Debian', Ubuntu: 'Debian', 'Linux Mint': 'Debian', Devuan: 'Debian', Kali: 'Debian',
  RedHat: 'RedHat', CentOS: 'RedHat', Fedora: 'RedHat', Rocky: 'RedHat', AlmaLinux: 'RedHat', OracleLinux: 'RedHat', Amazon: 'RedHat',
  SLES: 'Suse', 'openSUSE Leap': 'Suse', 'openSUSE Tumbleweed': 'Suse', Archlinux: 'Archlinux', Alpine: 'Alpine',
};

const PKG_MGR: Record<string, string> = { 'apt-get': 'apt', dnf: 'dnf', yum: 'yum', zypper: 'zypper', apk: 'apk', pacman: 'pacman' };

/** The facts from the script's output, named and shaped as Ansible's setup module names them. */
export function factsFrom(stdout: string): Record<string, unknown> {
  const kv = Object.create(null) as Record<string, string>;
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv[line.slice(0, eq)] = line.slice(eq + 1).trim();
  }
  const id = kv.os_id ?? '';
  const distribution = DISTRIBUTION[id] ?? (id ? id[0]!.toUpperCase() + id.slice(1) : 'OtherLinux');
  // Debian's point release is in /etc/debian_version (12.11), os-release has only the major.
  const debianVersion = kv.debian_version ?? '';
  const version = id === 'debian' && /^\d+(\.\d+)*$/.test(debianVersion) ? debianVersion : (kv.os_version_id ?? '');
  // "8.8.8.8 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0"
  const route = kv.route ?? '';
  const word = (after: string) => new RegExp(`\\b${after} (\\S+)`).exec(route)?.[1];
  const defaultIpv4: Record<string, string> = {};
  if (word('src')) Object.assign(defaultIpv4, { address: word('src'), interface: word('dev'), ...(word('via') ? { gateway: word('via') } : {}) });
  const memKb = Number(kv.memtotal_kb);
  return {
    hostname: kv.hostname,
    nodename: kv.nodename,
    fqdn: kv.fqdn,
    kernel: kv.kernel,
    kernel_version: kv.kernel_version,
    architecture: kv.machine,
    machine: kv.machine,
    system: kv.system,
    distribution,
    distribution_version: version,
    distribution_major_version: version.split('.')[0] ?? '',
    distribution_release: kv.os_codename ?? '',
    os_family: FAMILY[distribution] ?? distribution,
    pkg_mgr: PKG_MGR[kv.pkg ?? ''] ?? 'unknown',
    service_mgr: serviceManager(kv.proc1 ?? '', kv.systemd_dir === 'yes'),
    default_ipv4: defaultIpv4,
    all_ipv4_addresses: (kv.all_ipv4 ?? '').split(' ').filter((a) => a && !a.startsWith('127.')),
    processor_vcpus: Number(kv.vcpus) || 0,
    processor_nproc: Number(kv.nproc) || 0,
    memtotal_mb: Number.isFinite(memKb) ? Math.floor(memKb / 1024) : 0,
    user_id: kv.user_id,
    env: environmentFrom(kv.env_b64 ?? ''),
  };
}

/** ansible_env: the environment tasks run with, from `env -0` (values may hold newlines). */
function environmentFrom(b64: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of Buffer.from(b64, 'base64').toString('utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** As Ansible's service_mgr fact: PID 1's name, unless that is a generic init or a shell. */
function serviceManager(proc1: string, systemdDir: boolean): string {
  if (proc1 === 'systemd' || systemdDir) return 'systemd';
  if (proc1 && proc1 !== 'init' && !proc1.endsWith('sh')) return proc1;
  return 'service';
}

export async function gatherFacts(run: RunState, host: HostState): Promise<void> {
  try {
    const conn = await run.connections.get(host.name);
    const res = await conn.exec(SCRIPT);
    const facts = factsFrom(res.stdout.toString('utf8'));
    // A host's environment may hold a secret-named variable (a token): masked like any other.
    secrets.addFromVars({ ansible_env: facts.env });
    assignResolved(host.facts, { ansible_facts: facts, ...Object.fromEntries(Object.entries(facts).map(([k, v]) => [`ansible_${k}`, v])) });
  } catch (err) {
    if (!(err instanceof UnreachableError)) throw err;
    recordOutcome(run, host, { kind: 'unreachable', message: err.message });
  }
}
