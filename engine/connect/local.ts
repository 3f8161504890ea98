/** `connection: local`: commands run on the controller through /bin/sh, same contract as SSH. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Connection, ExecOptions, ExecResult } from './types.js';

export class LocalConnection implements Connection {
  constructor(readonly host: string) {}

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const argv = becomeArgv(command, opts);
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...opts.env }, signal: opts.signal, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs) : undefined;
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout: Buffer.concat(out), stderr: stripPrompt(Buffer.concat(err)) });
      });
      child.stdin.on('error', () => undefined); // the command may exit without reading stdin
      if (opts.become?.password && argv[0] === 'sudo') child.stdin.write(`${opts.become.password}\n`);
      const input = opts.stdin;
      if (input === undefined) child.stdin.end();
      else if (typeof input === 'string' || Buffer.isBuffer(input)) child.stdin.end(input);
      else input.pipe(child.stdin);
    });
  }

  async close(): Promise<void> {}
}

const PROMPT = `[tsplay-sudo-${randomBytes(4).toString('hex')}]`;

function becomeArgv(command: string, opts: ExecOptions): string[] {
  const become = opts.become;
  const isRoot = process.getuid?.() === 0;
  if (!become || (isRoot && become.user === 'root')) return ['/bin/sh', '-c', command];
  const flags = become.password ? ['-S', '-p', PROMPT] : ['-n'];
  return ['sudo', '-H', ...flags, '-u', become.user, '--', '/bin/sh', '-c', command];
}

function stripPrompt(buf: Buffer): Buffer {
  const text = buf.toString('utf8');
  return text.includes(PROMPT) ? Buffer.from(text.split(PROMPT).join(''), 'utf8') : buf;
}

