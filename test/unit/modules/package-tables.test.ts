/** The package modules' tables on the simulated host (test/helpers/package-host.ts). */
import { runTable } from '../../helpers/module-tester.js';
import { packageTables } from '../../modules/index.js';

for (const table of packageTables) runTable(table, { timeoutMs: 30_000 });
