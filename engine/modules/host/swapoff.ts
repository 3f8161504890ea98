/**
 * swapoff — the kubelet refuses to run with swap on: turn active swap off and keep it off across
 * reboots by commenting out the swap entries of /etc/fstab (atomically, shown as a diff).
 *
 *   - name: swap off (kubelet requirement)
 *     swapoff: { fstab: true }
 *
 * Reads /proc/swaps and /etc/fstab in one round trip. `swapoff -a` runs only when /proc/swaps lists
 * a device: on hosts without swap it is never called (on some hosts it fails "Not superuser" even
 * with nothing to do). Changed only when swap was on or /etc/fstab had an uncommented swap entry.
 * Swap that systemd starts from its own `.swap` units (not from fstab) is turned off now but not
 * disabled for the next boot: mask those units with the systemd module.
 */
import { createHash } from 'node:crypto';
import { TaskError } from '../../errors.js';
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type Change, type ArgSchema } from '../types.js';
import { fact, fileContent, gather } from './facts.js';
import { atomicWriteScript, q } from './remote.js';

const schema = {
  type: 'object',
  properties: {
    fstab: { type: 'boolean', description: 'Comment out uncommented swap entries in fstab so swap stays off after a reboot (default true).' },
    path: { type: 'string', description: 'The fstab file (default /etc/fstab).' },
  },
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schema allows them (a field it lacks, or a type it does not allow, fails to compile). */
export type SwapoffArgs = FromSchema<typeof schema>;

export interface SwapDevice {
  name: string;
  type: string;
}

export interface SwapObserved {
  /** Devices listed by /proc/swaps (empty: swap is off). */
  active: SwapDevice[];
  /** fstab content; null when the file does not exist. */
  fstab: string | null;
  /** sha256 of fstab as read, so apply refuses to overwrite a file that changed meanwhile. */
  fstabSha?: string;
}

export interface SwapoffPlanData {
  swapoff: boolean;
  fstab?: { content: string; expectSha?: string };
}

const FSTAB = '/etc/fstab';

/** Parse /proc/swaps: a header line, then `Filename Type Size Used Priority` per device. */
export function parseProcSwaps(text: string): SwapDevice[] {
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [name = '', type = ''] = l.split(/\s+/);
      // /proc/swaps escapes spaces in paths as \040
      return { name: name.replace(/\\040/g, ' '), type };
    });
}

/** True for an fstab line that mounts swap and is not commented out. */
export function isSwapEntry(line: string): boolean {
  const t = line.trim();
  if (!t || t.startsWith('#')) return false;
  const fields = t.split(/\s+/);
  return fields[2] === 'swap';
}

/** fstab with every active swap entry commented out, and the entries it commented. */
export function commentOutSwap(fstab: string): { content: string; entries: string[] } {
  const entries: string[] = [];
  const content = fstab
    .split('\n')
    .map((line) => {
      if (!isSwapEntry(line)) return line;
      entries.push(line.trim());
      return `#${line}`;
    })
    .join('\n');
  return { content, entries };
}

export default defineModule<SwapoffArgs, SwapObserved, SwapoffPlanData>({
  name: 'swapoff',
  doc: "Turn swap off now (only when /proc/swaps lists devices) and comment out swap entries in /etc/fstab.",
  example: "- name: swap off (kubelet requirement)\n  swapoff: { fstab: true }",
  runsOn: 'target',
  schema,
  async probe(ctx, args) {
    const { active, fstab } = await gather(ctx, { active: fact('cat /proc/swaps 2>/dev/null || true', parseProcSwaps), fstab: fileContent(args.path ?? FSTAB) }, 'read /proc/swaps and fstab');
    return fstab === null ? { active, fstab } : { active, fstab, fstabSha: createHash('sha256').update(fstab, 'utf8').digest('hex') };
  },
  plan(args, obs) {
    const path = args.path ?? FSTAB;
    const changes: Change[] = [];
    const data: SwapoffPlanData = { swapoff: obs.active.length > 0 };
    if (data.swapoff) {
      changes.push({ summary: `swapoff -a (active: ${obs.active.map((d) => `${d.name} ${d.type}`).join(', ')})` });
    }
    if (args.fstab !== false && obs.fstab !== null) {
      const { content, entries } = commentOutSwap(obs.fstab);
      if (entries.length) {
        data.fstab = { content, expectSha: obs.fstabSha };
        changes.push({
          summary: `comment out ${entries.length} swap entr${entries.length === 1 ? 'y' : 'ies'} in ${path}: ${entries.join('; ')}`,
          diff: { path, before: obs.fstab, after: content },
        });
      }
    }
    const result = { swaps: obs.active.map((d) => d.name) };
    return changes.length ? { changes, data, result } : { changes, result };
  },
  async apply(ctx, args, plan) {
    const path = args.path ?? FSTAB;
    const data = plan.data!;
    const steps: string[] = [];
    // fstab first: when the live swapoff fails, the next boot still comes up without swap.
    if (data.fstab) {
      steps.push(
        `if [ "$(sha256sum < ${q(path)} | cut -d' ' -f1)" != ${q(data.fstab.expectSha ?? '')} ]; then echo "${path} changed since it was read; run again" >&2; exit 4; fi`,
        `( ${atomicWriteScript(path, { keepMode: true })}\n)`,
      );
    }
    if (data.swapoff) steps.push('if ! out=$(swapoff -a 2>&1); then echo "swapoff -a: $out" >&2; exit 5; fi');
    const res = await ctx.conn.exec(`set -e\n${steps.join('\n')}`, { become: ctx.become, stdin: data.fstab?.content ?? '', signal: ctx.signal });
    if (res.code !== 0) {
      const err = res.stderr.toString('utf8').trim();
      if (res.code === 5) {
        const fstabNote = data.fstab ? `; ${path} was updated, so swap stays off after a reboot` : '';
        return { changed: !!data.fstab, failure: { message: `turning swap off failed: ${err}${fstabNote}` } };
      }
      throw new TaskError(`update ${path} failed (exit ${res.code ?? 'signal'}): ${err}`);
    }
    return { result: { swaps: [] } };
  },
});

