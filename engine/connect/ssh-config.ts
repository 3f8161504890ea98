/**
 * Inventory variables + ~/.ssh/config -> ConnectionSpec. Users arrive with Ansible inventories and
 * an ssh config that `ssh host` already honours; both must keep working unchanged.
 * Precedence as in Ansible: inventory variables, then the run's defaults (-u, --private-key, -T,
 * remote_user in ansible.cfg, ...: Ansible passes them to ssh as -o options, which beat the ssh
 * config), then the ssh config, then OpenSSH's defaults.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';
import { readSshArgs } from './ssh-args.js';
import { ConnectionSettingError, UnreachableError, type ConnectionSpec } from './types.js';

export interface SshHostConfig {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  identitiesOnly?: boolean;
  proxyJump?: string;
  proxyCommand?: string;
  userKnownHostsFile?: string;
  connectTimeoutMs?: number;
}

export interface ResolveOptions {
  /** ssh config to read; default ~/.ssh/config; `false` reads none. */
  sshConfigFile?: string | false;
  acceptNewHostKeys?: boolean;
  /** Used when neither the inventory nor the ssh config says; default 10 s. */
  connectTimeoutMs?: number;
  knownHostsFile?: string;
  /** For SSH_AUTH_SOCK; default process.env. */
  env?: Record<string, string | undefined>;
  homeDir?: string;
  currentUser?: string;
  /** Below the inventory's variables, above the ssh config: the command line and ansible.cfg. */
  defaults?: ConnectionDefaults;
  /** Told what is accepted but has no effect (an ssh option tsplay ignores). */
  onIgnored?: (message: string) => void;
}

/** ssh argument strings as Ansible's ssh plugin options: ssh_args, ssh_common_args, ssh_extra_args. */
export type SshArgsOption = 'ssh_args' | 'ssh_common_args' | 'ssh_extra_args';
/** Each option's inventory variable, which beats the run's value of the same option. */
const SSH_ARGS_VARS: Record<SshArgsOption, string> = { ssh_args: 'ansible_ssh_args', ssh_common_args: 'ansible_ssh_common_args', ssh_extra_args: 'ansible_ssh_extra_args' };

export interface ConnectionDefaults {
  user?: string;
  port?: number;
  privateKeyFile?: string;
  password?: string;
  connection?: 'ssh' | 'local';
  /** Beats the ssh config's ConnectTimeout (connectTimeoutMs does not). */
  timeoutMs?: number;
  /** `from` names where the text was set, for messages: `ssh_args (ansible.cfg:12)`. */
  sshArgs?: Partial<Record<SshArgsOption, { text: string; from: string }>>;
}

const cache = new Map<string, { mtimeMs: number; config: SSHConfig }>();

/** Parsed ssh config, or undefined when the file does not exist. Cached per file and mtime. */
export function loadSshConfig(path: string): SSHConfig | undefined {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
  const hit = cache.get(path);
  if (hit && hit.mtimeMs === mtimeMs) return hit.config;
  const config = SSHConfig.parse(readFileSync(path, 'utf8'));
  cache.set(path, { mtimeMs, config });
  return config;
}

interface Tokens {
  home: string;
  localUser: string;
  host: string;
  remoteUser?: string;
}

