/** wait_for's shell program. (The module's table is test/modules/slurp-wait_for.ts.) */
import { describe, expect, it } from 'vitest';
import { conditionScript, describeWait, waitScript } from '../../../engine/modules/host/wait_for.js';

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
    expect(s).toContain('deadline=$((start + 0 * 1000))');
    expect(s).not.toContain('sleep 10');
  });
  it('describes what it waits for', () => {
    expect(describeWait({ timeout: 5 })).toBe('5 seconds');
  });
});
