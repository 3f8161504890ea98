/**
 * OpenSSH known_hosts, read and (for accept-new) appended, so tsplay trusts exactly the hosts the
 * user's own `ssh` trusts and a changed key stops the run the way it stops `ssh`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ServerHostKeyAlgorithm } from 'ssh2';
import { UnreachableError } from './types.js';

export interface KnownHostEntry {
  file: string;
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** Plain comma-separated patterns (may hold `*`, `?`, `!negation`, `[host]:port`). */
  patterns?: string[];
  /** `|1|salt|hash` entry: HMAC-SHA1(salt, name). */
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  key: Buffer;
}

export type HostKeyProblem = 'unknown' | 'changed' | 'revoked';

/** The host key could not be trusted; the host counts as unreachable, like `ssh` failing. */
export class HostKeyError extends UnreachableError {
  constructor(
    host: string,
    readonly kind: HostKeyProblem,
    readonly fingerprint: string,
    message: string,
    hint: string,
  ) {
    super(host, message, hint);
    this.name = 'HostKeyError';
  }
}

export const DEFAULT_KNOWN_HOSTS = join(homedir(), '.ssh', 'known_hosts');
const GLOBAL_KNOWN_HOSTS = '/etc/ssh/ssh_known_hosts';

/** The name OpenSSH files a host under: bare for port 22, `[addr]:port` otherwise. */
export function knownHostsName(address: string, port: number): string {
  const name = address.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** OpenSSH's `SHA256:<base64 without padding>` of the public key blob. */
export function fingerprintSha256(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The algorithm name embedded at the start of an SSH public key blob. */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return '';
  const length = key.readUInt32BE(0);
  return key.subarray(4, 4 + length).toString('latin1');
}

export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    const first = fields[0] ?? ''; // split always yields at least one field
    if (first === '' || first.startsWith('#')) return;
    let marker: KnownHostEntry['marker'];
    if (first.startsWith('@')) {
      const name = fields.shift();
      if (name === '@revoked') marker = 'revoked';
      else if (name === '@cert-authority') marker = 'cert-authority';
      else return; // unknown marker: OpenSSH ignores the line too
    }
    const [hosts, keyType, base64] = fields;
    if (!hosts || !keyType || !base64) return;
    const key = Buffer.from(base64, 'base64');
    // A corrupt or truncated key must not match anything, and must not abort reading the rest.
    if (keyTypeOf(key) !== keyType) return;
    const entry: KnownHostEntry = { file, line: index + 1, marker, keyType, key };
    if (hosts.startsWith('|1|')) {
      const [, , salt, hash] = hosts.split('|');
      if (!salt || !hash) return;
      entry.hashed = { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
    } else {
      entry.patterns = hosts.split(',').filter((p) => p !== '');
    }
    entries.push(entry);
  });
  return entries;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const source = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(name);
}

