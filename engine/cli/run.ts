/** `tsplay PLAYBOOK -i INVENTORY ...` (the default command): argv -> load -> run -> exit code. */
import { Command, CommanderError, Option } from 'commander';
import { DiagnosticsError, EXIT, formatDiagnostic, type Diagnostic } from '../errors.js';
import { tasksIn, type Playbook } from '../load/model.js';
import { editDistance, matchHosts } from '../load/patterns.js';
import { loadProject, type LoadedProject } from '../load/project.js';
import { delegateHosts } from '../load/playbook.js';
import { openVaultKeyring } from '../load/vault-passwords.js';
import { VaultError } from '../load/vault-keyring.js';
import { startAtTask, taskNames } from '../load/start-at.js';
import { reportCollector } from '../report/collect.js';
import { plainReporter } from '../report/plain.js';
import { checkConnections, createConnections } from '../run/connections.js';
import { RunBus } from '../run/events.js';
import { runPlaybook } from '../run/index.js';
import { selectedByTags } from '../run/tags.js';
import type { RunOptions, RunState } from '../run/state.js';
import { secrets } from '../secrets.js';
import { parseShard, shardHosts, ShardError, type Shard } from '../run/rendezvous.js';
import { addAnsibleRunOptions, refusedFlag, REFUSED_HELP, type AnsibleRunFlags } from './ansible-flags.js';
import { collectRaw, collectTags, countVerbose, exitCode, reportNameError, writeReport } from './common.js';
import { askPassword, donePrompting } from './password-prompt.js';
import { addInventoryOption, addSettingOptions, askPasswords, effectiveSettings, runSettings, type RunSettings, type SettingFlags } from './settings.js';

interface RunCliOptions extends SettingFlags, AnsibleRunFlags {
  strict?: boolean;
  check?: boolean;
  diff?: boolean;
  limit?: string;
  tags: string[];
  skipTags: string[];
  extraVars: string[];
  shard?: Shard;
  listHosts?: boolean;
  listTasks?: boolean;
  syntaxCheck?: boolean;
  verbose: number;
  forceHandlers?: boolean;
  report?: string;
  detailedExitcode?: boolean;
  vaultId: string[];
  vaultPasswordFile: string[];
  vaultPassFile: string[];
  askVaultPass?: boolean;
  askVaultPassword?: boolean;
}

export const RUN_EXAMPLES = `
Examples:
  tsplay playbooks/worker.yml -i prod                        converge the prod workers
  tsplay playbooks/worker.yml -i prod --check --diff         what a real run would change
  tsplay playbooks/worker.yml -i staging -l 'workers:!w3'    all workers but w3
  tsplay site.yml -i hosts.yml -t kubelet -e kubelet_version=1.34.1
  tsplay playbooks/worker.yml -i prod --shard 1/4 --report shard-1.json   one of four controllers
  tsplay site.yml -i prod --vault-id prod@~/.vault-prod      decrypt !vault values and ansible-vault files

Exit codes: 0 ok, 1 error, 2 a host failed, 3 a host unreachable, 4 parse or validation error,
5 bad options, 99 interrupted.`;

function shardOption(value: string): Shard {
  try {
    return parseShard(value);
  } catch (err) {
    if (err instanceof ShardError) throw new CommanderError(EXIT.options, 'tsplay.option', err.message);
    throw err;
  }
}

