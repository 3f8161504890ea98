/**
 * Includes, imports, with_* loops, environment and meta run as in Ansible. Ansible itself
 * (ansible-core, installed by .ci/run) is the oracle: each case is a small project whose tasks
 * append a line to a log file (`{{ out }}`, the same template in Jinja and Handlebars); it is run
 * by ansible-playbook and by tsplay on a local connection, and what ran (the log, in order) and
 * the recap counters must be the same. The subtle parts are the point: an import's when is
 * checked per task, an include's once; tags of an include are its own, apply's reach its tasks;
 * an included role's variables are private unless public.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { recap, tsplay } from '../helpers/cli.js';

const run = promisify(execFile);
const hasAnsible = await run('ansible-playbook', ['--version']).then(
  () => true,
  () => false,
);
const ENV = { ...process.env, ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_NOCOLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: 'false' };
const scratch = mkdtempSync(join(tmpdir(), 'tsplay-includes-oracle-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Case {
  /** Files of the project, by path; site.yml is the playbook. */
  files: Record<string, string>;
  /** Extra command-line arguments for both (--tags, ...). */
  args?: string[];
  /** Two hosts (a, b) instead of one (localhost). */
  twoHosts?: boolean;
  /** Compare what ran, not in which order. */
  unordered?: boolean;
  /** Plays that gather facts: Ansible counts each gathering as an ok task, tsplay does not. */
  gathers?: number;
  /** What tsplay must print on stderr (by default: nothing). */
  stderr?: RegExp;
  /** site.yml for tsplay, where Jinja and Handlebars differ (default's argument order). */
  tsplayLog?: (siteYml: string) => string;
}

const log = (text: string): string => `shell: echo "${text}" >> {{ out }}`;

