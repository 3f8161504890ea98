/**
 * Secrecy follows the value. Secrets are planted in every form a playbook can make one (declared,
 * secret-named with a template value, lists and nested maps, set_fact, registered by a no_log
 * task, task vars, multi-line, with `"` and `\`), shown every way the engine can show them (debug,
 * diffs, to_json, to_yaml, indent, b64encode, b64decode, upper, lower, quote, join, the Handlebars
 * log helper, failure messages, a failing no_log task's stderr), at -vvv --diff with JSON and
 * Markdown reports, on a pipe and on a terminal, then merged with `report merge` and put in a
 * `tsplay job` manifest. Every byte written is scanned for every planted value in every encoding:
 * literal, JSON-escaped, base64 (whole, and at each byte alignment inside a longer value),
 * upper/lower case, and each line of a multi-line one.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptVault } from '../../engine/load/vault.js';
import { CLI, tsplay } from '../helpers/cli.js';

const KEY = '-----BEGIN TEST KEY-----\nTWlub3JMaW5lT25lQUJD\nU2Vjb25kTGluZVhZWjEy\n-----END TEST KEY-----\n';
/** name -> the planted values (each must never show). */
const PLANTED: Record<string, string[]> = {
  declared: ['Decl"ared\\Sec-1a2b3c'],
  templated: ['base-7f6e5d4c'],
  list: ['list-one-1a2b3c', 'list-two-4d5e6f'],
  nested: ['nested-7g8h9i', 'deeper-0j1k2l'],
  set_fact: ['sess-alpha-3m4n5o', 'sess-beta-3m4n5o'],
  no_log_register: ['gen-6p7q8r9s'],
  task_vars: ['tv-x1y2z3-9t8u'],
  multi_line: [KEY],
  derived: ['user:Decl"ared\\Sec-1a2b3c@db'],
  logged: ['logged-4r5e6w'],
  b64decoded: ['decoded-plain-2q3w'],
  no_log_stderr: ['nolog-stderr-5v6w7x'],
  vault_inline: ['vaulted-inline-8h7g6f'],
  vault_file: ['vaulted-file-5d4s3a'],
  vault_password: ['leak-test-vault-pw-77'],
};
const VAULT_PASSWORD = Buffer.from(PLANTED.vault_password![0]!);

/** `name: !vault |` as ansible-vault encrypt_string writes it (the format is checked against ansible-vault in vault.test.ts). */
function vaulted(name: string, value: string, indent: string): string {
  const lines = encryptVault(Buffer.from(value), VAULT_PASSWORD).trimEnd().split('\n');
  return [`${indent}${name}: !vault |`, ...lines.map((l) => `${indent}  ${l}`)].join('\n') + '\n';
}

let dir: string;
const dest = (): string => join(dir, 'out');
const vaultArgs = (): string[] => ['--vault-password-file', join(dir, 'vault.pw')];

