/**
 * -k / -K: a password read before the run, as ansible-playbook asks for it. On a terminal the
 * typing is not echoed; from a pipe (scripts, CI, tests) each prompt takes the next line of stdin.
 * The caller registers the answer as a secret before anything else is printed.
 */
import { createInterface, type Interface } from 'node:readline';
import { Writable } from 'node:stream';
import { EXIT } from '../errors.js';

let piped: AsyncIterator<string> | undefined;

export async function askPassword(prompt: string): Promise<string | undefined> {
  if (!process.stdin.isTTY) {
    process.stderr.write(prompt);
    piped ??= createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
    const next = await piped.next();
    process.stderr.write('\n');
    return next.done ? undefined : next.value;
  }
  // readline edits the line (backspace, ^U) while this output swallows the echo.
  const silent = new Writable({ write: (_chunk, _enc, done) => done() });
  // The terminal is in raw mode (no echo) from here: only now is the prompt shown, so nothing
  // typed as soon as it shows is echoed.
  const rl: Interface = createInterface({ input: process.stdin, output: silent, terminal: true });
  process.stderr.write(prompt);
  try {
    return await new Promise<string | undefined>((resolve) => {
      rl.on('line', resolve);
      rl.on('close', () => resolve(undefined));
      rl.on('SIGINT', () => {
        process.stderr.write('\n');
        process.exit(EXIT.interrupted);
      });
    });
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/** Lets the process exit when no more prompts come (the piped reader holds stdin open). */
export function donePrompting(): void {
  if (piped) void piped.return?.();
  piped = undefined;
}
