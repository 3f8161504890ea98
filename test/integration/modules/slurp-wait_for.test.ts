/**
 * slurp and wait_for on a real host (45): both never change anything. slurp registers base64
 * content (in check mode too); wait_for polls on the target in one exec until a port opens or
 * closes or a path appears, and fails naming what it waited for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshExec, type TestHosts } from '../../hosts/harness.js';
import { waitScript } from '../../../engine/modules/host/wait_for.js';
import { bootHost, ensureBuilt, lines, play, sh } from './fixture.js';

const ADDR = '127.0.1.45';
const PORT = 18045;
let t: TestHosts;

beforeAll(async () => {
  await Promise.all([ensureBuilt(), (async () => (t = await bootHost(45)))()]);
});
afterAll(async () => t?.stop());

/** A listener on ADDR:PORT started by systemd after `after` seconds (systemd's own socket activator). */
async function listenLater(after: number, unit = 'tsplay-listen'): Promise<void> {
  await sh(t, `systemd-run --unit ${unit} --collect /bin/sh -c 'sleep ${after}; exec systemd-socket-activate --accept -l ${ADDR}:${PORT} /bin/true'`);
}

describe('slurp on a real host', () => {
  const TASKS = `- slurp: { src: /etc/hostname }
  register: h
- debug: { msg: "{{ h.encoding }}:{{ h.content }}" }
`;
  it('registers content and encoding, in a real run and in check mode, and changes nothing', async () => {
    const want = `base64:${Buffer.from('w45\n').toString('base64')}`;
    for (const flags of [[], ['--check']]) {
      const res = await play(t, TASKS, flags);
      expect(res.code, res.stdout + res.stderr).toBe(0);
      expect(res.changed).toBe(0);
      expect(lines(res.stdout)).toContain(`    ${want}`);
    }
  });

  it('a missing file fails', async () => {
    const res = await play(t, '- slurp: { src: /etc/tsplay-nosuch }\n');
    expect(res.code).toBe(2);
    expect(res.stdout).toContain('file not found: /etc/tsplay-nosuch');
  });
});

describe('wait_for on a real host', () => {
  it('an open port (sshd) is ok at once', async () => {
    const res = await play(t, `- wait_for: { host: ${ADDR}, port: 22, timeout: 5 }\n  register: w\n- debug: { var: w.method }\n`);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.changed).toBe(0);
    expect(lines(res.stdout)).toContain('    bash-dev-tcp');
  });

  it('a closed port times out, naming what it waited for', async () => {
    const started = Date.now();
    const res = await play(t, `- wait_for: { host: ${ADDR}, port: ${PORT}, timeout: 3 }\n`);
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(new RegExp(`Timeout when waiting for ${ADDR.replace(/\./g, '\\.')}:${PORT} \\(waited [34] s\\)`));
    expect(Date.now() - started).toBeGreaterThan(3000);
  });

  it('check mode does not wait: ok, saying what a real run would wait for', async () => {
    const started = Date.now();
    const res = await play(t, `- wait_for: { host: ${ADDR}, port: ${PORT}, timeout: 60 }\n`, ['--check']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain(`(would wait up to 60 s for ${ADDR}:${PORT} (not true yet))`);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('waits for a port that opens later, then for it to close', async () => {
    // Long enough that a slow controller (a loaded CI machine) is still waiting when it opens.
    await listenLater(8);
    const up = await play(t, `- wait_for: { host: ${ADDR}, port: ${PORT}, timeout: 30, sleep: 0.5 }\n  register: w\n- debug: { var: w.elapsed }\n`);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const elapsed = Number(lines(up.stdout).find((l) => /^ {4}\d+$/.test(l)));
    expect(elapsed).toBeGreaterThanOrEqual(1);

    // The fallback without bash: LISTEN sockets in /proc/net/tcp (the hosts share the machine's netns).
    const noBash = waitScript({ host: '127.0.0.1', port: PORT, timeout: 2 }, false).replace('command -v bash >/dev/null 2>&1 && have_bash=1', ':');
    const viaProc = await sshExec(t, 45, noBash);
    expect(viaProc.stdout).toContain('method:proc-net-tcp');
    expect(viaProc.stdout).toMatch(/^result:met:/m);

    // (no --on-active timers: their default AccuracySec is a minute)
    await sh(t, "systemd-run --unit tsplay-stop-listen sh -c 'sleep 2; systemctl stop tsplay-listen'");
    const down = await play(t, `- wait_for: { host: ${ADDR}, port: ${PORT}, state: stopped, timeout: 30 }\n`);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(await sh(t, 'systemctl is-active tsplay-listen || true')).not.toBe('active\n');
  });

  it('waits for a file to appear and to contain a pattern', async () => {
    await sh(t, "systemd-run --unit tsplay-touch sh -c 'sleep 2; echo status=ready > /tmp/tsplay-ready'");
    const res = await play(t, '- wait_for: { path: /tmp/tsplay-ready, search_regex: "status=read[y]", timeout: 30 }\n');
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const gone = await play(t, '- wait_for: { path: /tmp/tsplay-never, state: absent, timeout: 2 }\n- wait_for: { path: /tmp/tsplay-ready, state: absent, timeout: 2 }\n');
    expect(gone.code).toBe(2);
    expect(gone.stdout).toContain('Timeout when waiting for /tmp/tsplay-ready to be absent');
  });
});
