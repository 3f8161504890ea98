/**
 * Hosts for the package modules' tables (test/modules/package.ts): what a case holds before and
 * after is which packages are installed, not files, so the targets set that up with the package
 * manager itself and read it back with dpkg-query (and the rpm stand-in's database).
 *
 * - simulated: a SimHost whose apt sources are a file: repository of package stanzas only
 *   (SIM_APT_PACKAGES: no .deb files, none needed); the machine's own apt-get resolves every
 *   transaction and the apt-get stand-in (sim-bin/apt-get) records it in /var/lib/dpkg/status.
 *   dnf and rpm are labelled stand-ins (sim-bin/dnf, sim-bin/rpm) over SIM_RPM_REPO: the test
 *   hosts are Debian, no real dnf runs anywhere in the tests.
 * - real: the test host image's local apt repository (test/hosts/harness.ts, /srv/tsplay-apt:
 *   the worker's dependency packages as Debian ships them, plus the tests' own tsplay-probe 1.0
 *   and 2.0), installed and removed for real over SSH.
 */
import { shellQuote as q } from '../../engine/connect/shell.js';
import type { Connection } from '../../engine/connect/types.js';
import { expect } from 'vitest';
import type { Target } from './module-tester.js';
import { SimHost } from './sim-host.js';

export interface PackagesBefore {
  /** apt packages installed before the case (NAME or NAME=VERSION); the others of the universe are not. */
  apt?: string[];
  /** rpm packages installed before the case (simulated host only). */
  rpm?: string[];
  /** The package lists (apt) and dnf's metadata cache exist (default true). */
  lists?: boolean;
}

export interface PackagesAfter {
  /** Installed, at a version matching. */
  installed?: Record<string, string | RegExp>;
  absent?: string[];
}

/** Every package a case may name: each case starts with only its `before` installed. */
export const APT_UNIVERSE = ['socat', 'jq', 'libjq1', 'libonig5', 'tsplay-probe'];

/** Stanzas shaped as Debian's (bookworm's versions and dependencies of these packages, less what every host has). */
export const SIM_APT_PACKAGES = [
  ['socat', '1.7.4.4-2', 'amd64', ''],
  ['jq', '1.6-2.1', 'amd64', 'libjq1 (= 1.6-2.1)'],
  ['libjq1', '1.6-2.1', 'amd64', 'libonig5 (>= 6.1.0)'],
  ['libonig5', '6.9.8-1', 'amd64', ''],
  ['tsplay-probe', '1.0', 'all', ''],
  ['tsplay-probe', '2.0', 'all', ''],
]
  .map(([name, version, arch, deps]) => `Package: ${name}\nVersion: ${version}\nArchitecture: ${arch}\n${deps ? `Depends: ${deps}\n` : ''}Filename: ./${name}_${version}_${arch}.deb\nSize: 1000\nDescription: ${name} (simulated)\n`)
  .join('\n');

/** The dnf stand-in's repository: NAME VERSION-RELEASE ARCH REQUIRES. */
const SIM_RPM_REPO = ['socat 1.7.4.1-5.el9 x86_64 -', 'jq 1.6-15.el9 x86_64 oniguruma', 'oniguruma 6.9.6-1.el9.5 x86_64 -', ''].join('\n');

/** What a host holds of the universe: NAME -> version, installed packages only; the lists' names and sizes. */
const STATE_SCRIPT = [
  `for p in ${APT_UNIVERSE.join(' ')}; do dpkg-query -W -f='apt \${Package} \${db:Status-Abbrev} \${Version}\\n' "$p" 2>/dev/null; done | awk '$3 ~ /^.i/ { print $1, $2, $4 }'`,
  'if [ -f /var/lib/sim-rpm/installed ]; then sed "s/^/rpm /" /var/lib/sim-rpm/installed | cut -d" " -f1-3; fi',
  "for f in /var/lib/apt/lists/*_Packages; do if [ -e \"$f\" ]; then echo \"lists ${f##*/} $(stat -L -c '%s %Y' \"$f\")\"; fi; done",
].join('\n');

interface HostPackages {
  apt: Record<string, string>;
  rpm: Record<string, string>;
  lists: string[];
}

