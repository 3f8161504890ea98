/**
 * SSH transport: one ssh2 connection per host for the whole run, shared by every exec through a
 * channel limiter. Everything that stops us from reaching a host surfaces as UnreachableError
 * (HostKeyError is one), so the scheduler can mark the host unreachable like Ansible does.
 */
import { userInfo } from 'node:os';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { ClientChannel, Client as SshClient } from 'ssh2';
import { createHostVerifier, type HostKeyError } from './known-hosts.js';
import { Semaphore } from './semaphore.js';
import { AuthenticationError, authHandler, describeError, planAuth, type Auth } from './ssh-auth.js';
import { jumpSpec } from './ssh-config.js';
import { prepareCommand } from './shell.js';
import { supervise, type Supervised } from './supervise.js';
import { UnreachableError, type Connection, type ConnectionSpec, type ExecOptions, type ExecResult } from './types.js';
import { sleep } from '../sleep.js';

const { Client } = ssh2;

export { AuthenticationError };

export interface SshOptions {
  /** Concurrent channels per connection; sshd's MaxSessions defaults to 10, so stay below it. */
  maxChannels?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Extra attempts after a transient network failure (refused, timed out, reset, unreachable). */
  connectRetries?: number;
  retryDelayMs?: number;
}

const DEFAULTS = { maxChannels: 8, keepaliveIntervalMs: 5000, keepaliveCountMax: 3, connectRetries: 3, retryDelayMs: 250 };
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// ssh2 reports sshd dropping a connection early (MaxStartups, still booting) this way, without a code.
const TRANSIENT_MESSAGES = [/Connection lost before handshake/, /Timed out while waiting for handshake/];

type Log = (line: string) => void;

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'root';
  }
}

/** Why one connection attempt failed, and whether another may succeed: what openClient rejects with. */
class AttemptFailure extends Error {
  constructor(
    readonly error: UnreachableError,
    readonly retryable: boolean,
  ) {
    super(error.message);
  }
}

function openClient(spec: ConnectionSpec, auth: Auth, username: string, sock: Duplex | undefined, options: Required<SshOptions>, log: Log): Promise<SshClient> {
  const verification = createHostVerifier({
    host: spec.host,
    address: spec.address,
    port: spec.port,
    knownHostsFile: spec.knownHostsFile,
    acceptNew: spec.acceptNewHostKeys,
    log,
  });
  return new Promise((resolve, reject) => {
    const client = new Client();
    let settled = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      client.end();
      reject(classify(spec, error, verification.failure(), auth));
    };
    // Errors after `ready` belong to SshConnection; this keeps a stray one from crashing the process.
    client.on('error', fail);
    client.once('close', () => fail(new Error('connection closed during the SSH handshake')));
    client.once('ready', () => {
      settled = true;
      // Nagle held back the second small packet of each exec (request, then stdin EOF) until
      // sshd's delayed ACK, ~40 ms per task; OpenSSH's own client sets TCP_NODELAY too.
      client.setNoDelay(true);
      resolve(client);
    });
    client.connect({
      host: spec.address,
      port: spec.port,
      sock,
      username,
      hostVerifier: verification.hostVerifier,
      algorithms: { serverHostKey: verification.serverHostKey },
      authHandler: authHandler(auth.methods),
      keepaliveInterval: options.keepaliveIntervalMs,
      keepaliveCountMax: options.keepaliveCountMax,
      readyTimeout: spec.connectTimeoutMs,
    });
  });
}

function classify(spec: ConnectionSpec, error: unknown, hostKey: HostKeyError | undefined, auth: Auth): AttemptFailure {
  if (hostKey) return new AttemptFailure(hostKey, false);
  const where = `${spec.user ?? currentUser()}@${spec.address}:${spec.port}`;
  const level = (error as { level?: string }).level;
  if (level === 'client-authentication') {
    const tried = auth.tried.length > 0 ? auth.tried.join(', ') : 'nothing (no key, agent or password configured)';
    return new AttemptFailure(
      new AuthenticationError(spec.host, `SSH authentication failed for ${where}; tried ${tried}`, 'check user, private_key / ansible_ssh_private_key_file, password, or SSH_AUTH_SOCK'),
      false,
    );
  }
  const code = (error as NodeJS.ErrnoException).code;
  const message = describeError(error);
  const retryable = (typeof code === 'string' && TRANSIENT_CODES.has(code)) || TRANSIENT_MESSAGES.some((re) => re.test(message));
  return new AttemptFailure(new UnreachableError(spec.host, `cannot connect to ${where}: ${message}`, 'is the host up and sshd listening?'), retryable);
}

