/**
 * ansible.cfg found and read as Ansible does (discovery order, configparser's syntax, value types,
 * paths relative to the file), and each setting's precedence: flag > TSPLAY_* > ANSIBLE_* >
 * ansible.cfg > default. The comparison with `ansible-config dump` itself is in
 * ansible-config-oracle.test.ts.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Diagnostics } from '../../engine/errors.js';
import { findAnsibleCfg, resolveSettings, type ResolvedSettings } from '../../engine/load/ansible-cfg.js';
import { parseIniConfig } from '../../engine/load/ini-config.js';
import { runSettings } from '../../engine/cli/settings.js';

const work = mkdtempSync(join(tmpdir(), 'tsplay-cfg-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const ETC_CFG = existsSync('/etc/ansible/ansible.cfg') ? '/etc/ansible/ansible.cfg' : undefined;

let n = 0;
/** A fresh project dir, home dir and (optionally) ansible.cfg text in the project dir. */
function layout(cfg?: string): { dir: string; home: string } {
  const root = join(work, `l${n++}`);
  const dir = join(root, 'project');
  const home = join(root, 'home');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  mkdirSync(home, { mode: 0o755 });
  chmodSync(dir, 0o755);
  if (cfg !== undefined) writeFileSync(join(dir, 'ansible.cfg'), cfg);
  return { dir, home };
}

function settings(cfg: string | undefined, env: Record<string, string> = {}, flags = {}): { s: ResolvedSettings; diags: Diagnostics; dir: string } {
  const { dir, home } = layout(cfg);
  const diags = new Diagnostics();
  const s = resolveSettings({ env, cwd: dir, home, flags }, diags);
  return { s, diags, dir };
}

describe('ansible.cfg syntax, as configparser reads it', () => {
  const parse = (text: string) => {
    const diags = new Diagnostics();
    const ini = parseIniConfig(text, 'ansible.cfg', diags);
    return { ini, diags };
  };

  it('reads key = value and key: value, comments, inline ; comments, continuation lines and [DEFAULT]', () => {
    const { ini, diags } = parse(
      [
        '# a comment',
        '; another',
        '[DEFAULT]',
        'shared = everywhere',
        '[defaults]',
        'Inventory = hosts.ini   ; the lab',
        'remote_user: deploy',
        'forks=5 # not a comment in Ansible',
        'ssh_note = a;b',
        'roles_path = roles',
        '    more',
        '',
        '    last',
        '  # comment inside a value',
        'timeout = 30',
        '[privilege_escalation]',
        'become = True',
      ].join('\n'),
    );
    expect(diags.items).toEqual([]);
    const d = ini.sections.get('defaults')!;
    expect(d.get('inventory')).toMatchObject({ value: 'hosts.ini', place: { line: 6, col: 13 } });
    expect(d.get('remote_user')!.value).toBe('deploy');
    expect(d.get('forks')!.value).toBe('5 # not a comment in Ansible');
    expect(d.get('ssh_note')!.value).toBe('a;b');
    expect(d.get('roles_path')!.value).toBe('roles\nmore\n\nlast');
    expect(d.get('timeout')!.value).toBe('30');
    expect(ini.defaults.get('shared')!.value).toBe('everywhere');
    expect(ini.sections.get('privilege_escalation')!.get('become')!.value).toBe('True');
  });

  it('refuses what configparser refuses, with the line', () => {
    const cases: Array<[string, RegExp, number]> = [
      ['forks = 5\n', /before any \[section\]/, 1],
      ['[defaults]\nforks = 5\nforks = 6\n', /forks is set twice .*first at line 2/, 3],
      ['[defaults]\n[x]\n[defaults]\n', /section \[defaults\] appears twice/, 3],
      ['[defaults]\njust words\n', /cannot read this line/, 2],
      ['[defaults]\n= value\n', /cannot read this line/, 2],
    ];
    for (const [text, message, line] of cases) {
      const { diags } = parse(text);
      expect(diags.items, text).toHaveLength(1);
      expect(diags.items[0]!.message, text).toMatch(message);
      expect(diags.items[0]!.place?.line, text).toBe(line);
    }
  });
});

