/**
 * The files floor-first.sh sends, laid out before it is timed (as the tools have theirs on disk):
 * `common/` with what every host gets (the CA, the 50 MiB "kubelet", containerd.service) and one
 * directory per host with the three templates rendered for it. The templates use only `{{ name }}`
 * substitutions (bench/README.md), so rendering is a lookup; the bench's check after the floor's
 * first run (the hosts must equal what tsplay's left) proves these are the tools' bytes.
 */
import { constants, copyFileSync, chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { BenchHost } from './tools.js';

type Vars = Record<string, string | number>;

/** `{{ name }}` -> value; an unknown name is an error (a template the floor would send wrong). */
export function renderTemplate(text: string, vars: Vars, file = 'template'): string {
  return text.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`${file}: {{ ${name} }} is not a bench variable`);
    return String(v);
  });
}

function place(root: string, dest: string): string {
  const file = path.join(root, dest);
  mkdirSync(path.dirname(file), { recursive: true });
  return file;
}

export function stageFirstFloor(staging: string, bench: string, hosts: BenchHost[], src: { caSrc: string; kubeletSrc: string }): void {
  const v = JSON.parse(readFileSync(path.join(bench, 'vars.json'), 'utf8')) as Vars;
  const s = (k: string): string => String(v[k]);
  const common = path.join(staging, 'common');
  const copies: Array<[string, string, number]> = [
    [src.caSrc, s('ca_file'), 0o644],
    [src.kubeletSrc, s('kubelet_bin'), 0o755],
    [path.join(bench, 'files/containerd.service'), s('containerd_unit_file'), 0o644],
  ];
  for (const [from, dest, mode] of copies) {
    const file = place(common, dest);
    copyFileSync(from, file, constants.COPYFILE_FICLONE);
    chmodSync(file, mode);
  }
  const templates: Array<[string, string, number]> = [
    ['bootstrap-kubelet.conf.tpl', s('bootstrap_kubeconfig'), 0o600],
    ['kubelet-config.yaml.tpl', s('kubelet_config_file'), 0o644],
    ['kubelet.service.tpl', s('kubelet_unit_file'), 0o644],
  ];
  for (const h of hosts) {
    const vars: Vars = { ...v, inventory_hostname: h.name, node_ip: h.nodeIp };
    for (const [tpl, dest, mode] of templates) {
      const file = place(path.join(staging, h.name), dest);
      writeFileSync(file, renderTemplate(readFileSync(path.join(bench, 'templates', tpl), 'utf8'), vars, tpl));
      chmodSync(file, mode);
    }
  }
}
