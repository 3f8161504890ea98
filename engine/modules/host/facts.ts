/**
 * Facts: what a host module's probe reads, each a shell script and the parser of what it prints
 * (in the manner of pyinfra's FactBase). A probe gathers the facts it needs in one exec; each
 * fact's output comes back framed as one base64 line, so no fact's output (a file's bytes, a link
 * target, a unit's description) can be taken for another's, and no module invents a marker
 * format of its own.
 */
import type { Connection } from '../../connect/types.js';
import { TaskError } from '../../errors.js';
import type { ModuleContext } from '../types.js';
import { parseStat, q, runChecked, statSnippet, type FileState } from './remote.js';

export interface Fact<T> {
  /** Prints the fact on stdout (text: a fact that reads bytes encodes them); exits non-zero only when it could not be read. */
  script: string;
  parse(out: string): T;
}

export function fact<T>(script: string, parse: (out: string) => T): Fact<T> {
  return { script, parse };
}

type Values<F> = { [K in keyof F]: F[K] extends Fact<infer T> ? T : never };

/**
 * One exec for all the facts. Each runs in a subshell whose output is kept whole (a trailing
 * newline included: the `x` sentinel), then printed base64 on a line of its own; a fact that
 * fails fails the probe with its stderr.
 */
export async function gather<F extends Record<string, Fact<unknown>>>(ctx: Pick<ModuleContext, 'become'> & { conn: Connection }, facts: F, what: string): Promise<Values<F>> {
  const names = Object.keys(facts);
  const script = names.map((n) => `__tsplay_fact=$(\n${facts[n]!.script}\n__tsplay_rc=$?; printf x; exit $__tsplay_rc) || exit $?\nprintf '%s' "\${__tsplay_fact%x}" | base64 -w0; echo`).join('\n');
  // A plain read (no stdin, env or signal): probes read ahead go out together as one exec (connect/batch.ts).
  const res = await runChecked(ctx.conn, script, { what, become: ctx.become });
  const lines = res.stdout.toString('utf8').split('\n');
  const out: Record<string, unknown> = {};
  names.forEach((n, i) => {
    const line = lines[i];
    if (line === undefined || !/^[A-Za-z0-9+/=]*$/.test(line)) throw new TaskError(`${what}: unexpected probe output ${JSON.stringify(res.stdout.toString('utf8').slice(0, 200))}`, "the host's sh or base64 behaves unlike dash and GNU coreutils");
    out[n] = facts[n]!.parse(Buffer.from(line, 'base64').toString('utf8'));
  });
  return out as Values<F>;
}

/** A regular file's text, or null when there is none: the one "base64 the file or say absent". */
export function fileContent(path: string): Fact<string | null> {
  const p = q(path);
  return fact(`if [ -f ${p} ]; then printf 'file '; base64 -w0 < ${p}; else printf absent; fi`, (out) => (out === 'absent' ? null : Buffer.from(out.replace(/^file /, ''), 'base64').toString('utf8')));
}

/** What is at a path (remote.ts statSnippet: type, mode, owner, link target, sha256, content). */
export function fileStat(path: string, opts: Parameters<typeof statSnippet>[1] = {}): Fact<FileState> {
  return fact(statSnippet(path, opts), (out) => parseStat(out, path));
}

/** Does a path exist (a link: its target does)? */
export function exists(path: string): Fact<boolean> {
  return fact(`if [ -e ${q(path)} ]; then printf 1; else printf 0; fi`, (out) => out === '1');
}

/** A command's output as it is. */
export function output(script: string): Fact<string> {
  return fact(script, (out) => out);
}
