/**
 * How each tool runs a phase, and how its output says whether it changed anything. Every tool
 * gets the same hosts, the same controller files and one worker per host.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export type Phase = 'first' | 'converged' | 'check';
/**
 * ansible: Debian's ansible-core 2.14; ansible-new: the newest ansible-core from PyPI; mitogen: that
 * ansible-core with Mitogen's mitogen_linear strategy. floor: what a converged run must read
 * (floor.sh); first-floor: what a first run must do (floor-first.sh).
 */
export type ToolName = 'tsplay' | 'ansible' | 'ansible-new' | 'mitogen' | 'pyinfra' | 'floor' | 'first-floor';

export interface BenchHost {
  name: string;
  /** where the tools connect: the host's sshd, or its latency proxy on 127.0.0.1 */
  address: string;
  port: number;
  /** the host's own address (the templates' node_ip), whichever way the tools connect */
  nodeIp: string;
}

export interface BenchHosts {
  /** Ansible-style YAML inventory the bench writes (tsplay and Ansible read it as is; hosts.ts) */
  inventoryFile: string;
  /** JSON for bench/pyinfra/inventory.py: { keyFile, knownHostsFile, hosts: [{name, address, port, nodeIp}] } */
  pyinfraHostsFile: string;
  keyFile: string;
  /** the host keys the tools check, filed under the address and port they connect to */
  knownHostsFile: string;
  hosts: BenchHost[];
  /** the hosts' own sshd, for the bench's reads of their state (never through the proxy) */
  direct: { knownHostsFile: string; hosts: Array<{ name: string; address: string; port: number }> };
  /** the hosts' own cgroup2 directories (from the harness state), for host-side CPU */
  cgroups: string[];
}

export interface Context {
  repo: string;
  /** the tsplay checkout whose dist/ is measured (default: this repo) */
  tsplayDir: string;
  bench: string;
  cache: string;
  caSrc: string;
  kubeletSrc: string;
  /** pyinfra's virtualenv */
  venv: string;
  /** the newest ansible-core and Mitogen's virtualenv */
  ansibleVenv: string;
  /** Mitogen's strategy plugins, from the installed package */
  mitogenStrategyDir: string;
  /** floor-first.sh's files: common/ and one directory per host (first-floor.ts) */
  staging: string;
  /** a fresh directory for this run's private state (Ansible's ControlPath sockets) */
  runTmp: string;
}

export interface Invocation {
  argv: string[];
  cwd: string;
  env?: Record<string, string>;
}

function ansibleRun(playbook: string, phase: Phase, hosts: BenchHosts, ctx: Context, cfg: string, env: Record<string, string> = {}): Invocation {
  return {
    argv: [
      playbook,
      '-i', hosts.inventoryFile,
      '--forks', String(hosts.hosts.length),
      '-e', `ca_src=${ctx.caSrc}`,
      '-e', `kubelet_binary_src=${ctx.kubeletSrc}`,
      ...(phase === 'check' ? ['--check'] : []),
      'kubelet.yml',
    ],
    cwd: path.join(ctx.bench, 'ansible'),
    env: {
      ANSIBLE_CONFIG: path.join(ctx.bench, 'ansible', cfg),
      // Each run starts with no open connection, as tsplay's and pyinfra's do: ControlPersist
      // sockets of an earlier run are not reused.
      ANSIBLE_SSH_CONTROL_PATH_DIR: path.join(ctx.runTmp, 'cp'),
      ANSIBLE_LOCAL_TEMP: path.join(ctx.runTmp, 'tmp'),
      ANSIBLE_NOCOLOR: '1',
      ...env,
    },
  };
}

/** NAME,ADDRESS,PORT per host: the floors' arguments. */
function floorHosts(hosts: BenchHosts): string[] {
  return hosts.hosts.map((h) => `${h.name},${h.address},${h.port}`);
}

