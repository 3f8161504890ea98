/**
 * `tsplay config --only-changed` against Ansible itself: for each case (an ansible.cfg where
 * Ansible looks for one, ANSIBLE_* variables), `ansible-config dump --only-changed -t all`
 * (ansible-core, installed by .ci/run) and tsplay must show the same file, and the same value and
 * origin for every setting tsplay uses. tsplay adds the line to a file origin (`ansible.cfg:3`);
 * that is the only difference allowed. Its ssh.* settings are the ssh connection plugin's options,
 * and so are host_key_checking and timeout: tsplay uses what Ansible's ssh connection uses, where
 * [ssh_connection] and ANSIBLE_SSH_* beat the base setting's [defaults] and ANSIBLE_*.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../engine/load/settings.js';
import { tsplay } from '../helpers/cli.js';

const run = promisify(execFile);
const hasAnsible = await run('ansible-config', ['--version']).then(
  () => true,
  () => false,
);
const scratch = mkdtempSync(join(tmpdir(), 'tsplay-cfg-oracle-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Case {
  name: string;
  /** ./ansible.cfg in the directory both run in. */
  cfg?: string;
  /** ~/.ansible.cfg */
  homeCfg?: string;
  /** A file elsewhere, named by ANSIBLE_CONFIG (its directory when `dirForm`). */
  envCfg?: string;
  dirForm?: boolean;
  worldWritable?: boolean;
  env?: Record<string, string>;
}

const CASES: Case[] = [
  {
    name: 'configparser syntax: both delimiters, comments, inline ;, continuation lines, quotes',
    cfg: [
      '# comment',
      '[defaults]',
      'inventory = hosts.ini, ../common/inv   ; two sources',
      'roles_path: roles:~/galaxy/roles',
      'Remote_User = "deploy"',
      'forks=20',
      'private_key_file = keys/id_ed25519',
      'timeout = 25',
      'host_key_checking = False',
      '  ; an indented comment',
      'interpreter_python = auto_silent',
      '[privilege_escalation]',
      'become = yes',
      'become_user = admin',
      'become_ask_pass = true',
      '[ssh_connection]',
      'ssh_args = -o ControlMaster=auto',
      '    -o ControlPersist=60s',
      "ssh_common_args = '-o ProxyJump=ops@bastion:2222'",
      'pipelining = True',
    ].join('\n'),
  },
  {
    name: 'environment variables over the file',
    cfg: '[defaults]\nforks = 5\nremote_user = fromfile\ninventory = a.yml\n[privilege_escalation]\nbecome = false\n',
    env: {
      ANSIBLE_FORKS: '7',
      ANSIBLE_REMOTE_USER: 'fromenv',
      ANSIBLE_INVENTORY: 'x.ini,/abs/y',
      ANSIBLE_ROLES_PATH: 'rel/roles:/opt/roles',
      ANSIBLE_BECOME: 'True',
      ANSIBLE_BECOME_METHOD: 'sudo',
      ANSIBLE_HOST_KEY_CHECKING: '0',
      ANSIBLE_TIMEOUT: '9',
      ANSIBLE_SSH_COMMON_ARGS: '-J jump',
      ANSIBLE_PRIVATE_KEY_FILE: '~/k',
    },
  },
  {
    name: '~/.ansible.cfg when the project has none; [ssh_connection] over [defaults]; [DEFAULT] shows through',
    homeCfg: '[DEFAULT]\nremote_user = everyone\n[defaults]\ntimeout = 3\nhost_key_checking = True\nprivate_key_file = ~/.ssh/fleet\n[ssh_connection]\ntimeout = 4\nhost_key_checking = False\nssh_extra_args = -o ServerAliveInterval=30\n',
  },
  {
    name: 'ANSIBLE_CONFIG naming a directory wins over ./ansible.cfg',
    cfg: '[defaults]\nforks = 2\n',
    envCfg: '[defaults]\nforks = 3\ntransport = paramiko\nremote_port = 2222\nvault_password_file = ../vault-pass\n',
    dirForm: true,
  },
  {
    name: 'a world-writable directory\'s ansible.cfg is skipped',
    cfg: '[defaults]\nforks = 2\n',
    homeCfg: '[defaults]\nforks = 4\n',
    worldWritable: true,
  },
];

