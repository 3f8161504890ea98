/**
 * `tsplay migrate SRC DEST`: an Ansible project as a tsplay one (engine/migrate/). Prints what
 * was left as written, each at SRC's file:line:col with the reason, then the figures. Exit 0:
 * everything converted; 3: DEST written, with constructs left as written (listed); 1: nothing
 * written (SRC missing, DEST not empty).
 */
import type { Command } from 'commander';
import { EXIT } from '../errors.js';
import { MigrateError, migrateProject } from '../migrate/project.js';

/** Exit code of a migration that wrote DEST but left constructs as written. */
export const EXIT_MIGRATE_LEFT = 3;

export const MIGRATE_EXAMPLE = `
Example:
  tsplay migrate ~/src/k3s-ansible ./k3s-tsplay
  # roles/k3s_server/tasks/main.yml:12:11: left as written: Jinja filter '| combine(...)' has no Handlebars helper
  # ...
  # 61 of 64 lines with Jinja converted; 3 constructs left as written (listed above)
  tsplay ./k3s-tsplay/playbooks/site.yml -i ./k3s-tsplay/inventory.yml --syntax-check

It converts Jinja in YAML strings and .j2 templates to Handlebars (.hbs; template tasks' src
renamed), conditions (when, changed_when, failed_when, until, assert's that) to CEL, with_list
and with_items of plain items to loop; module names (FQCN included) are kept. It never guesses:
what has no exact equivalent stays as written and is listed with its place and the reason.
DEST must not exist or be empty; it is written whole or not at all.
Exit: 0 all converted, ${EXIT_MIGRATE_LEFT} some constructs left as written (listed), ${EXIT.error} nothing written.`;

export function defineMigrate(cmd: Command, done: (code: number) => void): Command {
  return cmd
    .description('Convert an Ansible project (playbooks, roles, inventories, group_vars, .j2 templates) into a tsplay one')
    .argument('<src>', 'the Ansible project directory')
    .argument('<dest>', 'the new tsplay project directory (must not exist, or be empty)')
    .addHelpText('after', MIGRATE_EXAMPLE)
    .action((src: string, dest: string) => done(migrate(src, dest)));
}

function migrate(src: string, dest: string): number {
  let result;
  try {
    result = migrateProject(src, dest);
  } catch (err) {
    if (!(err instanceof MigrateError)) throw err;
    process.stderr.write(`error: ${err.message}\n${err.hint ? `  hint: ${err.hint}\n` : ''}`);
    return EXIT.error;
  }
  for (const p of result.problems) process.stdout.write(`${p.file}:${p.line}:${p.col}: left as written: ${p.reason}\n`);
  const share = result.jinjaLines === 0 ? 100 : Math.floor((100 * result.convertedLines) / result.jinjaLines);
  process.stdout.write(
    `${dest}: ${result.files} files, ${result.converted} converted (${result.templates} templates), ${result.copied} copied as they are\n` +
      `${result.convertedLines} of ${result.jinjaLines} lines with Jinja converted (${share}%); ${result.problems.length} constructs left as written${result.problems.length ? ' (listed above, at their place in the source)' : ''}\n`,
  );
  return result.problems.length > 0 ? EXIT_MIGRATE_LEFT : EXIT.ok;
}