/** Connects (through spec.jump / spec.jumpHost when set), retrying only transient network failures. */
export async function connectSsh(spec: ConnectionSpec, log: Log = () => {}, sshOptions: SshOptions = {}): Promise<SshConnection> {
  const options = { ...DEFAULTS, ...sshOptions };
  const username = spec.user ?? currentUser();
  const auth = planAuth(spec, username, log);
  const hop = spec.jump ?? (spec.jumpHost ? jumpSpec(spec, spec.jumpHost) : undefined);
  const jump = hop ? await connectSsh(hop, (line) => log(`[jump ${hop.address}] ${line}`), sshOptions) : undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const sock = jump ? await jump.forwardOut(spec.address, spec.port) : undefined;
        const client = await openClient(spec, auth, username, sock, options, log);
        return new SshConnection(spec, client, jump, options, log);
      } catch (caught) {
        const failure = toFailure(spec, caught);
        if (!failure.retryable || attempt >= options.connectRetries) throw failure.error;
        const delay = options.retryDelayMs * 2 ** attempt;
        log(`${failure.error.message}; retrying in ${delay} ms (${attempt + 1}/${options.connectRetries})`);
        await sleep(delay);
      }
    }
  } catch (error) {
    await jump?.close();
    throw error;
  }
}

function toFailure(spec: ConnectionSpec, caught: unknown): AttemptFailure {
  if (caught instanceof AttemptFailure) return caught;
  if (caught instanceof UnreachableError) return new AttemptFailure(caught, false);
  // forwardOut through the jump host: "Connection refused" from the far side is as transient as our own.
  const message = describeError(caught);
  return new AttemptFailure(new UnreachableError(spec.host, `cannot reach ${spec.address}:${spec.port}: ${message}`), /refused|timed out|reset|unreachable/i.test(message));
}

interface OpenedChannel {
  channel: ClientChannel;
  /** undefined until sshd reports it; null when the command was killed by a signal. */
  exitCode: number | null | undefined;
}