/** OpenSSH semantics: any matching `!pattern` vetoes the line, otherwise one positive match suffices. */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  if (entry.hashed) {
    const digest = createHmac('sha1', entry.hashed.salt).update(name).digest();
    return digest.length === entry.hashed.hash.length && timingSafeEqual(digest, entry.hashed.hash);
  }
  let matched = false;
  for (const pattern of entry.patterns ?? []) {
    if (pattern.startsWith('!')) {
      if (wildcardMatch(pattern.slice(1), name)) return false;
    } else if (wildcardMatch(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

export type HostKeyVerdict =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'changed'; entry: KnownHostEntry }
  | { status: 'unknown' };

export function checkHostKey(entries: KnownHostEntry[], hostName: string, key: Buffer): HostKeyVerdict {
  // OpenSSH lowercases names before lookup, and hashed entries were made from lowercased names.
  const name = hostName.toLowerCase();
  const matching = entries.filter((e) => e.marker !== 'cert-authority' && entryMatches(e, name));
  const revoked = matching.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = matching.filter((e) => e.marker === undefined);
  const same = plain.find((e) => e.key.equals(key));
  if (same) return { status: 'known', entry: same };
  // A host with any known key is known: a key of another type is a changed key too (a
  // man-in-the-middle offers only the type it has), never a new one to accept. The entry of the
  // same type, if any, is the one to name.
  const type = keyTypeOf(key);
  const changed = plain.find((e) => e.keyType === type) ?? plain[0];
  if (changed) return { status: 'changed', entry: changed };
  return { status: 'unknown' };
}

function readEntries(file: string): KnownHostEntry[] {
  try {
    return parseKnownHosts(readFileSync(file, 'utf8'), file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Appends with O_APPEND in one write, so parallel connections accepting new hosts do not interleave lines. */
export async function appendKnownHost(file: string, name: string, key: Buffer): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const current = await readFile(file);
    if (current.length > 0 && current[current.length - 1] !== 0x0a) prefix = '\n';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await appendFile(file, `${prefix}${name} ${keyTypeOf(key)} ${key.toString('base64')}\n`, { mode: 0o600 });
}

// ssh2's default order; kept here so known key types can be moved to the front.
const HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

function algorithmsFor(keyType: string): ServerHostKeyAlgorithm[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return HOST_KEY_ALGORITHMS.filter((a) => a === keyType);
}

export interface HostVerifierOptions {
  host: string; // inventory name, for messages
  address: string;
  port: number;
  knownHostsFile?: string;
  acceptNew: boolean;
  log?: (line: string) => void;
}

export interface HostVerification {
  /** For ssh2's `hostVerifier` (the async form: it receives the raw key blob). */
  hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => void;
  /**
   * Host key algorithms with the types already known for this host first, so the server shows a
   * key we can check rather than another type we would treat as new (what OpenSSH does too).
   */
  serverHostKey: ServerHostKeyAlgorithm[];
  /** Why the last key was refused; ssh2 itself only reports "Host denied". */
  failure(): HostKeyError | undefined;
}

export function createHostVerifier(options: HostVerifierOptions): HostVerification {
  const file = options.knownHostsFile ?? DEFAULT_KNOWN_HOSTS;
  const entries = readEntries(file);
  if (options.knownHostsFile === undefined) entries.push(...readEntries(GLOBAL_KNOWN_HOSTS));
  const name = knownHostsName(options.address, options.port);
  const label = options.host === options.address ? name : `${options.host} (${name})`;
  const known = entries.filter((e) => e.marker === undefined && entryMatches(e, name));
  const preferred = [...new Set(known.flatMap((e) => algorithmsFor(e.keyType)))];
  const serverHostKey = [...preferred, ...HOST_KEY_ALGORITHMS.filter((a) => !preferred.includes(a))];
  let failure: HostKeyError | undefined;

  const hostVerifier = (key: Buffer, verify: (valid: boolean) => void): void => {
    const verdict = checkHostKey(entries, name, key);
    const type = keyTypeOf(key);
    const fingerprint = fingerprintSha256(key);
    if (verdict.status === 'known') {
      verify(true);
      return;
    }
    if (verdict.status === 'revoked') {
      failure = new HostKeyError(
        options.host, 'revoked', fingerprint,
        `host key for ${label} is REVOKED (${type} ${fingerprint}, ${verdict.entry.file}:${verdict.entry.line}); refusing to connect`,
        'the host presents a key that was marked @revoked; find out why before trusting this host again',
      );
      verify(false);
      return;
    }
    if (verdict.status === 'changed') {
      const old = verdict.entry;
      failure = new HostKeyError(
        options.host, 'changed', fingerprint,
        `WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for ${label}! ` +
          `${old.file}:${old.line} has ${old.keyType} ${fingerprintSha256(old.key)}, the host now presents ${old.keyType === type ? '' : `only a key of another type, ${type} `}${fingerprint}. ` +
          'Someone could be eavesdropping (man-in-the-middle), or the host was reinstalled. Refusing to connect.',
        `if the change is expected, remove the old key (ssh-keygen -R '${name}' -f ${old.file}) and connect again`,
      );
      verify(false);
      return;
    }
    if (!options.acceptNew) {
      failure = new HostKeyError(
        options.host, 'unknown', fingerprint,
        `host key for ${label} is not known: ${type} ${fingerprint} is not in ${file}`,
        `check the fingerprint against the host, then re-run with --accept-new-host-keys to add it to ${file}`,
      );
      verify(false);
      return;
    }
    appendKnownHost(file, name, key).then(
      () => {
        options.log?.(`added host key ${type} ${fingerprint} for ${label} to ${file}`);
        entries.push({ file, line: 0, keyType: type, key, patterns: [name] });
        verify(true);
      },
      (error: Error) => {
        failure = new HostKeyError(
          options.host, 'unknown', fingerprint,
          `could not record the new host key ${type} ${fingerprint} for ${label} in ${file}: ${error.message}`,
          `make ${file} writable, or add the key yourself`,
        );
        verify(false);
      },
    );
  };
  return { hostVerifier, serverHostKey, failure: () => failure };
}
