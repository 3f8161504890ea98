/**
 * Where a run's vault passwords come from, as ansible-playbook sets them up (lib/ansible/cli/
 * __init__.py setup_vault_secrets, parsing/vault get_file_vault_secret): the vault_identity_list
 * setting, then each --vault-id [label@]source, then each --vault-password-file and the
 * vault_password_file setting (labelled `default`), then --ask-vault-pass. A source is a file
 * (its content, stripped, is the password), an executable (run it: its stdout is the password; a
 * `NAME-client` script is asked `--vault-id LABEL`), or `prompt` (asked on the terminal, not
 * echoed). All are read before anything is loaded, as Ansible does.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, extname, resolve } from 'node:path';
import { Diagnostics, DiagnosticsError } from '../errors.js';
import { secrets } from '../secrets.js';
import { DEFAULT_VAULT_ID, isVaultText } from './vault.js';
import { VaultError, VaultKeyring, type VaultPassword } from './vault-keyring.js';

/** The command line's vault options (repeatable ones in the order given). */
export interface VaultFlags {
  vaultId?: string[];
  vaultPasswordFile?: string[];
  askVaultPass?: boolean;
}

/** A setting and where it was set, for messages: `ANSIBLE_VAULT_PASSWORD_FILE`, `ansible.cfg:7`. */
export interface VaultSetting<T> {
  value: T;
  from: string;
}

/**
 * The settings Ansible reads from ansible.cfg ([defaults] vault_password_file, vault_identity_list,
 * vault_id_match) or the environment. Paths as given, relative to the current directory: resolve
 * a path from ansible.cfg against the file's directory first.
 */
export interface VaultSettings {
  passwordFile?: VaultSetting<string>;
  identityList?: VaultSetting<string[]>;
  idMatch?: VaultSetting<boolean>;
}

/** ANSIBLE_VAULT_PASSWORD_FILE, ANSIBLE_VAULT_IDENTITY_LIST (comma separated) and ANSIBLE_VAULT_ID_MATCH. */
export function vaultSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): VaultSettings {
  const out: VaultSettings = {};
  if (env.ANSIBLE_VAULT_PASSWORD_FILE) out.passwordFile = { value: env.ANSIBLE_VAULT_PASSWORD_FILE, from: 'ANSIBLE_VAULT_PASSWORD_FILE' };
  const list = (env.ANSIBLE_VAULT_IDENTITY_LIST ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length > 0) out.identityList = { value: list, from: 'ANSIBLE_VAULT_IDENTITY_LIST' };
  if (env.ANSIBLE_VAULT_ID_MATCH) out.idMatch = { value: /^(1|true|yes|on|y|t)$/i.test(env.ANSIBLE_VAULT_ID_MATCH.trim()), from: 'ANSIBLE_VAULT_ID_MATCH' };
  return out;
}

export interface VaultPasswordSource {
  id: string;
  /** A file path (relative to the current directory), or undefined for a prompt. */
  file?: string;
  /** The prompt's question, for a prompt. */
  question?: string;
  given: string;
}

/** The sources in the order Ansible tries them. */
export function vaultPasswordSources(flags: VaultFlags, settings: VaultSettings = {}): VaultPasswordSource[] {
  const out: VaultPasswordSource[] = [];
  for (const slug of settings.identityList?.value ?? []) out.push(sourceOf(slug, `${settings.identityList!.from} ${slug}`));
  for (const slug of flags.vaultId ?? []) out.push(sourceOf(slug, `--vault-id ${slug}`));
  for (const file of flags.vaultPasswordFile ?? []) out.push({ id: DEFAULT_VAULT_ID, file, given: `--vault-password-file ${file}` });
  if (settings.passwordFile) out.push({ id: DEFAULT_VAULT_ID, file: settings.passwordFile.value, given: `${settings.passwordFile.from} ${settings.passwordFile.value}` });
  if (flags.askVaultPass) out.push({ id: DEFAULT_VAULT_ID, question: 'Vault password: ', given: '--ask-vault-pass' });
  return out;
}

/** `label@source` or `source` (label `default`); the source `prompt` asks on the terminal. */
function sourceOf(slug: string, given: string): VaultPasswordSource {
  const at = slug.indexOf('@');
  const id = (at >= 0 ? slug.slice(0, at) : '') || DEFAULT_VAULT_ID;
  const source = at >= 0 ? slug.slice(at + 1) : slug;
  if (source === 'prompt') return { id, question: `Vault password (${id}): `, given };
  if (source === 'prompt_ask_vault_pass') return { id, question: 'Vault password: ', given };
  return { id, file: source, given };
}

export interface VaultPasswordIO {
  cwd: string;
  /** Asks on the terminal without echo (the CLI's askPassword). */
  prompt: (question: string) => Promise<string>;
  /** A source that failed while another gave a password (Ansible warns and goes on). */
  warn: (message: string) => void;
}

/**
 * Reads every source. A file or script that fails is an error only when no source gave a
 * password (as in Ansible); a prompt that fails is always one. Errors are bad options (exit 5).
 * The passwords are secrets from here on.
 */
