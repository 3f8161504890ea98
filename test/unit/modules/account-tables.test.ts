/** The user and group modules' tables on the simulated host (test/helpers/accounts.ts over sim-host.ts). */
import { runTable } from '../../helpers/module-tester.js';
import { accountTables } from '../../modules/index.js';

for (const table of accountTables) runTable(table);
