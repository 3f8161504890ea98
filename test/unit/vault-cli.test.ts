/**
 * Vault end to end through the CLI, on the controller (connection: local): a playbook reads a
 * !vault value (1.2, vault id prod) and a group_vars file encrypted whole (1.1), both made by the
 * real ansible-vault at test time. With the passwords, from each kind of source, the values work
 * (a file gets them, a `when` reads them) and never show; without them nothing runs.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLI, recap, tsplay, type CliRun } from '../helpers/cli.js';
import { encryptFile, encryptString, hasAnsibleVault } from '../helpers/ansible-vault.js';

const GREETING = 'hello-from-the-vault';
const FILE_WORD = 'file-level-secret-9q8w';
const PROD_PW = 'prod pass phrase 7';
const DEFAULT_PW = 'default-pass-3';
let dir: string;
const at = (rel: string): string => join(dir, rel);
const out = (): string => at('out');
const site = (): string[] => [at('site.yml'), '-i', at('inventory/hosts.yml')];

beforeAll(async () => {
  if (!hasAnsibleVault) return;
  dir = mkdtempSync(join(tmpdir(), 'tsplay-vault-cli-'));
  mkdirSync(at('inventory/group_vars/all'), { recursive: true });
  writeFileSync(at('prod.pw'), `${PROD_PW}\n`);
  writeFileSync(at('default.pw'), DEFAULT_PW);
  writeFileSync(at('empty.pw'), '\n');
  // ansible.cfg's vault_password_file, relative to the cfg file's directory.
  writeFileSync(at('vault.cfg'), '[defaults]\nvault_password_file = default.pw\n');
  writeFileSync(at('prod-script.sh'), `#!/bin/sh\nprintf '%s\\n' '${PROD_PW}'\n`);
  writeFileSync(at('failing-script.sh'), '#!/bin/sh\necho "no keyring here" >&2\nexit 3\n');
  // A client script is asked for each label: --vault-id LABEL; exit 2 means "no such label".
  writeFileSync(at('keys-client.sh'), `#!/bin/sh\n[ "$1" = --vault-id ] || exit 1\ncase "$2" in\n  prod) echo '${PROD_PW}' ;;\n  default) echo '${DEFAULT_PW}' ;;\n  *) exit 2 ;;\nesac\n`);
  for (const s of ['prod-script.sh', 'failing-script.sh', 'keys-client.sh']) chmodSync(at(s), 0o755);
  const prod = { id: 'prod', passwordFile: at('prod.pw') };
  const inventory = `all:\n  vars:\n    ansible_connection: local\n${await encryptString('greeting', GREETING, prod, '    ')}  hosts:\n    h1: {}\n`;
  writeFileSync(at('inventory/hosts.yml'), inventory);
  mkdirSync(at('inline-only'));
  writeFileSync(at('inline-only/hosts.yml'), inventory);
  writeFileSync(at('inline-only/site.yml'), `- hosts: all\n  tasks:\n    - debug: { var: greeting }\n`);
  await encryptFile(at('inventory/group_vars/all/vault.yml'), `vault_file_word: ${FILE_WORD}\n`, { passwordFile: at('default.pw') });
  writeFileSync(
    at('site.yml'),
    `- hosts: all
  tasks:
    - file: { path: "${out()}", state: directory }
    - debug: { var: greeting }
    - debug: { msg: "{{ vault_file_word }} {{ upper greeting }}" }
    - name: vaulted values in a file, when a vaulted value says so
      copy: { content: "{{ greeting }} {{ vault_file_word }}\\n", dest: "${out()}/value.txt" }
      when: size(greeting) == ${GREETING.length} && greeting.startsWith("hello")
    - name: not when a vaulted value says no
      copy: { content: "never\\n", dest: "${out()}/never.txt" }
      when: greeting == "something else"
`,
  );
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));
beforeEach(() => dir && rmSync(out(), { recursive: true, force: true }));

/** No plaintext, password or ciphertext anywhere in what tsplay wrote. */
function expectNothingShown(r: CliRun): void {
  for (const text of [GREETING, GREETING.toUpperCase(), FILE_WORD, PROD_PW, DEFAULT_PW, '$ANSIBLE_VAULT']) {
    expect(r.stdout, text).not.toContain(text);
    expect(r.stderr, text).not.toContain(text);
  }
}

function expectConverged(r: CliRun): void {
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(readFileSync(join(out(), 'value.txt'), 'utf8')).toBe(`${GREETING} ${FILE_WORD}\n`);
  expect(existsSync(join(out(), 'never.txt'))).toBe(false);
  expect(recap(r.stdout).h1).toMatchObject({ changed: 2, skipped: 1, failed: 0 });
  expect(r.stdout).toMatch(/ok: \[h1\] debug\n {4}\*{8}\n/);
  expectNothingShown(r);
}

/** The CLI in a session of its own: no controlling terminal, as under cron or CI. */
function withoutTerminal(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CLI on a terminal (script(1)); `answer` is typed once the prompt shows. Returns all the terminal showed. */
function onTerminal(args: string[], answer: string): Promise<{ code: number | null; screen: string }> {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', quoted, '/dev/null'], { env: { ...process.env, NO_COLOR: '1' } });
    let screen = '';
    let typed = false;
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      // Typed only once the prompt is up: before, the terminal itself would still echo.
      if (!typed && /Vault password[^:]*: $/.test(screen)) {
        typed = true;
        child.stdin.write(`${answer}\r`);
      }
    });
    child.on('close', (code) => resolve({ code, screen }));
  });
}