/** Adds the run command's arguments and options to `cmd`; `done` receives the exit code. */
export function defineRun(cmd: Command, done: (code: number) => void): Command {
  cmd
    .description('Run a playbook: converge hosts, idempotently, with an honest --check (the default command).')
    .argument('<playbook>', 'playbook file (YAML list of plays)');
  addInventoryOption(cmd);
  cmd
    .option('-C, --check', 'do not change anything; report what would change')
    .option('-D, --diff', 'show a unified diff of every file change')
    .option('-l, --limit <pattern>', 'limit to hosts matching PATTERN (a,b or a:b union, a:!b exclusion, a:&b intersection, globs, ~regex, web[0] / web[1:] subscripts, @file with one pattern per line)')
    .option('--strict', 'a host pattern name that matches no group or host is an error (exit 5 for -l, 4 in a play); without it tsplay warns and ignores the name, as Ansible does')
    .option('-t, --tags <tags>', 'only run tasks tagged with these (comma separated, repeatable)', collectTags, [])
    .option('--skip-tags <tags>', 'skip tasks tagged with these', collectTags, [])
    .option('-e, --extra-vars <vars>', 'set variables: k=v, @file.yml, or JSON (repeatable; highest precedence)', collectRaw, [])
    .addOption(new Option('--shard <I/N>', "run only shard I of N (0-based) of the selected hosts, split by rendezvous hashing of host names; run_once tasks run in shard 0 only").argParser(shardOption))
    .option('--list-hosts', 'print the hosts each play would run on, then exit')
    .option('--list-tasks', 'print the tasks each play would run, then exit')
    .option('--syntax-check', 'load and validate everything, then exit')
    .option('--force-handlers', 'run notified handlers even after an interrupt')
    .option('--report <file>', 'write the run (a plan, with --check) as JSON (.json, schema tsplay.report/v1) or Markdown (.md)')
    .option('--detailed-exitcode', 'with --check: exit 0 when nothing would change, 2 when changes are pending, 1 on error; with or without --check: 6 when converged but a task warned (forged CSRs pending)');
  // Settings also read from ansible.cfg and ANSIBLE_* (-f, -u, -b, -K, -c, -T, ...): settings.ts.
  addSettingOptions(cmd);
  // ansible-playbook's own flags: --start-at-task, --list-tags, --flush-cache, and those refused.
  addAnsibleRunOptions(cmd);
  return cmd
    .option('-v, --verbose', 'more output (-vvv for the most)', countVerbose, 0)
    // Ansible Vault: !vault values and files encrypted by ansible-vault decrypt with these (engine/load/vault-passwords.ts).
    .option('--vault-id <[label@]source>', "a vault password: SOURCE is a file holding it, an executable printing it (NAME-client scripts get --vault-id LABEL), or 'prompt'; LABEL (default: default) is tried first for 1.2 vault data of that id (repeatable; also ANSIBLE_VAULT_IDENTITY_LIST)", collectRaw, [])
    .option('--vault-password-file <file>', 'a file holding the vault password, or an executable printing it (repeatable; also ANSIBLE_VAULT_PASSWORD_FILE). Without any, vault data is an error (exit 4), never used as is', collectRaw, [])
    .addOption(new Option('--vault-pass-file <file>', 'same as --vault-password-file').hideHelp().argParser(collectRaw).default([]))
    .option('--ask-vault-pass', 'ask for the vault password on the terminal (not echoed)')
    .addOption(new Option('--ask-vault-password', 'same as --ask-vault-pass').hideHelp())
    .addHelpText('after', `${RUN_EXAMPLES}\n${SETTINGS_HELP}\n${REFUSED_HELP}`)
    .action(async (playbookPath: string, opts: RunCliOptions) => done(await run(playbookPath, opts)));
}

const SETTINGS_HELP = `
Settings: a flag wins over TSPLAY_ROLES_PATH, then ANSIBLE_* variables, then ansible.cfg (found
as Ansible finds it: $ANSIBLE_CONFIG, ./ansible.cfg, ~/.ansible.cfg, /etc/ansible/ansible.cfg),
then the default; inventory variables (ansible_user, ...) win over all of them, as in Ansible.
tsplay config shows each setting and where it came from.`;

/** Prints load problems; the exit code they mean (4, or 5 when all are about options). */
function reportProblems(diagnostics: Diagnostic[]): number {
  for (const d of diagnostics) process.stderr.write(secrets.redact(formatDiagnostic(d)) + '\n');
  process.stderr.write(`${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'} found; nothing was run.\n`);
  return diagnostics.every((d) => d.kind === 'options') ? EXIT.options : EXIT.parse;
}

/** The run's settings (flags, ANSIBLE_*, ansible.cfg), with their warnings said; a number is an exit code. */
function settingsFor(opts: RunCliOptions): RunSettings | number {
  const refused = refusedFlag(opts as unknown as Record<string, unknown>);
  if (refused) {
    process.stderr.write(`error: ${refused}\n`);
    return EXIT.options;
  }
  let resolved;
  try {
    resolved = effectiveSettings(opts);
  } catch (err) {
    if (!(err instanceof DiagnosticsError)) throw err;
    return reportProblems(err.diagnostics);
  }
  for (const w of resolved.warnings) process.stderr.write(`[WARNING]: ${w}\n`);
  if (opts.verbose > 0) {
    process.stderr.write(resolved.file ? `Using ${resolved.file} as config file\n` : 'No config file found; using defaults\n');
    for (const n of resolved.notes) process.stderr.write(`[WARNING]: ${n}\n`);
    if (opts.flushCache) process.stderr.write('[WARNING]: --flush-cache: tsplay keeps no fact cache between runs; nothing to flush\n');
  }
  const settings = runSettings(resolved);
  if (!settings.inventory) {
    process.stderr.write("error: no inventory: give -i INVENTORY, or set inventory in ansible.cfg ([defaults] inventory = hosts.yml) or ANSIBLE_INVENTORY (tsplay does not read /etc/ansible/hosts unless told to)\n");
    return EXIT.options;
  }
  return settings;
}

