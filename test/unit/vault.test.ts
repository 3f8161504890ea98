/**
 * Ansible Vault data loads as Ansible loads it. Everything encrypted here is made at test time
 * by the real ansible-vault (encrypt_string and encrypt, 1.1 and 1.2 with --vault-id), and the
 * values tsplay reads are compared with the plaintext and with what Ansible itself reads from
 * the same files (ansible-inventory --list, and ansible's debug of the variables).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Diagnostics, DiagnosticsError } from '../../engine/errors.js';
import { inventoryVarsOf } from '../../engine/load/inventory.js';
import { loadInventory } from '../../engine/load/inventory-sources.js';
import { loadProject, parseExtraVars } from '../../engine/load/project.js';
import { decryptVault, encryptVault, parseVaultText, VaultFormatError } from '../../engine/load/vault.js';
import { VaultError, VaultKeyring, withVaultKeyring, type VaultPassword } from '../../engine/load/vault-keyring.js';
import { secrets } from '../../engine/secrets.js';
import { ansibleDecrypt, ansibleEncryptWithSalt, encryptFile, encryptString, encryptToText, hasAnsibleVault } from '../helpers/ansible-vault.js';

const run = promisify(execFile);
let dir: string;
const DEFAULT_PW = 'correct horse battery 1';
const PROD_PW = 'prod-staple-2';
const pwFile = (name: string): string => join(dir, `${name}.pw`);
const password = (id: string, pw: string): VaultPassword => ({ id, password: Buffer.from(pw), given: `--vault-id ${id}@${id}.pw` });
const DEFAULT = { passwordFile: '' };
const PROD = { id: 'prod', passwordFile: '' };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsplay-vault-'));
  writeFileSync(pwFile('default'), `${DEFAULT_PW}\n`);
  writeFileSync(pwFile('prod'), PROD_PW);
  DEFAULT.passwordFile = pwFile('default');
  PROD.passwordFile = pwFile('prod');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PLAINTEXTS = ['x', 'sixteen-bytes-ok', 'ünïcödé ✓ 秘密', 'line one\nline two\n', 'z'.repeat(1000)];

describe.skipIf(!hasAnsibleVault)('the vault format, against ansible-vault (skipped only when ansible-core is not installed)', () => {
  it('decrypts what ansible-vault encrypt_string makes, 1.1 and 1.2 (with its vault id)', async () => {
    const keyring = new VaultKeyring([password('default', DEFAULT_PW), password('prod', PROD_PW)]);
    for (const plaintext of ['sixteen-bytes-ok', 'ünïcödé ✓ 秘密\nline two\n', 'z'.repeat(1000)]) {
      const [v11, v12] = await Promise.all([encryptToText(plaintext, DEFAULT), encryptToText(plaintext, PROD)]);
      expect(v11.split('\n')[0]).toBe('$ANSIBLE_VAULT;1.1;AES256');
      expect(v12.split('\n')[0]).toBe('$ANSIBLE_VAULT;1.2;AES256;prod');
      expect(parseVaultText(v12)).toMatchObject({ version: '1.2', vaultId: 'prod', labelled: true });
      expect(keyring.decrypt(v11)).toEqual({ plaintext: Buffer.from(plaintext), id: 'default' });
      expect(keyring.decrypt(v12)).toEqual({ plaintext: Buffer.from(plaintext), id: 'prod' });
    }
  });

  it('writes byte for byte what Ansible writes (80-column lines, hex layers, padding), and ansible-vault decrypts it', async () => {
    const salt = Buffer.from('5a17'.repeat(16), 'hex');
    const cases = PLAINTEXTS.flatMap((plaintext) => [undefined, 'prod'].map((vaultId) => ({ plaintext: Buffer.from(plaintext), password: Buffer.from(vaultId ? PROD_PW : DEFAULT_PW), salt, vaultId })));
    const theirs = ansibleEncryptWithSalt(cases);
    cases.forEach((c, i) => expect(encryptVault(c.plaintext, c.password, c.vaultId, c.salt), c.plaintext.toString()).toBe(theirs[i]));
    for (const id of ['default', 'prod']) {
      const plaintext = PLAINTEXTS[2]!;
      const decrypted = await ansibleDecrypt(encryptVault(Buffer.from(plaintext), Buffer.from(id === 'prod' ? PROD_PW : DEFAULT_PW), id), ['--vault-id', `${id}@${id === 'prod' ? PROD.passwordFile : DEFAULT.passwordFile}`]);
      expect(decrypted, decrypted.stderr).toMatchObject({ ok: true, plaintext });
    }
  });

  it('a wrong password, or one changed byte of the HMAC or the ciphertext, does not decrypt (nor does it for Ansible)', async () => {
    const text = await encryptToText('the value', DEFAULT);
    const envelope = parseVaultText(text);
    expect(decryptVault(envelope, Buffer.from(DEFAULT_PW))?.toString()).toBe('the value');
    expect(decryptVault(envelope, Buffer.from('wrong'))).toBeUndefined();
    const flip = (b: Buffer, i: number): Buffer => Buffer.from(b.map((x, j) => (j === i ? x ^ 1 : x)));
    expect(decryptVault({ ...envelope, hmac: flip(envelope.hmac, 31) }, Buffer.from(DEFAULT_PW))).toBeUndefined();
    expect(decryptVault({ ...envelope, ciphertext: flip(envelope.ciphertext, 0) }, Buffer.from(DEFAULT_PW))).toBeUndefined();
    expect((await ansibleDecrypt(text, ['--vault-id', `default@${PROD.passwordFile}`])).ok).toBe(false);
    expect(() => new VaultKeyring([password('default', 'wrong')]).decrypt(text)).toThrow(/none of the vault passwords given opens it \(tried --vault-id default@default.pw\)/);
  });

  it('1.2 data opens with the password of its label, or any other given, as in Ansible; vault_id_match allows only its label', async () => {
    const text = await encryptToText('labelled', PROD);
    const mislabelled = new VaultKeyring([password('default', DEFAULT_PW), password('staging', PROD_PW)]);
    expect(mislabelled.decrypt(text)).toEqual({ plaintext: Buffer.from('labelled'), id: 'staging' });
    expect((await ansibleDecrypt(text, ['--vault-id', `default@${DEFAULT.passwordFile}`, '--vault-id', `staging@${PROD.passwordFile}`])).plaintext).toBe('labelled');
    const strict = new VaultKeyring(mislabelled.passwords, true);
    expect(() => strict.decrypt(text)).toThrow(/no vault password with that label/);
    expect((await ansibleDecrypt(text, ['--vault-id', `staging@${PROD.passwordFile}`], { ANSIBLE_VAULT_ID_MATCH: '1' })).ok).toBe(false);
  });

  it('malformed vault data is an error saying what is wrong, never plaintext', () => {
    expect(() => parseVaultText('$ANSIBLE_VAULT;1.1;AES256\nzz12\n')).toThrow(VaultFormatError);
    expect(() => parseVaultText('$ANSIBLE_VAULT;1.0;AES\n3132\n')).toThrow(/version 1.0 is not supported/);
    expect(() => parseVaultText('$ANSIBLE_VAULT;1.1;AES256\n' + Buffer.from('aa\nbb').toString('hex'))).toThrow(/2 part\(s\), expected 3/);
    expect(() => new VaultKeyring().decrypt('$ANSIBLE_VAULT;1.1;AES256\n3g\n')).toThrow(VaultError);
  });
});

describe.skipIf(!hasAnsibleVault)('vaulted values load as Ansible loads them', () => {
  const PLAIN = {
    inline_default: 'inline-default-value',
    inline_prod: 'inline prod: "quoted" \\ value',
    file_secret: 'from-an-encrypted-file',
    json_secret: 'from-a-json-file',
    play_secret: 'play-level-vault',
    varsfile_secret: 'vars-file-secret',
    role_default_secret: 'role-default-vault',
    role_var_secret: 'role-var-from-encrypted-file',
  };
  const vaultArgs = (): string[] => ['--vault-id', `default@${DEFAULT.passwordFile}`, '--vault-id', `prod@${PROD.passwordFile}`];
  const keyring = (): VaultKeyring => new VaultKeyring([password('default', DEFAULT_PW), password('prod', PROD_PW)]);
  let project: string;

  beforeAll(async () => {
    project = join(dir, 'project');
    const mk = (rel: string): string => (mkdirSync(join(project, rel), { recursive: true }), join(project, rel));
    mk('inventory/group_vars/all');
    mk('inventory/host_vars');
    mk('roles/r/defaults');
    mk('roles/r/vars');
    mk('roles/r/tasks');
    writeFileSync(
      join(project, 'inventory/hosts.yml'),
      `all:
  vars:
    ansible_connection: local
${await encryptString('inline_default', PLAIN.inline_default, DEFAULT, '    ')}  children:
    web:
      hosts:
        web1:
${await encryptString('inline_prod', PLAIN.inline_prod, PROD, '          ')}          plain_number: 8080
        web2: {}
`,
    );
    await encryptFile(join(project, 'inventory/group_vars/all/vault.yml'), `file_secret: ${PLAIN.file_secret}\nfile_port: 5432\n`, PROD);
    const jsonVault = await encryptToText(PLAIN.json_secret, DEFAULT);
    writeFileSync(join(project, 'inventory/host_vars/web2.json'), JSON.stringify({ json_secret: { __ansible_vault: jsonVault }, json_plain: 'visible' }));
    await encryptFile(join(project, 'vaulted-vars.yml'), `varsfile_secret: ${PLAIN.varsfile_secret}\n`, DEFAULT);
    writeFileSync(join(project, 'roles/r/defaults/main.yml'), await encryptString('role_default_secret', PLAIN.role_default_secret, PROD));
    await encryptFile(join(project, 'roles/r/vars/main.yml'), `role_var_secret: ${PLAIN.role_var_secret}\n`, PROD);
    writeFileSync(join(project, 'roles/r/tasks/main.yml'), '- debug: { msg: role ran }\n');
    const play = async (tasks: string): Promise<string> =>
      `- hosts: all\n  gather_facts: false\n  vars:\n${await encryptString('play_secret', PLAIN.play_secret, DEFAULT, '    ')}  vars_files: [vaulted-vars.yml]\n  roles: [r]\n  tasks:\n${tasks}`;
    writeFileSync(join(project, 'site.yml'), await play('    - debug: { var: play_secret }\n'));
    // json_secret is web2's; the oracle runs on web1.
    const names = Object.keys(PLAIN).filter((n) => n !== 'json_secret');
    writeFileSync(join(project, 'oracle.yml'), await play(`    - debug: { msg: "{{ { ${names.map((n) => `'${n}': ${n}`).join(', ')} } }}" }\n`));
  });

  it('inventory variables are what ansible-inventory --list and ansible read', async () => {
    const diags = new Diagnostics();
    const inv = withVaultKeyring(keyring(), () => loadInventory([join(project, 'inventory/hosts.yml')], diags));
    expect(diags.items).toEqual([]);
    const { stdout } = await run('ansible-inventory', ['-i', join(project, 'inventory/hosts.yml'), '--list', ...vaultArgs()]);
    const hostvars = (JSON.parse(stdout) as { _meta: { hostvars: Record<string, Record<string, unknown>> } })._meta.hostvars;
    // ansible-inventory prints an inline !vault value still encrypted; ansible's debug shows the value.
    const { stdout: adhoc } = await run('ansible', ['all', '-i', join(project, 'inventory/hosts.yml'), '-m', 'debug', '-a', `msg={{ {'inline_default': inline_default, 'inline_prod': inline_prod | default(omit), 'json_secret': json_secret | default(omit)} }}`, ...vaultArgs()], {
      env: { ...process.env, ANSIBLE_LOAD_CALLBACK_PLUGINS: '1', ANSIBLE_STDOUT_CALLBACK: 'json' },
    });
    const shown = (JSON.parse(adhoc) as { plays: Array<{ tasks: Array<{ hosts: Record<string, { msg: Record<string, unknown> }> }> }> }).plays[0]!.tasks[0]!.hosts;
    for (const host of ['web1', 'web2']) {
      const ours = inventoryVarsOf(inv, host);
      const theirs = { ...hostvars[host]! };
      for (const [k, v] of Object.entries(theirs)) if (v && typeof v === 'object' && '__ansible_vault' in v) theirs[k] = shown[host]!.msg[k];
      expect(ours, host).toEqual(theirs);
    }
    expect(inventoryVarsOf(inv, 'web1')).toMatchObject({ inline_default: PLAIN.inline_default, inline_prod: PLAIN.inline_prod, file_secret: PLAIN.file_secret, file_port: 5432, plain_number: 8080 });
    expect(inventoryVarsOf(inv, 'web2')).toMatchObject({ json_secret: PLAIN.json_secret, json_plain: 'visible' });
  });

  it('play vars, vars_files, role defaults and role vars are what ansible-playbook reads', async () => {
    const loaded = loadProject({ playbook: join(project, 'site.yml'), inventory: join(project, 'inventory/hosts.yml'), extraVars: [], cwd: project, vault: keyring() });
    const play = loaded.playbook.plays[0]!;
    const ours = { ...inventoryVarsOf(loaded.inventory, 'web1'), ...play.roleDefaults, ...play.vars, ...play.varsFiles, ...play.roleVars };
    const { stdout } = await run('ansible-playbook', ['-i', join(project, 'inventory/hosts.yml'), join(project, 'oracle.yml'), '-l', 'web1', ...vaultArgs()], {
      env: { ...process.env, ANSIBLE_LOAD_CALLBACK_PLUGINS: '1', ANSIBLE_STDOUT_CALLBACK: 'json' },
      cwd: project,
    });
    const tasks = (JSON.parse(stdout) as { plays: Array<{ tasks: Array<{ hosts: Record<string, { msg?: unknown }> }> }> }).plays[0]!.tasks;
    const theirs = tasks[tasks.length - 1]!.hosts.web1!.msg as Record<string, unknown>;
    for (const [name, value] of Object.entries(theirs)) expect(ours[name], name).toEqual(value);
    expect(Object.keys(theirs).sort()).toEqual(Object.keys(PLAIN).filter((n) => n !== 'json_secret').sort());
    for (const [name, value] of Object.entries(PLAIN)) if (name !== 'json_secret') expect(ours[name], name).toBe(value);
  });

  it('an INI inventory encrypted whole loads as ansible-inventory reads it', async () => {
    const ini = join(dir, 'hosts.ini');
    await encryptFile(ini, '[db]\ndb1 ansible_host=10.0.0.5 port=5433\n\n[db:vars]\nengine=postgres\n', PROD);
    const diags = new Diagnostics();
    const inv = withVaultKeyring(keyring(), () => loadInventory([ini], diags));
    expect(diags.items).toEqual([]);
    const { stdout } = await run('ansible-inventory', ['-i', ini, '--list', ...vaultArgs()]);
    const theirs = JSON.parse(stdout) as { _meta: { hostvars: Record<string, unknown> }; db: { hosts: string[] } };
    expect(inventoryVarsOf(inv, 'db1')).toEqual(theirs._meta.hostvars.db1);
    expect(inv.groups.get('db')!.hosts).toEqual(theirs.db.hosts);
  });

  it('-e with a !vault value decrypts as in a file', async () => {
    const text = await encryptToText('from-the-command-line', PROD);
    const diags = new Diagnostics();
    const vars = withVaultKeyring(keyring(), () => parseExtraVars([`{"cli_secret": !vault ${JSON.stringify(text)}}`], dir, diags));
    expect(diags.items).toEqual([]);
    expect(vars).toEqual({ cli_secret: 'from-the-command-line' });
    const without = new Diagnostics();
    expect(withVaultKeyring(undefined, () => parseExtraVars([`{"cli_secret": !vault ${JSON.stringify(text)}}`], dir, without)).cli_secret).not.toContain('$ANSIBLE_VAULT');
    expect(without.items.map((d) => d.message)).toEqual(["cannot decrypt the !vault value of 'cli_secret' (vault id 'prod'): no vault password was given"]);
  });

  it('decrypted values are secrets: masked wherever output shows them', () => {
    loadProject({ playbook: join(project, 'site.yml'), inventory: join(project, 'inventory/hosts.yml'), extraVars: [], cwd: project, vault: keyring() });
    for (const value of Object.values(PLAIN)) expect(secrets.redact(`shown: ${value}.`)).toBe('shown: ********.');
    // Every value of a vars file encrypted whole is secret; an unencrypted one's are not.
    expect(secrets.redact('port 5432')).toBe('port ********');
    expect(secrets.redact('visible 8080')).toBe('visible 8080');
  });

  it('without the passwords, every vaulted value and file is an error at its file and line, with its vault id', () => {
    const errors = (vault?: VaultKeyring): string[] => {
      try {
        loadProject({ playbook: join(project, 'site.yml'), inventory: join(project, 'inventory/hosts.yml'), extraVars: [], cwd: project, vault });
      } catch (err) {
        if (err instanceof DiagnosticsError) return err.diagnostics.map((d) => `${d.place?.file.slice(project.length + 1)}:${d.place?.line} ${d.message}`);
        throw err;
      }
      return [];
    };
    const lineOf = (rel: string, key: string): number => readFileSync(join(project, rel), 'utf8').split('\n').findIndex((l) => l.trimStart().startsWith(`${key}:`)) + 1;
    const inline = lineOf('inventory/hosts.yml', 'inline_default');
    const prod = lineOf('inventory/hosts.yml', 'inline_prod');
    expect(inline).toBe(4);
    const none = errors();
    expect(none).toEqual(
      expect.arrayContaining([
        `inventory/hosts.yml:${inline} cannot decrypt the !vault value of 'inline_default' (vault id 'default'): no vault password was given`,
        `inventory/hosts.yml:${prod} cannot decrypt the !vault value of 'inline_prod' (vault id 'prod'): no vault password was given`,
        "inventory/group_vars/all/vault.yml:1 cannot decrypt the vault-encrypted file (vault id 'prod'): no vault password was given",
        "inventory/host_vars/web2.json:1 cannot decrypt the !vault value of 'json_secret' (vault id 'default'): no vault password was given",
        "site.yml:4 cannot decrypt the !vault value of 'play_secret' (vault id 'default'): no vault password was given",
        "vaulted-vars.yml:1 cannot decrypt the vault-encrypted file (vault id 'default'): no vault password was given",
        "roles/r/defaults/main.yml:1 cannot decrypt the !vault value of 'role_default_secret' (vault id 'prod'): no vault password was given",
        "roles/r/vars/main.yml:1 cannot decrypt the vault-encrypted file (vault id 'prod'): no vault password was given",
      ]),
    );
    // Only the default password: the prod data is still an error, naming what was tried.
    const half = errors(new VaultKeyring([password('default', DEFAULT_PW)]));
    expect(half.filter((e) => e.includes('cannot decrypt'))).toEqual([
      `inventory/hosts.yml:${prod} cannot decrypt the !vault value of 'inline_prod' (vault id 'prod'): none of the vault passwords given opens it (tried --vault-id default@default.pw)`,
      "inventory/group_vars/all/vault.yml:1 cannot decrypt the vault-encrypted file (vault id 'prod'): none of the vault passwords given opens it (tried --vault-id default@default.pw)",
      "roles/r/defaults/main.yml:1 cannot decrypt the !vault value of 'role_default_secret' (vault id 'prod'): none of the vault passwords given opens it (tried --vault-id default@default.pw)",
      "roles/r/vars/main.yml:1 cannot decrypt the vault-encrypted file (vault id 'prod'): none of the vault passwords given opens it (tried --vault-id default@default.pw)",
    ]);
  });
});

describe('vault data tsplay cannot read is an error, never a value', () => {
  it('a !vault tag on a mapping, or on text that is not vault data', () => {
    const d = mkdtempSync(join(tmpdir(), 'tsplay-vault-bad-'));
    try {
      writeFileSync(join(d, 'hosts.yml'), 'all:\n  hosts:\n    h1:\n      a: !vault { x: 1 }\n      b: !vault "plain text"\n');
      const diags = new Diagnostics();
      const inv = withVaultKeyring(new VaultKeyring([password('default', 'pw')]), () => loadInventory([join(d, 'hosts.yml')], diags));
      expect(diags.items.map((i) => `${i.place?.line}: ${i.message}`)).toEqual([
        '4: !vault tags a string (the output of ansible-vault encrypt_string), not a mapping or list',
        "5: the !vault value of 'b' is not vault data: it must start with $ANSIBLE_VAULT",
      ]);
      expect(inventoryVarsOf(inv, 'h1').b).toBe('');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
