/**
 * The host modules' tables (test/modules/) on a real test host (48) over SSH: the same cases the
 * simulated host runs, with Debian's own tools answering, except those only the simulator can
 * hold (real-host.ts says which). The package modules' tables install from the image's local apt
 * repository for real (package-host.ts).
 */
import { afterAll, beforeAll } from 'vitest';
import { connectSsh } from '../../../engine/connect/ssh.js';
import type { Connection } from '../../../engine/connect/types.js';
import type { TestHosts } from '../../hosts/harness.js';
import { runTable, type Case, type Target } from '../../helpers/module-tester.js';
import { realHost, runsOnRealHost } from '../../helpers/real-host.js';
import type { FileExpect, HostState } from '../../helpers/host-state.js';
import { realPackageHost, type PackagesAfter, type PackagesBefore } from '../../helpers/package-host.js';
import { hostTables, packageTables } from '../../modules/index.js';
import { bootHost } from './fixture.js';

let t: TestHosts;
let conn: Connection;
beforeAll(async () => {
  t = await bootHost(48);
  const h = t.hosts[0]!;
  conn = await connectSsh({ host: h.hostname, connection: 'ssh', address: h.address, port: h.port, user: 'root', privateKeyFile: t.keyFile, knownHostsFile: t.knownHostsFile, acceptNewHostKeys: false, connectTimeoutMs: 10_000 });
  // get_url downloads with curl, which the image leaves to the node-prereqs role (its package
  // tests install it for real); here it comes from the image's local repository up front.
  const curl = await conn.exec('DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl');
  if (curl.code !== 0) throw new Error(`apt-get install curl on ${h.hostname}: ${curl.stderr.toString('utf8')}`);
});
afterAll(async () => {
  await conn?.close();
  await t?.stop();
});

type HostTarget = Target<HostState, Record<string, FileExpect>>;
/** The connection exists only once the host booted: the target is made when a case starts. */
const target: HostTarget = { name: 'real host', start: (before, c) => realHost(conn).start(before, c) };

for (const table of hostTables as Array<{ module: string; target: HostTarget; cases: Array<Case<HostState, Record<string, FileExpect>>>; over?: (host: HostTarget) => HostTarget }>) {
  // A table whose target is built over a host (accounts) gets the real host under it.
  runTable(table, { target: table.over ? table.over(target) : target, filter: runsOnRealHost });
}

for (const table of packageTables as Array<{ module: string; target: Target<PackagesBefore, PackagesAfter>; cases: Array<Case<PackagesBefore, PackagesAfter>> }>) {
  runTable(table, { target: realPackageHost(() => conn), filter: (c) => !c.simulatorOnly, timeoutMs: 60_000 });
}