export function invocation(tool: ToolName, phase: Phase, hosts: BenchHosts, ctx: Context): Invocation {
  const n = String(hosts.hosts.length);
  switch (tool) {
    case 'tsplay':
      return {
        argv: [
          process.execPath,
          path.join(ctx.tsplayDir, 'dist/engine/cli.js'),
          path.join(ctx.bench, 'tsplay/kubelet.yml'),
          '-i', hosts.inventoryFile,
          '-f', n,
          '-e', `ca_src=${ctx.caSrc}`,
          '-e', `kubelet_binary_src=${ctx.kubeletSrc}`,
          ...(phase === 'check' ? ['--check'] : []),
        ],
        cwd: ctx.tsplayDir,
      };
    case 'ansible':
      return ansibleRun('ansible-playbook', phase, hosts, ctx, 'ansible.cfg');
    case 'ansible-new':
      return ansibleRun(path.join(ctx.ansibleVenv, 'bin/ansible-playbook'), phase, hosts, ctx, 'ansible.cfg');
    case 'mitogen':
      return ansibleRun(path.join(ctx.ansibleVenv, 'bin/ansible-playbook'), phase, hosts, ctx, 'mitogen.cfg', {
        ANSIBLE_STRATEGY_PLUGINS: ctx.mitogenStrategyDir,
      });
    case 'pyinfra':
      return {
        argv: [
          path.join(ctx.venv, 'bin/pyinfra'),
          'inventory.py',
          'deploy.py',
          '--parallel', n,
          // -y: run without the change-detection pass and prompt; --dry: detect changes only.
          ...(phase === 'check' ? ['--dry'] : ['-y']),
        ],
        cwd: path.join(ctx.bench, 'pyinfra'),
        env: {
          BENCH_PYINFRA_HOSTS: hosts.pyinfraHostsFile,
          BENCH_CA_SRC: ctx.caSrc,
          BENCH_KUBELET_BINARY_SRC: ctx.kubeletSrc,
        },
      };
    case 'floor':
      return { argv: ['/bin/sh', path.join(ctx.bench, 'floor.sh'), hosts.keyFile, hosts.knownHostsFile, ...floorHosts(hosts)], cwd: ctx.bench };
    case 'first-floor':
      return { argv: ['/bin/sh', path.join(ctx.bench, 'floor-first.sh'), hosts.keyFile, hosts.knownHostsFile, ctx.staging, ...floorHosts(hosts)], cwd: ctx.bench };
  }
}

/**
 * Hosts the tool reported as changed (or, in check mode, as would change), from its own output;
 * throws when the output cannot be read, so a format change is noticed rather than counted as 0.
 */
export function changedHosts(tool: ToolName, logFile: string): string[] {
  const text = readFileSync(logFile, 'utf8');
  if (tool === 'floor' || tool === 'first-floor') return [];
  if (tool !== 'pyinfra') {
    // PLAY RECAP lines (tsplay and every Ansible): "w101 : ok=11 changed=0 unreachable=0 failed=0 ..."
    const lines = [...text.matchAll(/^(\S+)\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)];
    if (!lines.length) throw new Error(`no PLAY RECAP in ${logFile}`);
    return lines.filter((m) => m[2] !== '0').map((m) => m[1]!);
  }
  // pyinfra: each operation prints "[w101] Success" (it ran commands) or "[w101] No changes"; with
  // --dry it prints a "Detected changes" table instead, whose Change column counts the hosts.
  if (/^--> Detected changes:/m.test(text)) {
    const rows = pyinfraDryRows(text);
    if (!rows.length) throw new Error(`no "Detected changes" table in ${logFile}`);
    const out = new Set<string>();
    for (const r of rows) if (r.change !== '-') for (const h of r.change.replace(/^\d+ \(|\.*\)$/g, '').split(', ')) out.add(h);
    return [...out];
  }
  if (!/^\s*Grand total\s/m.test(text)) throw new Error(`no results table in ${logFile}`);
  const changed = new Set<string>();
  for (const m of text.matchAll(/^\s+\[(\S+)\] Success/gm)) changed.add(m[1]!);
  return [...changed];
}

/** pyinfra --dry's table: operation, Change ("-" or "N (hosts...)"), Conditional Change. */
export function pyinfraDryRows(text: string): Array<{ op: string; change: string; conditional: string }> {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => /^\s*Operation\s+Change\s+Conditional Change/.test(l));
  if (at < 0) return [];
  const rows: Array<{ op: string; change: string; conditional: string }> = [];
  for (const line of lines.slice(at + 1)) {
    if (!line.trim()) break;
    const [op = '', change = '', conditional = ''] = line.trim().split(/\s{2,}/);
    rows.push({ op, change, conditional });
  }
  return rows;
}
