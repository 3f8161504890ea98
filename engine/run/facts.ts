/** gather_facts: a small, cheap fact set in one round trip (not Ansible's full setup module). */
import { UnreachableError } from '../connect/types.js';
import { recordOutcome } from './outcome.js';
import type { HostState, RunState } from './state.js';

const SCRIPT = [
  'echo "hostname=$(hostname)"',
  'echo "fqdn=$(hostname -f 2>/dev/null || hostname)"',
  'echo "kernel=$(uname -r)"',
  'echo "arch=$(uname -m)"',
  '. /etc/os-release 2>/dev/null; echo "os=$ID"; echo "version=$VERSION_ID"; echo "family=$ID_LIKE"',
  'echo "ipv4=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n "s/.* src \\([0-9.]*\\).*/\\1/p")"',
].join('; ');

export async function gatherFacts(run: RunState, host: HostState): Promise<void> {
  try {
    const conn = await run.connections.get(host.name);
    const res = await conn.exec(SCRIPT);
    const kv = Object.fromEntries(res.stdout.toString('utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const facts = {
      hostname: kv.hostname,
      fqdn: kv.fqdn,
      kernel: kv.kernel,
      architecture: kv.arch,
      distribution: kv.os,
      distribution_version: kv.version,
      os_family: kv.family || kv.os,
      default_ipv4: { address: kv.ipv4 },
    };
    Object.assign(host.facts, { ansible_facts: facts }, Object.fromEntries(Object.entries(facts).map(([k, v]) => [`ansible_${k}`, v])));
  } catch (err) {
    if (!(err instanceof UnreachableError)) throw err;
    recordOutcome(run, host, { kind: 'unreachable', message: err.message });
  }
}
