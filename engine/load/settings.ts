/**
 * The Ansible settings tsplay uses: each with Ansible's name (as `ansible-config dump` prints it),
 * the ansible.cfg keys and `ANSIBLE_*` variables that set it (as ansible-core 2.14's base.yml and
 * ssh connection plugin define them), its type, and tsplay's default. Every other ansible.cfg key
 * is ignored (a note at -v; a warning for the few whose absence changes what a run does).
 */

export type SettingValue = string | number | boolean | string[] | undefined;

export type SettingName =
  | 'DEFAULT_HOST_LIST'
  | 'DEFAULT_ROLES_PATH'
  | 'DEFAULT_REMOTE_USER'
  | 'DEFAULT_REMOTE_PORT'
  | 'DEFAULT_PRIVATE_KEY_FILE'
  | 'DEFAULT_FORKS'
  | 'HOST_KEY_CHECKING'
  | 'DEFAULT_TIMEOUT'
  | 'DEFAULT_TRANSPORT'
  | 'DEFAULT_ASK_PASS'
  | 'DEFAULT_BECOME'
  | 'DEFAULT_BECOME_USER'
  | 'DEFAULT_BECOME_METHOD'
  | 'DEFAULT_BECOME_ASK_PASS'
  | 'DEFAULT_VAULT_PASSWORD_FILE'
  | 'DEFAULT_HASH_BEHAVIOUR'
  | 'INTERPRETER_PYTHON'
  | 'ssh.ssh_args'
  | 'ssh.ssh_common_args'
  | 'ssh.ssh_extra_args'
  | 'ssh.pipelining';

export interface SettingDef {
  name: SettingName;
  /** How messages name it: the ansible.cfg key. */
  label: string;
  /** [section, key] in Ansible's order: the last one present wins. */
  ini: Array<[string, string]>;
  /** Ansible's variables, in its order: the last one set wins. */
  env: string[];
  /** tsplay's own variables: they win over Ansible's. */
  ownEnv?: string[];
  kind: 'string' | 'bool' | 'int' | 'path' | 'pathlist' | 'pathspec';
  default: SettingValue | ((where: { env: Record<string, string | undefined>; home: string }) => SettingValue);
  choices?: string[];
  min?: number;
  hint?: string;
  /** What tsplay says when the setting is set (not the default). */
  say?: (value: SettingValue) => { text: string; warn?: boolean } | undefined;
}

const NO_CONNECTION_SESSIONS = 'tsplay keeps one SSH connection per host and sends each task as one script; there are no per-task SSH sessions to pipeline';

