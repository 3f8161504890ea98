/**
 * The settings a run takes from the command line, the environment and ansible.cfg: the flags
 * Ansible users type (-u, -b, -K, -c, -T, --private-key, ...) and tsplay's own (-i, -f,
 * --accept-new-host-keys), resolved by load/ansible-cfg.ts (flag > env > ansible.cfg > default),
 * then turned into the options of load, run and connect.
 */
import { Command, CommanderError, Option } from 'commander';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import type { ConnectionDefaults, SshArgsOption } from '../connect/ssh-config.js';
import { Diagnostics, EXIT } from '../errors.js';
import { describeOrigin, resolveSettings, type FlagValue, type ResolvedSettings, type Setting } from '../load/ansible-cfg.js';
import type { SettingName } from '../load/settings.js';
import type { ConnectionSettings } from '../run/connections.js';
import type { BecomeDefaults, HashBehaviour } from '../run/state.js';
import { secrets } from '../secrets.js';
import { vaultSettingsFromEnv, type VaultSettings } from '../load/vault-passwords.js';
import { askPassword } from './password-prompt.js';
import { positiveInt } from './common.js';

/** -i a -i b: both, in order. */
const collectInventory = (value: string, prev: string[] | undefined): string[] => [...(prev ?? []), value];

export interface SettingFlags {
  inventory?: string[];
  forks?: number;
  acceptNewHostKeys?: boolean;
  user?: string;
  become?: boolean;
  becomeUser?: string;
  becomeMethod?: string;
  askBecomePass?: boolean;
  askPass?: boolean;
  privateKey?: string;
  keyFile?: string;
  connection?: string;
  timeout?: number;
  sshCommonArgs?: string;
  sshExtraArgs?: string;
}

function optionError(message: string): CommanderError {
  return new CommanderError(EXIT.options, 'tsplay.option', message);
}

function becomeMethod(value: string): string {
  if (value !== 'sudo') throw optionError(`--become-method ${value} is not supported: tsplay becomes another user with sudo only (give --become-method sudo, or leave it out)`);
  return value;
}

function connectionType(value: string): string {
  if (!['ssh', 'smart', 'paramiko', 'local'].includes(value)) {
    throw optionError(`-c ${value} is not supported: tsplay connects with ssh (smart and paramiko mean ssh too) or local (run on the controller)`);
  }
  return value;
}

/** -i, first in the help (run and config take it). */
export function addInventoryOption(cmd: Command): Command {
  return cmd.option('-i, --inventory <inventory>', "inventory file (YAML, JSON or INI) or directory, or a host list 'h1,h2,'; a bare name means inventories/NAME/; repeatable, merged in order; default: inventory in ansible.cfg or ANSIBLE_INVENTORY", collectInventory);
}

/** Adds the other setting flags to `cmd` (run and config take the same ones). */
export function addSettingOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-f, --forks <n>', 'tasks run in parallel across hosts (default 50, or forks in ansible.cfg)').argParser(positiveInt('--forks')))
    .option('--accept-new-host-keys', 'record unknown SSH host keys (like StrictHostKeyChecking=accept-new); changed keys are always refused. host_key_checking = False in ansible.cfg means the same')
    .option('-u, --user <user>', 'log in as USER where the inventory sets no ansible_user (remote_user in ansible.cfg)')
    .option('-k, --ask-pass', 'ask for the SSH login password before the run (for hosts without ansible_password)')
    .option('--private-key <file>', 'SSH key file where the inventory sets no ansible_ssh_private_key_file (private_key_file in ansible.cfg); alias --key-file')
    .addOption(new Option('--key-file <file>').hideHelp())
    .addOption(new Option('-c, --connection <type>', 'ssh or local where the inventory sets no ansible_connection (smart and paramiko mean ssh)').argParser(connectionType))
    .addOption(new Option('-T, --timeout <seconds>', 'SSH connect timeout in seconds (default 10; timeout in ansible.cfg)').argParser(positiveInt('--timeout')))
    .option('--ssh-common-args <args>', 'ssh options for every host, as Ansible\'s: -o ProxyJump=... and -J are honoured, options without effect ignored, the rest refused')
    .option('--ssh-extra-args <args>', 'more ssh options, read as --ssh-common-args')
    .option('-b, --become', 'run tasks with sudo where the play, task or host does not say (become in ansible.cfg)')
    .option('--become-user <user>', 'sudo to USER where the play, task or host does not say (default root)')
    .addOption(new Option('--become-method <method>', 'sudo, the only method tsplay has').argParser(becomeMethod))
    .option('-K, --ask-become-pass', 'ask for the sudo password before the run (for hosts without ansible_become_password)');
}

/** Which settings the flags given set, named as `tsplay config` shows them. */
export function flagSettings(opts: SettingFlags, cwd: string): Partial<Record<SettingName, FlagValue>> {
  const out: Partial<Record<SettingName, FlagValue>> = {};
  const set = (name: SettingName, value: FlagValue['value'] | undefined, flag: string): void => {
    if (value !== undefined) out[name] = { value, flag };
  };
  set('DEFAULT_HOST_LIST', opts.inventory, '-i');
  set('DEFAULT_FORKS', opts.forks, '-f');
  set('HOST_KEY_CHECKING', opts.acceptNewHostKeys ? false : undefined, '--accept-new-host-keys');
  set('DEFAULT_REMOTE_USER', opts.user, '-u');
  set('DEFAULT_ASK_PASS', opts.askPass, '-k');
  const key = opts.privateKey ?? opts.keyFile;
  set('DEFAULT_PRIVATE_KEY_FILE', key === undefined ? undefined : resolve(cwd, key), opts.privateKey ? '--private-key' : '--key-file');
  set('DEFAULT_TRANSPORT', opts.connection, '-c');
  set('DEFAULT_TIMEOUT', opts.timeout, '-T');
  set('ssh.ssh_common_args', opts.sshCommonArgs, '--ssh-common-args');
  set('ssh.ssh_extra_args', opts.sshExtraArgs, '--ssh-extra-args');
  set('DEFAULT_BECOME', opts.become, '-b');
  set('DEFAULT_BECOME_USER', opts.becomeUser, '--become-user');
  set('DEFAULT_BECOME_METHOD', opts.becomeMethod, '--become-method');
  set('DEFAULT_BECOME_ASK_PASS', opts.askBecomePass, '-K');
  return out;
}