function write(rel: string, text: string): string {
  const file = join(dir, rel);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
  return file;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsplay-secret-leaks-'));
  write('vault.pw', `${PLANTED.vault_password![0]}\n`);
  // Neither name is secret: being vault-encrypted makes them secret.
  write('inventory/group_vars/all/vault.yml', encryptVault(Buffer.from(`file_word: ${PLANTED.vault_file![0]}\n`), VAULT_PASSWORD, 'prod'));
  write(
    'inventory/hosts.yml',
    `all:
  vars:
    ansible_connection: local
${vaulted('greeting_word', PLANTED.vault_inline![0]!, '    ')}    declared_value: { secret: true, value: 'Decl"ared\\Sec-1a2b3c' }
    base_value: base-7f6e5d4c
    # secret by name, its value a template: base_value's value is the secret
    db_password: "{{ base_value }}"
    app_credentials:
      db: nested-7g8h9i
      api: { url_part: deeper-0j1k2l }
  hosts:
    alpha: {}
    beta: {}
`,
  );
  write(
    'site.yml',
    `- hosts: all
  vars:
    db_passwords: [list-one-1a2b3c, list-two-4d5e6f]
    tls_private_key: ${JSON.stringify(KEY)}
    tv_part: x1y2z3
    logged_token: logged-4r5e6w
    encoded_token: ${Buffer.from('decoded-plain-2q3w').toString('base64')}
  tasks:
    - file: { path: "${dest()}", state: directory }
    # Printed before anything reads db_password: it is secret from the start all the same.
    - debug: { var: base_value }
    - name: make a secret on the host
      shell: printf 'gen-%s' 6p7q8r9s
      no_log: true
      register: gen
      changed_when: false
    - set_fact:
        session_token: "sess-{{ inventory_hostname }}-3m4n5o"
        conn: "user:{{ declared_value }}@db"
    - debug: { var: app_credentials }
    - debug: { var: greeting_word }
    - debug: { msg: "{{ b64encode greeting_word }} {{ upper file_word }} {{ to_json file_word }} {{ quote greeting_word }}" }
    - debug: { var: db_passwords }
    - debug: { var: gen }
    - debug: { msg: "{{ b64encode conn }} {{ b64encode declared_value }} {{ upper db_password }} {{ lower session_token }} {{ b64encode gen.stdout }}" }
    - debug: { msg: "{{ to_json tls_private_key }} {{ to_json app_credentials }} {{ join db_passwords ',' }}" }
    - debug: { msg: "{{log logged_token}}logged {{ b64decode encoded_token }} {{ quote declared_value }}" }
    - name: task vars
      vars: { vault_token: "tv-{{ tv_part }}-9t8u" }
      debug: { msg: "{{ vault_token }} {{ b64encode vault_token }}" }
    - name: every secret in a file that is not marked secret
      copy:
        dest: "${dest()}/{{ inventory_hostname }}.txt"
        content: |
          declared={{ declared_value }}
          templated={{ db_password }}
          list={{ join db_passwords "," }}
          nested={{ app_credentials.db }} {{ app_credentials.api.url_part }}
          fact={{ session_token }} {{ conn }}
          gen={{ gen.stdout }}
          vault={{ greeting_word }} {{ file_word }}
          key:
            {{ indent tls_private_key 2 }}
          json={{ to_json tls_private_key }}
          yaml={{ to_yaml app_credentials }}
    - name: a failure that quotes secrets
      assert: { that: ['1 == 2'], fail_msg: "wrong {{ db_password }} {{ to_json db_passwords }} {{ declared_value }} {{ greeting_word }}" }
      ignore_errors: true
    - name: fail quietly
      shell: echo nolog-stderr-5v6w7x >&2; exit 3
      no_log: true
      when: inventory_hostname == "beta"
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every form a value may take in output (computed here, independently of the engine). */
function encodings(value: string): Array<[string, string]> {
  const forms: Array<[string, string]> = [['literal', value], ['json', JSON.stringify(value).slice(1, -1)], ['base64', Buffer.from(value).toString('base64')]];
  if (value.toUpperCase() !== value) forms.push(['upper', value.toUpperCase()]);
  if (value.toLowerCase() !== value) forms.push(['lower', value.toLowerCase()]);
  // Inside longer base64 text, a value that starts at byte offset k of a 3-byte group.
  for (let k = 0; k < 3; k++) {
    const bytes = Buffer.from(value).subarray(k);
    const whole = bytes.subarray(0, bytes.length - (bytes.length % 3));
    if (whole.length >= 6) forms.push([`base64@${k}`, whole.toString('base64')]);
  }
  const lines = value.split('\n').filter((l) => l.length >= 4);
  if (lines.length > 1) lines.forEach((l, i) => forms.push([`line ${i + 1}`, l], [`line ${i + 1} json`, JSON.stringify(l).slice(1, -1)]));
  return forms;
}

function leaks(outputs: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [plant, values] of Object.entries(PLANTED)) {
    for (const v of values) {
      for (const [form, text] of encodings(v)) {
        for (const [where, bytes] of Object.entries(outputs)) if (bytes.includes(text)) found.push(`${plant} (${form}) in ${where}`);
      }
    }
  }
  return [...new Set(found)];
}

function underPty(cliArgs: string[]): string {
  const quoted = [process.execPath, CLI, ...cliArgs].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const env = { ...process.env, TERM: 'xterm-256color' } as Record<string, string>;
  delete env.NO_COLOR;
  try {
    return execFileSync('script', ['-qec', `stty cols 200; ${quoted}`, '/dev/null'], { encoding: 'utf8', env });
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? '');
  }
}

describe('secrets never show, in any form, anywhere', () => {
  it('at -vvv --diff, in JSON and Markdown reports, on a terminal, in report merge and in a job manifest', async () => {
    const outputs: Record<string, string> = {};
    const base = [join(dir, 'site.yml'), '-i', join(dir, 'inventory/hosts.yml'), ...vaultArgs(), '-vvv', '--diff'];
    for (const ext of ['json', 'md']) {
      rmSync(dest(), { recursive: true, force: true });
      const report = join(dir, `report.${ext}`);
      const run = await tsplay([...base, '--report', report], { cwd: dir });
      expect(run.code, run.stdout + run.stderr).toBe(2); // beta's no_log task fails
      outputs[`stdout (${ext} run)`] = run.stdout;
      outputs[`stderr (${ext} run)`] = run.stderr;
      outputs[`report.${ext}`] = readFileSync(report, 'utf8');
      if (ext === 'json') {
        // The run did what it was asked: the secrets are in the file, and beta failed.
        expect.soft(readFileSync(join(dest(), 'alpha.txt'), 'utf8')).toContain('templated=base-7f6e5d4c');
        expect.soft(readFileSync(join(dest(), 'alpha.txt'), 'utf8')).toContain(`vault=${PLANTED.vault_inline![0]} ${PLANTED.vault_file![0]}`);
        // (run-time failures name the task's place first: file:line:col)
        expect.soft(run.stdout).toMatch(/FAILED HOSTS\n {2}beta: \S+site\.yml:\d+:\d+: fail quietly: \(output hidden: no_log\)\n/);
        expect.soft(run.stdout).toContain('********');
        const r = JSON.parse(outputs['report.json']!) as { hosts: Record<string, { firstError?: string }> };
        expect.soft(r.hosts.beta!.firstError).toMatch(/^\S+site\.yml:\d+:\d+: fail quietly: \(output hidden: no_log\)$/);
      }
    }
    rmSync(dest(), { recursive: true, force: true });
    outputs['terminal'] = underPty([...base]);
    expect(outputs['terminal']).toContain('PLAY RECAP');

    for (const ext of ['json', 'md']) {
      const merged = join(dir, `merged.${ext}`);
      const run = await tsplay(['report', 'merge', join(dir, 'report.json'), '--report', merged], { cwd: dir });
      expect(run.code, run.stdout + run.stderr).toBe(2);
      outputs[`merge stdout (${ext})`] = run.stdout + run.stderr;
      outputs[`merged.${ext}`] = readFileSync(merged, 'utf8');
    }
    expect.soft(outputs['merge stdout (json)']).toMatch(/beta: \S+site\.yml:\d+:\d+: fail quietly: \(output hidden: no_log\)\n/);

    const job = (...args: string[]) => tsplay(['job', join(dir, 'site.yml'), '-i', join(dir, 'inventory/hosts.yml'), '--shards', '2', '--image', 'registry.example/tsplay:1', ...vaultArgs(), ...args], { cwd: dir });
    const manifest = await job('-e', `dest_root=${dest()}`, '-vvv', '--diff');
    expect.soft(manifest.code, manifest.stderr).toBe(0);
    outputs['job manifest'] = manifest.stdout + manifest.stderr;
    // The shards get the password file's path (a mounted Secret in the pod), never the password.
    expect.soft(manifest.stdout).toContain(`--vault-password-file`);

    // Inline secrets are refused, whatever their shape or length; the error names no value.
    const refused: Array<[string, string]> = [
      ['declared', '{"cfg": {"secret": true, "value": "job-declared-8y9z"}}'],
      ['list', '{"db_passwords": ["job-list-1a2b", "job-list-3c4d"]}'],
      ['nested', '{"app": {"registry_token": "job-nested-5e6f"}}'],
      ['short', 'vault_pass=ab'],
      ['a known secret under another name', `copied=${PLANTED.templated![0]}`],
    ];
    for (const [what, e] of refused) {
      const r = await job('-e', e);
      expect.soft(r.code, `${what}: ${r.stdout}${r.stderr}`).toBe(5);
      expect.soft(r.stdout, what).toBe('');
      expect.soft(r.stderr, what).toMatch(/Kubernetes Secret/);
      outputs[`job refusal (${what})`] = r.stderr;
      for (const v of ['job-declared-8y9z', 'job-list-1a2b', 'job-list-3c4d', 'job-nested-5e6f', '=ab']) expect.soft(r.stderr, what).not.toContain(v);
    }

    expect(leaks(outputs)).toEqual([]);
  }, 300_000);

  it('a secret shorter than 4 characters is named in a warning (it cannot be masked without masking ordinary text)', async () => {
    const pb = write('short.yml', `- hosts: alpha\n  tasks:\n    - debug: { msg: hi }\n`);
    const run = await tsplay([pb, '-i', join(dir, 'inventory/hosts.yml'), ...vaultArgs(), '-e', 'vault_pass=ab'], { cwd: dir });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/WARNING: vault_pass is secret but shorter than 4 characters/);
  });
});
