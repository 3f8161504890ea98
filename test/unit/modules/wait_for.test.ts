/** wait_for plan: (what the wait loop saw, args, check mode) -> ok / failed / "would wait". Never changes. */
import { describe, expect, it } from 'vitest';
import { conditionScript, describeWait, planWaitFor, waitScript, type WaitForArgs, type WaitObserved } from '../../../engine/modules/host/wait_for.js';

const met: WaitObserved = { met: true, elapsed: 3, once: false, method: 'bash-dev-tcp' };
const timedOut: WaitObserved = { met: false, elapsed: 10, once: false, method: 'bash-dev-tcp' };
const notYet: WaitObserved = { met: false, elapsed: 0, once: true };

const cases: Array<{ name: string; args: WaitForArgs; obs: WaitObserved; fail?: string; unpredictable?: string }> = [
  { name: 'port open in time', args: { port: 10250 }, obs: met },
  { name: 'port timeout', args: { port: 10250, timeout: 10 }, obs: timedOut, fail: 'Timeout when waiting for 127.0.0.1:10250 (waited 10 s)' },
  { name: 'port stopped timeout', args: { port: 80, host: '10.0.0.1', state: 'stopped' }, obs: timedOut, fail: 'Timeout when waiting for 10.0.0.1:80 to stop (waited 10 s)' },
  { name: 'file timeout', args: { path: '/var/lib/kubelet/config.yaml' }, obs: timedOut, fail: 'Timeout when waiting for file /var/lib/kubelet/config.yaml (waited 10 s)' },
  { name: 'file absent timeout', args: { path: '/run/lock', state: 'absent' }, obs: timedOut, fail: 'Timeout when waiting for /run/lock to be absent (waited 10 s)' },
  { name: 'search_regex timeout', args: { path: '/var/log/x', search_regex: 'ready' }, obs: timedOut, fail: 'Timeout when waiting for search string ready in /var/log/x (waited 10 s)' },
  { name: 'custom msg', args: { port: 1, msg: 'kubelet did not come up' }, obs: timedOut, fail: 'kubelet did not come up' },
  { name: 'check mode, not yet: ok, says what it would wait for', args: { port: 10250, timeout: 60 }, obs: notYet, unpredictable: 'would wait up to 60 s for 127.0.0.1:10250 (not true yet)' },
  { name: 'check mode, already true: plain ok', args: { path: '/etc/hostname' }, obs: { ...notYet, met: true } },
];

describe('wait_for plan', () => {
  for (const c of cases) {
    it(c.name, () => {
      const p = planWaitFor(c.args, c.obs);
      expect(p.changes).toEqual([]);
      expect(p.fail?.message).toBe(c.fail);
      expect(p.unpredictable).toBe(c.unpredictable);
      expect(p.result.elapsed).toBe(c.obs.elapsed);
    });
  }
});

describe('wait_for script', () => {
  it('tests a port with bash /dev/tcp and falls back to /proc/net/tcp for local hosts', () => {
    const s = conditionScript({ port: 8080 });
    expect(s).toContain(`timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ '127.0.0.1' 8080`);
    expect(s).toContain('p=1F90');
    expect(s).toContain('/proc/net/tcp /proc/net/tcp6');
  });
  it('a remote host without bash is an error, not a silent pass', () => {
    expect(conditionScript({ port: 443, host: '10.0.0.1' })).toContain('exit 3');
  });
  it('stopped negates the test', () => {
    expect(conditionScript({ port: 8080, state: 'stopped' })).toContain("! timeout 5 bash");
    expect(conditionScript({ path: '/x', state: 'absent' })).toBe("cond() { [ ! -e '/x' ]; }");
  });
  it('check mode tests once: deadline now, no delay', () => {
    const s = waitScript({ port: 1, timeout: 300, delay: 10 }, true);
    expect(s).toContain('deadline=$((start + 0))');
    expect(s).not.toContain('sleep 10');
  });
  it('describes what it waits for', () => {
    expect(describeWait({ timeout: 5 })).toBe('5 seconds');
  });
});