export class SshConnection implements Connection {
  readonly host: string;
  private readonly channels: Semaphore;
  /** Every exec between acquiring a slot and settling, so a dropped connection can fail them all. */
  private readonly inFlight = new Set<(error: Error) => void>();
  private lost: UnreachableError | undefined;
  private lastError: string | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly spec: ConnectionSpec,
    private readonly client: SshClient,
    private readonly jump: SshConnection | undefined,
    options: Required<SshOptions>,
    private readonly log: Log,
  ) {
    this.host = spec.host;
    this.channels = new Semaphore(options.maxChannels);
    client.on('error', (error: Error) => {
      this.lastError = describeError(error);
    });
    client.once('close', () => this.onClosed());
  }

  /** Execs sent so far: one per round trip. */
  private execs = 0;

  get alive(): boolean {
    return !this.lost && !this.closing;
  }

  private onClosed(): void {
    if (this.closing) return;
    const reason = this.lastError ?? 'the server closed the connection';
    this.lost = new UnreachableError(
      this.host,
      `lost the SSH connection to ${this.host} (${this.spec.address}:${this.spec.port}): ${reason}`,
      'the host went down, rebooted, or the network dropped',
    );
    this.log(this.lost.message);
    this.channels.rejectAll(this.lost);
    for (const fail of [...this.inFlight]) fail(this.lost);
    void this.jump?.close();
  }

  private unusable(): Error | undefined {
    if (this.lost) return this.lost;
    if (this.closing) return new Error(`the connection to ${this.host} was closed`);
    return undefined;
  }

  /** With `become` but no password, the host's become_password (spec.become) is used. */
  async exec(command: string, execOptions: ExecOptions = {}): Promise<ExecResult> {
    const options = this.withBecomePassword(execOptions);
    const prepared = prepareCommand(command, options);
    // Only a count and a size: scripts can hold templated values, and -vv output is shared.
    this.log(`exec ${++this.execs} (${command.length}-byte script${options.become ? `, as ${options.become.user}` : ''})`);
    const downBefore = this.unusable();
    if (downBefore) throw downBefore;
    const release = await this.channels.acquire(options.signal);
    let channel: OpenedChannel;
    try {
      const down = this.unusable();
      if (down) throw down;
      channel = await this.openChannel(prepared.command, options.signal);
    } catch (error) {
      release();
      throw error;
    }
    // An aborted command's session lives on in sshd until its process is gone; its slot is only
    // free again then (or after a grace period, should the kill not take).
    const closed = new Promise<void>((resolve) => {
      const done = (): void => {
        this.inFlight.delete(done);
        resolve();
      };
      channel.channel.once('close', done);
      this.inFlight.add(done);
    });
    const result = this.runOn(channel, prepared, options);
    void result.then(() => release(), () => Promise.race([closed, sleep(10_000)]).then(release));
    return result;
  }

  private withBecomePassword(options: ExecOptions): ExecOptions {
    const password = this.spec.become?.password;
    if (!options.become || options.become.password !== undefined || password === undefined) return options;
    return { ...options, become: { ...options.become, password } };
  }

  /** Kills what an aborted command left running; over its own channel, outside the limiter. */
  private killProcessGroup(group: number, become: ExecOptions['become']): void {
    const kill =
      `kill -s TERM -- -${group} 2>/dev/null || exit 0\n` +
      `(sleep 3; kill -s KILL -- -${group}) </dev/null >/dev/null 2>&1 &`;
    const prepared = prepareCommand(kill, { become });
    this.openChannel(prepared.command, undefined).then(
      (channel) => this.runOn(channel, prepared, { timeoutMs: 15_000, become }).catch((error: Error) => this.log(`could not stop an aborted command: ${error.message}`)),
      (error: Error) => this.log(`could not stop an aborted command: ${error.message}`),
    );
  }

  /** Retries a refused channel open briefly: sshd may still be tearing down a finished session's slot. */
  private async openChannel(command: string, signal: AbortSignal | undefined): Promise<OpenedChannel> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.tracked<OpenedChannel>((resolve, reject) => {
          this.client.exec(command, (error, channel) => {
            if (error) return reject(error);
            // Now, not after an await: a fast command's exit-status can arrive in the same packet
            // batch as the exec reply, and ssh2 emits it once, to whoever listens at that moment.
            const opened: OpenedChannel = { channel, exitCode: undefined };
            channel.on('exit', (code: number | null) => {
              opened.exitCode = typeof code === 'number' ? code : null;
            });
            resolve(opened);
          });
        });
      } catch (error) {
        const down = this.unusable();
        if (down) throw down;
        if (error instanceof UnreachableError || attempt >= 3 || signal?.aborted) throw error;
        await sleep(100 * 2 ** attempt);
      }
    }
  }

  /** A promise that also rejects when the connection drops while it is pending. */
  private tracked<T>(start: (resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (error: Error): void => reject(error);
      this.inFlight.add(fail);
      start(
        (value) => {
          this.inFlight.delete(fail);
          resolve(value);
        },
        (error) => {
          this.inFlight.delete(fail);
          reject(error);
        },
      );
    });
  }

  private runOn(opened: OpenedChannel, prepared: ReturnType<typeof prepareCommand>, options: ExecOptions): Promise<ExecResult> {
    const { channel } = opened;
    let terminated = false;
    const run: Supervised = supervise(
      {
        stdin: channel,
        stdout: channel,
        stderr: channel.stderr,
        terminate: (group) => {
          terminated = true;
          // sshd honours `signal` only for non-root logins and cannot reach a command under sudo;
          // killing the announced process group covers the rest.
          if (this.alive) {
            channel.signal('TERM');
            if (group !== undefined) this.killProcessGroup(group, options.become);
          }
          channel.close();
        },
      },
      prepared,
      options,
    );
    const onDrop = (error: Error): void => run.fail(error);
    this.inFlight.add(onDrop);
    channel.once('close', () => {
      // The connection's own close arrives in the same turn as its channels'; decide after it.
      setImmediate(() => {
        this.inFlight.delete(onDrop);
        const down = this.unusable();
        if (opened.exitCode === undefined && down && !terminated) run.fail(down);
        else run.exited(opened.exitCode ?? null);
      });
    });
    return run.result;
  }

  /** A TCP stream to address:port opened by this host, used as the socket of the next hop. */
  forwardOut(address: string, port: number): Promise<Duplex> {
    const down = this.unusable();
    if (down) return Promise.reject(down);
    return this.tracked<Duplex>((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', 0, address, port, (error, stream) => (error ? reject(error) : resolve(stream)));
    });
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    const ended = this.lost
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          this.client.once('close', () => resolve());
          this.client.end();
          // A dead peer may never answer the disconnect; do not let close() hang the run.
          setTimeout(() => {
            this.client.destroy();
            resolve();
          }, 2000).unref();
        });
    this.closing = ended.then(() => this.jump?.close());
    const closed = new Error(`the connection to ${this.host} was closed`);
    for (const fail of [...this.inFlight]) fail(closed);
    this.channels.rejectAll(closed);
    return this.closing;
  }
}
