/**
 * --start-at-task NAME as ansible-playbook does it: the run begins at the first task, in playbook
 * order, whose name (or `role : name`) is NAME or matches it as a shell glob (fnmatch); plays
 * before that task's play run nothing, and the tasks before it in its play are left out. Its play
 * still gathers facts, handlers stay, and an enclosing block keeps its `when` and its always
 * section. As in Ansible, a task in a rescue section cannot be the start (Ansible walks only the
 * path a run takes when nothing fails). Ansible starts the other hosts of the play from the top
 * when the first host matched (a quirk of its iterator); here every host starts at the task.
 */
import type { Block, Play, Playbook, Task, TaskNode } from './model.js';

/** The playbook from the first matching task on, or undefined when no task matches. */
export function startAtTask(playbook: Playbook, pattern: string): Playbook | undefined {
  const matches = fnmatch(pattern);
  const isStart = (t: Task): boolean => taskNames(t).some((n) => n === pattern || matches(n));
  for (const [p, play] of playbook.plays.entries()) {
    for (const [s, section] of play.sections.entries()) {
      const rest = fromStart(section, isStart);
      if (!rest) continue;
      const started: Play = { ...play, sections: play.sections.map((sec, i) => (i < s ? [] : i === s ? rest : sec)) };
      const skipped = playbook.plays.slice(0, p).map((before): Play => ({ ...before, gatherFacts: false, sections: before.sections.map(() => []) }));
      return { ...playbook, plays: [...skipped, started, ...playbook.plays.slice(p + 1)] };
    }
  }
  return undefined;
}

/** What Ansible compares: the task's name, and `role : name` for a role's task. */
export function taskNames(t: Task): string[] {
  const name = t.name ?? t.module;
  return t.role ? [name, `${t.role.name} : ${name}`] : [name];
}

function fromStart(nodes: TaskNode[], isStart: (t: Task) => boolean): TaskNode[] | undefined {
  for (const [i, node] of nodes.entries()) {
    if (node.kind === 'task') {
      if (isStart(node)) return nodes.slice(i);
      continue;
    }
    // A dynamic include's tasks are known only when a host runs it (Ansible does not start inside
    // one either); an include or meta before the start is left out like a task.
    if (node.kind !== 'block') continue;
    const inner = startInBlock(node, isStart);
    if (inner) return [inner, ...nodes.slice(i + 1)];
  }
  return undefined;
}

function startInBlock(block: Block, isStart: (t: Task) => boolean): Block | undefined {
  const inBlock = fromStart(block.block, isStart);
  if (inBlock) return { ...block, block: inBlock };
  const inAlways = fromStart(block.always, isStart);
  if (inAlways) return { ...block, block: [], rescue: [], always: inAlways };
  return undefined;
}

/** Python's fnmatch.fnmatch on POSIX: `*`, `?`, `[seq]`, `[!seq]`, case-sensitive, whole string. */
export function fnmatch(pattern: string): (name: string) => boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) re += '\\[';
      else {
        let set = pattern.slice(i + 1, end);
        set = set.startsWith('!') ? `^${set.slice(1)}` : set.startsWith('^') ? `\\${set}` : set;
        re += `[${set.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  const compiled = new RegExp(`^(?:${re})$`, 's');
  return (name) => compiled.test(name);
}
