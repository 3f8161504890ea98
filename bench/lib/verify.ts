/**
 * What a tool's first run left on the hosts: type, mode, owner of every managed path, sha256 of
 * every managed file, the units' load/active/enablement state and /proc/swaps. The bench takes
 * this after each tool's first run and requires the peers' to equal tsplay's, host by host, so
 * all tools are measured doing the same work.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { BenchHosts } from './tools.js';

export type Snapshot = Record<string, string>; // host name -> normalised state text

interface Vars {
  [k: string]: string | number;
}

export function managedPaths(bench: string): { dirs: string[]; files: string[]; units: string[] } {
  const v = JSON.parse(readFileSync(path.join(bench, 'vars.json'), 'utf8')) as Vars;
  const s = (k: string): string => String(v[k]);
  return {
    dirs: [s('kubelet_root_dir'), s('k8s_conf_dir'), s('k8s_pki_dir'), s('kubelet_volume_plugin_dir')],
    files: [s('ca_file'), s('kubelet_bin'), s('bootstrap_kubeconfig'), s('kubelet_config_file'), s('containerd_unit_file'), s('kubelet_unit_file'), '/etc/fstab'],
    units: ['containerd.service', 'kubelet.service'],
  };
}

function snapshotScript(bench: string): string {
  const { dirs, files, units } = managedPaths(bench);
  const q = (p: string): string => `'${p.replace(/'/g, `'\\''`)}'`;
  return [
    `for p in ${[...dirs, ...files].map(q).join(' ')}; do if [ -e "$p" ]; then stat -c '%n %F %a %U:%G' "$p"; else echo "$p absent"; fi; done`,
    `for p in ${files.map(q).join(' ')}; do [ -f "$p" ] && sha256sum "$p"; done`,
    `systemctl show -p Id,LoadState,ActiveState,SubState,UnitFileState ${units.join(' ')}`,
    'cat /proc/swaps',
  ].join('\n');
}

/** The bench's own reads go to the hosts' sshd directly, never through the latency proxy. */
export function ssh(hosts: BenchHosts, address: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', [
      '-F', '/dev/null', '-i', hosts.keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${hosts.direct.knownHostsFile}`,
      '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `root@${address}`, command,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`ssh ${address} exited ${code}: ${err.trim()}`))));
  });
}

export async function snapshot(hosts: BenchHosts, bench: string): Promise<Snapshot> {
  const script = snapshotScript(bench);
  const out: Snapshot = {};
  await Promise.all(
    hosts.direct.hosts.map(async (h) => {
      // Seen once at 50 hosts under heavy load: a session that exited 0 with no output at all.
      // The script always prints (stat lines, /proc/swaps' header), so empty output is a failed read.
      for (let attempt = 1; ; attempt++) {
        const text = (await ssh(hosts, h.address, script).catch((e: Error) => (attempt < 3 ? '' : Promise.reject(e)))).trim();
        if (text) {
          out[h.name] = text;
          return;
        }
        if (attempt >= 3) throw new Error(`reading the state of ${h.name} (${h.address}) returned nothing, 3 times`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }),
  );
  return out;
}

/** Differences of `got` from `want`, as readable lines (empty: the same). */
export function compare(want: Snapshot, got: Snapshot): string[] {
  const diffs: string[] = [];
  for (const host of Object.keys(want).sort()) {
    const a = want[host]!.split('\n');
    const b = (got[host] ?? '').split('\n');
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) diffs.push(`${host}: expected ${JSON.stringify(a[i] ?? '')}, got ${JSON.stringify(b[i] ?? '')}`);
    }
  }
  return diffs;
}

/** A fresh host must not already hold the managed files (or the first run would not be one). */
export function looksFresh(snap: Snapshot, bench: string): string[] {
  const { files } = managedPaths(bench);
  const problems: string[] = [];
  for (const [host, text] of Object.entries(snap)) {
    for (const f of files.filter((p) => p !== '/etc/fstab')) if (!text.includes(`${f} absent`)) problems.push(`${host}: ${f} exists before the first run`);
  }
  return problems;
}
