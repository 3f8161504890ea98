/** The file and command modules' tables on the simulated host (test/helpers/sim-host.ts). */
import { runTable } from '../../helpers/module-tester.js';
import { fileTables } from '../../modules/index.js';

for (const table of fileTables) runTable(table);