export const SETTINGS: SettingDef[] = [
  { name: 'DEFAULT_HOST_LIST', label: 'inventory', ini: [['defaults', 'inventory']], env: ['ANSIBLE_INVENTORY'], kind: 'pathlist', default: undefined },
  {
    name: 'DEFAULT_ROLES_PATH',
    label: 'roles_path',
    ini: [['defaults', 'roles_path']],
    env: ['ANSIBLE_ROLES_PATH'],
    ownEnv: ['TSPLAY_ROLES_PATH'],
    kind: 'pathspec',
    default: ({ env, home }) => [`${env.ANSIBLE_HOME ?? `${home}/.ansible`}/roles`, '/usr/share/ansible/roles', '/etc/ansible/roles'],
  },
  { name: 'DEFAULT_REMOTE_USER', label: 'remote_user', ini: [['defaults', 'remote_user']], env: ['ANSIBLE_REMOTE_USER'], kind: 'string', default: undefined },
  { name: 'DEFAULT_REMOTE_PORT', label: 'remote_port', ini: [['defaults', 'remote_port']], env: ['ANSIBLE_REMOTE_PORT'], kind: 'int', min: 1, default: undefined, hint: 'a TCP port, e.g. remote_port = 2222' },
  { name: 'DEFAULT_PRIVATE_KEY_FILE', label: 'private_key_file', ini: [['defaults', 'private_key_file']], env: ['ANSIBLE_PRIVATE_KEY_FILE'], kind: 'path', default: undefined },
  { name: 'DEFAULT_FORKS', label: 'forks', ini: [['defaults', 'forks']], env: ['ANSIBLE_FORKS'], kind: 'int', min: 1, default: 50, hint: 'the number of tasks run at once across hosts, e.g. forks = 20' },
  {
    name: 'HOST_KEY_CHECKING',
    label: 'host_key_checking',
    ini: [['defaults', 'host_key_checking'], ['ssh_connection', 'host_key_checking']],
    env: ['ANSIBLE_HOST_KEY_CHECKING', 'ANSIBLE_SSH_HOST_KEY_CHECKING'],
    kind: 'bool',
    default: true,
    say: (v) =>
      v === false
        ? { text: 'tsplay records the keys of hosts not yet in known_hosts (as --accept-new-host-keys, OpenSSH accept-new) and still refuses a host whose key changed; Ansible would accept both' }
        : undefined,
  },
  { name: 'DEFAULT_TIMEOUT', label: 'timeout', ini: [['defaults', 'timeout'], ['ssh_connection', 'timeout']], env: ['ANSIBLE_TIMEOUT', 'ANSIBLE_SSH_TIMEOUT'], kind: 'int', min: 1, default: 10, hint: 'the SSH connect timeout in seconds, e.g. timeout = 30' },
  {
    name: 'DEFAULT_TRANSPORT',
    label: 'transport',
    ini: [['defaults', 'transport']],
    env: ['ANSIBLE_TRANSPORT'],
    kind: 'string',
    default: 'smart',
    choices: ['ssh', 'smart', 'paramiko', 'local'],
    hint: 'tsplay connects with ssh (smart and paramiko mean ssh too) or local',
    say: (v) => (v === 'smart' || v === 'paramiko' ? { text: `tsplay uses its own SSH client (ssh2) for ${v}, the same as ssh` } : undefined),
  },
  { name: 'DEFAULT_ASK_PASS', label: 'ask_pass', ini: [['defaults', 'ask_pass']], env: ['ANSIBLE_ASK_PASS'], kind: 'bool', default: false },
  { name: 'DEFAULT_BECOME', label: 'become', ini: [['privilege_escalation', 'become']], env: ['ANSIBLE_BECOME'], kind: 'bool', default: false },
  { name: 'DEFAULT_BECOME_USER', label: 'become_user', ini: [['privilege_escalation', 'become_user']], env: ['ANSIBLE_BECOME_USER'], kind: 'string', default: 'root' },
  {
    name: 'DEFAULT_BECOME_METHOD',
    label: 'become_method',
    ini: [['privilege_escalation', 'become_method']],
    env: ['ANSIBLE_BECOME_METHOD'],
    kind: 'string',
    default: 'sudo',
    choices: ['sudo'],
    hint: 'tsplay becomes another user with sudo only: set become_method = sudo or remove it',
  },
  { name: 'DEFAULT_BECOME_ASK_PASS', label: 'become_ask_pass', ini: [['privilege_escalation', 'become_ask_pass']], env: ['ANSIBLE_BECOME_ASK_PASS'], kind: 'bool', default: false },
  {
    name: 'DEFAULT_VAULT_PASSWORD_FILE',
    label: 'vault_password_file',
    ini: [['defaults', 'vault_password_file']],
    env: ['ANSIBLE_VAULT_PASSWORD_FILE'],
    kind: 'path',
    default: undefined,
  },
  {
    name: 'DEFAULT_HASH_BEHAVIOUR',
    label: 'hash_behaviour',
    ini: [['defaults', 'hash_behaviour']],
    env: ['ANSIBLE_HASH_BEHAVIOUR'],
    kind: 'string',
    default: 'replace',
    choices: ['replace', 'merge'],
    hint: 'replace (the default) or merge',
    say: (v) =>
      v === 'merge'
        ? { text: "include_vars merges dictionaries into the host's values, as Ansible does; every other variable layer (group_vars, play vars, role vars, ...) still replaces them, where Ansible would merge: write the merged values", warn: true }
        : undefined,
  },
  {
    name: 'INTERPRETER_PYTHON',
    label: 'interpreter_python',
    ini: [['defaults', 'interpreter_python']],
    env: ['ANSIBLE_PYTHON_INTERPRETER'],
    kind: 'string',
    default: 'auto',
    say: () => ({ text: 'accepted and unused: tsplay needs no Python on hosts' }),
  },
  { name: 'ssh.ssh_args', label: 'ssh_args', ini: [['ssh_connection', 'ssh_args']], env: ['ANSIBLE_SSH_ARGS'], kind: 'string', default: '-C -o ControlMaster=auto -o ControlPersist=60s' },
  { name: 'ssh.ssh_common_args', label: 'ssh_common_args', ini: [['ssh_connection', 'ssh_common_args']], env: ['ANSIBLE_SSH_COMMON_ARGS'], kind: 'string', default: '' },
  { name: 'ssh.ssh_extra_args', label: 'ssh_extra_args', ini: [['ssh_connection', 'ssh_extra_args']], env: ['ANSIBLE_SSH_EXTRA_ARGS'], kind: 'string', default: '' },
  {
    name: 'ssh.pipelining',
    label: 'pipelining',
    ini: [['defaults', 'pipelining'], ['connection', 'pipelining'], ['ssh_connection', 'pipelining']],
    env: ['ANSIBLE_PIPELINING', 'ANSIBLE_SSH_PIPELINING'],
    kind: 'bool',
    default: false,
    say: () => ({ text: `ignored: ${NO_CONNECTION_SESSIONS}` }),
  },
];

/** The ansible.cfg sections tsplay reads keys from; the others are ignored whole (a note at -v). */
export const READ_SECTIONS = ['defaults', 'privilege_escalation', 'ssh_connection', 'connection'];

/**
 * Keys tsplay ignores whose values would make Ansible run differently: said at every verbosity.
 * Given the lower-cased value; returns what to do instead, or undefined when the value is Ansible's default.
 */
export const IGNORED_WITH_WARNING: Record<string, (value: string) => string | undefined> = {
  strategy: (v) => (v !== 'linear' ? `set strategy: ${v} on the plays (tsplay knows linear and free)` : undefined),
  any_errors_fatal: (v) => (['1', 'true', 'yes', 'on', 'y', 't'].includes(v) ? 'set any_errors_fatal: true on the plays' : undefined),
  vault_identity_list: () => 'vault ids are not read from ansible.cfg by this tsplay',
};

export function settingDef(name: SettingName): SettingDef {
  return SETTINGS.find((d) => d.name === name)!;
}
