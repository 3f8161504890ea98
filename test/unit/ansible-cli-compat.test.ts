/**
 * What an Ansible user types on the command line about inventories works as in Ansible: several
 * -i merged in order, -l @file, a pattern name that matches nothing (a warning, or an error with
 * --strict), group_names sorted, and delegate_to: localhost / 127.0.0.1 without an inventory entry.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tsplay } from '../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'tsplay-invcli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function files(entries: Record<string, string>): string {
  const dir = mkdtempSync(join(work, 'p-'));
  for (const [name, text] of Object.entries(entries)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const LIST = '- hosts: all\n  gather_facts: false\n  tasks: []\n';
const listed = (stdout: string): string[] => stdout.split('\n').filter((l) => /^ {6}\S/.test(l)).map((l) => l.trim()).sort();

describe('inventory options as Ansible users type them', () => {
  it('several -i are merged in order (not the last one only)', async () => {
    const dir = files({ 'pb.yml': LIST, 'a.yml': 'all:\n  hosts:\n    a1:\n    a2:\n', 'b.ini': '[web]\nb1\n' });
    const r = await tsplay(['pb.yml', '-i', 'a.yml', '-i', 'b.ini', '-i', 'c1,c2', '--list-hosts'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(listed(r.stdout)).toEqual(['a1', 'a2', 'b1', 'c1', 'c2']);
  });

  it('-l @file takes one pattern per line', async () => {
    const dir = files({ 'pb.yml': LIST, 'hosts': '[web]\nw[1:4]\n', 'retry.txt': 'w2\nw4\n\n' });
    const r = await tsplay(['pb.yml', '-i', 'hosts', '-l', '@retry.txt', '--list-hosts'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(listed(r.stdout)).toEqual(['w2', 'w4']);
    const missing = await tsplay(['pb.yml', '-i', 'hosts', '-l', '@nope.txt', '--list-hosts'], { cwd: dir });
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain('limit file not found');
  });

  it('an unknown name in a pattern warns and is ignored; --strict makes it an error', async () => {
    const dir = files({ 'pb.yml': '- hosts: web:wbe\n  gather_facts: false\n  tasks: []\n', 'ok.yml': LIST, 'hosts': '[web]\nw1\n' });
    const loose = await tsplay(['pb.yml', '-i', 'hosts', '-l', 'w1,nosuch', '--list-hosts'], { cwd: dir });
    expect(loose.code, loose.stderr).toBe(0);
    expect(listed(loose.stdout)).toEqual(['w1']);
    expect(loose.stderr).toContain("[WARNING]: --limit: host pattern 'nosuch' names no group or host in the inventory");
    expect(loose.stderr).toMatch(/pb\.yml:1:\d+: host pattern 'wbe' names no group or host .* did you mean 'web'/);
    const strict = await tsplay(['pb.yml', '-i', 'hosts', '--strict', '--list-hosts'], { cwd: dir });
    expect(strict.code).toBe(4);
    expect(strict.stderr).toMatch(/pb\.yml:1:\d+: error: host pattern 'wbe' names no group or host/);
    const strictLimit = await tsplay(['ok.yml', '-i', 'hosts', '--strict', '-l', 'w1:nosuch', '--list-hosts'], { cwd: dir });
    expect(strictLimit.code).toBe(5);
    expect(strictLimit.stderr).toContain("error: --limit: host pattern 'nosuch' names no group or host");
    const help = await tsplay(['run', '--help']);
    expect(help.stdout).toMatch(/--strict\s+a host pattern name that matches\s+no\s+group\s+or\s+host\s+is an error[^]*as\s+Ansible\s+does/);
  });

  it('group_names is sorted by name, and delegate_to localhost / 127.0.0.1 runs on the controller without an inventory entry', async () => {
    const log = join(work, 'delegated.log');
    writeFileSync(log, '');
    const dir = files({
      'hosts': '[zeta]\nn1 ansible_connection=local\n[alpha]\nn1\n[Mid]\nn1\n',
      'pb.yml': `- hosts: n1
  gather_facts: false
  tasks:
    - shell: echo "{{#each group_names}}[{{this}}]{{/each}}" >> ${log}
    - shell: echo "via 127.0.0.1" >> ${log}
      delegate_to: 127.0.0.1
    - shell: echo "via localhost" >> ${log}
      delegate_to: localhost
`,
    });
    const r = await tsplay(['pb.yml', '-i', 'hosts'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(["[Mid][alpha][zeta]", 'via 127.0.0.1', 'via localhost']);
  });
});

/**
 * ansible.cfg, ANSIBLE_* variables and the flags Ansible users type. become is observed through a
 * stand-in `sudo` first on PATH (the local transport runs sudo as the SSH one does): it logs the
 * user it was asked for and the password sudo's prompt received, then runs the command.
 */
