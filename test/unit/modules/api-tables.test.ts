/** The Kubernetes API modules' tables against the fake apiserver (test/helpers/fake-apiserver.ts). */
import { runTable } from '../../helpers/module-tester.js';
import { apiTables } from '../../modules/index.js';

for (const table of apiTables) runTable(table);
