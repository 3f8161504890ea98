/**
 * ansible-playbook flags a run takes beyond the settings (settings.ts): --start-at-task,
 * --list-tags, --flush-cache (nothing to flush: tsplay keeps no fact cache), and the flags tsplay
 * refuses, each naming what to use instead, so an Ansible user's command line never fails with a
 * bare "unknown option".
 */
import { Command, Option } from 'commander';

export interface AnsibleRunFlags {
  startAtTask?: string;
  listTags?: boolean;
  flushCache?: boolean;
}

/** Refused flags: the option's attribute name, as typed, and what to do instead. */
const REFUSED: Array<{ flags: string; key: string; instead: string }> = [
  { flags: '--step', key: 'step', instead: 'tsplay does not stop to ask before each task: select tasks with -t/--tags, or start later with --start-at-task' },
  { flags: '-M, --module-path <path>', key: 'modulePath', instead: "tsplay's modules are built in (tsplay doc lists them); there are no module files to add" },
  { flags: '--become-password-file <file>', key: 'becomePasswordFile', instead: 'give -K and send the file on stdin (-K < FILE), or set ansible_become_password' },
  { flags: '--connection-password-file <file>', key: 'connectionPasswordFile', instead: 'give -k and send the file on stdin (-k < FILE), or set ansible_password' },
  { flags: '--scp-extra-args <args>', key: 'scpExtraArgs', instead: 'tsplay copies files over its one SSH connection, not with scp: remove it' },
  { flags: '--sftp-extra-args <args>', key: 'sftpExtraArgs', instead: 'tsplay copies files over its one SSH connection, not with sftp: remove it' },
  { flags: '--inventory-file <file>', key: 'inventoryFile', instead: 'use -i FILE (Ansible deprecated --inventory-file too)' },
];

export const REFUSED_HELP = `
Ansible flags tsplay refuses, and what to use instead:
${REFUSED.map((r) => `  ${r.flags.replace(/ <.*/, '').padEnd(30)} ${r.instead}`).join('\n')}`;

export function addAnsibleRunOptions(cmd: Command): Command {
  cmd
    .option('--start-at-task <name>', "start at the first task named NAME (or 'role : NAME'; shell globs match too); earlier tasks and plays are skipped")
    .option('--list-tags', 'print the tags of each play and its tasks, then exit')
    .option('--flush-cache', 'accepted for Ansible\'s sake: tsplay keeps no fact cache, so there is nothing to flush');
  for (const r of REFUSED) cmd.addOption(new Option(r.flags).hideHelp());
  return cmd;
}

/** The message for the first refused flag given, if any. */
export function refusedFlag(opts: Record<string, unknown>): string | undefined {
  const r = REFUSED.find((f) => opts[f.key] !== undefined);
  return r && `${r.flags.replace(/ <.*/, '')} is not supported: ${r.instead}`;
}