/** The effective settings; throws DiagnosticsError for a bad ansible.cfg value (exit 4) or variable (exit 5). */
export function effectiveSettings(opts: SettingFlags, env: Record<string, string | undefined> = process.env, cwd = process.cwd()): ResolvedSettings {
  const diags = new Diagnostics();
  const resolved = resolveSettings({ env, cwd, home: env.HOME || homedir(), flags: flagSettings(opts, cwd) }, diags);
  diags.throwIfAny();
  return resolved;
}

/** What load, run and connect take from the settings. */
export interface RunSettings {
  /** undefined: no -i, no inventory in ansible.cfg or ANSIBLE_INVENTORY. */
  inventory?: string[];
  rolesPath: string[];
  forks: number;
  connection: ConnectionSettings;
  become: BecomeDefaults;
  askPass: boolean;
  askBecomePass: boolean;
  /** vault_password_file (ansible.cfg, ANSIBLE_VAULT_PASSWORD_FILE) and the vault id variables. */
  vault: VaultSettings;
  /** hash_behaviour (ansible.cfg, ANSIBLE_HASH_BEHAVIOUR): include_vars' default. */
  hashBehaviour: HashBehaviour;
}

export function runSettings(resolved: ResolvedSettings): RunSettings {
  const v = resolved.values;
  const get = <T>(name: SettingName): T => v[name].value as T;
  const explicit = (name: SettingName): Setting | undefined => (v[name].origin.kind === 'default' ? undefined : v[name]);
  const sshArgs: ConnectionDefaults['sshArgs'] = {};
  for (const option of ['ssh_args', 'ssh_common_args', 'ssh_extra_args'] as SshArgsOption[]) {
    // Ansible's default ssh_args (ControlMaster, -C) only tunes the ssh binary: nothing to say about it.
    const s = explicit(`ssh.${option}`);
    if (s) sshArgs[option] = { text: String(s.value), from: `${option} (${describeOrigin(s.origin)})` };
  }
  const transport = get<string>('DEFAULT_TRANSPORT');
  return {
    inventory: get<string[] | undefined>('DEFAULT_HOST_LIST'),
    rolesPath: get<string[]>('DEFAULT_ROLES_PATH'),
    forks: get<number>('DEFAULT_FORKS'),
    connection: {
      acceptNewHostKeys: get<boolean>('HOST_KEY_CHECKING') === false,
      connectTimeoutMs: get<number>('DEFAULT_TIMEOUT') * 1000,
      defaults: {
        user: get<string | undefined>('DEFAULT_REMOTE_USER'),
        port: get<number | undefined>('DEFAULT_REMOTE_PORT'),
        privateKeyFile: get<string | undefined>('DEFAULT_PRIVATE_KEY_FILE'),
        connection: explicit('DEFAULT_TRANSPORT') ? (transport === 'local' ? 'local' : 'ssh') : undefined,
        // Set on purpose (flag, variable, file), the timeout beats the ssh config's ConnectTimeout, as Ansible's -o ConnectTimeout does.
        timeoutMs: explicit('DEFAULT_TIMEOUT') ? get<number>('DEFAULT_TIMEOUT') * 1000 : undefined,
        sshArgs,
      },
    },
    become: { become: get<boolean>('DEFAULT_BECOME'), user: get<string>('DEFAULT_BECOME_USER') },
    askPass: get<boolean>('DEFAULT_ASK_PASS'),
    askBecomePass: get<boolean>('DEFAULT_BECOME_ASK_PASS'),
    vault: vaultSettings(explicit('DEFAULT_VAULT_PASSWORD_FILE')),
    hashBehaviour: get<HashBehaviour>('DEFAULT_HASH_BEHAVIOUR'),
  };
}

/** The vault password file as the settings resolved it (flag > env > ansible.cfg), with the id variables from the environment. */
function vaultSettings(passwordFile: Setting | undefined): VaultSettings {
  const fromEnv = vaultSettingsFromEnv();
  delete fromEnv.passwordFile;
  return passwordFile ? { ...fromEnv, passwordFile: { value: String(passwordFile.value), from: describeOrigin(passwordFile.origin) } } : fromEnv;
}

/** -k and -K, asked as ansible-playbook asks: the sudo password defaults to the SSH one. */
export async function askPasswords(settings: RunSettings): Promise<void> {
  if (settings.askPass) {
    const password = (await askPassword('SSH password: ')) || undefined;
    if (password) secrets.add(password, 'secret', 'the SSH password (-k)');
    settings.connection.defaults = { ...settings.connection.defaults, password };
  }
  if (settings.askBecomePass) {
    const typed = await askPassword(settings.askPass ? 'BECOME password[defaults to SSH password]: ' : 'BECOME password: ');
    const password = typed || settings.connection.defaults?.password;
    if (password) secrets.add(password, 'secret', 'the become password (-K)');
    settings.become = { ...settings.become, password };
  }
}
