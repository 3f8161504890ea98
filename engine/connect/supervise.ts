/**
 * Drives one running command, whatever carries it (an SSH channel or a child process): feeds stdin,
 * answers sudo's prompt, collects output, enforces abort and timeout. Transports only adapt their
 * streams to ProcessIo and report the exit.
 */
import type { Readable, Writable } from 'node:stream';
import type { PreparedCommand } from './shell.js';
import type { ExecOptions, ExecResult } from './types.js';

export interface ProcessIo {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /**
   * Stop the command: called at most once, on abort/timeout/failure. `processGroup` is the
   * target shell's process group once it announced itself (undefined before that).
   */
  terminate(processGroup: number | undefined): void;
}

/** sudo refused: wrong or missing password, user not allowed, no sudo. Never carries the password. */
export class BecomeError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'BecomeError';
  }
}

export class ExecTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`command timed out after ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

export interface Supervised {
  result: Promise<ExecResult>;
  /** The transport saw the process end and all its output; `code` null means killed by a signal. */
  exited(code: number | null): void;
  /** Settle with an error from outside (the connection dropped); first settlement wins. */
  fail(error: Error): void;
}

export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error(typeof reason === 'string' ? reason : 'command aborted');
  error.name = 'AbortError';
  return error;
}

export function supervise(io: ProcessIo, prepared: PreparedCommand, options: ExecOptions = {}): Supervised {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const become = prepared.become;
  const marker = Buffer.from(`${prepared.marker} `, 'latin1');
  // Until the target shell announces itself, stderr is the login shell's and sudo's (lecture,
  // prompt, "Sorry, try again") and is held here.
  let early: Buffer = Buffer.alloc(0);
  let started = false;
  let processGroup: number | undefined;
  let promptsAnswered = 0;
  let settled = false;
  let terminated = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveResult!: (r: ExecResult) => void;
  let rejectResult!: (e: Error) => void;
  const result = new Promise<ExecResult>((resolve, reject) => {
    resolveResult = resolve;
    rejectResult = reject;
  });
  const stdinSource = options.stdin;

  const cleanup = (): void => {
    settled = true;
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    if (stdinSource && typeof stdinSource !== 'string' && !Buffer.isBuffer(stdinSource)) {
      stdinSource.unpipe(io.stdin);
    }
  };
  const fail = (error: Error, stop = true): void => {
    if (settled) return;
    cleanup();
    if (stop && !terminated) {
      terminated = true;
      io.terminate(processGroup);
    }
    rejectResult(error);
  };
  function onAbort(): void {
    if (options.signal) fail(abortReason(options.signal));
  }

  // A command that exits without reading stdin makes our writes fail (EPIPE); its exit status is what matters.
  io.stdin.on('error', () => {});
  const feedStdin = (): void => {
    if (prepared.preamble) io.stdin.write(prepared.preamble);
    if (stdinSource === undefined) {
      io.stdin.end();
    } else if (typeof stdinSource === 'string' || Buffer.isBuffer(stdinSource)) {
      io.stdin.end(stdinSource);
    } else {
      stdinSource.once('error', (e: Error) => fail(new Error(`reading the command's stdin failed: ${e.message}`)));
      stdinSource.pipe(io.stdin);
    }
  };

  const answerSudo = (text: string): boolean => {
    if (!become) return true;
    const prompts = text.split(become.prompt).length - 1;
    if (prompts <= promptsAnswered) return true;
    if (promptsAnswered > 0 || become.password === undefined) {
      fail(new BecomeError(`sudo: incorrect become password for ${become.user}`, 'check become_password (ansible_become_password) for this host'));
      return false;
    }
    promptsAnswered = prompts;
    io.stdin.write(`${become.password}\n`);
    return true;
  };

  const beforeStart = (chunk: Buffer): void => {
    early = Buffer.concat([early, chunk]);
    if (!answerSudo(early.toString('latin1'))) return;
    const at = early.indexOf(marker);
    if (at < 0) return;
    const end = early.indexOf(0x0a, at);
    if (end < 0) return;
    started = true;
    const group = Number(early.subarray(at + marker.length, end).toString('latin1'));
    processGroup = Number.isInteger(group) && group > 1 ? group : undefined;
    // Before the marker: sudo's chatter when becoming (dropped), else the login shell's own stderr (kept).
    if (!become && at > 0) stderr.push(early.subarray(0, at));
    if (end + 1 < early.length) stderr.push(early.subarray(end + 1));
    early = Buffer.alloc(0);
    if (become) feedStdin();
  };

  io.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  io.stderr.on('data', (chunk: Buffer) => {
    if (started) stderr.push(chunk);
    else beforeStart(chunk);
  });

  const exited = (code: number | null): void => {
    if (settled) return;
    if (!started && become) {
      fail(sudoFailure(early.toString('utf8'), become.prompt, become.user, code), false);
      return;
    }
    if (!started) stderr.unshift(early);
    cleanup();
    resolveResult({ code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) });
  };

  if (options.signal?.aborted) {
    fail(abortReason(options.signal));
  } else {
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => fail(new ExecTimeoutError(options.timeoutMs ?? 0)), options.timeoutMs);
    }
    // Without sudo nothing reads stdin before the command, so it can flow at once.
    if (!become) feedStdin();
  }
  return { result, exited, fail: (e) => fail(e) };
}

function sudoFailure(output: string, prompt: string, user: string, code: number | null): BecomeError {
  const said = output.split(prompt).join('').replace(/\s+$/, '').split('\n').filter((l) => l.trim() !== '');
  const last = said.at(-1) ?? `exit status ${code}`;
  if (/a password is required/.test(last)) {
    return new BecomeError(
      `sudo: a password is required to become ${user}`,
      'set become_password (ansible_become_password) or allow NOPASSWD sudo for this user',
    );
  }
  if (/not found/.test(last) && code === 127) {
    return new BecomeError(`become failed: sudo is not installed on the target (${last})`);
  }
  return new BecomeError(`become ${user} failed: ${last}`);
}
