/**
 * `with_*` loops as tsplay takes them: with_items, with_list, with_dict, with_fileglob and
 * with_first_found run as they are; with_list is `loop` (the same thing), and so is with_items
 * of plain items (flattening them changes nothing); with_sequence of literal numbers becomes the
 * list of strings it gives. The other lookups have no tsplay form and are left as written.
 */
import { isScalar, isSeq } from 'yaml';

const RUN_AS_THEY_ARE = new Set(['with_items', 'with_dict', 'with_fileglob', 'with_first_found']);

export interface LoopRewrite {
  /** Rename the key to `loop`. */
  rename: boolean;
  /** The new value (a YAML flow list) when the loop's items are computed here. */
  items?: string;
  problem?: string;
}

export function loopOf(key: string, value: unknown): LoopRewrite {
  if (key === 'with_list') return { rename: true };
  if (key === 'with_items') {
    const plain = isSeq(value) && value.items.every((i) => isScalar(i) && !(typeof i.value === 'string' && /\{\{|\{%/.test(i.value)));
    return { rename: plain };
  }
  if (RUN_AS_THEY_ARE.has(key)) return { rename: false };
  if (key === 'with_sequence' && isScalar(value) && typeof value.value === 'string') {
    const items = sequence(value.value);
    if (items) return { rename: true, items: `[${items.map((n) => JSON.stringify(n)).join(', ')}]` };
    return { rename: false, problem: 'with_sequence other than of literal start/end/count/stride (no format) has no tsplay form: write the items as loop' };
  }
  return { rename: false, problem: `${key} has no tsplay form (tsplay runs with_items, with_list, with_dict, with_fileglob, with_first_found): write the items as loop` };
}

/** Ansible's sequence lookup, `start=1 end=5 stride=2` or `count=3`, as the strings it yields. */
function sequence(text: string): string[] | undefined {
  const args: Record<string, number> = {};
  const words = text.trim().split(/\s+/);
  for (const w of words) {
    const m = /^(start|end|count|stride)=(-?\d+)$/.exec(w);
    if (!m) return undefined;
    args[m[1]!] = Number(m[2]);
  }
  const start = args.start ?? 1;
  const stride = args.stride ?? 1;
  const end = args.count !== undefined ? start + (args.count - 1) * stride : args.end;
  if (end === undefined || stride === 0 || (args.count !== undefined && args.end !== undefined)) return undefined;
  const out: string[] = [];
  for (let n = start; stride > 0 ? n <= end : n >= end; n += stride) {
    out.push(String(n));
    if (out.length > 10000) return undefined;
  }
  return out;
}
