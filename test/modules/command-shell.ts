/** command and shell: what they run cannot be predicted, so check mode says "would run"; creates/removes settle it. */
import { moduleTable } from '../helpers/module-tester.js';
import { simulatedHost } from '../helpers/sim-host.js';

export const command = moduleTable('command', simulatedHost, [
  { name: 'runs, registers rc and output; always a change', args: { cmd: "sh -c 'echo out; echo err >&2'" }, changes: ["run: sh -c 'echo out; echo err >&2'"], unpredictable: "would run: sh -c 'echo out; echo err >&2'", result: { rc: 0, stdout: 'out', stderr: 'err', stdout_lines: ['out'] }, idempotent: false },
  { name: 'no shell expansion: quotes group words, $HOME stays literal', args: { cmd: 'touch "/tmp/a b" /tmp/$HOME' }, changes: [/^run: /], after: { '/tmp/a b': '', '/tmp/$HOME': '' }, idempotent: false },
  { name: 'argv', args: { argv: ['mkdir', '-p', '/var/lib/x y'] }, changes: ['run: mkdir -p /var/lib/x y'], after: { '/var/lib/x y': { type: 'directory' } }, idempotent: false },
  { name: 'creates: done once, then skipped', args: { cmd: 'touch /etc/done', creates: '/etc/done' }, changes: ['run: touch /etc/done'], after: { '/etc/done': '' } },
  { name: 'creates exists: skipped', args: { cmd: 'false', creates: '/etc/done' }, before: { '/etc/done': '' }, result: { msg: 'skipped, since /etc/done exists', rc: 0 } },
  { name: 'removes missing: skipped', args: { cmd: 'false', removes: '/etc/old' }, result: { msg: 'skipped, since /etc/old does not exist' } },
  { name: 'removes exists: runs', args: { cmd: 'rm /etc/old', removes: '/etc/old' }, before: { '/etc/old': '' }, changes: ['run: rm /etc/old'], after: { '/etc/old': null } },
  { name: 'chdir and stdin', args: { argv: ['tee', 'in'], chdir: '/var/lib', stdin: 'hello' }, before: { '/var/lib': { dir: true } }, changes: ['run: tee in'], after: { '/var/lib/in': 'hello' }, idempotent: false },
  { name: 'a non-zero exit fails with the tail of stderr, rc registered', args: { cmd: "sh -c 'echo boom >&2; exit 3'" }, changes: [/^run: /], fails: 'non-zero exit 3: boom', result: { rc: 3, stderr: 'boom' } },
  { name: 'nothing to run: refused', args: {}, fails: { message: 'command needs a command', hint: /argv/ } },
]);

export const shell = moduleTable('shell', simulatedHost, [
  { name: 'pipes and redirects', args: { cmd: 'echo a b | wc -w > /tmp/words' }, changes: ['run: echo a b | wc -w > /tmp/words'], after: { '/tmp/words': '2\n' }, idempotent: false },
  { name: 'creates settles it', args: { cmd: 'echo x > /etc/once', creates: '/etc/once' }, changes: [/^run: /], after: { '/etc/once': 'x\n' } },
  { name: 'a failing pipeline fails', args: { cmd: 'exit 4' }, changes: ['run: exit 4'], fails: 'non-zero exit 4' },
  // bash's own syntax (a here-string, BASH_VERSION) works only when bash runs it, not /bin/sh (dash).
  { name: 'executable: the shell that runs it', args: { cmd: 'cat <<< "${BASH_VERSION:+bash}" > /tmp/sh', executable: '/bin/bash' }, changes: [/^run: /], after: { '/tmp/sh': 'bash\n' }, idempotent: false },
]);
