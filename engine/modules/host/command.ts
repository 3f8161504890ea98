/**
 * command — run a program. Its outcome cannot be predicted, so check mode says "would run" unless
 * `creates`/`removes` settle it. `shell` (shell.ts) is the same with shell syntax allowed, run by
 * /bin/sh or the shell `executable` names.
 *
 *   - name: load ipvs modules
 *     command: modprobe ip_vs
 *     args: { creates: /sys/module/ip_vs }
 */
import type { FromSchema } from 'json-schema-to-ts';
import { defineModule, type ModuleDef, type ArgSchema } from '../types.js';
import { exists, fact, gather } from './facts.js';
import { q } from './remote.js';

const commandProperties = {
  cmd: { type: 'string' },
  argv: { type: 'array', items: { type: 'string' } },
  chdir: { type: 'string' },
  creates: { type: 'string', description: 'Skip when this path exists.' },
  removes: { type: 'string', description: 'Run only when this path exists.' },
  stdin: { type: 'string' },
} as const;

const commandSchema = { type: 'object', properties: commandProperties, additionalProperties: false } as const satisfies ArgSchema;

/** shell's own: the shell to run the command with (Ansible's `executable`), as an absolute path. */
const shellSchema = {
  type: 'object',
  properties: { ...commandProperties, executable: { type: 'string', pattern: '^/', description: 'The shell to run the command with, an absolute path (default /bin/sh).' } },
  additionalProperties: false,
} as const satisfies ArgSchema;

/** The arguments as the schemas allow them (a field they lack, or a type they do not allow, fails to compile). */
export type CommandArgs = FromSchema<typeof shellSchema>;

interface Observed {
  createsExists?: boolean;
  removesExists?: boolean;
}

export function commandModule(name: 'command' | 'shell'): ModuleDef<CommandArgs, Observed, string> {
  const commandLine = (args: CommandArgs): string => {
    if (args.argv) return args.argv.map(q).join(' ');
    const cmd = args.cmd ?? '';
    if (name === 'command') return splitWords(cmd).map(q).join(' ');
    return args.executable ? `${q(args.executable)} -c ${q(cmd)}` : cmd;
  };
  return defineModule<CommandArgs, Observed, string>({
    name,
    doc: name === 'shell' ? 'Run a command through /bin/sh (pipes, redirects).' : 'Run a program with arguments (no shell expansion).',
    example:
      name === 'shell'
        ? '- name: swap devices\n  shell: swapon --show=NAME --noheadings | wc -l\n  register: swaps'
        : '- name: load ipvs modules\n  command: modprobe ip_vs\n  args: { creates: /sys/module/ip_vs }',
    runsOn: 'target',
    freeForm: 'cmd',
    schema: name === 'shell' ? shellSchema : commandSchema,
    async probe(ctx, args) {
      if (!args.creates && !args.removes) return {};
      const none = fact('true', () => undefined);
      const facts = await gather(ctx, { createsExists: args.creates ? exists(args.creates) : none, removesExists: args.removes ? exists(args.removes) : none }, 'check creates/removes');
      return { createsExists: facts.createsExists ?? false, removesExists: facts.removesExists ?? false };
    },
    plan(args, obs) {
      if (!args.cmd && !args.argv) return { changes: [], fail: { message: `${name} needs a command`, hint: `${name}: ls -l, or argv: [ls, -l]` } };
      if (args.creates && obs.createsExists) return { changes: [], result: { msg: `skipped, since ${args.creates} exists`, rc: 0 } };
      if (args.removes && obs.removesExists === false) return { changes: [], result: { msg: `skipped, since ${args.removes} does not exist`, rc: 0 } };
      const line = commandLine(args);
      return { changes: [{ summary: `run: ${args.cmd ?? args.argv!.join(' ')}` }], unpredictable: `would run: ${args.cmd ?? args.argv!.join(' ')}`, data: line };
    },
    async apply(ctx, args, plan) {
      const script = args.chdir ? `cd ${q(args.chdir)} && ${plan.data}` : plan.data!;
      const res = await ctx.conn.exec(script, { become: ctx.become, env: ctx.environment, stdin: args.stdin, signal: ctx.signal });
      const stdout = res.stdout.toString('utf8').replace(/\n$/, '');
      const stderr = res.stderr.toString('utf8').replace(/\n$/, '');
      const result = { rc: res.code, stdout, stderr, stdout_lines: stdout ? stdout.split('\n') : [], stderr_lines: stderr ? stderr.split('\n') : [], cmd: args.cmd ?? args.argv };
      return { changed: true, result, ...(res.code === 0 ? {} : { failure: { message: `non-zero exit ${res.code ?? 'signal'}${stderr ? `: ${stderr.split('\n').slice(-3).join(' | ')}` : ''}` } }) };
    },
  });
}

/** Shell-like word splitting for `command` (quotes group, no expansion). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  const re = /"((?:\\.|[^"\\])*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]!));
  return words;
}

export default commandModule('command');
