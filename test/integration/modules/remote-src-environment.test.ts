/**
 * copy remote_src and environment on a real host (49) over SSH, logged in as `deploy` and
 * becoming root with a sudo password: the source is read and the copy written on the host (a
 * root-only source the login user cannot read), check mode changes nothing and says what would
 * change, the second run converges; an environment value reaches the command through sudo and
 * never shows in the process list (it travels on stdin).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHosts } from '../../hosts/harness.js';
import { bootHost, ensureBuilt, play, sh, snapshot } from './fixture.js';

let t: TestHosts;
const DIR = '/srv/tsplay-remote-src';

beforeAll(async () => {
  await Promise.all([ensureBuilt(), (async () => (t = await bootHost(49)))()]);
  await sh(t, `rm -rf ${DIR} && mkdir -p ${DIR} && printf 'root only\\n' > ${DIR}/src && chmod 600 ${DIR}/src`);
});
afterAll(async () => t?.stop());

describe('copy remote_src and environment on a host, through become', () => {
  it('copies a file on the host to another path there; check mode first, then a converged second run', async () => {
    const task = `- copy: { src: ${DIR}/src, dest: ${DIR}/dst, remote_src: true, mode: '0640' }\n`;
    const before = await snapshot(t, [`${DIR}/dst`]);
    const check = await play(t, task, ['--check'], { asDeploy: true });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.changed).toBe(1);
    expect(check.stdout).toContain(`create ${DIR}/dst (10 bytes, mode 0640)`);
    expect(await snapshot(t, [`${DIR}/dst`])).toBe(before);

    const run = await play(t, task, [], { asDeploy: true });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await sh(t, `stat -c '%U %a' ${DIR}/dst; cat ${DIR}/dst`)).toBe('root 640\nroot only\n');
    const again = await play(t, task, [], { asDeploy: true });
    expect(again.changed, again.stdout).toBe(0);

    await sh(t, `printf 'changed\\n' > ${DIR}/src`);
    const update = await play(t, task, [], { asDeploy: true });
    expect(update.changed).toBe(1);
    expect(await sh(t, `cat ${DIR}/dst`)).toBe('changed\n');
  });

  it('a missing remote source fails the task with the path, before anything is written', async () => {
    const run = await play(t, `- copy: { src: ${DIR}/nope, dest: ${DIR}/never, remote_src: true }\n`, [], { asDeploy: true });
    expect(run.code).toBe(2);
    expect(run.stdout).toContain(`remote_src: ${DIR}/nope is not a regular file on the host`);
    expect(await sh(t, `test -e ${DIR}/never && echo there || echo absent`)).toBe('absent\n');
  });

  it('environment reaches the command through sudo, inner over outer, and is on no command line', async () => {
    const token = 'tok-3f9a1c0d8e';
    const tasks = `- block:
    - shell: 'echo "$TSPLAY_A $TSPLAY_B" > ${DIR}/env; id -un >> ${DIR}/env; for p in /proc/[0-9]*; do tr "\\\\0" " " < $p/cmdline 2>/dev/null; echo; done > ${DIR}/cmdlines'
      environment: { TSPLAY_B: "${token}" }
  environment: { TSPLAY_A: outer, TSPLAY_B: outer }
`;
    const run = await play(t, tasks, [], { asDeploy: true });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await sh(t, `cat ${DIR}/env`)).toBe(`outer ${token}\nroot\n`);
    // The listing did see the command's own shell (its script carries tsplay's start marker)...
    expect(Number(await sh(t, `grep -c TSPLAY-STARTED ${DIR}/cmdlines || true`))).toBeGreaterThan(0);
    // ...and no command line held the value.
    expect(await sh(t, `grep -c ${token} ${DIR}/cmdlines || true`)).toBe('0\n');
  });
});
