/** Facts (engine/modules/host/facts.ts): many in one exec, each read whole, none able to pass for another. */
import { describe, expect, it } from 'vitest';
import { LocalConnection } from '../../../engine/connect/local.js';
import { TaskError } from '../../../engine/errors.js';
import { fact, fileContent, gather, output } from '../../../engine/modules/host/facts.js';

const ctx = { conn: new LocalConnection('controller') };

describe('facts', () => {
  it('each fact gets exactly its own output, trailing newlines and lines that look like framing included', async () => {
    const facts = await gather(ctx, { a: output("printf 'one\\n\\n'"), b: output("printf 'Zm9v\\nabsent\\n'"), c: fact('printf 42', Number) }, 'read');
    expect(facts).toEqual({ a: 'one\n\n', b: 'Zm9v\nabsent\n', c: 42 });
  });

  it('a file or nothing, any bytes in it', async () => {
    const facts = await gather(ctx, { there: fileContent('/etc/hostname'), gone: fileContent('/nonexistent/x') }, 'read');
    expect(facts.gone).toBeNull();
    expect(typeof facts.there).toBe('string');
  });

  it('a fact that cannot be read fails the probe with its error', async () => {
    await expect(gather(ctx, { ok: output('printf x'), bad: output("echo 'no such thing' >&2; exit 3") }, 'read things')).rejects.toThrow(TaskError);
    await expect(gather(ctx, { bad: output("echo 'no such thing' >&2; exit 3") }, 'read things')).rejects.toThrow(/^read things failed \(exit 3\): no such thing/);
  });
});