describe.skipIf(!hasAnsibleVault)('vault through the CLI (skipped only when ansible-core is not installed)', () => {
  it('without a vault password: exit 4 before any host is contacted, naming file, line and vault id; the ciphertext is never the value', async () => {
    const r = await tsplay(site());
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stderr).toContain(`${at('inventory/hosts.yml')}:4:5: error: cannot decrypt the !vault value of 'greeting' (vault id 'prod'): no vault password was given`);
    expect(r.stderr).toContain(`${at('inventory/group_vars/all/vault.yml')}:1:1: error: cannot decrypt the vault-encrypted file (vault id 'default'): no vault password was given`);
    expect(r.stderr).toContain('hint: give the password it was encrypted with: --vault-id prod@FILE, --vault-password-file FILE, --ask-vault-pass, or ANSIBLE_VAULT_PASSWORD_FILE');
    expect(r.stdout).toBe('');
    expect(existsSync(out())).toBe(false);
    expectNothingShown(r);
  });

  it('an inline !vault value alone, without a password: exit 4, not a run with the ciphertext as the value', async () => {
    const r = await tsplay([at('inline-only/site.yml'), '-i', at('inline-only/hosts.yml')]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stderr).toMatch(/inline-only\/hosts\.yml:4:5: error: cannot decrypt the !vault value of 'greeting' \(vault id 'prod'\)/);
    expect(r.stdout).toBe('');
    expectNothingShown(r);
  });

  it('with a wrong password: exit 4, naming the passwords tried', async () => {
    const r = await tsplay([...site(), '--vault-password-file', at('default.pw'), '--vault-id', `prod@${at('default.pw')}`]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stderr).toContain(`hosts.yml:4:5: error: cannot decrypt the !vault value of 'greeting' (vault id 'prod'): none of the vault passwords given opens it (tried --vault-id prod@${at('default.pw')}, --vault-password-file ${at('default.pw')})`);
    expect(r.stderr).not.toContain('vault.yml');
    expect(r.stdout).toBe('');
    expectNothingShown(r);
  });

  it.each<[string, string[], Record<string, string>]>([
    ['--vault-id LABEL@FILE and --vault-password-file', ['--vault-id', 'prod@prod.pw', '--vault-password-file', 'default.pw'], {}],
    ['an executable password file (its stdout) and ANSIBLE_VAULT_PASSWORD_FILE', ['--vault-id', 'prod@prod-script.sh'], { ANSIBLE_VAULT_PASSWORD_FILE: 'default.pw' }],
    ['a -client script, asked for each label', ['--vault-id', 'prod@keys-client.sh', '--vault-id', 'keys-client.sh'], {}],
    ['ANSIBLE_VAULT_IDENTITY_LIST', [], { ANSIBLE_VAULT_IDENTITY_LIST: 'prod@prod.pw, default@default.pw' }],
    ["ansible.cfg's vault_password_file", ['--vault-id', 'prod@prod.pw'], { ANSIBLE_CONFIG: 'vault.cfg' }],
    ['passwords under other labels (every password is tried)', ['--vault-id', 'staging@prod.pw', '--vault-id', 'dev@default.pw'], {}],
  ])('%s: the values work (a file, a when) and show masked', async (_what, args, env) => {
    expectConverged(await tsplay([...site(), ...args], { cwd: dir, env }));
  });

  it('--ask-vault-pass asks on the terminal and does not echo what is typed', async () => {
    const r = await onTerminal([...site(), '--vault-id', `prod@${at('prod.pw')}`, '--ask-vault-pass'], DEFAULT_PW);
    expect(r.screen).toMatch(/^Vault password: \r?\n/);
    expect(r.code, r.screen).toBe(0);
    expect(r.screen).not.toContain(DEFAULT_PW);
    expect(r.screen).toContain('********');
    expect(readFileSync(join(out(), 'value.txt'), 'utf8')).toBe(`${GREETING} ${FILE_WORD}\n`);
    rmSync(out(), { recursive: true, force: true });
    const labelled = await onTerminal([...site(), '--vault-id', 'prod@prompt', '--vault-password-file', at('default.pw')], PROD_PW);
    expect(labelled.screen).toMatch(/^Vault password \(prod\): \r?\n/);
    expect(labelled.code, labelled.screen).toBe(0);
    expect(labelled.screen).not.toContain(PROD_PW);
  });

  it('--ask-vault-pass without a terminal: exit 5, saying to use a password file', async () => {
    const r = await withoutTerminal([...site(), '--ask-vault-pass']);
    expect(r.code, r.stdout + r.stderr).toBe(5);
    expect(r.stderr).toContain('error: --ask-vault-pass needs a terminal to ask on, and tsplay has none');
    expect(r.stderr).toContain('hint: give the password in a file instead: --vault-password-file FILE');
  });

  it.each<[string, string[], string]>([
    ['a password file that is not there', ['--vault-password-file', 'nope.pw'], `error: --vault-password-file nope.pw: vault password file not found: `],
    ['an empty password file', ['--vault-password-file', 'empty.pw'], 'error: --vault-password-file empty.pw: the vault password file '],
    ['a password script that fails', ['--vault-id', 'prod@failing-script.sh'], 'exited with status 3'],
    ['a client script without that label', ['--vault-id', 'qa@keys-client.sh'], "has no password for vault id 'qa'"],
  ])('%s: exit 5 before anything is loaded', async (_what, args, message) => {
    const r = await tsplay([...site(), ...args], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(5);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  it('a password source that fails while another gives a password is a warning, as in Ansible', async () => {
    const r = await tsplay([...site(), '--vault-id', 'prod@prod.pw', '--vault-id', 'nope.pw', '--vault-password-file', 'default.pw'], { cwd: dir });
    expect(r.stderr).toMatch(/\[WARNING\]: --vault-id nope\.pw: vault password file not found: \S+nope\.pw; going on with the other vault passwords/);
    expectConverged(r);
  });
});
