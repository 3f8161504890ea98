/** The module table. The CLI and scheduler never name a module; they look it up here. */
import type { AnyModule } from './types.js';
import assertModule from './core/assert.js';
import debug from './core/debug.js';
import fail from './core/fail.js';
import setFact from './core/set-fact.js';
import command from './host/command.js';
import copy from './host/copy.js';
import file from './host/file.js';
import shell from './host/shell.js';
import template from './host/template.js';
import modprobe from './host/modprobe.js';
import slurp from './host/slurp.js';
import swapoff from './host/swapoff.js';
import sysctl from './host/sysctl.js';
import systemd, { systemdService } from './host/systemd.js';
import waitFor from './host/wait_for.js';
import getUrl from './host/get_url.js';
import unarchive from './host/unarchive.js';
import reboot from './host/reboot.js';
import service from './host/service.js';
import user from './host/user.js';
import group from './host/group.js';
import k8s from './k8s/k8s.js';
import k8sInfo from './k8s/k8s_info.js';
import k8sWait from './k8s/k8s_wait.js';
import bootstrapToken from './k8s/bootstrap_token.js';
import csrApprove from './k8s/csr_approve.js';
import kubeconfig from './k8s/kubeconfig.js';
import blockinfile from './host/blockinfile.js';
import lineinfile from './host/lineinfile.js';
import replace from './host/replace.js';
import stat from './host/stat.js';
import apt from './host/apt.js';
import dnf from './host/dnf.js';
import packageModule from './host/package.js';

const modules = new Map<string, AnyModule>();

export function registerModule(mod: { name: string }): void {
  modules.set(mod.name, mod as AnyModule);
}

for (const m of [assertModule, debug, fail, setFact, command, shell, copy, file, template]) registerModule(m);
for (const m of [swapoff, systemd, systemdService, modprobe, sysctl, slurp, waitFor]) registerModule(m);
for (const m of [getUrl, unarchive]) registerModule(m);
for (const m of [reboot, service, user, group]) registerModule(m);
for (const m of [k8s, k8sInfo, k8sWait, bootstrapToken, csrApprove, kubeconfig]) registerModule(m);
for (const m of [stat, lineinfile, blockinfile, replace]) registerModule(m);
for (const m of [apt, dnf, packageModule]) registerModule(m);

/** `ansible.builtin.copy` and `copy` name the same module, so Ansible task files read unchanged. */
export function findModule(name: string): AnyModule | undefined {
  // Ansible's collections of the modules tsplay has: ansible.posix.sysctl, community.general.modprobe.
  return modules.get(name) ?? modules.get(name.replace(/^(ansible\.(builtin|posix)|community\.general)\./, ''));
}

export function moduleNames(): string[] {
  return [...modules.keys()].sort();
}

export function allModules(): AnyModule[] {
  return [...modules.values()];
}
