/**
 * The transport contract. Modules talk to a host only through a Connection, so the same module
 * code runs over `connection: local` and over SSH. Every call is one round trip.
 */

export interface ExecOptions {
  /** Bytes written to the command's stdin, then stdin is closed. Use for file contents and passwords. */
  stdin?: Buffer | string | NodeJS.ReadableStream;
  /** Run through sudo (become). Undefined: run as the login user. */
  become?: BecomeOptions;
  /** Extra environment for the command (exported inside the shell, never on a visible command line for secrets). */
  env?: Record<string, string>;
  /** Abort the remote command (the channel is closed / the child killed). */
  signal?: AbortSignal;
  /** Milliseconds before the command is abandoned; undefined means no limit. */
  timeoutMs?: number;
}

export interface BecomeOptions {
  user: string; // default "root"
  /** Written to sudo only after its prompt appears; never logged, never on a command line. */
  password?: string;
}

export interface ExecResult {
  /** Exit status of the remote shell; null when killed by a signal. */
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
}

export interface Connection {
  /** Inventory name of the host this connection serves. */
  readonly host: string;
  /** Run `command` through `/bin/sh -c` on the target. */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** Close the connection; idempotent. */
  close(): Promise<void>;
}

/** What a new connection to a host may do otherwise than the run's (a reboot's connect_timeout). */
export interface ReconnectOptions {
  /** Milliseconds for one connect attempt (the SSH handshake included). */
  connectTimeoutMs?: number;
}

/** Raised when the host cannot be reached or drops; the scheduler marks the host unreachable. */
export class UnreachableError extends Error {
  constructor(
    readonly host: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UnreachableError';
  }
}

/**
 * A host's connection variables ask for something tsplay cannot do (a ProxyCommand, a become
 * method other than sudo, a port that is no number). Found before the run for the play's hosts;
 * for a host reached only by delegate_to, the task fails with it. Never a direct dial instead.
 */
export class ConnectionSettingError extends Error {
  constructor(
    readonly host: string,
    readonly problem: string,
    readonly hint: string,
  ) {
    super(`host ${host}: ${problem}`);
    this.name = 'ConnectionSettingError';
  }
}

/** Connection settings after inventory aliases (ansible_*) and ~/.ssh/config were resolved. */
export interface ConnectionSpec {
  host: string; // inventory name
  connection: 'ssh' | 'local';
  address: string; // host name or IP to dial
  port: number;
  user?: string;
  privateKeyFile?: string;
  privateKeyPassphrase?: string;
  password?: string;
  jumpHost?: string; // [user@]host[:port]
  knownHostsFile?: string;
  acceptNewHostKeys: boolean;
  connectTimeoutMs: number;
  become?: BecomeOptions;
  /**
   * More keys to try after privateKeyFile: ssh config IdentityFile entries, else OpenSSH's defaults
   * (~/.ssh/id_ed25519, id_ecdsa, id_rsa) that exist. Added because `ssh` tries several keys.
   */
  identityFiles?: string[];
  /** ssh-agent socket (SSH_AUTH_SOCK); its keys are tried first, as `ssh` does. */
  agentSocket?: string;
  /** The resolved first hop when jumpHost is set (its own ssh config applied); may itself have a jump. */
  jump?: ConnectionSpec;
}