const CASES: Record<string, Case> = {
  "an import's when holds per task, an include's once": {
    files: {
      'site.yml': `
- hosts: all
  gather_facts: false
  vars: { flag: true, v: play }
  tasks:
    - import_tasks: t.yml
      when: flag
    - set_fact: { flag: true }
    - include_tasks: t.yml
      when: flag
      vars: { v: include }
`,
      't.yml': `
- ${log('one {{ v }}')}
- set_fact: { flag: false }
- ${log('after the flag turned false')}
`,
    },
  },
  "--tags: an import's tags reach its tasks, an include's stay its own": {
    args: ['--tags', 'inc,x'],
    files: {
      'site.yml': `
- hosts: all
  gather_facts: false
  tasks:
    - import_tasks: t.yml
      tags: [imp]
    - include_tasks: t.yml
      tags: [inc]
    - include_tasks: { file: t.yml, apply: { tags: [inc] } }
      tags: [inc]
`,
      't.yml': `
- ${log('untagged')}
- ${log('tagged x')}
  tags: [x]
`,
    },
  },
  'an include loops: its tasks once per item, in order; when per item': {
    files: {
      'site.yml': `
- hosts: all
  gather_facts: false
  tasks:
    - include_tasks: t.yml
      loop: [a, b]
    - include_tasks: t.yml
      loop: [c, d]
      when: item == 'd'
    - include_tasks: t.yml
      loop: [e]
      loop_control: { loop_var: letter }
      vars: { item: "{{ letter }}" }
`,
      't.yml': `
- ${log('first {{ item }}')}
- ${log('second {{ item }}')}
`,
    },
  },
  'include_role and import_role: tasks_from, private and public variables, defaults under play vars': {
    files: {
      'site.yml': `
- hosts: all
  gather_facts: false
  vars: { shadowed: play }
  tasks:
    - ${log('before the import {{ sd }}')}
    - include_role: { name: r }
      vars: { rv: param }
    - include_role: { name: r, tasks_from: other, public: true }
    - ${log('after public {{ rd }} {{ rv }}')}
    - import_role: { name: s }
`,
      'roles/s/tasks/main.yml': `- ${log('s {{ sd }}')}\n`,
      'roles/s/defaults/main.yml': 'sd: s default\n',
      'roles/r/tasks/main.yml': `- ${log('r main {{ rd }} {{ rv }} {{ shadowed }}')}\n`,
      'roles/r/tasks/other.yml': `- ${log('r other {{ rd }}')}\n`,
      'roles/r/defaults/main.yml': 'rd: default\nshadowed: default\n',
      'roles/r/vars/main.yml': 'rv: var\n',
    },
  },
  'files included from a role and from included files are found beside them': {
    files: {
      'site.yml': `
- hosts: all
  gather_facts: false
  roles: [r]
  tasks:
    - include_tasks: tasks/a.yml
`,
      'roles/r/tasks/main.yml': '- import_tasks: install.yml\n- include_tasks: configure.yml\n',
      'roles/r/tasks/install.yml': `- ${log('r install')}\n`,
      'roles/r/tasks/configure.yml': `- ${log('r configure')}\n`,
      'tasks/a.yml': `- ${log('a')}\n- import_tasks: b.yml\n`,
      'tasks/b.yml': `- ${log('b')}\n`,
    },
  },
  'a templated include is resolved per host when it runs': {
    twoHosts: true,
    files: {
      'site.yml': `
- hosts: all
  gather_facts: false
  tasks:
    - include_tasks: "{{ inventory_hostname }}.yml"
    - include_tasks: "{{ item }}.yml"
      loop: [a, b]
      when: item == inventory_hostname
`,
      'a.yml': `- ${log('a.yml on {{ inventory_hostname }}')}\n`,
      'b.yml': `- ${log('b.yml on {{ inventory_hostname }}')}\n`,
    },
  },
  'import_playbook: vars over the play, tags and when reach every task': {
    args: ['--tags', 'imported'],
    files: {
      'site.yml': `
- import_playbook: other.yml
  vars: { who: importer }
  tags: [imported]
- import_playbook: other.yml
  when: false
  tags: [imported]
- hosts: all
  gather_facts: false
  tasks:
    - ${log('not tagged')}
`,
      'other.yml': `
- hosts: all
  gather_facts: false
  vars: { who: play }
  tasks:
    - ${log('other {{ who }}')}
`,
    },
  },
  'with_items flattens one level, with_list does not, with_dict gives key and value': {
    files: {
      'site.yml': `
- hosts: all
  gather_facts: false
  vars:
    nested: [[1, 2], [3, [4, 5]]]
    users: { alice: admin, bob: dev }
  tasks:
    - ${log('one of four items')}
      with_items: "{{ nested }}"
    - ${log('items literal {{ item }}')}
      with_items: [x, [y, z]]
    - ${log('one of two')}
      with_list: [[1, 2], 3]
    - ${log('dict {{ item.key }}={{ item.value }}')}
      with_dict: "{{ users }}"
    - ${log('single {{ item }}')}
      with_items: lone
`,
    },
  },
  'with_fileglob and with_first_found look in files/ beside the playbook': {
    // Ansible globs in directory order; tsplay sorts.
    unordered: true,
    files: {
      'site.yml': `
- hosts: all
  gather_facts: false
  tasks:
    - shell: echo "glob $(basename {{ item }})" >> {{ out }}
      with_fileglob: ["*.conf"]
    - shell: echo "first $(basename {{ item }})" >> {{ out }}
      with_first_found: [missing.conf, b.conf, a.conf]
    - shell: echo "none {{ item }}" >> {{ out }}
      with_first_found: [{ files: [missing.conf], skip: true }]
`,
      'files/a.conf': 'a\n',
      'files/b.conf': 'b\n',
      'files/c.txt': 'c\n',
      'files/.hidden.conf': 'h\n',
    },
  },
  'include_vars: a file, a directory in order, under a name; over play vars, per host when templated': {
    twoHosts: true,
    files: {
      'site.yml': `
- hosts: all
  gather_facts: false
  vars: { port: play, shared: play }
  tasks:
    - include_vars: settings.yml
    - ${log('file {{ port }} {{ shared }}')}
    - include_vars: { dir: conf.d }
    - ${log('dir {{ shared }} {{ deep }}')}
    - include_vars: { file: settings.yml, name: s }
    - ${log('named {{ s.port }}')}
    - include_vars: "{{ inventory_hostname }}.yml"
    - ${log('per host {{ only }} {{ inventory_hostname }}')}
`,
      'vars/settings.yml': 'port: 8080\nshared: settings\n',
      'conf.d/10-a.yml': 'shared: a\ndeep: a\n',
      'conf.d/20-b.yaml': 'shared: b\n',
      'conf.d/sub/30-c.json': '{"deep": "c"}\n',
      'vars/a.yml': 'only: for-a\n',
      'vars/b.yml': 'only: for-b\n',
    },
  },
  'include_vars with hash_behaviour: merge merges maps into what the host has, recursively; without it they are replaced': {
    files: {
      'site.yml': `
- hosts: all
  gather_facts: false
  vars: { conf: { a: play, kind: play }, other: { a: play } }
  tasks:
    - include_vars: { file: base.yml, hash_behaviour: merge }
    - include_vars: { file: more.yml, hash_behaviour: merge }
    - ${log('merged {{ conf.a }} {{ conf.b }} {{ conf.kind }} {{ conf.nested.x }} {{ conf.nested.y }}')}
    - include_vars: other.yml
    - ${log('replaced {{ other.b }} {{ other.a | default("none") }}')}
`,
      'vars/base.yml': 'conf: { b: base, kind: base, nested: { x: 1 } }\n',
      'vars/more.yml': 'conf: { kind: more, nested: { y: 2 } }\n',
      'vars/other.yml': 'other: { b: other }\n',
    },
    tsplayLog: (text) => text.replace('{{ other.a | default("none") }}', '{{default other.a "none"}}'),
  },
  'hash_behaviour = merge in ansible.cfg: include_vars merges (tsplay warns that other layers still replace)': {
    stderr: /hash_behaviour = merge .*include_vars merges dictionaries/,
    files: {
      'ansible.cfg': '[defaults]\nhash_behaviour = merge\n',
      'site.yml': `
- hosts: all
  gather_facts: false
  tasks:
    - include_vars: base.yml
    - include_vars: more.yml
    - ${log('merged {{ conf.b }} {{ conf.kind }} {{ conf.nested.x }} {{ conf.nested.y }}')}
    - include_vars: { file: base.yml, hash_behaviour: replace }
    - ${log('replaced {{ conf.kind }} {{ conf.nested.x }}')}
`,
      'vars/base.yml': 'conf: { b: base, kind: base, nested: { x: 1 } }\n',
      'vars/more.yml': 'conf: { kind: more, nested: { y: 2 } }\n',
    },
  },
  "facts outlive their play; ansible_host, ansible_run_tags; a role's defaults/main/ directory; community.general.modprobe's name": {
    files: {
      'site.yml': `
- hosts: all
  gather_facts: true
  tasks:
    - ${log('gathered')}
- hosts: all
  gather_facts: false
  roles: [r]
  tasks:
    - ${log('family {{ ansible_facts.os_family }} host {{ ansible_host }} tags {{ ansible_run_tags.0 }}')}
    - community.general.modprobe: { name: dummy_not_a_module, state: absent }
      check_mode: true
      when: false
`,
      'roles/r/defaults/main/10-a.yml': 'a: from-a\nshared: a\n',
      'roles/r/defaults/main/20-b.yml': 'shared: b\n',
      'roles/r/tasks/main.yml': `- ${log('defaults {{ a }} {{ shared }}')}\n`,
    },
    tsplayLog: (text) => text.replace('{{ ansible_run_tags.0 }}', '{{ ansible_run_tags.[0] }}'),
    gathers: 1,
  },
  'fail stops the host with its message; file takes dest for path; copy remote_src copies on the host': {
    twoHosts: true,
    files: {
      'site.yml': `
- hosts: all
  gather_facts: false
  tasks:
    - copy: { content: "payload\\n", dest: "{{ out }}.{{ inventory_hostname }}.src" }
    - copy: { src: "{{ out }}.{{ inventory_hostname }}.src", dest: "{{ out }}.{{ inventory_hostname }}.dst", remote_src: true }
    - copy: { src: "{{ out }}.{{ inventory_hostname }}.src", dest: "{{ out }}.{{ inventory_hostname }}.dst", remote_src: true }
    - shell: cat {{ out }}.{{ inventory_hostname }}.dst >> {{ out }}
    - file: { dest: "{{ out }}.{{ inventory_hostname }}.dir", state: directory }
    - shell: test -d {{ out }}.{{ inventory_hostname }}.dir && echo "dir {{ inventory_hostname }}" >> {{ out }}
    - fail: { msg: "stop {{ inventory_hostname }}" }
      when: inventory_hostname == 'b'
    - ${log('after fail {{ inventory_hostname }}')}
`,
    },
  },
  "with_first_found in a role: include_tasks finds the role's task files, include_vars its vars": {
    files: {
      'site.yml': '- hosts: all\n  gather_facts: false\n  roles: [q]\n',
      'roles/q/tasks/main.yml': `
- include_tasks: "{{ item }}"
  with_first_found: [nope.yml, setup.yml]
- include_vars: "{{ item }}"
  with_first_found: [nope.yml, os.yml]
- ${log('v={{ v }}')}
`,
      'roles/q/tasks/setup.yml': `- ${log('setup')}\n`,
      'roles/q/vars/os.yml': 'v: from os.yml\n',
    },
  },
  'environment: play, block and task, inner over outer': {
    files: {
      'site.yml': `
- hosts: all
  gather_facts: false
  environment: { A: play, B: play, C: play }
  vars: { c_value: task }
  tasks:
    - block:
        - shell: echo "A=$A B=$B C=$C" >> {{ out }}
          environment: { C: "{{ c_value }}" }
        - command: sh -c 'echo "command B=$B" >> {{ out }}'
      environment: { B: block }
    - shell: echo "outside A=$A B=$B" >> {{ out }}
`,
    },
  },
  'meta: flush_handlers runs them now; end_host ends the play for the host, its always and handlers too': {
    twoHosts: true,
    files: {
      'site.yml': `
- hosts: all
  gather_facts: false
  tasks:
    - ${log('t1 {{ inventory_hostname }}')}
      notify: h
    - meta: flush_handlers
    - ${log('t2 {{ inventory_hostname }}')}
      notify: h2
    - block:
        - meta: end_host
          when: inventory_hostname == 'a'
      always:
        - ${log('always {{ inventory_hostname }}')}
    - ${log('t3 {{ inventory_hostname }}')}
  handlers:
    - name: h
      ${log('h {{ inventory_hostname }}')}
    - name: h2
      ${log('h2 {{ inventory_hostname }}')}
- hosts: all
  gather_facts: false
  tasks:
    - ${log('play2 {{ inventory_hostname }}')}
`,
    },
  },
  'meta: end_play ends it for every host, handlers included': {
    twoHosts: true,
    files: {
      'site.yml': `
- hosts: all
  gather_facts: false
  tasks:
    - ${log('t1 {{ inventory_hostname }}')}
      notify: h
    - meta: end_play
      when: inventory_hostname == 'a'
    - ${log('t2 {{ inventory_hostname }}')}
  handlers:
    - name: h
      ${log('h {{ inventory_hostname }}')}
- hosts: all
  gather_facts: false
  tasks:
    - ${log('play2 {{ inventory_hostname }}')}
`,
    },
  },
};

