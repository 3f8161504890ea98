/** Connections for a run: one pooled connection per host, specs resolved from inventory vars. */
import { LocalConnection } from '../connect/local.js';
import { ConnectionPool } from '../connect/pool.js';
import { resolveConnectionSpec, type ConnectionDefaults, type ResolveOptions } from '../connect/ssh-config.js';
import { ConnectionSettingError, type Connection, type ConnectionSpec, type ReconnectOptions } from '../connect/types.js';
import type { Inventory, VarMap } from '../load/inventory.js';
import { inventoryVarsOf, isControllerName } from '../load/inventory.js';
import { secrets } from '../secrets.js';
import { layeredVars } from '../vars/context.js';
import { TemplateError } from '../vars/template.js';
import type { RunBus } from './events.js';
import type { ConnectionProvider } from './state.js';

export interface ConnectionSettings {
  acceptNewHostKeys: boolean;
  /** Play-level `connection:` overrides the inventory (e.g. local for controller plays). */
  connectionOverride?: 'ssh' | 'local';
  sshConfigFile?: string | false;
  connectTimeoutMs?: number;
  /** The command line's and ansible.cfg's -u, --private-key, -T, -c, ssh_args, ...: below host variables. */
  defaults?: ConnectionDefaults;
}

function resolveOptions(settings: ConnectionSettings): ResolveOptions {
  return { acceptNewHostKeys: settings.acceptNewHostKeys, sshConfigFile: settings.sshConfigFile, connectTimeoutMs: settings.connectTimeoutMs, defaults: settings.defaults };
}

export function createConnections(inv: Inventory, extraVars: VarMap, bus: RunBus, settings: ConnectionSettings): ConnectionProvider {
  const pool = new ConnectionPool({ log: (host, line) => bus.emit('log', host, 2, line) });
  const controller = new LocalConnection('controller');
  const specOf = (host: string): ConnectionSpec => {
    const vars = layeredVars([inventoryVarsOf(inv, host), extraVars]);
    const spec = resolveConnectionSpec(host, vars, resolveOptions(settings));
    if (settings.connectionOverride) spec.connection = settings.connectionOverride;
    for (const s of [spec.password, spec.privateKeyPassphrase, spec.become?.password]) if (s) secrets.add(s);
    return spec;
  };
  return {
    get(host: string): Promise<Connection> {
      if (isControllerName(inv, host)) return Promise.resolve(controller);
      return pool.get(specOf(host));
    },
    reconnect(host: string, options?: ReconnectOptions): Promise<Connection> {
      // The controller is this process: nothing to reopen.
      if (isControllerName(inv, host)) return Promise.resolve(controller);
      return pool.reopen(specOf(host), options);
    },
    controller: () => controller,
    closeAll: () => pool.closeAll(),
  };
}

export interface ConnectionCheck {
  problems: ConnectionSettingError[];
  /** For -v: settings accepted but without effect, each once with the hosts it concerns. */
  notes: string[];
}

/** Variables accepted for Ansible's sake that tsplay has no use for, and why. */
const UNUSED_VARS: Record<string, string> = {
  ansible_python_interpreter: 'accepted and unused: tsplay needs no Python on hosts',
  ansible_pipelining: 'ignored: tsplay keeps one SSH connection per host, with no per-task sessions to pipeline',
  ansible_ssh_pipelining: 'ignored: tsplay keeps one SSH connection per host, with no per-task sessions to pipeline',
  ansible_become_flags: 'ignored: tsplay runs sudo -H -S (with a password) or sudo -H -n',
  ansible_become_exe: 'ignored: tsplay runs sudo from the PATH',
};

/**
 * Resolves the connection of every host before the run, so a setting tsplay cannot honour (a
 * ProxyCommand, a become method other than sudo) stops the run at load, naming the host and the
 * variable, instead of failing mid-run or, worse, dialling the host directly.
 */
export function checkConnections(inv: Inventory, hosts: Iterable<string>, extraVars: VarMap, settings: ConnectionSettings): ConnectionCheck {
  const problems: ConnectionSettingError[] = [];
  const noted = new Map<string, string[]>();
  const note = (message: string, host: string): void => {
    const list = noted.get(message) ?? [];
    list.push(host);
    noted.set(message, list);
  };
  for (const host of hosts) {
    if (isControllerName(inv, host)) continue;
    const vars = layeredVars([inventoryVarsOf(inv, host), extraVars]);
    for (const [name, why] of Object.entries(UNUSED_VARS)) if (name in vars) note(`${name}: ${why}`, host);
    try {
      resolveConnectionSpec(host, vars, { ...resolveOptions(settings), onIgnored: (message) => note(message, host) });
    } catch (err) {
      if (err instanceof ConnectionSettingError) problems.push(err);
      // A connection variable made from a fact or a later variable is resolved when the host is
      // first reached; the same checks run then.
      else if (!(err instanceof TemplateError)) throw err;
    }
  }
  const notes = [...noted].map(([message, names]) => `${message} (${names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ')})`);
  return { problems, notes };
}
