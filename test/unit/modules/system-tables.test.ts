/** The kernel and systemd modules' tables on the simulated host (test/helpers/sim-host.ts). */
import { runTable } from '../../helpers/module-tester.js';
import { systemTables } from '../../modules/index.js';

for (const table of systemTables) runTable(table);
