/**
 * Every module's table for the module tester (test/helpers/module-tester.ts), by group. A module
 * registered without a table here fails test/unit/modules/every-module.test.ts.
 */
import type { Table } from '../helpers/module-tester.js';
import { command, shell } from './command-shell.js';
import { copy, template } from './copy-template.js';
import { assert, debug, fail, setFact } from './core.js';
import file from './file.js';
import { getUrl, unarchive } from './get_url-unarchive.js';
import { bootstrapToken, csrApprove, k8s, k8sInfo, k8sWait } from './k8s.js';
import kubeconfig from './kubeconfig.js';
import modprobe from './modprobe.js';
import { apt, dnf, packageTable } from './package.js';
import { slurp, waitFor } from './slurp-wait_for.js';
import stat from './stat.js';
import swapoff from './swapoff.js';
import sysctl from './sysctl.js';
import { blockinfile, lineinfile, replace } from './text-edit.js';
import systemd, { service, systemdService } from './systemd.js';
import reboot from './reboot.js';
import { group, user } from './users.js';

/** Host modules about files and commands. */
export const fileTables: Table[] = [command, shell, copy, template, file, kubeconfig, slurp, waitFor, stat, lineinfile, blockinfile, replace, getUrl, unarchive] as Table[];
/** Host modules about the kernel and systemd. */
export const systemTables: Table[] = [modprobe, swapoff, sysctl, systemd, systemdService, service, reboot] as Table[];
/** Host modules about accounts: their target makes and reads users and groups (test/helpers/accounts.ts). */
export const accountTables: Table[] = [user, group] as Table[];
/** Package modules: their state is the packages installed (test/helpers/package-host.ts). */
export const packageTables: Table[] = [apt, dnf, packageTable] as Table[];
/** Modules that change or read a host: run on the simulated host, and on a real one. */
export const hostTables: Table[] = [...fileTables, ...systemTables, ...accountTables];
/** Modules that run on the controller and touch nothing. */
export const controllerTables: Table[] = [assert, fail, debug, setFact] as Table[];
/** Modules that talk to the Kubernetes API: run against the fake apiserver. */
export const apiTables: Table[] = [k8s, k8sInfo, k8sWait, bootstrapToken, csrApprove] as Table[];

export const allTables: Table[] = [...hostTables, ...packageTables, ...controllerTables, ...apiTables];
