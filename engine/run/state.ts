/** What one run knows: options, inventory, per-host state, connections, and the event bus. */
import { dict } from '../dict.js';
import type { Connection, ReconnectOptions } from '../connect/types.js';
import type { Inventory, VarMap } from '../load/inventory.js';
import { emptyStats, type HostStats, type RunBus } from './events.js';
import type { Semaphore } from '../connect/semaphore.js';
import type { Shard } from './rendezvous.js';

export interface RunOptions {
  check: boolean;
  diff: boolean;
  forks: number;
  tags: string[];
  skipTags: string[];
  limit?: string;
  extraVars: VarMap;
  verbosity: number;
  forceHandlers: boolean;
  /** --shard I/N: this run takes only its share of the selected hosts; run_once tasks run in one shard. */
  shard?: Shard;
  /** -b, --become-user, -K and ansible.cfg's [privilege_escalation]: below every play, task and host setting. */
  becomeDefaults?: BecomeDefaults;
  /** hash_behaviour of ansible.cfg: what include_vars does with a dictionary the host has (undefined: replace). */
  hashBehaviour?: HashBehaviour;
  /** Aborted on the first Ctrl-C: no new task starts. */
  signal: AbortSignal;
}

export type HashBehaviour = 'replace' | 'merge';

export interface BecomeDefaults {
  become: boolean;
  user: string;
  /** -K: used where no become_password variable is set. */
  password?: string;
}

export interface HostState {
  name: string;
  /** Registered results, set_fact values and gathered facts: they outlive a play. */
  facts: VarMap;
  stats: HostStats;
  failed: boolean;
  unreachable: boolean;
  firstError?: string;
  notified: Set<string>;
}

/** Opens (or reuses) the connection to a host; `controller` is the local machine. */
export interface ConnectionProvider {
  get(host: string): Promise<Connection>;
  /** Replace the host's connection with a new one (after a reboot); later `get`s return it. */
  reconnect(host: string, options?: ReconnectOptions): Promise<Connection>;
  controller(): Connection;
  closeAll(): Promise<void>;
}

export interface RunState {
  options: RunOptions;
  inventory: Inventory;
  playbookDir: string;
  bus: RunBus;
  connections: ConnectionProvider;
  /** --forks: tasks running at once across hosts. */
  forks: Semaphore;
  hosts: Map<string, HostState>;
  /** Inventory-level vars per host, computed once. */
  inventoryVars: Map<string, VarMap>;
  groups: Record<string, string[]>;
  aborted: boolean;
  /** Task warnings so far (Recap.warnings). */
  warnings: number;
}

export function hostState(run: RunState, name: string): HostState {
  let h = run.hosts.get(name);
  if (!h) {
    h = { name, facts: dict(), stats: emptyStats(), failed: false, unreachable: false, notified: new Set() };
    run.hosts.set(name, h);
  }
  return h;
}
