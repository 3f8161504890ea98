/**
 * `connection: local`: commands run on the controller through the same prepare/supervise path
 * as SSH, so become (sudo prompt answered only when sudo asks, wrong password detected), env,
 * abort and timeout behave identically over both transports.
 */
import { spawn } from 'node:child_process';
import { prepareCommand } from './shell.js';
import { supervise } from './supervise.js';
import type { Connection, ExecOptions, ExecResult } from './types.js';

export class LocalConnection implements Connection {
  constructor(readonly host: string) {}

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    // As root, becoming root needs no sudo (and a minimal controller may have none).
    const options = opts.become && opts.become.user === 'root' && process.getuid?.() === 0 ? { ...opts, become: undefined } : opts;
    const prepared = prepareCommand(command, options);
    const child = spawn('/bin/sh', ['-c', prepared.command], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const run = supervise(
      {
        stdin: child.stdin,
        stdout: child.stdout,
        stderr: child.stderr,
        terminate: (group) => {
          // detached: the child leads its own process group, so the whole command tree goes.
          try {
            process.kill(-(group ?? child.pid!), 'SIGTERM');
          } catch {
            child.kill('SIGTERM');
          }
        },
      },
      prepared,
      options,
    );
    child.on('error', (err) => run.fail(err));
    child.on('close', (code) => run.exited(code));
    return run.result;
  }

  async close(): Promise<void> {}
}