function parseState(out: string): HostPackages {
  const s: HostPackages = { apt: {}, rpm: {}, lists: [] };
  for (const line of out.split('\n').filter(Boolean)) {
    const [kind, name, ...rest] = line.split(' ');
    if (kind === 'apt' || kind === 'rpm') s[kind][name!] = rest.join(' ');
    else s.lists.push(`${name} ${rest.join(' ')}`);
  }
  return s;
}

function expectPackages(state: { packages: HostPackages }, e: PackagesAfter): void {
  const all = { ...state.packages.rpm, ...state.packages.apt };
  for (const [name, version] of Object.entries(e.installed ?? {})) expect(all[name], `${name} installed`).toEqual(typeof version === 'string' ? version : expect.stringMatching(version));
  for (const name of e.absent ?? []) expect(all[name], `${name} not installed`).toBeUndefined();
}

async function run(conn: Connection, script: string, what: string): Promise<string> {
  const res = await conn.exec(script);
  if (res.code !== 0) throw new Error(`${what} on ${conn.host} failed (exit ${res.code}): ${res.stderr.toString()}${res.stdout.toString()}`);
  return res.stdout.toString('utf8');
}

/** The simulated host: a fresh SimHost per case, its whole file system in the state. */
export const simulatedPackageHost: Target<PackagesBefore, PackagesAfter> = {
  name: 'simulated host (apt-get resolving, dpkg status written by a stand-in; dnf/rpm stand-ins)',
  async start(before = {}) {
    const h = new SimHost();
    await h.setup({
      '/etc/apt/sources.list': 'deb [trusted=yes] file:/srv/sim-apt ./\n',
      '/etc/apt/apt.conf.d': { dir: true },
      '/etc/apt/preferences.d': { dir: true },
      '/srv/sim-apt/Packages': SIM_APT_PACKAGES,
      '/var/lib/dpkg/status': '',
      '/var/lib/apt/lists/partial': { dir: true },
      '/var/cache/apt/archives/partial': { dir: true },
      '/srv/sim-rpm/repo': SIM_RPM_REPO,
    });
    const steps = ['set -e', 'export DEBIAN_FRONTEND=noninteractive'];
    steps.push('apt-get -qq update >/dev/null 2>&1', 'dnf -q makecache >/dev/null');
    if (before.apt?.length) steps.push(`apt-get -qq -y install ${before.apt.map(q).join(' ')} >/dev/null`);
    if (before.rpm?.length) steps.push(`dnf -y install ${before.rpm.map(q).join(' ')} >/dev/null`);
    if (before.lists === false) steps.push('rm -f /var/lib/apt/lists/*_Packages /var/cache/dnf/sim.repo');
    await run(h, steps.join('\n'), 'setting up the packages');
    return {
      conn: h,
      state: async () => ({ packages: parseState(await run(h, STATE_SCRIPT, 'reading the packages')), files: h.snapshot() }),
      expectAfter: (s, e) => expectPackages(s as { packages: HostPackages }, e),
      close: () => h.close(),
    };
  },
};

/** A real test host with the image's local apt repository: packages installed and removed for real. */
export function realPackageHost(conn: () => Connection): Target<PackagesBefore, PackagesAfter> {
  return {
    name: 'real host (local apt repository)',
    async start(before = {}) {
      const c = conn();
      const keep = new Set((before.apt ?? []).map((s) => s.replace(/=.*$/, '')));
      const purge = APT_UNIVERSE.filter((p) => !keep.has(p));
      const steps = [
        'set -e',
        'export DEBIAN_FRONTEND=noninteractive',
        // A case without lists removed them: put them back from the local repository.
        'ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get -qq update',
        `apt-get -qq -y purge ${purge.join(' ')} >/dev/null`,
      ];
      if (before.apt?.length) steps.push(`apt-get -qq -y --allow-downgrades install ${before.apt.map(q).join(' ')} >/dev/null`);
      if (before.lists === false) steps.push('rm -f /var/lib/apt/lists/*_Packages');
      await run(c, steps.join('\n'), 'setting up the packages');
      return {
        conn: c,
        state: async () => ({ packages: parseState(await run(c, STATE_SCRIPT, 'reading the packages')) }),
        expectAfter: (s, e) => expectPackages(s as { packages: HostPackages }, e),
        close: async () => {},
      };
    },
  };
}
