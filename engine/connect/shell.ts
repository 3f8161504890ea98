/**
 * Turns (command, ExecOptions) into the one string a transport runs, plus the bytes that must reach
 * the command's stdin before the caller's own. Shared by the SSH and local transports so `become`
 * and `env` behave identically over both.
 */
import { randomBytes } from 'node:crypto';
import type { BecomeOptions, ExecOptions } from './types.js';

/** POSIX single-quote quoting: safe for any byte string except NUL. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface BecomePlan {
  /** What sudo prints on stderr when it wants the password; random so no command output can fake it. */
  prompt: string;
  password?: string;
  user: string;
}

export interface PreparedCommand {
  /** Handed to the transport; it is run by a shell (the login shell over SSH, /bin/sh locally). */
  command: string;
  /**
   * The target shell's first stderr line is `<marker> <process group>`: it says the command started
   * (past sudo, when becoming) and which process group to kill on abort. Random per exec.
   */
  marker: string;
  /** Exported variables, read from stdin by the target shell before the caller's stdin. */
  preamble?: Buffer;
  become?: BecomePlan;
}

/** What an environment variable's name may be (exported by the target's shell). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Env values travel over stdin, not on the command line, because argv is world-readable in
 * /proc on the target and callers pass secrets (tokens) this way. `dd bs=1` reads exactly the
 * preamble and leaves the rest of stdin to the command; `head -c` would read ahead and lose it.
 */
function envPreamble(env: Record<string, string>): { preamble: Buffer; reader: string } | undefined {
  const names = Object.keys(env);
  if (names.length === 0) return undefined;
  const lines = names.map((name) => {
    if (!ENV_NAME.test(name)) throw new Error(`invalid environment variable name: ${JSON.stringify(name)}`);
    const value = env[name];
    if (value.includes('\0')) throw new Error(`environment variable ${name} contains a NUL byte`);
    return `export ${name}=${shellQuote(value)}\n`;
  });
  const preamble = Buffer.from(lines.join(''), 'utf8');
  const reader = `eval "$(dd bs=1 count=${preamble.length} 2>/dev/null)" || exit 125`;
  return { preamble, reader };
}

export function prepareCommand(command: string, options: ExecOptions = {}): PreparedCommand {
  const token = randomBytes(12).toString('hex');
  const marker = `TSPLAY-STARTED-${token}`;
  const env = options.env ? envPreamble(options.env) : undefined;
  // Field 5 of /proc/$$/stat is the process group: sshd refuses `signal` requests for root
  // logins and cannot signal a command under sudo, so abort kills this group itself.
  const announce = [
    `read -r _ _ _ _ __tsplay_pg _ 2>/dev/null </proc/$$/stat || __tsplay_pg=`,
    `printf '%s %s\\n' ${marker} "$__tsplay_pg" >&2; unset __tsplay_pg`,
  ];
  // Newlines, not `;`, so a caller's command that starts with a comment or ends with `&` keeps its meaning.
  const script = [...announce, ...(env ? [env.reader] : []), command].join('\n');
  if (!options.become) {
    return { command: `/bin/sh -c ${shellQuote(script)}`, marker, preamble: env?.preamble };
  }
  const become = planBecome(options.become, token);
  const user = shellQuote(become.user);
  // -n without a password: sudo fails at once instead of waiting for a password nobody will type.
  const sudo = become.password !== undefined
    ? `sudo -H -S -p ${shellQuote(become.prompt)} -u ${user}`
    : `sudo -H -n -u ${user}`;
  return { command: `${sudo} -- /bin/sh -c ${shellQuote(script)}`, marker, preamble: env?.preamble, become };
}

function planBecome(become: BecomeOptions, token: string): BecomePlan {
  const user = become.user || 'root';
  if (become.password !== undefined && /[\r\n]/.test(become.password)) {
    // sudo reads one line; a newline would leak the rest of the password into the command's stdin.
    throw new Error('become password must not contain a newline');
  }
  // No `%`: sudo expands %-escapes in prompts.
  return { prompt: `[tsplay-sudo-${token}] password: `, password: become.password, user };
}
