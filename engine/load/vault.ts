/**
 * Ansible Vault's format and crypto (lib/ansible/parsing/vault/__init__.py, VaultAES256), with
 * Node's crypto only, so files made by `ansible-vault` load unchanged:
 *
 *   $ANSIBLE_VAULT;1.1;AES256              (1.2 adds ;LABEL, the vault id)
 *   hex( hex(salt) \n hex(hmac) \n hex(ciphertext) ), in lines of 80 characters
 *
 * PBKDF2-HMAC-SHA256 (10000 iterations) of the password and the 32-byte salt gives 80 bytes:
 * the AES-256 key, the HMAC-SHA256 key and the CTR IV. The HMAC covers the ciphertext; the
 * plaintext is PKCS7-padded to the AES block. Which password to try is vault-passwords.ts's
 * business; this file only knows one password and one text.
 */
import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';

export const VAULT_HEADER = '$ANSIBLE_VAULT';
/** Ansible's label for a password given without one, and the id of a 1.1 text (no label in it). */
export const DEFAULT_VAULT_ID = 'default';

const ITERATIONS = 10000;
const KEY_LENGTH = 32;
const IV_LENGTH = 16;
const BLOCK = 16;
const LINE = 80;

/** The text is vault data, as Ansible's is_encrypted decides: it starts with the header. */
export function isVaultText(text: string): boolean {
  return text.startsWith(VAULT_HEADER);
}

/** A regular file that starts with the vault header (read no further: it may be large or binary). */
export function isVaultFile(file: string): boolean {
  if (!statSync(file).isFile()) return false;
  const head = Buffer.alloc(VAULT_HEADER.length);
  const fd = openSync(file, 'r');
  try {
    return readSync(fd, head, 0, head.length, 0) === head.length && head.toString('latin1') === VAULT_HEADER;
  } finally {
    closeSync(fd);
  }
}

/** Malformed vault data (not a wrong password: that is decryptVault returning undefined). */
export class VaultFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VaultFormatError';
  }
}

export interface VaultEnvelope {
  version: string;
  /** The label of a 1.2 text; DEFAULT_VAULT_ID for 1.1. */
  vaultId: string;
  /** The id was written in the header (1.2), not assumed. */
  labelled: boolean;
  salt: Buffer;
  hmac: Buffer;
  ciphertext: Buffer;
}

/** Reads the header and the two hex layers; throws VaultFormatError saying what is wrong. */
export function parseVaultText(text: string): VaultEnvelope {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const header = lines[0]!.split(';').map((p) => p.trim());
  if (header[0] !== VAULT_HEADER || header.length < 3) throw new VaultFormatError(`the header is '${lines[0]}', expected '${VAULT_HEADER};1.1;AES256' or '${VAULT_HEADER};1.2;AES256;LABEL'`);
  const [, version, cipher, label] = header;
  if (version !== '1.1' && version !== '1.2') throw new VaultFormatError(`vault format version ${version} is not supported (1.1 and 1.2 are)`);
  if (cipher !== 'AES256') throw new VaultFormatError(`cipher ${cipher} is not supported (Ansible writes and reads only AES256)`);
  const outer = unhex(lines.slice(1).join(''), 'the vault data').toString('latin1');
  const parts = outer.split('\n');
  if (parts.length !== 3) throw new VaultFormatError(`the vault data has ${parts.length} part(s), expected 3 (salt, HMAC, ciphertext)`);
  const ciphertext = unhex(parts[2]!, 'the ciphertext');
  if (ciphertext.length === 0 || ciphertext.length % BLOCK !== 0) throw new VaultFormatError(`the ciphertext is ${ciphertext.length} bytes, not a whole number of ${BLOCK}-byte blocks`);
  return {
    version,
    vaultId: label || DEFAULT_VAULT_ID,
    labelled: !!label,
    salt: unhex(parts[0]!, 'the salt'),
    hmac: unhex(parts[1]!, 'the HMAC'),
    ciphertext,
  };
}

/** The plaintext bytes, or undefined when the password does not fit (the HMAC differs). */
export function decryptVault(envelope: VaultEnvelope, password: Buffer): Buffer | undefined {
  const { cipherKey, hmacKey, iv } = deriveKeys(password, envelope.salt);
  const expected = createHmac('sha256', hmacKey).update(envelope.ciphertext).digest();
  // Constant time: how much of a guessed HMAC matched must not show in how long the check took.
  if (expected.length !== envelope.hmac.length || !timingSafeEqual(expected, envelope.hmac)) return undefined;
  const decipher = createDecipheriv('aes-256-ctr', cipherKey, iv);
  const padded = Buffer.concat([decipher.update(envelope.ciphertext), decipher.final()]);
  return unpad(padded);
}

/**
 * The inverse, byte for byte what `ansible-vault encrypt` writes (1.2 when labelled). tsplay
 * never writes vault files; the tests use this to check the format both ways against
 * ansible-vault (it must decrypt what this makes).
 */
export function encryptVault(plaintext: Buffer, password: Buffer, vaultId?: string, salt: Buffer = randomBytes(32)): string {
  const { cipherKey, hmacKey, iv } = deriveKeys(password, salt);
  const pad = BLOCK - (plaintext.length % BLOCK);
  const cipher = createCipheriv('aes-256-ctr', cipherKey, iv);
  const ciphertext = Buffer.concat([cipher.update(Buffer.concat([plaintext, Buffer.alloc(pad, pad)])), cipher.final()]);
  const hmac = createHmac('sha256', hmacKey).update(ciphertext).digest();
  const body = Buffer.from([salt.toString('hex'), hmac.toString('hex'), ciphertext.toString('hex')].join('\n'), 'latin1').toString('hex');
  const labelled = vaultId !== undefined && vaultId !== DEFAULT_VAULT_ID;
  const header = labelled ? `${VAULT_HEADER};1.2;AES256;${vaultId}` : `${VAULT_HEADER};1.1;AES256`;
  const lines = [header];
  for (let i = 0; i < body.length; i += LINE) lines.push(body.slice(i, i + LINE));
  return lines.join('\n') + '\n';
}

function deriveKeys(password: Buffer, salt: Buffer): { cipherKey: Buffer; hmacKey: Buffer; iv: Buffer } {
  const derived = pbkdf2Sync(password, salt, ITERATIONS, 2 * KEY_LENGTH + IV_LENGTH, 'sha256');
  return { cipherKey: derived.subarray(0, KEY_LENGTH), hmacKey: derived.subarray(KEY_LENGTH, 2 * KEY_LENGTH), iv: derived.subarray(2 * KEY_LENGTH) };
}

function unpad(padded: Buffer): Buffer {
  const n = padded[padded.length - 1] ?? 0;
  if (n < 1 || n > BLOCK || n > padded.length || !padded.subarray(padded.length - n).every((b) => b === n)) throw new VaultFormatError('the decrypted data has invalid PKCS7 padding');
  return padded.subarray(0, padded.length - n);
}

function unhex(text: string, what: string): Buffer {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    const bad = text.search(/[^0-9a-fA-F]/);
    throw new VaultFormatError(`${what} is not hexadecimal${bad >= 0 ? ` (character ${JSON.stringify(text[bad])} at offset ${bad})` : ' (odd number of digits)'}`);
  }
  return Buffer.from(text, 'hex');
}
