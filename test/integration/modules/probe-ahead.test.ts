/**
 * Probe-ahead on a real host (46): the probes of consecutive host tasks go out as one exec, and
 * what a task changes is never judged from a probe taken before the change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHosts } from '../../hosts/harness.js';
import { bootHost, ensureBuilt, play, sh } from './fixture.js';

let t: TestHosts;
beforeAll(async () => {
  await Promise.all([ensureBuilt(), (async () => (t = await bootHost(46)))()]);
});
afterAll(async () => t?.stop());

/** The `exec N` lines tsplay logs at -vv: one per round trip to the host. */
function execs(stdout: string): number {
  return stdout.split('\n').filter((l) => /\] exec \d+ \(/.test(l)).length;
}

const ROLE = `- file: { path: "{{ item }}", state: directory, mode: '0755' }
  loop: [/opt/pa, /opt/pa/conf, /opt/pa/bin]
- copy: { dest: /opt/pa/conf/a.conf, content: "a\\n", mode: '0644' }
- template: { dest: /opt/pa/conf/b.conf, src: /dev/null }
  when: false
- copy: { dest: /opt/pa/bin/run.sh, content: "#!/bin/sh\\nexec sleep infinity\\n", mode: '0755' }
- copy:
    dest: /etc/systemd/system/pa.service
    content: |
      [Service]
      ExecStart=/opt/pa/bin/run.sh
      [Install]
      WantedBy=multi-user.target
- systemd: { name: pa, state: started, enabled: true, daemon_reload: true }
- command: cat /opt/pa/conf/a.conf
  register: conf
  changed_when: false
- copy: { dest: /opt/pa/conf/c.conf, content: "{{ conf.stdout }}-{{ conf.changed }}\\n" }
  when: "!ansible_check_mode"
`;

describe('probe-ahead on a real host', () => {
  it('a converged run reads the host in one exec up to the task that registers, and one more after it', async () => {
    const first = await play(t, ROLE, ['-vv']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.changed).toBe(6);
    expect(await sh(t, 'cat /opt/pa/conf/c.conf; systemctl is-active pa')).toBe('a-false\nactive\n');

    const again = await play(t, ROLE, ['-vv']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.changed).toBe(0);
    // 1: every probe up to and including the command (which registers: what follows may use it);
    // 2: the command itself; 3: the probe of the task after it.
    expect(execs(again.stdout), again.stdout).toBe(3);

    const check = await play(t, ROLE, ['-vv', '--check']);
    expect(check.changed).toBe(0);
    expect(execs(check.stdout)).toBe(1); // the command does not run in check mode; the last task is skipped
  });

  it('a task after a change is judged on the changed host, not on what was read before', async () => {
    await sh(t, "mkdir -p /opt/pt && printf '[Service]\\nExecStart=/bin/sleep infinity\\n' > /etc/systemd/system/pt.service && systemctl daemon-reload && systemctl start pt");
    // The same file twice, the same directory in a loop twice, the same unit stopped twice: the
    // second of each must be ok, though all were read ahead before the first one changed anything.
    const TWICE = `- copy: { dest: /opt/pt/twice.txt, content: "one\\n" }
- copy: { dest: /opt/pt/twice.txt, content: "one\\n" }
- file: { path: /opt/pt/twice.d, state: directory }
  loop: [1, 2]
- systemd: { name: pt, state: stopped }
- systemd: { name: pt, state: stopped }
- systemd: { name: pt, state: started }
`;
    const res = await play(t, TWICE, ['-v']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    // copy, the loop (first item creates, second is ok), stop, start: 4 changed of 6 tasks.
    expect(res.changed, res.stdout).toBe(4);
    expect(res.stdout).toContain('    ok: (item=2)');
    expect(await sh(t, 'cat /opt/pt/twice.txt; systemctl is-active pt')).toBe('one\nactive\n');
    const again = await play(t, TWICE);
    expect(again.changed).toBe(2); // stop, then start again: the only real changes left
  });

  it('check mode of a first run still says what a real run would do, task by task', async () => {
    await sh(t, 'rm -rf /opt/pb');
    const FRESH = `- file: { path: /opt/pb, state: directory }
- copy: { dest: /opt/pb/x, content: "x\\n" }
- copy: { dest: /opt/pb/x, content: "x\\n" }
`;
    const check = await play(t, FRESH, ['--check']);
    // Check mode cannot see the earlier tasks' effects (nothing is applied), like Ansible's.
    expect(check.changed).toBe(3);
    expect(await sh(t, 'test -e /opt/pb && echo there || echo absent')).toBe('absent\n');
    const real = await play(t, FRESH);
    expect(real.changed).toBe(2);
  });
});