/** --start-at-task: the playbook from that task on, or an error naming tasks with a similar name. */
function startingAt(playbook: Playbook, name: string): Playbook | string {
  const started = startAtTask(playbook, name);
  if (started) return started;
  const names = [...new Set(playbook.plays.flatMap((p) => p.sections.flatMap((s) => [...tasksIn(s)].flatMap(taskNames))))];
  const distance = (n: string): number => editDistance(n.toLowerCase(), name.toLowerCase());
  const near = names.filter((n) => distance(n) <= Math.max(1, Math.floor(name.length / 3))).sort((a, b) => distance(a) - distance(b)).slice(0, 3);
  return `--start-at-task: no task is named '${name}'${near.length ? `; did you mean ${near.map((n) => `'${n}'`).join(' or ')}?` : ' (tsplay --list-tasks lists them)'}`;
}

/** --ask-vault-pass: the one password prompt (as -k and -K); nothing to read is an error, not an empty password. */
async function askVaultPassword(question: string): Promise<string> {
  const typed = await askPassword(question);
  if (typed === undefined) throw new VaultError('--ask-vault-pass needs a terminal to ask on, and tsplay has none', 'give the password in a file instead: --vault-password-file FILE or --vault-id LABEL@FILE (an executable file is run and prints it)');
  return typed;
}

