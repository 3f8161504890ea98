/**
 * The vault passwords of a run and which one opens a given vault text, as Ansible's VaultLib
 * decides: a 1.2 text names its vault id, and the password with that label is tried first, then
 * every other one (ANSIBLE_VAULT_ID_MATCH / vault_id_match: only the matching one). A 1.1 text
 * has the id `default`, the label of passwords given without one.
 *
 * The loader reads many files through many functions; the run's keyring is set once around
 * loading (withVaultKeyring, by loadProject) rather than handed through each of them, as the
 * secrets registry is one per run.
 */
import { decryptVault, parseVaultText, VaultFormatError } from './vault.js';

export interface VaultPassword {
  /** The vault id (label) it is for; `default` when given without one. */
  id: string;
  password: Buffer;
  /** How the user gave it, for messages: `--vault-id prod@pw.txt`, `ANSIBLE_VAULT_PASSWORD_FILE`. */
  given: string;
}

/** Why a vault text (or a password source) could not be read, with the text's vault id if known. */
export class VaultError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    readonly vaultId?: string,
  ) {
    super(message);
    this.name = 'VaultError';
  }

  /** `cannot decrypt WHAT (vault id 'prod'): reason`. */
  describe(what: string): string {
    return `cannot decrypt ${what}${this.vaultId === undefined ? '' : ` (vault id '${this.vaultId}')`}: ${this.message}`;
  }
}

export class VaultKeyring {
  constructor(
    readonly passwords: readonly VaultPassword[] = [],
    /** Only the password labelled as the text's vault id is tried. */
    readonly idMatch = false,
  ) {}

  /** The plaintext of `text` and the id of the password that opened it; throws VaultError. */
  decrypt(text: string): { plaintext: Buffer; id: string } {
    let envelope;
    try {
      envelope = parseVaultText(text);
    } catch (err) {
      if (!(err instanceof VaultFormatError)) throw err;
      const label = /^\$ANSIBLE_VAULT;1\.2;[^;\n]*;([^;\s]+)/.exec(text)?.[1];
      throw new VaultError(`malformed vault data: ${err.message}`, 'make it again with ansible-vault encrypt (a file) or ansible-vault encrypt_string (a !vault value), and paste the whole output', label);
    }
    const id = envelope.vaultId;
    if (this.passwords.length === 0) {
      const withId = envelope.labelled ? `--vault-id ${id}@FILE, ` : '';
      throw new VaultError('no vault password was given', `give the password it was encrypted with: ${withId}--vault-password-file FILE, --ask-vault-pass, or ANSIBLE_VAULT_PASSWORD_FILE`, id);
    }
    const matching = this.passwords.filter((p) => p.id === id);
    const candidates = this.idMatch ? matching : [...matching, ...this.passwords.filter((p) => p.id !== id)];
    for (const p of candidates) {
      try {
        const plaintext = decryptVault(envelope, p.password);
        if (plaintext) return { plaintext, id: p.id };
      } catch (err) {
        if (!(err instanceof VaultFormatError)) throw err;
        throw new VaultError(`malformed vault data: ${err.message}`, 'make it again with ansible-vault encrypt or encrypt_string', id);
      }
    }
    if (candidates.length === 0) {
      throw new VaultError(`no vault password with that label was given, and vault_id_match allows no other (given: ${this.passwords.map((p) => p.id).join(', ')})`, `add --vault-id ${id}@FILE, or turn off vault_id_match (ANSIBLE_VAULT_ID_MATCH) to try every password`, id);
    }
    const tried = candidates.map((p) => p.given).join(', ');
    throw new VaultError(`none of the vault passwords given opens it (tried ${tried})`, `give the password it was encrypted with${envelope.labelled ? ` (--vault-id ${id}@FILE)` : ''}; ansible-vault view --vault-id ${id}@FILE checks a password file`, id);
  }
}

let active = new VaultKeyring();

/** Runs `load` with `keyring` as the run's vault passwords (none: vault data is an error). */
export function withVaultKeyring<T>(keyring: VaultKeyring | undefined, load: () => T): T {
  const before = active;
  active = keyring ?? new VaultKeyring();
  try {
    return load();
  } finally {
    active = before;
  }
}

/** The keyring of the load in progress. */
export function vaultKeyring(): VaultKeyring {
  return active;
}
