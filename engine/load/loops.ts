/**
 * `loop:` and the `with_*` forms Ansible projects still use, read as one thing: a value (a list,
 * or a template giving one) and a form saying how it becomes items (run/loops.ts).
 */
import { dirname } from 'node:path';
import { FIRST_FOUND_HINT, firstFound, type ControllerDir } from './files.js';
import type { Looping } from './model.js';
import { LOOP_KEYWORDS, noteTemplates, type TaskLoadContext } from './task-scope.js';
import { pointerJoin } from './yaml-file.js';

/** with_* lookups tsplay does not have: each an error with what to write instead. */
const OTHER_WITH = "supported loops: loop, with_items, with_list, with_dict, with_fileglob, with_first_found; write the others as 'loop:' over a list";

/**
 * The loop of an entry, or undefined; problems (two loop keywords, an unknown with_*) are
 * reported. `loopNames`: the names a looping entry's body may read besides `scopeNames`.
 */
export function loopingOf(raw: Record<string, unknown>, pointer: string, ctx: TaskLoadContext, scopeNames: string[]): Looping & { loopNames: string[] } {
  const keys = Object.keys(raw).filter((k) => Object.hasOwn(LOOP_KEYWORDS, k));
  const control = (raw.loop_control as { loop_var?: string; label?: string } | undefined) ?? {};
  const loopVar = control.loop_var ?? 'item';
  if (keys.length > 1) {
    ctx.diags.add(`more than one loop: ${keys.join(', ')}`, ctx.doc.keyPlaceOf(pointerJoin(pointer, keys[1]!)), 'keep one of them');
  }
  const key = keys[0];
  // An unknown with_* is reported as such (tasks.ts); its body's loop variable is no second problem.
  const unknownLoop = Object.keys(raw).some((k) => k.startsWith('with_') && !Object.hasOwn(LOOP_KEYWORDS, k));
  if (key === undefined) {
    if (unknownLoop) return { loopVar, loopNames: [loopVar, 'ansible_loop_index'] };
    if (raw.loop_control !== undefined) ctx.diags.add('loop_control without a loop', ctx.doc.keyPlaceOf(pointerJoin(pointer, 'loop_control')), 'add loop: (or with_items:) to the task, or remove loop_control');
    return { loopVar, loopNames: [] };
  }
  const value = raw[key];
  const at = pointerJoin(pointer, key);
  noteTemplates(value, at, ctx, scopeNames);
  const form = LOOP_KEYWORDS[key]!;
  return { loop: value, loopForm: form === 'loop' ? undefined : form, loopVar, loopLabel: control.label, loopNames: [loopVar, 'ansible_loop_index'] };
}

/** An unknown `with_X` key's hint. */
export function unknownLoopHint(key: string): string | undefined {
  return key.startsWith('with_') ? `'${key}' is a lookup loop tsplay does not have; ${OTHER_WITH}` : undefined;
}

/** A literal with_first_found is looked up at load: a name found nowhere is a problem before the run. */
export function checkFirstFound(looping: Looping, pointer: string, ctx: TaskLoadContext, dir: ControllerDir): void {
  if (looping.loopForm !== 'first_found' || JSON.stringify(looping.loop).includes('{{')) return;
  const { found, names, skip } = firstFound(looping.loop, dir, ctx.baseDir, ctx.role, [dirname(ctx.doc.file)]);
  if (!found && !skip) ctx.diags.add(`with_first_found: none of these files was found: ${names.join(', ')}`, ctx.doc.placeOf(pointerJoin(pointer, 'with_first_found')), FIRST_FOUND_HINT(dir));
}
