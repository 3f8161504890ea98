/**
 * ProbeBatch: many probes' execs go out as one, and each caller gets back exactly what its
 * script alone would have given (stdout bytes, stderr, exit code), over a real local shell.
 */
import { describe, expect, it } from 'vitest';
import { ProbeBatch } from '../../engine/connect/batch.js';
import { LocalConnection } from '../../engine/connect/local.js';
import type { Connection, ExecOptions, ExecResult } from '../../engine/connect/types.js';

/** A real local connection that counts what reaches it. */
function counting(): { conn: Connection; calls: string[] } {
  const local = new LocalConnection('t');
  const calls: string[] = [];
  return {
    calls,
    conn: {
      host: 't',
      exec: (script: string, options?: ExecOptions): Promise<ExecResult> => {
        calls.push(script);
        return local.exec(script, options);
      },
      close: () => local.close(),
    },
  };
}

const SCRIPTS = [
  'echo one',
  'printf "no newline"',
  'echo to-err >&2; exit 3',
  'set -e\necho before\nfalse\necho after',
  '# a comment last\necho x # trailing comment',
  'printf "\\n\\n"',
  'exit 0',
  'cat <<EOF\nheredoc line\nEOF',
];

describe('ProbeBatch', () => {
  it('sends the probes started together as one exec, and splits the results back exactly', async () => {
    const { conn, calls } = counting();
    const alone = await Promise.all(SCRIPTS.map((s) => conn.exec(s)));
    calls.length = 0;

    const batch = new ProbeBatch(conn);
    const results = SCRIPTS.map((s) => batch.track(() => batch.connection.exec(s)));
    batch.release();
    const batched = await Promise.all(results);

    expect(calls).toHaveLength(1);
    expect(batch.sent).toBe(1);
    for (const [i, r] of batched.entries()) {
      expect(r.code, SCRIPTS[i]).toBe(alone[i]!.code);
      expect(r.stdout.toString('latin1'), SCRIPTS[i]).toBe(alone[i]!.stdout.toString('latin1'));
      expect(r.stderr.toString('utf8'), SCRIPTS[i]).toBe(alone[i]!.stderr.toString('utf8'));
    }
    expect(batched[2]).toMatchObject({ code: 3 });
    expect(batched[2]!.stderr.toString()).toBe('to-err\n');
    expect(batched[3]!.stdout.toString()).toBe('before\n');
  });

  it('waits for probes that do other work first, and serves a second exec of one probe in a later round', async () => {
    const { conn, calls } = counting();
    const batch = new ProbeBatch(conn);
    const slow = batch.track(async () => {
      await new Promise((r) => setTimeout(r, 50)); // e.g. hashing a controller file
      const a = await batch.connection.exec('echo slow');
      const b = await batch.connection.exec(`echo again-${a.stdout.toString().trim()}`);
      return b.stdout.toString();
    });
    const quick = batch.track(async () => (await batch.connection.exec('echo quick')).stdout.toString());
    batch.release();
    expect(await Promise.all([slow, quick])).toEqual(['again-slow\n', 'quick\n']);
    // Round one: slow's and quick's first execs together; round two: slow's second alone.
    expect(calls).toHaveLength(2);
    expect(calls[0]).toContain('echo slow');
    expect(calls[0]).toContain('echo quick');
  });

  it('keeps execs with different become apart, and passes stdin-carrying execs straight through', async () => {
    const seen: Array<{ script: string; become?: string; stdin: boolean }> = [];
    const local = new LocalConnection('t');
    const conn: Connection = {
      host: 't',
      exec: (script, options = {}) => {
        seen.push({ script, become: options.become?.user, stdin: options.stdin !== undefined });
        return local.exec(script, { ...options, become: undefined });
      },
      close: () => Promise.resolve(),
    };
    const batch = new ProbeBatch(conn);
    const plain = [1, 2].map((n) => batch.track(() => batch.connection.exec(`echo plain${n}`)));
    const become = [1, 2].map((n) => batch.track(() => batch.connection.exec(`echo root${n}`, { become: { user: 'root' } })));
    const fed = batch.track(() => batch.connection.exec('cat', { stdin: 'fed' }));
    batch.release();
    const out = (await Promise.all([...plain, ...become, fed])).map((r) => r.stdout.toString().trim());
    expect(out).toEqual(['plain1', 'plain2', 'root1', 'root2', 'fed']);
    expect(seen.filter((s) => s.stdin)).toHaveLength(1);
    expect(seen.filter((s) => !s.stdin).map((s) => s.become ?? 'login')).toEqual(expect.arrayContaining(['login', 'root']));
    expect(seen.filter((s) => !s.stdin)).toHaveLength(2);
  });

  it('a combined exec that fails to run at all fails every probe in it with the same error', async () => {
    const conn: Connection = { host: 't', exec: () => Promise.reject(new Error('connection lost')), close: () => Promise.resolve() };
    const batch = new ProbeBatch(conn);
    const probes = ['a', 'b'].map((s) => batch.track(() => batch.connection.exec(`echo ${s}`)));
    batch.release();
    for (const p of probes) await expect(p).rejects.toThrow('connection lost');
  });

  it('a combined script cut short: the parts without a result are run again alone', async () => {
    const local = new LocalConnection('t');
    let first = true;
    const conn: Connection = {
      host: 't',
      exec: (script, options) => {
        if (first) {
          first = false;
          // The host ran only the first part (e.g. the session was killed).
          return local.exec(script.split('\n').slice(0, 5).join('\n'), options);
        }
        return local.exec(script, options);
      },
      close: () => Promise.resolve(),
    };
    const batch = new ProbeBatch(conn);
    const probes = ['a', 'b', 'c'].map((s) => batch.track(() => batch.connection.exec(`echo ${s}`)));
    batch.release();
    expect((await Promise.all(probes)).map((r) => r.stdout.toString())).toEqual(['a\n', 'b\n', 'c\n']);
    expect(batch.sent).toBe(3);
  });
});
