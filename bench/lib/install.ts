/**
 * What the bench installs before it measures: /usr/bin/time, openssl, OpenSSH and Debian's
 * ansible-core 2.14 from Debian; pyinfra in one virtualenv (Debian's Python, as in round 2); the
 * newest ansible-core and Mitogen for Ansible in another (ansible-core 2.20+ needs Python 3.12+,
 * which Debian 12 does not have); toxiproxy built from its Go module for --rtt (latency.ts).
 * Every version is pinned so a rerun measures the same peers; the BENCH_*_VERSION variables move them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { ToolName } from './tools.js';

/** The pyinfra release in the pyinfra virtualenv. */
export const PYINFRA_VERSION = process.env.BENCH_PYINFRA_VERSION ?? '3.10.0';
/** The newest ansible-core on PyPI when this round was written (2026-12). */
export const ANSIBLE_CORE_VERSION = process.env.BENCH_ANSIBLE_CORE_VERSION ?? '2.21.5';
/**
 * Mitogen for Ansible: 0.3.49 added ansible-core 2.21 (Ansible 14), with a controller Python of
 * 3.12-3.14 (its docs' support table), so it runs on the same ansible-core as `ansible-new`.
 */
export const MITOGEN_VERSION = process.env.BENCH_MITOGEN_VERSION ?? '0.3.54';

export type Log = (m: string) => void;

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

