/**
 * `tsplay config [--only-changed]`: the settings a run would use and where each came from, in
 * the form of `ansible-config dump` (`NAME(ORIGIN) = VALUE`, sorted by name), with the line of
 * ansible.cfg added to a file origin, and `flag: -u` for a command-line flag. It takes the same
 * setting flags as a run, so `tsplay config -u deploy` shows what `-u deploy` would change.
 */
import type { Command } from 'commander';
import { DiagnosticsError, EXIT, formatDiagnostic } from '../errors.js';
import { describeOrigin, display } from '../load/ansible-cfg.js';
import { countVerbose } from './common.js';
import { addInventoryOption, addSettingOptions, effectiveSettings, type SettingFlags } from './settings.js';

interface ConfigCliOptions extends SettingFlags {
  onlyChanged?: boolean;
  verbose: number;
}

export function defineConfig(cmd: Command, done: (code: number) => void): Command {
  cmd.description('Print the effective settings (flags, TSPLAY_*/ANSIBLE_* variables, ansible.cfg, defaults) and where each came from, like ansible-config dump.');
  addInventoryOption(cmd);
  addSettingOptions(cmd);
  return cmd
    .option('--only-changed', 'only the settings not at their default (as ansible-config dump --only-changed)')
    .option('-v, --verbose', 'also say what tsplay ignores in ansible.cfg', countVerbose, 0)
    .action((opts: ConfigCliOptions) => done(config(opts)));
}

function config(opts: ConfigCliOptions): number {
  let resolved;
  try {
    resolved = effectiveSettings(opts);
  } catch (err) {
    if (!(err instanceof DiagnosticsError)) throw err;
    for (const d of err.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
    return err.kind === 'options' ? EXIT.options : EXIT.parse;
  }
  for (const w of resolved.warnings) process.stderr.write(`[WARNING]: ${w}\n`);
  if (opts.verbose > 0) for (const n of resolved.notes) process.stderr.write(`[WARNING]: ${n}\n`);
  const lines = [`CONFIG_FILE() = ${resolved.file ?? 'None'}`];
  const settings = Object.values(resolved.values).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const s of settings) {
    if (opts.onlyChanged && s.origin.kind === 'default') continue;
    lines.push(`${s.name}(${describeOrigin(s.origin)}) = ${display(s.value)}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return EXIT.ok;
}
