/**
 * One connection per host for the whole run, opened on first use. Concurrent first uses share one
 * connect; a failed connect is forgotten so a later task (wait_for_connection) can try again.
 * `reopen` replaces a host's connection (reboot: the old one died with the host's sshd), and
 * every later `get` returns the new one.
 */
import { LocalConnection } from './local.js';
import type { SshOptions } from './ssh.js';
import type { Connection, ConnectionSpec, ReconnectOptions } from './types.js';

export type ConnectionFactory = (spec: ConnectionSpec, log: (line: string) => void) => Promise<Connection>;

export interface PoolOptions {
  /** Defaults to connectSsh; tests and other transports plug in here. */
  ssh?: ConnectionFactory;
  /** Defaults to LocalConnection (engine/connect/local.ts). */
  local?: ConnectionFactory;
  sshOptions?: SshOptions;
  /** Transport diagnostics (retries, accepted host keys, drops), tagged with the host. */
  log?: (host: string, line: string) => void;
}

export class ConnectionPool {
  private readonly connections = new Map<string, Promise<Connection>>();
  private readonly ssh: ConnectionFactory;
  private readonly local: ConnectionFactory;
  private closed = false;

  constructor(private readonly options: PoolOptions = {}) {
    // ssh2 is loaded when the first SSH connection opens: a local-only or --syntax-check run never pays for it.
    this.ssh = options.ssh ?? (async (spec, log) => (await import('./ssh.js')).connectSsh(spec, log, options.sshOptions));
    this.local = options.local ?? (async (spec) => new LocalConnection(spec.host));
  }

  /** The host's connection, opening it if needed; rejects with UnreachableError when it cannot. */
  get(spec: ConnectionSpec): Promise<Connection> {
    if (this.closed) return Promise.reject(new Error('connection pool is closed'));
    const existing = this.connections.get(spec.host);
    if (existing) return existing;
    const log = (line: string): void => this.options.log?.(spec.host, line);
    const factory = spec.connection === 'local' ? this.local : this.ssh;
    const opening = factory(spec, log);
    this.connections.set(spec.host, opening);
    opening.catch(() => {
      if (this.connections.get(spec.host) === opening) this.connections.delete(spec.host);
    });
    return opening;
  }

  /**
   * Close the host's connection (if any) and open a new one with the same settings, except those
   * given: the host's connection from now on. A failed open is forgotten like a failed first one,
   * so the caller may try again (a host still booting).
   */
  async reopen(spec: ConnectionSpec, options: ReconnectOptions = {}): Promise<Connection> {
    const old = this.connections.get(spec.host);
    this.connections.delete(spec.host);
    await old?.then((c) => c.close(), () => undefined);
    return this.get(options.connectTimeoutMs === undefined ? spec : { ...spec, connectTimeoutMs: options.connectTimeoutMs });
  }

  has(host: string): boolean {
    return this.connections.has(host);
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((p) => p.then((c) => c.close(), () => undefined)));
  }
}