let aptUpdated = false;
function aptInstall(pkgs: string[], log: Log): void {
  log(`installing ${pkgs.join(' ')} (apt)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    aptUpdated = true;
  }
  execFileSync('apt-get', ['install', '-y', '-q', ...pkgs], { stdio: ['ignore', 'ignore', 'inherit'], env });
}

export interface Venvs {
  /** pyinfra's, on Debian's Python */
  pyinfra: string;
  /** ansible-core (newest) + mitogen, on Python >= 3.12 */
  ansible: string;
}

export function venvs(cache: string): Venvs {
  return { pyinfra: path.join(cache, 'venv'), ansible: path.join(cache, `venv-ansible-${ANSIBLE_CORE_VERSION}`) };
}

function pythonVersion(python: string): [number, number] | undefined {
  const r = spawnSync(python, ['-c', 'import sys; print(sys.version_info[0], sys.version_info[1])'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const [a, b] = r.stdout.trim().split(' ').map(Number);
  return a !== undefined && b !== undefined ? [a, b] : undefined;
}

/**
 * A Python >= 3.12 for the ansible-core virtualenv: BENCH_ANSIBLE_PYTHON, else python3.14..3.12 on
 * PATH, else the newest such version pyenv has installed (its shims answer only for the selected one).
 */
function newerPython(): string | undefined {
  const ok = (p: string): boolean => {
    const v = pythonVersion(p);
    return !!v && (v[0] > 3 || (v[0] === 3 && v[1] >= 12));
  };
  if (process.env.BENCH_ANSIBLE_PYTHON) return process.env.BENCH_ANSIBLE_PYTHON;
  for (const name of ['python3.14', 'python3.13', 'python3.12']) if (has(name) && ok(name)) return name;
  const root = spawnSync('pyenv', ['root'], { encoding: 'utf8' });
  if (root.status !== 0) return undefined;
  const dir = path.join(root.stdout.trim(), 'versions');
  const found = (existsSync(dir) ? readdirSync(dir) : [])
    .filter((v) => /^3\.\d+\.\d+$/.test(v))
    .map((v) => ({ v, n: v.split('.').map(Number) as [number, number, number] }))
    .filter(({ n }) => n[1] >= 12)
    .sort((a, b) => b.n[1] - a.n[1] || b.n[2] - a.n[2]);
  for (const { v } of found) {
    const p = path.join(dir, v, 'bin/python3');
    if (ok(p)) return p;
  }
  return undefined;
}

function ensureVenv(venv: string, python: string, pkgs: string[], log: Log): void {
  if (!existsSync(path.join(venv, 'bin/pip'))) {
    log(`creating the virtualenv ${venv} (${python})`);
    if (spawnSync(python, ['-m', 'venv', venv], { stdio: 'inherit' }).status !== 0) {
      aptInstall(['python3-venv'], log);
      execFileSync(python, ['-m', 'venv', venv], { stdio: 'inherit' });
    }
  }
  const frozen = spawnSync(path.join(venv, 'bin/pip'), ['freeze'], { encoding: 'utf8' }).stdout ?? '';
  const missing = pkgs.filter((p) => !frozen.split('\n').some((l) => l.toLowerCase() === p.toLowerCase()));
  if (!missing.length) return;
  log(`installing ${missing.join(' ')} from PyPI into ${venv}`);
  execFileSync(path.join(venv, 'bin/pip'), ['install', '-q', ...missing], { stdio: 'inherit' });
}

/** Installs what the chosen tools need; returns the virtualenvs. */
export function ensureTools(tools: ToolName[], cache: string, log: Log): Venvs {
  const v = venvs(cache);
  const missing: string[] = [];
  if (!existsSync('/usr/bin/time')) missing.push('time');
  if (!has('openssl')) missing.push('openssl');
  if (!has('ssh')) missing.push('openssh-client');
  if (!has('tar')) missing.push('tar');
  if (tools.includes('ansible') && !has('ansible-playbook')) missing.push('ansible-core');
  if (missing.length) aptInstall(missing, log);
  if (tools.includes('pyinfra')) {
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    ensureVenv(v.pyinfra, python, [`pyinfra==${PYINFRA_VERSION}`], log);
  }
  if (tools.includes('ansible-new') || tools.includes('mitogen')) {
    const python = newerPython();
    if (!python) {
      throw new Error(
        `ansible-core ${ANSIBLE_CORE_VERSION} needs Python >= 3.12 on the controller and none was found ` +
          `(python3.12..3.14 on PATH, or pyenv); install one and set BENCH_ANSIBLE_PYTHON to it, or set BENCH_ANSIBLE_CORE_VERSION=2.19.14 (the newest for Python 3.11)`,
      );
    }
    ensureVenv(v.ansible, python, [`ansible-core==${ANSIBLE_CORE_VERSION}`, `mitogen==${MITOGEN_VERSION}`], log);
  }
  return v;
}

/** Mitogen's strategy plugins directory, from the installed package (ansible.cfg's strategy_plugins). */
export function mitogenStrategyDir(venv: string): string {
  const out = execFileSync(path.join(venv, 'bin/python'), ['-c', 'import ansible_mitogen, os; print(os.path.dirname(ansible_mitogen.__file__))'], { encoding: 'utf8' });
  const dir = path.join(out.trim(), 'plugins/strategy');
  if (!existsSync(path.join(dir, 'mitogen_linear.py'))) throw new Error(`no mitogen_linear strategy in ${dir}: is mitogen==${MITOGEN_VERSION} installed in ${venv}?`);
  return dir;
}

export function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]!.trim();
}

/** The version line of each tool, for the results. */
export function toolVersions(tools: ToolName[], v: Venvs): Record<string, string> {
  const out: Record<string, string> = {};
  if (tools.includes('ansible')) out.ansible = firstLine('ansible-playbook', ['--version']);
  if (tools.includes('ansible-new') || tools.includes('mitogen')) {
    out['ansible-new'] = `${firstLine(path.join(v.ansible, 'bin/ansible-playbook'), ['--version'])} (${firstLine(path.join(v.ansible, 'bin/python'), ['--version'])})`;
  }
  if (tools.includes('mitogen')) out.mitogen = `mitogen ${firstLine(path.join(v.ansible, 'bin/python'), ['-c', 'import importlib.metadata as m; print(m.version("mitogen"))'])}`;
  if (tools.includes('pyinfra')) out.pyinfra = firstLine(path.join(v.pyinfra, 'bin/pyinfra'), ['--version']);
  return out;
}
