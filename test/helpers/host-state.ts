/**
 * A host's state as the module tester writes and reads it: files by absolute path. The same
 * setup script makes a simulated host (sim-host.ts) or a real test host hold the state; a snapshot
 * is what the host holds afterwards, compared with what a case expects.
 */
import { expect } from 'vitest';
import { shellQuote as q } from '../../engine/connect/shell.js';

export interface FileAttrs {
  mode?: string;
  owner?: string;
  group?: string;
}

/** What a path holds before a case: a file's text, a file with attributes, a directory, a link, or nothing. */
export type FileSpec =
  | string
  | (FileAttrs & { content: string; /** The file cannot be written, even by root (a read-only /proc/sys). */ immutable?: true })
  | (FileAttrs & { dir: true })
  | (FileAttrs & { link: string })
  | null;

export type HostState = Record<string, FileSpec>;

export interface FileSnap {
  type: 'file' | 'directory' | 'link' | 'other';
  mode: string;
  owner: string;
  group: string;
  content?: string;
  link?: string;
}

export type Snapshot = Record<string, FileSnap>;

/** What a path must hold after a case: its text (exact or a pattern), some attributes, or nothing. */
export type FileExpect = string | RegExp | (Partial<Omit<FileSnap, 'content'>> & { content?: string | RegExp }) | null;

/** One shell script that makes the paths hold `state`, in path order (parents first). */
export function setupScript(state: HostState): string {
  const lines = ['set -e'];
  for (const [path, spec] of Object.entries(state).sort(([a], [b]) => a.localeCompare(b))) {
    const p = q(path);
    const parent = `mkdir -p -- "$(dirname -- ${p})"`;
    if (spec === null) {
      lines.push(`rm -rf -- ${p}`);
      continue;
    }
    const attrs = (s: FileAttrs, dflt: string, h = ''): void => {
      lines.push(`chmod ${s.mode ?? dflt} ${p}`);
      // Without a group: the owner's own (nobody's is nogroup on Debian).
      lines.push(`chown ${h}${q(`${s.owner ?? 'root'}:${s.group ?? ''}`)} ${p}`);
    };
    if (typeof spec === 'string' || 'content' in spec) {
      const s = typeof spec === 'string' ? { content: spec } : spec;
      lines.push(parent, `rm -rf -- ${p}`, `printf '%s' ${q(Buffer.from(s.content).toString('base64'))} | base64 -d > ${p}`);
      attrs(s, '0644');
      if ('immutable' in s && s.immutable) lines.push(`chattr +i ${p}`);
    } else if ('dir' in spec) {
      // touch: as if made now (find -cnewer reads a directory's mtime: systemd's generator).
      lines.push(`mkdir -p -- ${p}`, `touch -- ${p}`);
      attrs(spec, '0755');
    } else {
      lines.push(parent, `rm -rf -- ${p}`, `ln -s -- ${q(spec.link)} ${p}`);
      if (spec.owner || spec.group) lines.push(`chown -h ${q(`${spec.owner ?? 'root'}:${spec.group ?? ''}`)} ${p}`);
    }
  }
  return lines.join('\n');
}

/** Assert that the snapshot holds what `expected` says, path by path (other paths are not looked at). */
export function expectState(snapshot: Snapshot, expected: Record<string, FileExpect>): void {
  const actual: Record<string, unknown> = {};
  const want: Record<string, unknown> = {};
  for (const [path, e] of Object.entries(expected)) {
    const snap = snapshot[path];
    if (e === null) {
      actual[path] = snap ? snap.type : 'absent';
      want[path] = 'absent';
      continue;
    }
    const spec = typeof e === 'string' || e instanceof RegExp ? { type: 'file' as const, content: e } : e;
    const fields = Object.keys(spec) as Array<keyof FileSnap>;
    actual[path] = snap ? Object.fromEntries(fields.map((k) => [k, snap[k]])) : 'absent';
    want[path] = Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, v instanceof RegExp ? expect.stringMatching(v) : v]));
  }
  expect(actual).toEqual(want);
}
