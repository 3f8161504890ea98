/**
 * Which credentials to offer, in OpenSSH's order: agent keys, key files, then password (also
 * answered over keyboard-interactive, which PAM-based sshd setups use instead of `password`).
 */
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthHandlerMiddleware } from 'ssh2';
import { UnreachableError, type ConnectionSpec } from './types.js';

const { utils } = ssh2;

/** ssh refused our credentials; not retried, since retrying cannot change the answer. */
export class AuthenticationError extends UnreachableError {
  constructor(host: string, message: string, hint?: string) {
    super(host, message, hint);
    this.name = 'AuthenticationError';
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(String(code)) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

export interface Auth {
  methods: AnyAuthMethod[];
  tried: string[];
}

/** Keys are read and decrypted up front so a wrong passphrase is named as such, not as "auth failed". */
export function planAuth(spec: ConnectionSpec, username: string, log: (line: string) => void): Auth {
  const methods: AnyAuthMethod[] = [];
  const tried: string[] = [];
  if (spec.agentSocket) {
    methods.push({ type: 'agent', username, agent: spec.agentSocket });
    tried.push('ssh-agent');
  }
  const files = [...new Set([spec.privateKeyFile, ...(spec.identityFiles ?? [])].filter((f): f is string => !!f))];
  for (const file of files) {
    const explicit = file === spec.privateKeyFile;
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (error) {
      if (explicit) throw new UnreachableError(spec.host, `cannot read private key ${file}: ${describeError(error)}`, 'check private_key (ansible_ssh_private_key_file)');
      continue;
    }
    const parsed = utils.parseKey(data, spec.privateKeyPassphrase);
    if (parsed instanceof Error) {
      const message = `cannot use private key ${file}: ${parsed.message}`;
      if (explicit) throw new UnreachableError(spec.host, message, 'check private_key_passphrase for an encrypted key');
      log(`${message}; skipping it`);
      continue;
    }
    methods.push({ type: 'publickey', username, key: data, passphrase: spec.privateKeyPassphrase });
    tried.push(`key ${file}`);
  }
  if (spec.password !== undefined) {
    const password = spec.password;
    methods.push({ type: 'password', username, password });
    methods.push({
      type: 'keyboard-interactive',
      username,
      prompt: (_name, _instructions, _lang, prompts, finish) => finish(prompts.map(() => password)),
    });
    tried.push('password');
  }
  return { methods, tried };
}

/** Offers the methods in order, skipping those the server has said it does not accept. */
export function authHandler(methods: AnyAuthMethod[]): AuthHandlerMiddleware {
  let next = 0;
  // authsLeft is null on the first call, before the server said anything.
  return (authsLeft: string[] | null, _partial, callback) => {
    while (next < methods.length) {
      const method = methods[next++]!;
      const wire = method.type === 'agent' ? 'publickey' : method.type;
      if (!authsLeft || authsLeft.includes(wire)) {
        callback(method);
        return;
      }
    }
    // ssh2 reads `false` as "no methods left"; its typings leave that out.
    callback(false as unknown as AnyAuthMethod);
  };
}