function writeCase(name: string, c: Case): string {
  const dir = join(scratch, name.replace(/\W+/g, '-').slice(0, 60));
  for (const [file, text] of Object.entries(c.files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  writeFileSync(join(dir, 'inv.ini'), c.twoHosts ? 'a ansible_connection=local\nb ansible_connection=local\n' : 'localhost ansible_connection=local\n');
  return dir;
}

/** The log's lines; with two hosts the order between hosts is the scheduler's, so per host in order. */
function ran(file: string, c: Case): string[] {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  if (c.unordered) return lines.sort();
  if (!c.twoHosts) return lines;
  return [...lines.filter((l) => / a$/.test(l)), ...lines.filter((l) => !/ a$/.test(l))];
}

describe.skipIf(!hasAnsible)('includes, loops, environment and meta as ansible-playbook runs them (skipped only when ansible-core is not installed)', () => {
  it.each(Object.entries(CASES))('%s', async (name, c) => {
    const dir = writeCase(name, c);
    const args = (out: string): string[] => ['-i', 'inv.ini', 'site.yml', '-e', `out=${out}`, ...(c.args ?? [])];
    const ansibleLog = join(dir, 'ansible.log');
    const ansible = await run('ansible-playbook', args(ansibleLog), { cwd: dir, env: ENV }).catch((err: { stdout: string; stderr: string; code: number }) => err);
    const tsplayLog = join(dir, 'tsplay.log');
    if (c.tsplayLog) writeFileSync(join(dir, 'site.yml'), c.tsplayLog(c.files['site.yml']!));
    const ours = await tsplay(args(tsplayLog), { cwd: dir });
    if (c.stderr) expect(ours.stderr).toMatch(c.stderr);
    else expect(ours.stderr).toBe('');
    const theirs = ran(ansibleLog, c);
    expect(theirs.length, `${ansible.stdout}${ansible.stderr}`).toBeGreaterThan(0);
    expect(ran(tsplayLog, c), ours.stdout).toEqual(theirs);
    const counters = (stdout: string): Record<string, Record<string, number>> =>
      Object.fromEntries(Object.entries(recap(stdout)).map(([h, s]) => [h, { ok: s.ok!, changed: s.changed!, skipped: s.skipped!, failed: s.failed! }]));
    const theirCounters = counters(ansible.stdout);
    for (const stats of Object.values(theirCounters)) stats.ok! -= c.gathers ?? 0;
    expect(counters(ours.stdout)).toEqual(theirCounters);
  });
});
