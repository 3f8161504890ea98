/**
 * apt, dnf and package: (packages installed before, args) -> the packages the transaction
 * installs or removes, dependencies included, and what is installed after. apt's cases run on the
 * simulated host (the machine's apt-get resolving against a file: repository of stanzas) and on a
 * real test host (the image's local repository, installed for real); dnf's only on the simulated
 * host, with the labelled dnf/rpm stand-ins (the test hosts are Debian).
 */
import { moduleTable, type Case } from '../helpers/module-tester.js';
import { simulatedPackageHost, type PackagesAfter, type PackagesBefore } from '../helpers/package-host.js';

type PackageCase = Case<PackagesBefore, PackagesAfter>;
const V = '\\S+';
const hint = /update_cache: true/;

const aptCases: PackageCase[] = [
  { name: 'install one package, then nothing is left to do', args: { name: 'socat' }, changes: [new RegExp(`^install socat ${V}$`)], after: { installed: { socat: /^1\./ } }, result: { packages: ['socat'], state: 'present' } },
  {
    name: 'check mode lists every package the transaction brings, dependencies included',
    args: { name: ['jq'] },
    changes: [new RegExp(`^install libonig5 ${V} \\(dependency\\)$`), new RegExp(`^install libjq1 ${V} \\(dependency\\)$`), new RegExp(`^install jq ${V}$`)],
    after: { installed: { jq: /./, libjq1: /./, libonig5: /./ } },
  },
  { name: 'already installed: nothing', args: { name: 'socat', state: 'present' }, before: { apt: ['socat'] } },
  { name: 'absent removes it', args: { name: 'socat', state: 'absent' }, before: { apt: ['socat'] }, changes: [new RegExp(`^remove socat ${V}$`)], after: { absent: ['socat'] } },
  { name: 'absent and not installed: nothing', args: { name: ['socat', 'jq'], state: 'absent' } },
  {
    name: 'removing a library removes what needs it, and says so',
    args: { name: 'libonig5', state: 'absent' },
    before: { apt: ['jq'] },
    changes: [new RegExp(`^remove jq ${V} \\(needs a package removed\\)$`), new RegExp(`^remove libjq1 ${V} \\(needs a package removed\\)$`), new RegExp(`^remove libonig5 ${V}$`)],
    after: { absent: ['jq', 'libjq1', 'libonig5'] },
  },
  {
    name: "a name apt does not know fails the plan with apt's error, installing nothing",
    args: { name: ['socat', 'nosuch-package'] },
    fails: { message: 'apt cannot install socat nosuch-package: E: Unable to locate package nosuch-package', hint },
    after: { absent: ['socat'] },
  },
  { name: 'a version apt does not have fails the plan', args: { name: 'socat=0.0-none' }, fails: { message: "apt cannot install socat=0.0-none: E: Version '0.0-none' for 'socat' was not found", hint } },
  {
    name: 'no package lists: update_cache updates them first, then installs',
    args: { name: 'socat', update_cache: true },
    before: { lists: false },
    changes: ['update the package lists (apt-get update)', 'install socat once the lists are updated (now E: Unable to locate package socat); the packages it brings are known only then'],
    after: { installed: { socat: /./ } },
    idempotent: false,
  },
  { name: 'update_cache is a change every run', args: { name: 'socat', update_cache: true }, before: { apt: ['socat'] }, changes: ['update the package lists (apt-get update)'], result: { cache_updated: true }, idempotent: false },
  { name: 'a pinned version', args: { name: 'tsplay-probe=1.0' }, changes: ['install tsplay-probe 1.0'], after: { installed: { 'tsplay-probe': '1.0' } } },
  { name: 'present keeps an older installed version', args: { name: 'tsplay-probe' }, before: { apt: ['tsplay-probe=1.0'] }, after: { installed: { 'tsplay-probe': '1.0' } } },
  { name: 'latest upgrades it to the candidate', args: { name: 'tsplay-probe', state: 'latest' }, before: { apt: ['tsplay-probe=1.0'] }, changes: ['install tsplay-probe 2.0 (replacing 1.0)'], after: { installed: { 'tsplay-probe': '2.0' } } },
  { name: 'latest when already the newest: nothing', args: { name: 'tsplay-probe', state: 'latest' }, before: { apt: ['tsplay-probe'] }, after: { installed: { 'tsplay-probe': '2.0' } } },
  { name: 'a pin to another version replaces the installed one', args: { name: 'tsplay-probe=2.0' }, before: { apt: ['tsplay-probe=1.0'] }, changes: ['install tsplay-probe 2.0 (replacing 1.0)'], after: { installed: { 'tsplay-probe': '2.0' } } },
  {
    name: 'a pin older than the installed version is refused without allow_downgrade',
    args: { name: 'tsplay-probe=1.0' },
    before: { apt: ['tsplay-probe=2.0'] },
    fails: { message: 'apt would downgrade tsplay-probe 1.0 to install tsplay-probe=1.0', hint: /allow_downgrade: true/ },
    after: { installed: { 'tsplay-probe': '2.0' } },
  },
  { name: 'allow_downgrade installs the older pin', args: { name: 'tsplay-probe=1.0', allow_downgrade: true }, before: { apt: ['tsplay-probe=2.0'] }, changes: ['install tsplay-probe 1.0 (replacing 2.0)'], after: { installed: { 'tsplay-probe': '1.0' } } },
  { name: 'latest with a pinned version is a contradiction', args: { name: 'tsplay-probe=1.0', state: 'latest' }, fails: { message: 'state: latest installs the newest version; tsplay-probe=1.0 pins one', hint: /state: present/ } },
  { name: 'purge', args: { name: 'tsplay-probe', state: 'absent', purge: true }, before: { apt: ['tsplay-probe'] }, changes: ['purge tsplay-probe 2.0'], after: { absent: ['tsplay-probe'] } },
];

