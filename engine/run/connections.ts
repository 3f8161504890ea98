/** Connections for a run: one pooled connection per host, specs resolved from inventory vars. */
import { LocalConnection } from '../connect/local.js';
import { ConnectionPool } from '../connect/pool.js';
import { resolveConnectionSpec } from '../connect/ssh-config.js';
import type { Connection } from '../connect/types.js';
import type { Inventory, VarMap } from '../load/inventory.js';
import { inventoryVarsOf, isControllerName } from '../load/inventory.js';
import { secrets } from '../secrets.js';
import { layeredVars } from '../vars/context.js';
import type { RunBus } from './events.js';
import type { ConnectionProvider } from './state.js';

export interface ConnectionSettings {
  acceptNewHostKeys: boolean;
  /** Play-level `connection:` overrides the inventory (e.g. local for controller plays). */
  connectionOverride?: 'ssh' | 'local';
  sshConfigFile?: string | false;
  connectTimeoutMs?: number;
}

export function createConnections(inv: Inventory, extraVars: VarMap, bus: RunBus, settings: ConnectionSettings): ConnectionProvider {
  const pool = new ConnectionPool({ log: (host, line) => bus.emit('log', host, 2, line) });
  const controller = new LocalConnection('controller');
  return {
    get(host: string): Promise<Connection> {
      if (isControllerName(inv, host)) return Promise.resolve(controller);
      const vars = layeredVars([inventoryVarsOf(inv, host), extraVars]);
      const spec = resolveConnectionSpec(host, vars, {
        acceptNewHostKeys: settings.acceptNewHostKeys,
        sshConfigFile: settings.sshConfigFile,
        connectTimeoutMs: settings.connectTimeoutMs,
      });
      if (settings.connectionOverride) spec.connection = settings.connectionOverride;
      for (const s of [spec.password, spec.privateKeyPassphrase, spec.become?.password]) if (s) secrets.add(s);
      return pool.get(spec);
    },
    controller: () => controller,
    closeAll: () => pool.closeAll(),
  };
}