export async function readVaultPasswords(sources: VaultPasswordSource[], io: VaultPasswordIO, idMatch = false): Promise<VaultKeyring> {
  const passwords: VaultPassword[] = [];
  const failed = new Diagnostics();
  for (const source of sources) {
    let password: Buffer;
    try {
      if (source.file === undefined) {
        password = strip(Buffer.from(await io.prompt(source.question!), 'utf8'), ASCII_SPACE);
        if (password.length === 0) throw new VaultError(`${source.given}: the vault password is empty`, 'type the password the vault data was encrypted with');
      } else password = readPasswordFile(source, io.cwd, new VaultKeyring(passwords));
    } catch (err) {
      if (!(err instanceof VaultError)) throw err;
      if (source.file === undefined) throw new DiagnosticsError([{ kind: 'options', message: err.message, hint: err.hint }]);
      failed.add(err.message, undefined, err.hint, 'options');
      continue;
    }
    secrets.add(password.toString('utf8'), 'secret', `vault password (${source.id})`);
    passwords.push({ id: source.id, password, given: source.given });
  }
  if (passwords.length === 0) failed.throwIfAny();
  for (const d of failed.items) io.warn(`${d.message}; going on with the other vault passwords`);
  return new VaultKeyring(passwords, idMatch);
}

function readPasswordFile(source: VaultPasswordSource, cwd: string, earlier: VaultKeyring): Buffer {
  const file = resolve(cwd, source.file!.replace(/^~(?=\/|$)/, homedir()));
  const what = source.given;
  if (!existsSync(file)) throw new VaultError(`${what}: vault password file not found: ${file}`, 'give the path of a file holding the password (relative to the current directory), or of a script printing it');
  const st = statSync(file);
  if (st.isDirectory()) throw new VaultError(`${what}: ${file} is a directory, not a vault password file`, 'give the path of a file holding the password');
  if (st.mode & 0o111) return runPasswordScript(file, source, what);
  let content = strip(readFileSync(file), ASCII_SPACE);
  // A password file may itself be vault-encrypted, with a password given before it.
  if (isVaultText(content.toString('latin1'))) {
    try {
      content = earlier.decrypt(content.toString('latin1')).plaintext;
    } catch (err) {
      if (!(err instanceof VaultError)) throw err;
      throw new VaultError(`${what}: ${err.describe('the vault password file')}`, err.hint);
    }
  }
  const password = strip(content, LINE_ENDS);
  if (password.length === 0) throw new VaultError(`${what}: the vault password file ${file} is empty`, 'put the password on the first line of the file');
  return password;
}

function runPasswordScript(file: string, source: VaultPasswordSource, what: string): Buffer {
  // NAME-client[.ext] scripts serve several vault ids: Ansible passes --vault-id LABEL.
  const client = basename(file, extname(file)).endsWith('-client');
  const args = client ? ['--vault-id', source.id] : [];
  let stdout: Buffer;
  try {
    // stdin and (for plain scripts) stderr stay the terminal's: a script may ask for a passphrase.
    stdout = execFileSync(file, args, { stdio: ['inherit', 'pipe', client ? 'pipe' : 'inherit'], maxBuffer: 1 << 20 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { status?: number | null; stderr?: Buffer };
    const stderr = e.stderr?.length ? `: ${secrets.redact(e.stderr.toString('utf8').trim())}` : '';
    if (typeof e.status === 'number') {
      if (client && e.status === 2) throw new VaultError(`${what}: the vault password client script ${file} has no password for vault id '${source.id}'${stderr}`, `check the label before @ in --vault-id, or the script's own configuration`);
      throw new VaultError(`${what}: the vault password script ${file} exited with status ${e.status}${stderr}`, 'run the script by hand: it must print the password on stdout and exit 0');
    }
    throw new VaultError(`${what}: cannot run the vault password script ${file} (${e.code ?? e.message})`, 'an executable password file is run as a script; if it holds the password itself, remove its executable bit (chmod -x)');
  }
  const password = strip(stdout, LINE_ENDS);
  if (password.length === 0) throw new VaultError(`${what}: the vault password script ${file} printed no password`, 'the script must print the password on stdout');
  return password;
}

/** Python's bytes.strip(): a file's password loses ASCII whitespace at both ends, a script's only line ends. */
const ASCII_SPACE = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);
const LINE_ENDS = new Set([0x0a, 0x0d]);
function strip(b: Buffer, chars: Set<number>): Buffer {
  let start = 0;
  let end = b.length;
  while (start < end && chars.has(b[start]!)) start++;
  while (end > start && chars.has(b[end - 1]!)) end--;
  return b.subarray(start, end);
}

/**
 * The run's vault keyring from the command line's flags and the settings. The CLI passes the
 * settings it resolved (engine/cli/settings.ts); a reader of ansible.cfg passes its [defaults] vault_password_file,
 * vault_identity_list and vault_id_match instead, with the environment's over them as Ansible does.
 */
export function openVaultKeyring(flags: VaultFlags, settings: VaultSettings, io: VaultPasswordIO): Promise<VaultKeyring> {
  return readVaultPasswords(vaultPasswordSources(flags, settings), io, settings.idMatch?.value ?? false);
}