describe('ansible.cfg, ANSIBLE_* and ansible-playbook flags', () => {
  const bin = mkdtempSync(join(work, 'bin-'));
  const sudoLog = join(bin, 'sudo.log');
  writeFileSync(
    join(bin, 'sudo'),
    `#!/bin/sh
prompt=''; user=''; mode=''
while [ $# -gt 0 ]; do
  case "$1" in
    -p) prompt="$2"; shift 2;;
    -u) user="$2"; shift 2;;
    -S|-n) mode="$1"; shift;;
    --) shift; break;;
    *) shift;;
  esac
done
pw=''
if [ -n "$prompt" ]; then printf '%s' "$prompt" >&2; IFS= read -r pw; fi
echo "user=$user mode=$mode password=$pw" >> ${sudoLog}
exec "$@"
`,
    { mode: 0o755 },
  );
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({ PATH: `${bin}:${process.env.PATH}`, ...extra });
  const sudoCalls = (): string[] => (readFileSync(sudoLog, { encoding: 'utf8', flag: 'a+' }).trim() || '').split('\n').filter(Boolean);
  const clearSudo = (): void => writeFileSync(sudoLog, '');
  const LOCAL_INV = '[web]\nw1 ansible_connection=local\n';
  const ECHO = '- hosts: all\n  gather_facts: false\n  tasks:\n    - name: hello\n      command: echo hello\n';

  it('takes the inventory from ansible.cfg when there is no -i; -i replaces it; none at all is a clear error', async () => {
    const dir = files({ 'ansible.cfg': '[defaults]\ninventory = hosts.ini\n', 'hosts.ini': '[web]\nfromcfg\n', 'other.ini': '[web]\nfromflag\n', 'pb.yml': LIST });
    const r = await tsplay(['pb.yml', '--list-hosts'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(listed(r.stdout)).toEqual(['fromcfg']);
    const flag = await tsplay(['pb.yml', '-i', 'other.ini', '--list-hosts'], { cwd: dir });
    expect(listed(flag.stdout)).toEqual(['fromflag']);
    const fromEnv = await tsplay(['pb.yml', '--list-hosts'], { cwd: dir, env: { ANSIBLE_INVENTORY: 'other.ini' } });
    expect(listed(fromEnv.stdout)).toEqual(['fromflag']);
    const none = await tsplay(['pb.yml', '--list-hosts'], { cwd: files({ 'pb.yml': LIST }) });
    expect(none.code).toBe(5);
    expect(none.stderr).toContain('error: no inventory: give -i INVENTORY, or set inventory in ansible.cfg');
  });

  it('a bad value of a setting tsplay uses stops the run at its ansible.cfg line, before anything runs', async () => {
    const dir = files({ 'ansible.cfg': '[defaults]\nforks = 10 # ten\n[privilege_escalation]\nbecome_method = su\n', 'hosts': LOCAL_INV, 'pb.yml': ECHO });
    const r = await tsplay(['pb.yml', '-i', 'hosts'], { cwd: dir });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`${join(dir, 'ansible.cfg')}:2:9: error: [defaults] forks: expected a positive integer, got "10 # ten"`);
    expect(r.stderr).toContain("hint: the number of tasks run at once across hosts, e.g. forks = 20; in ansible.cfg only ';' after a space starts a comment");
    expect(r.stderr).toContain(`${join(dir, 'ansible.cfg')}:4:17: error: [privilege_escalation] become_method: "su" is not supported`);
    expect(r.stdout).not.toContain('hello');
  });

  it('tsplay config shows each setting and where it came from; --only-changed leaves out the defaults', async () => {
    const dir = files({ 'ansible.cfg': '[defaults]\nremote_user = deploy\nforks: 7\n[ssh_connection]\npipelining = True\n' });
    const r = await tsplay(['config', '-T', '40', '--private-key', 'keys/id'], { cwd: dir, env: { ANSIBLE_BECOME: 'yes', TSPLAY_ROLES_PATH: '/srv/roles' } });
    expect(r.code, r.stderr).toBe(0);
    const cfg = join(dir, 'ansible.cfg');
    expect(r.stdout.split('\n')).toEqual(
      expect.arrayContaining([
        `CONFIG_FILE() = ${cfg}`,
        `DEFAULT_REMOTE_USER(${cfg}:2) = deploy`,
        `DEFAULT_FORKS(${cfg}:3) = 7`,
        `ssh.pipelining(${cfg}:5) = True`,
        'DEFAULT_BECOME(env: ANSIBLE_BECOME) = True',
        "DEFAULT_ROLES_PATH(env: TSPLAY_ROLES_PATH) = ['/srv/roles']",
        'DEFAULT_TIMEOUT(flag: -T) = 40',
        `DEFAULT_PRIVATE_KEY_FILE(flag: --private-key) = ${join(dir, 'keys/id')}`,
        'DEFAULT_BECOME_USER(default) = root',
        'HOST_KEY_CHECKING(default) = True',
      ]),
    );
    const changed = await tsplay(['config', '--only-changed'], { cwd: dir });
    expect(changed.stdout).not.toContain('(default)');
    expect(changed.stdout).toContain(`DEFAULT_FORKS(${cfg}:3) = 7`);
    const verbose = await tsplay(['config', '-v'], { cwd: dir });
    expect(verbose.stderr).toMatch(/pipelining = True .*ignored: tsplay keeps one SSH connection per host/);
  });

  it('-b, --become-user and [privilege_escalation] make tasks sudo; a play that says become: false wins', async () => {
    const dir = files({
      'hosts': LOCAL_INV,
      'pb.yml': ECHO,
      'nobecome.yml': '- hosts: all\n  gather_facts: false\n  become: false\n  tasks:\n    - command: echo hello\n',
      'cfg/ansible.cfg': '[privilege_escalation]\nbecome = True\nbecome_user = fromcfg\n',
    });
    clearSudo();
    const flags = await tsplay(['pb.yml', '-i', 'hosts', '-b', '--become-user', 'tsplayer'], { cwd: dir, env: env() });
    expect(flags.code, flags.stdout + flags.stderr).toBe(0);
    expect(sudoCalls()).toEqual(['user=tsplayer mode=-n password=']);
    clearSudo();
    const fromCfg = await tsplay(['pb.yml', '-i', 'hosts'], { cwd: dir, env: env({ ANSIBLE_CONFIG: join(dir, 'cfg/ansible.cfg') }) });
    expect(fromCfg.code, fromCfg.stdout + fromCfg.stderr).toBe(0);
    expect(sudoCalls()).toEqual(['user=fromcfg mode=-n password=']);
    clearSudo();
    const playSays = await tsplay(['nobecome.yml', '-i', 'hosts', '-b', '--become-user', 'tsplayer'], { cwd: dir, env: env() });
    expect(playSays.code, playSays.stdout + playSays.stderr).toBe(0);
    expect(sudoCalls()).toEqual([]);
  });

  it('-K asks for the become password before the run (a line of stdin when not a terminal) and keeps it secret; with -k it defaults to the SSH password', async () => {
    const dir = files({ 'hosts': LOCAL_INV, 'pb.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: echo "$(id -un) said pw-for-sudo-1"\n' });
    clearSudo();
    const r = await tsplay(['pb.yml', '-i', 'hosts', '-b', '--become-user', 'tsplayer', '-K', '-v'], { cwd: dir, env: env(), input: 'pw-for-sudo-1\n' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain('BECOME password: ');
    expect(sudoCalls()).toEqual(['user=tsplayer mode=-S password=pw-for-sudo-1']);
    expect(r.stdout + r.stderr).not.toContain('pw-for-sudo-1');
    clearSudo();
    const both = await tsplay(['pb.yml', '-i', 'hosts', '-b', '--become-user', 'tsplayer', '-k', '-K'], { cwd: dir, env: env(), input: 'ssh-pass-2\n\n' });
    expect(both.code, both.stdout + both.stderr).toBe(0);
    expect(both.stderr).toContain('SSH password: ');
    expect(both.stderr).toContain('BECOME password[defaults to SSH password]: ');
    expect(sudoCalls()).toEqual(['user=tsplayer mode=-S password=ssh-pass-2']);
  });

  it('-c local runs on the controller hosts that name no connection; -c paramiko is ssh; other connections are refused', async () => {
    const dir = files({ 'hosts': '[web]\nfar ansible_host=127.0.0.1 ansible_port=1\n', 'pb.yml': ECHO });
    const local = await tsplay(['pb.yml', '-i', 'hosts', '-c', 'local'], { cwd: dir });
    expect(local.code, local.stdout + local.stderr).toBe(0);
    const ssh = await tsplay(['pb.yml', '-i', 'hosts', '-c', 'paramiko', '-v'], { cwd: dir });
    expect(ssh.code).toBe(3);
    expect(ssh.stderr).toContain('transport = paramiko (flag: -c): tsplay uses its own SSH client (ssh2) for paramiko, the same as ssh');
    const docker = await tsplay(['pb.yml', '-i', 'hosts', '-c', 'docker'], { cwd: dir });
    expect(docker.code).toBe(5);
    expect(docker.stderr).toContain('error: -c docker is not supported: tsplay connects with ssh (smart and paramiko mean ssh too) or local');
  });

  it('a ProxyCommand in a host\'s ssh args stops the run at load, naming the host and the variable', async () => {
    const dir = files({
      'hosts': `[web]\nw1 ansible_host=10.0.0.5 ansible_ssh_common_args='-o ProxyCommand="ssh -W %h:%p -q ops@bastion"'\n`,
      'pb.yml': ECHO,
      'ansible.cfg': '[ssh_connection]\nssh_args = -o ControlMaster=auto -p 2222\n',
    });
    const r = await tsplay(['pb.yml', '-i', 'hosts'], { cwd: dir });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('error: host w1: ssh_args (');
    expect(r.stderr).toContain('ansible.cfg:2): -p 2222 is not supported');
    writeFileSync(join(dir, 'ansible.cfg'), '[ssh_connection]\nssh_args = -C -o ControlPersist=60s\n');
    const again = await tsplay(['pb.yml', '-i', 'hosts'], { cwd: dir });
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('error: host w1: ansible_ssh_common_args: -o ProxyCommand=ssh -W %h:%p -q ops@bastion is not supported');
    expect(again.stderr).toContain('hint: tsplay connects through jump hosts itself: write -o ProxyJump=ops@bastion instead');
    expect(again.stderr).toContain('nothing was run');
  });

  it('a host reached only by delegate_to has its ssh args checked at load too, before the play hosts are touched', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'tsplay-delegate-')), 'ran');
    const dir = files({
      'hosts': `[web]\nw1 ansible_connection=local\n[ops]\nbastion ansible_host=127.0.0.1 ansible_port=1 ansible_ssh_common_args='-o ProxyCommand="nc %h %p"'\n`,
      'pb.yml': `- hosts: web\n  gather_facts: false\n  tasks:\n    - command: touch ${marker}\n    - command: "true"\n      delegate_to: bastion\n`,
    });
    // --limit leaves bastion out of the hosts the play targets, not out of the run.
    const r = await tsplay(['pb.yml', '-i', 'hosts', '--limit', 'w1'], { cwd: dir });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('error: host bastion: ansible_ssh_common_args: -o ProxyCommand=nc %h %p is not supported');
    expect(r.stderr).toContain('nothing was run');
    expect(existsSync(marker)).toBe(false);
  });

  it('ansible_python_interpreter, --flush-cache and pipelining are accepted; -v says they change nothing', async () => {
    const dir = files({ 'hosts': '[web]\nw1 ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n', 'pb.yml': ECHO, 'ansible.cfg': '[defaults]\npipelining = True\nnocows = 1\n' });
    const quiet = await tsplay(['pb.yml', '-i', 'hosts', '--flush-cache'], { cwd: dir });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    const verbose = await tsplay(['pb.yml', '-i', 'hosts', '--flush-cache', '-v'], { cwd: dir });
    expect(verbose.code, verbose.stderr).toBe(0);
    expect(verbose.stderr).toContain(`Using ${join(dir, 'ansible.cfg')} as config file`);
    expect(verbose.stderr).toContain('[WARNING]: ansible_python_interpreter: accepted and unused: tsplay needs no Python on hosts (w1)');
    expect(verbose.stderr).toContain('[WARNING]: --flush-cache: tsplay keeps no fact cache between runs; nothing to flush');
    expect(verbose.stderr).toMatch(/\[WARNING\]: pipelining = True \(.*ansible\.cfg:2\): ignored/);
    expect(verbose.stderr).toMatch(/\[WARNING\]: .*ansible\.cfg:3: \[defaults\] nocows is not used by tsplay; ignored/);
  });

  it('roles_path in ansible.cfg is searched (relative to the file); TSPLAY_ROLES_PATH wins over it', async () => {
    const dir = files({ 'ansible.cfg': '[defaults]\nroles_path = shared/roles\n', 'hosts': LOCAL_INV, 'pb.yml': '- hosts: all\n  gather_facts: false\n  roles: [greet]\n' });
    const log = join(dir, 'greet.log');
    for (const [where, word] of [['shared/roles', 'cfg'], ['own/roles', 'own']] as const) {
      mkdirSync(join(dir, where, 'greet/tasks'), { recursive: true });
      writeFileSync(join(dir, where, 'greet/tasks/main.yml'), `- shell: echo ${word} >> ${log}\n`);
    }
    const r = await tsplay([join(dir, 'pb.yml'), '-i', join(dir, 'hosts')], { cwd: join(dir, 'shared') });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const own = await tsplay(['pb.yml', '-i', 'hosts'], { cwd: dir, env: { TSPLAY_ROLES_PATH: join(dir, 'own/roles') } });
    expect(own.code, own.stdout + own.stderr).toBe(0);
    expect(readFileSync(log, 'utf8')).toBe('cfg\nown\n');
  });

  it('--start-at-task starts at the first task matching the name or glob, later plays included; no match names near ones', async () => {
    const log = join(work, `start-${Date.now()}.log`);
    const task = (name: string): string => `    - name: ${name}\n      shell: echo ${name} >> ${log}\n`;
    const dir = files({
      'hosts': LOCAL_INV,
      'pb.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n${task('one')}    - block:\n    ${task('two').replace(/\n {4}/g, '\n        ')}    ${task('three').replace(/\n {4}/g, '\n        ')}- hosts: all\n  gather_facts: false\n  tasks:\n${task('four')}`,
    });
    writeFileSync(log, '');
    const r = await tsplay(['pb.yml', '-i', 'hosts', '--start-at-task', 'thr*'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(log, 'utf8')).toBe('three\nfour\n');
    const none = await tsplay(['pb.yml', '-i', 'hosts', '--start-at-task', 'thre'], { cwd: dir });
    expect(none.code).toBe(5);
    expect(none.stderr).toContain("error: --start-at-task: no task is named 'thre'; did you mean 'three'?");
  });

  it('every ansible-playbook flag tsplay refuses says what to use instead', async () => {
    const dir = files({ 'hosts': LOCAL_INV, 'pb.yml': ECHO });
    const cases: Array<[string[], string]> = [
      [['--step'], 'error: --step is not supported: tsplay does not stop to ask before each task: select tasks with -t/--tags, or start later with --start-at-task'],
      [['-M', 'library'], 'error: -M, --module-path is not supported: tsplay\'s modules are built in (tsplay doc lists them)'],
      [['--become-method', 'su'], 'error: --become-method su is not supported: tsplay becomes another user with sudo only'],
      [['--become-password-file', 'pw'], 'error: --become-password-file is not supported: give -K and send the file on stdin (-K < FILE)'],
      [['--scp-extra-args', '-l 100'], 'error: --scp-extra-args is not supported: tsplay copies files over its one SSH connection'],
      [['--inventory-file', 'hosts'], 'error: --inventory-file is not supported: use -i FILE'],
    ];
    for (const [args, message] of cases) {
      const r = await tsplay(['pb.yml', '-i', 'hosts', ...args], { cwd: dir });
      expect(r.code, args.join(' ')).toBe(5);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
    const help = await tsplay(['run', '--help']);
    expect(help.stdout).toContain('Ansible flags tsplay refuses, and what to use instead:');
    expect(help.stdout).toMatch(/--step\s+tsplay does not stop to ask before each task/);
    expect(help.stdout).toMatch(/-K, --ask-become-pass\s+ask for the sudo password/);
  });
});

const hasAnsible = await promisify(execFile)('ansible-playbook', ['--version']).then(
  () => true,
  () => false,
);

describe.skipIf(!hasAnsible)('--list-tags and --list-tasks print what ansible-playbook prints (skipped only when ansible-core is not installed)', () => {
  it('for plays, roles, blocks and tag selections', async () => {
    const dir = files({
      'hosts': '[web]\nw1 ansible_connection=local\n',
      'roles/web/tasks/main.yml': '- name: install\n  debug: msg=i\n  tags: [pkg]\n- name: conf\n  debug: msg=c\n',
      'pb.yml': `- hosts: all
  name: first
  gather_facts: false
  tags: [p]
  roles:
    - role: web
      tags: [r]
  tasks:
    - name: a
      debug: msg=a
      tags: [y, x]
    - block:
        - name: c
          debug: msg=c
          tags: z
      tags: [blk]
- hosts: web
  gather_facts: false
  tasks:
    - name: d
      debug: msg=d
    - debug: msg=e
`,
    });
    // From the first play on: Ansible names the playbook as typed, tsplay by its path.
    const plays = (out: string): string => out.slice(out.indexOf('  play #1')).trimEnd();
    for (const args of [['--list-tags'], ['--list-tasks'], ['--list-tasks', '--list-tags'], ['--list-tasks', '-t', 'x,pkg'], ['--list-tags', '--skip-tags', 'z']]) {
      const ansible = await promisify(execFile)('ansible-playbook', ['-i', 'hosts', 'pb.yml', ...args], { cwd: dir, env: { ...process.env, ANSIBLE_NOCOLOR: '1' } });
      const ours = await tsplay(['pb.yml', '-i', 'hosts', ...args], { cwd: dir });
      expect(ours.code, ours.stderr).toBe(0);
      expect(plays(ours.stdout), args.join(' ')).toBe(plays(ansible.stdout));
    }
  });
});