let n = 0;
function setUp(c: Case): { dir: string; env: Record<string, string> } {
  const root = join(scratch, `c${n++}`);
  const dir = join(root, 'project');
  const home = join(root, 'home');
  mkdirSync(dir, { recursive: true });
  mkdirSync(home);
  if (c.cfg !== undefined) writeFileSync(join(dir, 'ansible.cfg'), c.cfg);
  if (c.homeCfg !== undefined) writeFileSync(join(home, '.ansible.cfg'), c.homeCfg);
  if (c.worldWritable) chmodSync(dir, 0o777);
  const env: Record<string, string> = { HOME: home, ...c.env };
  if (c.envCfg !== undefined) {
    const other = join(root, 'elsewhere');
    mkdirSync(other);
    writeFileSync(join(other, 'ansible.cfg'), c.envCfg);
    env.ANSIBLE_CONFIG = c.dirForm ? other : join(other, 'ansible.cfg');
  }
  return { dir, env };
}

/** `NAME(ORIGIN) = VALUE` entries; a value may run over several lines (a continuation line). */
function entries(lines: string[]): Map<string, string> {
  const out = new Map<string, string>();
  let last: string | undefined;
  for (const line of lines) {
    const m = /^([A-Za-z_.]+)\((.*?)\) = (.*)$/.exec(line);
    if (m) out.set((last = m[1]!), `(${m[2]}) = ${m[3]}`);
    else if (last && line !== '') out.set(last, `${out.get(last)}\n${line}`);
  }
  return out;
}

/** The base settings and the ssh plugin's options (as ssh.NAME) from `ansible-config dump -t all`. */
function ansibleEntries(stdout: string): Map<string, string> {
  const lines = stdout.split('\n');
  const firstSection = lines.findIndex((l, i) => /^[A-Z]+:$/.test(l) && /^=+$/.test(lines[i + 1] ?? ''));
  const base = entries(lines.slice(0, firstSection < 0 ? undefined : firstSection));
  const sshStart = lines.findIndex((l, i) => l === 'ssh:' && /^_+$/.test(lines[i + 1] ?? ''));
  if (sshStart >= 0) {
    const end = lines.findIndex((l, i) => i > sshStart + 1 && (l === '' || /^\S+:$/.test(l)));
    for (const [k, v] of entries(lines.slice(sshStart + 2, end < 0 ? undefined : end))) base.set(`ssh.${k}`, v);
  }
  return base;
}

const SUPPORTED = new Set(['CONFIG_FILE', ...SETTINGS.map((s) => s.name)]);
const only = (m: Map<string, string>): Record<string, string> => Object.fromEntries([...m].filter(([k]) => SUPPORTED.has(k)).sort());
/** Settings whose value Ansible's ssh connection takes from its own option, not the base setting. */
const FROM_SSH_PLUGIN: Record<string, string> = { HOST_KEY_CHECKING: 'ssh.host_key_checking', DEFAULT_TIMEOUT: 'ssh.timeout' };

function ansibleUses(dump: Map<string, string>): Map<string, string> {
  const out = new Map(dump);
  for (const [name, option] of Object.entries(FROM_SSH_PLUGIN)) {
    out.delete(name);
    if (dump.has(option)) out.set(name, dump.get(option)!);
  }
  return out;
}

describe.skipIf(!hasAnsible).concurrent('tsplay config against ansible-config dump (skipped only when ansible-core is not installed)', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const { dir, env } = setUp(c);
      const ansible = await run('ansible-config', ['dump', '--only-changed', '-t', 'all'], { cwd: dir, env: { PATH: process.env.PATH!, ANSIBLE_NOCOLOR: '1', ...env } });
      const ours = await tsplay(['config', '--only-changed'], { cwd: dir, env });
      expect(ours.code, ours.stderr).toBe(0);
      // tsplay names the line too: "ansible.cfg:3" where Ansible says "ansible.cfg".
      const tsplayEntries = entries(ours.stdout.split('\n').map((l) => l.replace(/^([A-Za-z_.]+\([^)]*?\.(?:cfg|ini)):\d+\)/, '$1)')));
      const expected = only(ansibleUses(ansibleEntries(ansible.stdout)));
      expect(Object.keys(expected).length).toBeGreaterThan(1);
      expect(only(tsplayEntries)).toEqual(expected);
      if (c.worldWritable) {
        expect(ansible.stderr).toMatch(/world writable directory/);
        expect(ours.stderr).toMatch(/world writable directory/);
      }
    });
  }
});