describe('where ansible.cfg is found', () => {
  const find = (env: Record<string, string>, dir: string, home: string) => findAnsibleCfg(env, dir, home, new Diagnostics());

  it('ANSIBLE_CONFIG, then ./ansible.cfg, then ~/.ansible.cfg; the first found wins, never merged', () => {
    const { dir, home } = layout('[defaults]\nforks = 2\n');
    writeFileSync(join(home, '.ansible.cfg'), '[defaults]\nforks = 3\nremote_user = fromhome\n');
    const elsewhere = join(work, `own-${n++}.cfg`);
    writeFileSync(elsewhere, '[defaults]\nforks = 4\n');
    expect(find({ ANSIBLE_CONFIG: elsewhere }, dir, home).file).toBe(elsewhere);
    expect(find({}, dir, home).file).toBe(join(dir, 'ansible.cfg'));
    rmSync(join(dir, 'ansible.cfg'));
    expect(find({}, dir, home).file).toBe(join(home, '.ansible.cfg'));
    rmSync(join(home, '.ansible.cfg'));
    expect(find({}, dir, home).file).toBe(ETC_CFG);
    // A directory in ANSIBLE_CONFIG means its ansible.cfg; a missing file falls through (with a warning).
    const cfgDir = join(work, `cfgdir-${n++}`);
    mkdirSync(cfgDir);
    writeFileSync(join(cfgDir, 'ansible.cfg'), '[defaults]\n');
    expect(find({ ANSIBLE_CONFIG: cfgDir }, dir, home).file).toBe(join(cfgDir, 'ansible.cfg'));
    const missing = find({ ANSIBLE_CONFIG: join(work, 'nope.cfg') }, dir, home);
    expect(missing.file).toBe(ETC_CFG);
    expect(missing.warnings.join()).toMatch(/ANSIBLE_CONFIG=.*nope\.cfg: no readable file/);
  });

  it('the first file found is the only one read: no key comes from another', () => {
    const { dir, home } = layout('[defaults]\nforks = 2\n');
    writeFileSync(join(home, '.ansible.cfg'), '[defaults]\nremote_user = fromhome\n');
    const s = resolveSettings({ env: {}, cwd: dir, home }, new Diagnostics());
    expect(s.values.DEFAULT_FORKS.value).toBe(2);
    expect(s.values.DEFAULT_REMOTE_USER).toMatchObject({ value: undefined, origin: { kind: 'default' } });
  });

  it('skips ./ansible.cfg in a world-writable directory, with a warning, unless ANSIBLE_CONFIG names it', () => {
    const { dir, home } = layout('[defaults]\nforks = 2\n');
    chmodSync(dir, 0o777);
    const skipped = find({}, dir, home);
    expect(skipped.file).toBe(ETC_CFG);
    expect(skipped.warnings.join()).toMatch(/world writable directory \(.*project\), ignoring its ansible\.cfg/);
    const named = find({ ANSIBLE_CONFIG: join(dir, 'ansible.cfg') }, dir, home);
    expect(named).toEqual({ file: join(dir, 'ansible.cfg'), warnings: [] });
  });

  it('refuses a config file whose name is not *.cfg or *.ini, as Ansible does', () => {
    const file = join(work, `config-${n++}.txt`);
    writeFileSync(file, '[defaults]\n');
    const diags = new Diagnostics();
    findAnsibleCfg({ ANSIBLE_CONFIG: file }, work, work, diags);
    expect(diags.items[0]).toMatchObject({ kind: 'options', message: expect.stringMatching(/unsupported configuration file extension/) });
  });
});