export const apt = moduleTable('apt', simulatedPackageHost, aptCases);

const dnfCases: PackageCase[] = [
  { name: 'install with its dependencies (stand-in dnf)', args: { name: 'jq' }, changes: ['install jq 1.6-15.el9', 'install oniguruma 6.9.6-1.el9.5 (dependency)'], after: { installed: { jq: '1.6-15.el9', oniguruma: /./ } } },
  { name: 'already installed: nothing', args: { name: ['socat'], state: 'installed' }, before: { rpm: ['socat'] } },
  { name: 'absent removes it', args: { name: 'socat', state: 'absent' }, before: { rpm: ['socat'] }, changes: ['remove socat 1.7.4.1-5.el9'], after: { absent: ['socat'] } },
  { name: 'removed and not installed: nothing', args: { name: 'socat', state: 'removed' } },
  { name: "a name dnf does not know fails the plan with dnf's error", args: { name: ['socat', 'nosuch'] }, fails: { message: 'dnf cannot install socat nosuch: No match for argument: nosuch; Error: Unable to find a match: nosuch', hint } },
  { name: 'no metadata cache: the probe says so', args: { name: 'socat' }, before: { lists: false }, fails: { message: "dnf cannot install socat: Error: Cache-only enabled but no cache for 'sim'", hint } },
  {
    name: 'no metadata cache: update_cache makes it first',
    args: { name: 'socat', update_cache: true },
    before: { lists: false },
    changes: ['update the package lists (dnf makecache)', "install socat once the lists are updated (now Error: Cache-only enabled but no cache for 'sim'); the packages it brings are known only then"],
    after: { installed: { socat: /./ } },
    idempotent: false,
  },
];

export const dnf = moduleTable('dnf', simulatedPackageHost, dnfCases.map((c): PackageCase => ({ ...c, simulatorOnly: true })));

export const packageTable = moduleTable('package', simulatedPackageHost, [
  { name: 'auto: apt on a Debian host', args: { name: 'socat', state: 'present' }, changes: [new RegExp(`^install socat ${V}$`)], after: { installed: { socat: /./ } }, result: { use: 'apt' } },
  { name: 'auto: absent with apt', args: { name: ['socat'], state: 'absent' }, before: { apt: ['socat'] }, changes: [new RegExp(`^remove socat ${V}$`)], after: { absent: ['socat'] } },
  { name: "auto: a name the host's manager does not know fails", args: { name: 'nosuch-package', state: 'present' }, fails: { message: 'apt cannot install nosuch-package: E: Unable to locate package nosuch-package', hint } },
  { name: 'use: dnf (stand-in)', args: { name: 'jq', state: 'present', use: 'dnf' }, changes: ['install jq 1.6-15.el9', 'install oniguruma 6.9.6-1.el9.5 (dependency)'], after: { installed: { jq: /./ } }, result: { use: 'dnf' }, simulatorOnly: true },
  { name: 'ansible_pkg_mgr picks the manager (stand-in dnf)', args: { name: 'socat', state: 'present' }, vars: { ansible_pkg_mgr: 'dnf' }, changes: ['install socat 1.7.4.1-5.el9'], after: { installed: { socat: '1.7.4.1-5.el9' } }, simulatorOnly: true },
  { name: 'latest with dnf is refused', args: { name: 'socat', state: 'latest', use: 'dnf' }, fails: { message: "state: latest is supported with apt only (tsplay's dnf installs and removes)", hint: /state: present/ }, simulatorOnly: true },
  { name: 'a package manager tsplay does not know fails', args: { name: 'socat', state: 'present' }, vars: { ansible_pkg_mgr: 'zypper' }, fails: { message: "this host's package manager is zypper (ansible_pkg_mgr); tsplay's package module knows apt and dnf", hint: /use: apt\|dnf/ } },
]);