/** The subset of ssh_config(5) TOKENS and `~` that paths and HostName use in practice. */
function expand(value: string, t: Tokens): string {
  const tilde = value === '~' || value.startsWith('~/') ? t.home + value.slice(1) : value;
  return tilde.replace(/%([%dhur])/g, (_m, c: string) =>
    c === '%' ? '%' : c === 'd' ? t.home : c === 'h' ? t.host : c === 'u' ? t.localUser : (t.remoteUser ?? t.localUser),
  );
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function all(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

export function lookupSshHost(config: SSHConfig | undefined, host: string): SshHostConfig {
  if (!config) return { identityFiles: [] };
  // matchExec off: resolving an inventory must not run `Match exec` commands from a config file.
  const computed = config.compute(host, { ignoreCase: true, matchExec: false });
  const port = first(computed.port);
  const timeout = first(computed.connecttimeout);
  const knownHosts = first(computed.userknownhostsfile);
  const jump = first(computed.proxyjump);
  const command = first(computed.proxycommand);
  return {
    hostName: first(computed.hostname),
    user: first(computed.user),
    port: port !== undefined ? Number(port) : undefined,
    identityFiles: all(computed.identityfile),
    identitiesOnly: first(computed.identitiesonly)?.toLowerCase() === 'yes',
    proxyJump: jump && jump.toLowerCase() !== 'none' ? jump : undefined,
    proxyCommand: command && command.toLowerCase() !== 'none' ? command : undefined,
    // OpenSSH allows several files here; the first is the one it writes to.
    userKnownHostsFile: knownHosts?.split(/\s+/)[0],
    connectTimeoutMs: timeout !== undefined ? Number(timeout) * 1000 : undefined,
  };
}

type Vars = Record<string, unknown>;

/** First of the aliases that is set; tsplay's own name comes first so it wins over `ansible_*`. */
function pick(host: string, vars: Vars, names: string[]): string | undefined {
  for (const name of names) {
    const value = vars[name];
    if (value === undefined || value === null || value === '') continue;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new ConnectionSettingError(host, `${name} must be a string, got ${typeof value}`, `set ${name} to a single value`);
  }
  return undefined;
}

function pickPort(host: string, vars: Vars, names: string[]): number | undefined {
  const raw = pick(host, vars, names);
  if (raw === undefined) return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConnectionSettingError(host, `${names[0]} must be a port number, got ${JSON.stringify(raw)}`, 'a TCP port from 1 to 65535, e.g. 2222');
  return port;
}

/** A boolean inventory variable as Ansible reads one (true/false, yes/no, on/off, 1/0). */
function pickBool(host: string, vars: Vars, names: string[]): boolean | undefined {
  const raw = pick(host, vars, names);
  if (raw === undefined) return undefined;
  const v = raw.toLowerCase();
  if (['true', 'yes', 'on', '1', 'y', 't'].includes(v)) return true;
  if (['false', 'no', 'off', '0', 'n', 'f'].includes(v)) return false;
  throw new ConnectionSettingError(host, `${names[0]} must be a boolean, got ${JSON.stringify(raw)}`, 'true or false');
}

/**
 * The jump host the ssh arguments ask for, in the order Ansible puts them on ssh's command line
 * (ssh_args, ssh_common_args, ssh_extra_args; ssh takes an option's first value). An option
 * tsplay cannot honour is an error: dialling the host directly instead would be wrong.
 */
function jumpFromSshArgs(host: string, vars: Vars, options: ResolveOptions): string | undefined {
  let jump: string | undefined;
  for (const option of ['ssh_args', 'ssh_common_args', 'ssh_extra_args'] as const) {
    const variable = SSH_ARGS_VARS[option];
    const own = pick(host, vars, [variable]);
    const source = own !== undefined ? { text: own, from: variable } : options.defaults?.sshArgs?.[option];
    if (!source?.text.trim()) continue;
    const args = readSshArgs(source.text);
    const refused = args.refused[0];
    if (refused) throw new ConnectionSettingError(host, `${source.from}: ${refused.option} is not supported`, refused.hint);
    if (args.ignored.length > 0) options.onIgnored?.(`${source.from}: ${args.ignored.join(' ')} ignored: no effect over tsplay's SSH client, or tsplay already checks more strictly (host keys are checked against known_hosts)`);
    jump ??= args.jump;
  }
  return jump && jump.toLowerCase() !== 'none' ? jump : undefined;
}

function defaultUser(options: ResolveOptions): string {
  if (options.currentUser) return options.currentUser;
  try {
    return userInfo().username;
  } catch {
    return 'root';
  }
}

interface Resolution {
  config: SSHConfig | undefined;
  home: string;
  localUser: string;
  agentSocket?: string;
  options: ResolveOptions;
}

function identityFilesFor(cfg: SshHostConfig, tokens: Tokens, r: Resolution): string[] {
  const configured = cfg.identityFiles.map((f) => expand(f, tokens));
  const candidates = configured.length > 0 ? configured : ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(r.home, '.ssh', f));
  return candidates.filter((f) => existsSync(f));
}

export function resolveConnectionSpec(inventoryName: string, hostVars: Vars, options: ResolveOptions = {}): ConnectionSpec {
  const host = inventoryName;
  const defaults = options.defaults ?? {};
  const connection = pick(host, hostVars, ['connection', 'ansible_connection']) ?? defaults.connection ?? 'ssh';
  const address = pick(host, hostVars, ['host', 'ansible_host', 'ansible_ssh_host']);
  const becomeUser = pick(host, hostVars, ['become_user', 'ansible_become_user']);
  const becomePassword = pick(host, hostVars, ['become_password', 'ansible_become_password', 'ansible_become_pass']);
  const become = becomeUser !== undefined || becomePassword !== undefined ? { user: becomeUser ?? 'root', password: becomePassword } : undefined;
  const becomeMethod = pick(host, hostVars, ['become_method', 'ansible_become_method']);
  if (becomeMethod !== undefined && becomeMethod !== 'sudo') {
    throw new ConnectionSettingError(host, `become method ${JSON.stringify(becomeMethod)} is not supported`, 'tsplay becomes another user with sudo only: set ansible_become_method to sudo or remove it');
  }
  const timeoutSeconds = pick(host, hostVars, ['timeout', 'ansible_timeout', 'ansible_ssh_timeout']);
  if (connection === 'local') {
    return {
      host,
      connection: 'local',
      address: address ?? 'localhost',
      port: 22,
      acceptNewHostKeys: false,
      connectTimeoutMs: 0,
      become,
    };
  }
  if (!['ssh', 'smart', 'paramiko'].includes(connection)) {
    throw new ConnectionSettingError(host, `connection ${JSON.stringify(connection)} is not supported`, 'use ssh (smart and paramiko mean ssh too) or local');
  }
  const home = options.homeDir ?? homedir();
  const r: Resolution = {
    config: options.sshConfigFile === false ? undefined : loadSshConfig(options.sshConfigFile ?? join(home, '.ssh', 'config')),
    home,
    localUser: defaultUser(options),
    agentSocket: (options.env ?? process.env).SSH_AUTH_SOCK || undefined,
    options,
  };
  // Like `ssh <ansible_host>`: the ssh config is matched against the name we would type.
  const lookupName = address ?? inventoryName;
  const cfg = lookupSshHost(r.config, lookupName);
  const user = pick(host, hostVars, ['user', 'ansible_user', 'ansible_ssh_user']) ?? defaults.user ?? cfg.user ?? r.localUser;
  const tokens: Tokens = { home, localUser: r.localUser, host: lookupName, remoteUser: user };
  const privateKey = pick(host, hostVars, ['private_key', 'ansible_ssh_private_key_file', 'ansible_private_key_file']) ?? defaults.privateKeyFile;
  const knownHosts = pick(host, hostVars, ['known_hosts_file']) ?? options.knownHostsFile ?? cfg.userKnownHostsFile;
  const jumpFromArgs = jumpFromSshArgs(host, hostVars, options);
  const jumpHost = pick(host, hostVars, ['jump_host']) ?? jumpFromArgs ?? cfg.proxyJump;
  if (!jumpHost && cfg.proxyCommand) {
    throw new ConnectionSettingError(host, `the ssh config sets ProxyCommand for ${lookupName}, which tsplay cannot run`, `tsplay connects through jump hosts itself: use ProxyJump there (ssh -W %h:%p bastion is ProxyJump bastion), or set jump_host; it will not dial ${lookupName} directly instead`);
  }
  const hostKeyChecking = pickBool(host, hostVars, ['ansible_host_key_checking', 'ansible_ssh_host_key_checking']);
  const spec: ConnectionSpec = {
    host,
    connection: 'ssh',
    address: cfg.hostName ? expand(cfg.hostName, tokens) : lookupName,
    port: pickPort(host, hostVars, ['port', 'ansible_port', 'ansible_ssh_port']) ?? defaults.port ?? cfg.port ?? 22,
    user,
    privateKeyFile: privateKey ? expand(privateKey, tokens) : undefined,
    privateKeyPassphrase: pick(host, hostVars, ['private_key_passphrase', 'ansible_private_key_passphrase']),
    password: pick(host, hostVars, ['password', 'ansible_password', 'ansible_ssh_pass', 'ansible_ssh_password']) ?? defaults.password,
    jumpHost,
    knownHostsFile: knownHosts ? expand(knownHosts, tokens) : undefined,
    // host_key_checking false never accepts a changed key: only an unknown one is recorded (accept-new).
    acceptNewHostKeys: hostKeyChecking === false || (hostKeyChecking === undefined && !!options.acceptNewHostKeys),
    connectTimeoutMs: timeoutSeconds !== undefined ? Number(timeoutSeconds) * 1000 : (defaults.timeoutMs ?? cfg.connectTimeoutMs ?? options.connectTimeoutMs ?? 10_000),
    become,
    identityFiles: identityFilesFor(cfg, tokens, r),
    agentSocket: cfg.identitiesOnly ? undefined : r.agentSocket,
  };
  if (!Number.isFinite(spec.connectTimeoutMs) || spec.connectTimeoutMs <= 0) {
    throw new ConnectionSettingError(host, `timeout must be a positive number of seconds, got ${JSON.stringify(timeoutSeconds)}`, 'e.g. ansible_timeout: 30');
  }
  if (jumpHost) spec.jump = resolveJump(jumpHost, spec, r, 0);
  return spec;
}

/**
 * ProxyJump `a,b`: the target is reached through b, which is reached through a. Each hop gets its
 * own ssh config; the target's key is offered too, since one key for a whole fleet is common.
 */
function resolveJump(chain: string, target: ConnectionSpec, r: Resolution, depth: number): ConnectionSpec {
  if (depth > 8) throw new ConnectionSettingError(target.host, `ProxyJump chain is too long or loops (${chain})`, 'a chain of at most 8 jump hosts, none reaching itself through the ssh config');
  const { hops, last } = splitJumpChain(chain);
  const parsed = parseJumpHost(last);
  if (!parsed) throw new ConnectionSettingError(target.host, `cannot parse jump host ${JSON.stringify(last)}`, 'use [user@]host[:port], several separated by commas');
  const name = parsed.host;
  const cfg = lookupSshHost(r.config, name);
  const user = parsed.user ?? cfg.user ?? r.localUser;
  const tokens: Tokens = { home: r.home, localUser: r.localUser, host: name, remoteUser: user };
  const identityFiles = identityFilesFor(cfg, tokens, r);
  const spec: ConnectionSpec = {
    host: `${target.host} (jump ${name})`,
    connection: 'ssh',
    address: cfg.hostName ? expand(cfg.hostName, tokens) : name,
    port: parsed.port ?? cfg.port ?? 22,
    user,
    privateKeyFile: undefined,
    privateKeyPassphrase: target.privateKeyPassphrase,
    identityFiles: target.privateKeyFile ? [...identityFiles, target.privateKeyFile] : identityFiles,
    agentSocket: cfg.identitiesOnly ? undefined : r.agentSocket,
    knownHostsFile: target.knownHostsFile,
    acceptNewHostKeys: target.acceptNewHostKeys,
    connectTimeoutMs: cfg.connectTimeoutMs ?? target.connectTimeoutMs,
  };
  const next = hops ?? cfg.proxyJump;
  if (next) spec.jump = resolveJump(next, target, r, depth + 1);
  return spec;
}

/** `a,b,c` -> hops `a,b` (undefined when none) and the last hop `c`, the one next to the target. */
export function splitJumpChain(chain: string): { hops?: string; last: string } {
  const parts = chain.split(',').map((h) => h.trim()).filter(Boolean);
  const last = parts.pop() ?? chain.trim();
  return { hops: parts.length > 0 ? parts.join(',') : undefined, last };
}

/** One ProxyJump hop: `[user@]host[:port]`, `[v6addr]:port`, or `ssh://user@host:port`. */
export function parseJumpHost(hop: string): { user?: string; host: string; port?: number } | undefined {
  const match = /^(?:ssh:\/\/)?(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hop.trim());
  if (!match) return undefined;
  return { user: match[1], host: match[2]!.replace(/^\[|\]$/g, ''), port: match[3] ? Number(match[3]) : undefined };
}

/** `[user@]host[:port]` with the target's credentials, for a jump host resolveConnectionSpec did not resolve. */
export function jumpSpec(target: ConnectionSpec, jumpHost: string): ConnectionSpec {
  const { hops, last } = splitJumpChain(jumpHost);
  const hop = parseJumpHost(last);
  if (!hop) throw new UnreachableError(target.host, `cannot parse jump host ${JSON.stringify(last)}`, 'use [user@]host[:port]');
  const spec: ConnectionSpec = {
    host: `${target.host} (jump ${hop.host})`,
    connection: 'ssh',
    address: hop.host,
    port: hop.port ?? 22,
    user: hop.user ?? target.user,
    privateKeyFile: target.privateKeyFile,
    privateKeyPassphrase: target.privateKeyPassphrase,
    identityFiles: target.identityFiles,
    agentSocket: target.agentSocket,
    knownHostsFile: target.knownHostsFile,
    acceptNewHostKeys: target.acceptNewHostKeys,
    connectTimeoutMs: target.connectTimeoutMs,
  };
  if (hops) spec.jump = jumpSpec(target, hops);
  return spec;
}