describe('settings: types, paths and precedence', () => {
  it('types values as Ansible: lists, paths against the file\'s directory, ~ and $VARS, unquoted strings', () => {
    const { s, diags, dir } = settings(
      [
        '[defaults]',
        'inventory = hosts.ini, ../common/inv , /abs/inv',
        'roles_path = roles:~/galaxy:$EXTRA/roles:{{CWD}}/r',
        'private_key_file = ~/.ssh/deploy',
        'remote_user = "deploy"',
        'forks = 1_0',
        'host_key_checking = no',
        '[privilege_escalation]',
        'become = Yes',
      ].join('\n'),
      { EXTRA: '/opt/x' },
    );
    expect(diags.items).toEqual([]);
    const home = join(dir, '../home');
    expect(s.values.DEFAULT_HOST_LIST.value).toEqual([join(dir, 'hosts.ini'), join(dir, '../common/inv'), '/abs/inv']);
    expect(s.values.DEFAULT_ROLES_PATH.value).toEqual([join(dir, 'roles'), join(home, 'galaxy'), '/opt/x/roles', join(dir, 'r')]);
    expect(s.values.DEFAULT_PRIVATE_KEY_FILE.value).toBe(join(home, '.ssh/deploy'));
    expect(s.values.DEFAULT_REMOTE_USER.value).toBe('deploy');
    expect(s.values.DEFAULT_FORKS.value).toBe(10);
    expect(s.values.HOST_KEY_CHECKING.value).toBe(false);
    expect(s.values.DEFAULT_BECOME.value).toBe(true);
    expect(s.values.DEFAULT_FORKS.origin).toEqual({ kind: 'file', place: { file: join(dir, 'ansible.cfg'), line: 6, col: 9 } });
  });

  it('a flag beats TSPLAY_* beats ANSIBLE_* beats ansible.cfg beats the default', () => {
    const cfg = '[defaults]\nforks = 2\nremote_user = cfg\nroles_path = cfgroles\ntimeout = 5\n';
    const { s } = settings(cfg, { ANSIBLE_FORKS: '3', ANSIBLE_REMOTE_USER: 'env', ANSIBLE_ROLES_PATH: '/ansible/roles', TSPLAY_ROLES_PATH: '/tsplay/roles' }, { DEFAULT_FORKS: { value: 4, flag: '-f' } });
    expect(s.values.DEFAULT_FORKS).toMatchObject({ value: 4, origin: { kind: 'flag', flag: '-f' } });
    expect(s.values.DEFAULT_REMOTE_USER).toMatchObject({ value: 'env', origin: { kind: 'env', name: 'ANSIBLE_REMOTE_USER' } });
    expect(s.values.DEFAULT_ROLES_PATH).toMatchObject({ value: ['/tsplay/roles'], origin: { kind: 'env', name: 'TSPLAY_ROLES_PATH' } });
    expect(s.values.DEFAULT_TIMEOUT).toMatchObject({ value: 5, origin: { kind: 'file' } });
    expect(s.values.DEFAULT_BECOME_USER).toMatchObject({ value: 'root', origin: { kind: 'default' } });
    // Without tsplay's own variable, Ansible's is used.
    const ansible = settings(cfg, { ANSIBLE_ROLES_PATH: 'rel/roles:/abs' }).s;
    expect(ansible.values.DEFAULT_ROLES_PATH.value).toEqual([join(ansible.file!, '../rel/roles'), '/abs']);
  });

  it('among Ansible\'s names for one setting the last one set wins, as in Ansible', () => {
    const { s } = settings('[defaults]\nhost_key_checking = True\ntimeout = 3\n[ssh_connection]\nhost_key_checking = False\n', { ANSIBLE_TIMEOUT: '7', ANSIBLE_SSH_TIMEOUT: '8' });
    expect(s.values.HOST_KEY_CHECKING).toMatchObject({ value: false, origin: { kind: 'file', place: { line: 5 } } });
    expect(s.values.DEFAULT_TIMEOUT).toMatchObject({ value: 8, origin: { kind: 'env', name: 'ANSIBLE_SSH_TIMEOUT' } });
  });

  it('a value tsplay uses that is invalid is an error at its file:line:col with a hint', () => {
    const { diags, dir } = settings('[defaults]\nforks = 5 # five\ntimeout = soon\n[privilege_escalation]\nbecome = maybe\nbecome_method = su\n');
    const file = join(dir, 'ansible.cfg');
    expect(diags.items.map((d) => [d.kind, d.place, d.message])).toEqual([
      ['parse', { file, line: 2, col: 9 }, "[defaults] forks: expected a positive integer, got '5 # five'".replace(/'/g, '"')],
      ['parse', { file, line: 3, col: 11 }, '[defaults] timeout: expected a positive integer, got "soon"'],
      ['parse', { file, line: 5, col: 10 }, '[privilege_escalation] become: expected a boolean, got "maybe"'],
      ['parse', { file, line: 6, col: 17 }, '[privilege_escalation] become_method: "su" is not supported'],
    ]);
    expect(diags.items[0]!.hint).toMatch(/only ';' after a space starts a comment/);
    expect(diags.items[3]!.hint).toMatch(/sudo only/);
    const env = settings(undefined, { ANSIBLE_FORKS: '0' }).diags.items;
    expect(env).toMatchObject([{ kind: 'options', message: 'ANSIBLE_FORKS=0: expected a positive integer, got "0"' }]);
  });

  it('says which keys it ignores (-v), warns about those that change what Ansible would run, and notes what it accepts unused', () => {
    const { s, dir } = settings(
      '[defaults]\ngathering = smart\nhash_behaviour = merge\ninterpreter_python = /usr/bin/python3\nvault_password_file = .vault\n[ssh_connection]\npipelining = True\n[galaxy]\nserver = x\n',
    );
    const file = join(dir, 'ansible.cfg');
    expect(s.warnings).toEqual([
      `hash_behaviour = merge (${file}:3): include_vars merges dictionaries into the host's values, as Ansible does; every other variable layer (group_vars, play vars, role vars, ...) still replaces them, where Ansible would merge: write the merged values`,
    ]);
    expect(s.notes).toEqual([
      `interpreter_python = /usr/bin/python3 (${file}:4): accepted and unused: tsplay needs no Python on hosts`,
      expect.stringMatching(/^pipelining = True \(.*:7\): ignored: tsplay keeps one SSH connection per host/),
      `${file}:2: [defaults] gathering is not used by tsplay; ignored`,
      `${file}:9: [galaxy] is not read by tsplay; its 1 setting(s) are ignored`,
      expect.stringMatching(/^tsplay reads these ansible\.cfg keys and ignores the others: \[defaults\] inventory, \[defaults\] roles_path, /),
    ]);
  });

  it('host_key_checking = False is said to mean accept-new, never accepting a changed key', () => {
    const { s } = settings('[defaults]\nhost_key_checking = False\n');
    expect(s.notes.join('\n')).toMatch(/host_key_checking = False .*records the keys of hosts not yet in known_hosts .*still refuses a host whose key changed/);
  });
});

describe('settings as a run uses them', () => {
  it('host_key_checking = False is accept-new; an explicit timeout beats the ssh config; Ansible\'s default ssh_args says nothing', () => {
    const { s } = settings('[defaults]\nhost_key_checking = False\ntimeout = 30\nremote_user = deploy\ntransport = paramiko\n[privilege_escalation]\nbecome = True\nbecome_user = admin\n');
    const run = runSettings(s);
    expect(run.connection).toMatchObject({ acceptNewHostKeys: true, connectTimeoutMs: 30_000, defaults: { timeoutMs: 30_000, user: 'deploy', connection: 'ssh', sshArgs: {} } });
    expect(run.become).toEqual({ become: true, user: 'admin' });
    const plain = runSettings(settings(undefined).s);
    expect(plain.connection).toMatchObject({ acceptNewHostKeys: false, connectTimeoutMs: 10_000, defaults: { timeoutMs: undefined, connection: undefined } });
    expect(plain.forks).toBe(50);
    expect(plain.inventory).toBeUndefined();
  });
});
