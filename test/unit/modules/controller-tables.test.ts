/** The controller modules' tables: no host, their state is variables and facts. */
import { runTable } from '../../helpers/module-tester.js';
import { controllerTables } from '../../modules/index.js';

for (const table of controllerTables) runTable(table);
