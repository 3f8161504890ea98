/**
 * Shell words: shellQuote and its inverse shellSplit (the only ones). And prepareCommand: turns
 * (command, ExecOptions) into the one string a transport runs, plus the bytes that must reach the
 * command's stdin before the caller's own. Shared by the SSH and local transports so `become` and
 * `env` behave identically over both.
 */
import { randomBytes } from 'node:crypto';
import type { BecomeOptions, ExecOptions } from './types.js';

/** POSIX single-quote quoting: safe for any byte string except NUL. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export class ShellSplitError extends Error {
  constructor(
    message: string,
    readonly column: number, // 0-based offset in the text
  ) {
    super(message);
    this.name = 'ShellSplitError';
  }
}

/**
 * Python's shlex.split(text, comments) in POSIX mode, the inverse of shellQuote: how Ansible splits
 * INI inventory host lines (comments: true) and ssh argument strings (comments: false). Throws
 * ShellSplitError on an open quote or a trailing backslash.
 */
export function shellSplit(text: string, options: { comments: boolean }): string[] {
  const tokens: string[] = [];
  let token = '';
  let quoted = false;
  let state: ' ' | 'a' | '"' | "'" = ' ';
  let quoteStart = 0;
  const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
  const emit = (): void => {
    if (token || quoted) tokens.push(token);
    token = '';
    quoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (state === ' ' || state === 'a') {
      if (isSpace(c)) {
        if (state === 'a') emit();
        state = ' ';
      } else if (c === '#' && options.comments) {
        break; // a comment runs to the end of the line, also inside a word
      } else if (c === "'" || c === '"') {
        state = c;
        quoteStart = i;
      } else if (c === '\\') {
        if (i + 1 >= text.length) throw new ShellSplitError('no character after a backslash', i);
        token += text[++i];
        state = 'a';
      } else {
        token += c;
        state = 'a';
      }
    } else if (c === state) {
      quoted = true;
      state = 'a';
    } else if (c === '\\' && state === '"') {
      if (i + 1 >= text.length) throw new ShellSplitError('no character after a backslash', i);
      const next = text[++i]!;
      token += next === '"' || next === '\\' ? next : `\\${next}`;
    } else {
      token += c;
    }
  }
  if (state === '"' || state === "'") throw new ShellSplitError(`no closing ${state} quote`, quoteStart);
  emit();
  return tokens;
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
  const entries = Object.entries(env);
  if (entries.length === 0) return undefined;
  const lines = entries.map(([name, value]) => {
    if (!ENV_NAME.test(name)) throw new Error(`invalid environment variable name: ${JSON.stringify(name)}`);
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
