/**
 * The terminal view (listr2): a line per host with its current task and a spinner, collapsed to
 * a one-line summary when the host is done; failures stay expanded with the error. Diffs and
 * the recap print after the live view ends, so they never interleave with redraws.
 */
import { Listr, type ListrTaskWrapper, type ListrDefaultRenderer, type ListrSimpleRenderer } from 'listr2';
import { NO_LOG_HIDDEN, type RunListener, type TaskOutcome } from '../run/events.js';
import { formatPlace } from '../errors.js';
import { secrets } from '../secrets.js';
import { colorizeDiff, unifiedDiff } from './diff.js';
import { formatRecap } from './recap.js';

type HostTask = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;

interface HostLine {
  task?: HostTask;
  done: () => void;
  fail: (err: Error) => void;
  changed: number;
  failedMsg?: string;
  lastTitle: string;
}

export interface TtyOptions {
  write: (text: string) => void;
  verbosity: number;
  diff: boolean;
  stream: NodeJS.WriteStream;
}

export function ttyReporter(o: TtyOptions): RunListener & { finished: Promise<void> } {
  const lines = new Map<string, HostLine>();
  const after: string[] = [];
  let current: Promise<unknown> = Promise.resolve();
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const mask = (s: string): string => secrets.redact(s);

  const endPlay = (): void => {
    for (const line of lines.values()) {
      if (line.failedMsg) line.fail(new Error(mask(line.failedMsg)));
      else line.done();
    }
    lines.clear();
  };

  return {
    finished,
    runStart(info) {
      if (info.check) o.write('CHECK MODE: nothing will be changed\n');
    },
    playStart(play, hosts) {
      endPlay();
      const entries = hosts.map((host) => {
        // The outcome may be known before listr starts the row (fast hosts): settle a promise
        // made now, and let the row await it.
        let settle!: (err?: Error) => void;
        const settled = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
        settled.catch(() => undefined);
        const line: HostLine = { done: () => settle(), fail: (err) => settle(err), changed: 0, lastTitle: 'waiting' };
        lines.set(host, line);
        return {
          title: host,
          task: async (_ctx: unknown, task: HostTask) => {
            line.task = task;
            try {
              await settled;
            } finally {
              task.title = `${host}: ${line.failedMsg ? 'failed' : `${line.changed} changed`}`;
            }
          },
          rendererOptions: { persistentOutput: true },
        };
      });
      const listr = new Listr(entries, {
        concurrent: true,
        exitOnError: false,
        renderer: 'default',
        rendererOptions: { collapseSubtasks: true, collapseErrors: false, showErrorMessage: true },
      });
      o.write(mask(`PLAY [${play.name}]\n`));
      const previous = current;
      current = previous.then(() => listr.run().catch(() => undefined));
    },
    taskStart(info, host) {
      const line = lines.get(host);
      if (!line?.task) return;
      line.lastTitle = info.title;
      line.task.title = mask(`${host}: ${info.handler ? 'handler ' : ''}${info.title}`);
    },
    taskEnd(info, host, outcome: TaskOutcome) {
      const line = lines.get(host);
      if (!line) return;
      if (outcome.status === 'changed') line.changed++;
      // A host that goes on after a failure was rescued (handlers run even on failed hosts).
      if (!info.handler && outcome.status !== 'failed' && outcome.status !== 'unreachable') line.failedMsg = undefined;
      if ((outcome.status === 'failed' && !outcome.ignored) || outcome.status === 'unreachable') {
        line.failedMsg = `${formatPlace(info.task.place)}: ${info.title}: ${outcome.censored ? NO_LOG_HIDDEN : (outcome.msg ?? outcome.status)}${outcome.hint ? `\n  hint: ${outcome.hint}` : ''}`;
        const stderr = outcome.result.stderr;
        if (!outcome.censored && typeof stderr === 'string' && stderr) line.failedMsg += `\n  stderr: ${stderr.split('\n').slice(-5).join('\n          ')}`;
      }
      if (o.verbosity >= 1 && line.task && !outcome.censored) line.task.output = mask(`${outcome.status}: ${info.title}`);
      if (outcome.censored) return;
      if (outcome.status === 'ok' && outcome.says !== undefined) after.push(`[${host}] ${info.title}: ${typeof outcome.says === 'string' ? outcome.says : JSON.stringify(outcome.says)}`);
      if (o.diff && outcome.changes.length > 0) {
        after.push(`changed: [${host}] ${info.title}`);
        for (const c of outcome.changes) {
          after.push(`    - ${c.summary}`);
          if (c.diff) after.push(colorizeDiff(unifiedDiff(c.diff)).replace(/^/gm, '    '));
        }
      }
    },
    hostFailed(host, message, place, hint) {
      const line = lines.get(host);
      if (line) line.failedMsg = `${formatPlace(place)}: ${message}${hint ? `\n  hint: ${hint}` : ''}`;
    },
    warn(message) {
      after.push(`WARNING: ${message}`);
    },
    runEnd(recap) {
      endPlay();
      void current.then(() => {
        for (const text of after) o.write(mask(text) + '\n');
        o.write(formatRecap(recap, true) + '\n');
        finish();
      });
    },
  };
}