async function run(playbookPath: string, opts: RunCliOptions): Promise<number> {
  const settings = settingsFor(opts);
  if (typeof settings === 'number') return settings;
  let project: LoadedProject;
  try {
    const vaultFlags = { vaultId: opts.vaultId, vaultPasswordFile: [...opts.vaultPasswordFile, ...opts.vaultPassFile], askVaultPass: opts.askVaultPass || opts.askVaultPassword };
    const vault = await openVaultKeyring(vaultFlags, settings.vault, { cwd: process.cwd(), prompt: askVaultPassword, warn: (w) => process.stderr.write(`[WARNING]: ${secrets.redact(w)}\n`) });
    project = loadProject({ playbook: playbookPath, inventory: settings.inventory!, extraVars: opts.extraVars, limit: opts.limit, strict: opts.strict, cwd: process.cwd(), vault, rolesPath: settings.rolesPath, listing: !!(opts.listHosts || opts.listTasks || opts.listTags) });
  } catch (err) {
    if (!(err instanceof DiagnosticsError)) throw err;
    return reportProblems(err.diagnostics);
  }
  for (const w of project.warnings) process.stderr.write(`[WARNING]: ${w}\n`);
  if (project.selected.size === 0) {
    process.stderr.write(`error: --limit '${opts.limit}' matches no host in the inventory\n`);
    return EXIT.options;
  }
  if (opts.startAtTask !== undefined) {
    const started = startingAt(project.playbook, opts.startAtTask);
    if (typeof started === 'string') {
      process.stderr.write(`error: ${started}\n`);
      return EXIT.options;
    }
    project = { ...project, playbook: started };
  }
  // Connection settings tsplay cannot honour (a ProxyCommand, become_method su) stop the run here, before any host is contacted.
  // Hosts reached only by delegate_to are checked too: refusing one mid-run would leave the run half done.
  const targets = opts.shard ? shardHosts(project.selected, opts.shard) : project.selected;
  const checked = checkConnections(project.inventory, new Set([...targets, ...delegateHosts(project.playbook, project.inventory)]), project.extraVars, settings.connection);
  if (checked.problems.length > 0) return reportProblems(checked.problems.map((p) => ({ kind: 'parse', message: p.message, hint: p.hint })));
  if (opts.verbose > 0) for (const n of checked.notes) process.stderr.write(`[WARNING]: ${n}\n`);
  const controller = new AbortController();
  const runOptions: RunOptions = {
    check: !!opts.check,
    diff: !!opts.diff,
    forks: settings.forks,
    tags: opts.tags,
    skipTags: opts.skipTags,
    limit: opts.limit,
    extraVars: project.extraVars,
    verbosity: opts.verbose,
    forceHandlers: !!opts.forceHandlers,
    shard: opts.shard,
    becomeDefaults: settings.become,
    hashBehaviour: settings.hashBehaviour,
    signal: controller.signal,
  };
  if (opts.syntaxCheck) {
    process.stdout.write(`playbook: ${playbookPath}: ${project.playbook.plays.length} play(s), syntax OK\n`);
    return EXIT.ok;
  }
  if (opts.listHosts || opts.listTasks || opts.listTags) {
    process.stdout.write(listing(project, runOptions, { hosts: !!opts.listHosts, tasks: !!opts.listTasks, tags: !!opts.listTags }));
    return EXIT.ok;
  }
  const badReport = opts.report && reportNameError(opts.report);
  if (badReport) {
    process.stderr.write(`error: ${badReport}\n`);
    return EXIT.options;
  }
  // -k / -K: asked once everything is known to be valid, before the first host is contacted.
  await askPasswords(settings);
  donePrompting();
  runOptions.becomeDefaults = settings.become;
  const bus = new RunBus();
  const tty = process.stdout.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  const write = (s: string): void => void process.stdout.write(s);
  // listr2 is loaded only for the terminal view.
  const live = tty ? (await import('../report/tty.js')).ttyReporter({ write, verbosity: opts.verbose, diff: !!opts.diff, stream: process.stdout }) : undefined;
  bus.on(live ?? plainReporter({ write, verbosity: opts.verbose, diff: !!opts.diff, color: false, timestamps: true }));
  const detailed = !!opts.detailedExitcode;
  const collector = reportCollector((r) => exitCode(r, detailed));
  bus.on(collector);
  if (opts.shard) write(`SHARD ${opts.shard.index}/${opts.shard.count}: ${shardHosts(project.selected, opts.shard).size} of ${project.selected.size} selected hosts\n`);
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\ninterrupted: letting running tasks finish; press Ctrl-C again to abort now\n');
      controller.abort();
    } else process.exit(EXIT.interrupted);
  };
  process.on('SIGINT', onSigint);
  const connections = createConnections(project.inventory, project.extraVars, bus, settings.connection);
  const recap = await runPlaybook({ playbook: project.playbook, inventory: project.inventory, selected: project.selected, options: runOptions, connections, bus });
  process.off('SIGINT', onSigint);
  await live?.finished;
  if (opts.report) await writeReport(opts.report, (await import('../shard/merge.js')).withShard(collector.report()!, opts.shard));
  return exitCode(recap, detailed);
}

/** --list-hosts, --list-tasks, --list-tags: what ansible-playbook prints for them. */
function listing(project: LoadedProject, options: RunOptions, show: { hosts: boolean; tasks: boolean; tags: boolean }): string {
  const lines = [`playbook: ${project.playbook.file}`, ''];
  const fakeRun = { options } as RunState;
  const selected = options.shard ? shardHosts(project.selected, options.shard) : project.selected;
  if (options.shard) lines.push(`shard ${options.shard.index}/${options.shard.count}: ${selected.size} of ${project.selected.size} selected hosts`, '');
  project.playbook.plays.forEach((play, i) => {
    const matched = matchHosts(project.inventory, play.hosts).filter((h) => selected.has(h));
    lines.push(`  play #${i + 1} (${[play.hosts].flat().join(',')}): ${play.name}\tTAGS: [${[...play.tags].sort().join(',')}]`);
    if (show.hosts) {
      lines.push(`    pattern: ${JSON.stringify([play.hosts].flat())}`, `    hosts (${matched.length}):`);
      matched.forEach((h) => lines.push(`      ${h}`));
    }
    const selectedTasks = play.sections.flatMap((section) => [...tasksIn(section)]).filter((n) => selectedByTags(fakeRun, n));
    if (show.tasks) {
      lines.push('    tasks:');
      for (const n of selectedTasks) lines.push(`      ${n.role ? `${n.role.name} : ` : ''}${n.name ?? n.module}\tTAGS: [${[...new Set(n.tags)].sort().join(', ')}]`);
    }
    if (show.tags) lines.push(`      TASK TAGS: [${[...new Set(selectedTasks.flatMap((n) => n.tags))].sort().join(', ')}]`);
    lines.push('');
  });
  return lines.join('\n');
}
