/**
 * npm run demo: add three Kubernetes worker nodes to a real control plane with tsplay.
 *
 *   node --import tsx test/e2e/demo.ts [--first N] [--count N] [--no-wait | --wait]
 *
 * Builds what it needs (dist/, the test host image, the Kubernetes binaries: all cached after the
 * first time), boots the test hosts (w154-w156 by default, each in its own network namespace on a
 * bridge the harness creates) and the control plane on that bridge, writes
 * their inventory (test/e2e/local-cluster.ts), runs `tsplay playbooks/worker.yml -i <inventory>`
 * as a user would, prints what to try next and, on a terminal, keeps everything up until Enter
 * or Ctrl-C. Everything it started is stopped at the end, on failure and on Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { createInterface } from 'node:readline';
import { ensureClusterBinaries } from '../cluster/cluster.js';
import { ensureHostTools, ensureImage } from '../hosts/harness.js';
import { ROOT, startLocalCluster, type LocalCluster } from './local-cluster.js';

const CLI = 'dist/engine/cli.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const first = arg('--first', 154);
const count = arg('--count', 3);
const tty = process.stdin.isTTY === true;
/** Keep the hosts up after the run: on a terminal until Enter or Ctrl-C; with --wait, until a signal. */
const wait = process.argv.includes('--wait') || (tty && !process.argv.includes('--no-wait'));

const say = (m: string) => process.stdout.write(`\n\x1b[1m== ${m}\x1b[0m\n`);
const log = (m: string) => process.stderr.write(`   ${m}\n`);

let interrupted = false;
let waiting = false;
let child: ReturnType<typeof spawn> | undefined;
// Registered before the hosts' and the cluster's own hooks, which stop them at once on a signal.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (interrupted || waiting) return;
    interrupted = true;
    process.stderr.write(`\n${sig}: stopping the run, the hosts and the control plane\n`);
    if (child?.pid) {
      try {
        process.kill(-child.pid, 'SIGINT');
      } catch {
        /* gone */
      }
    }
  });
}

function run(cmd: string, args: string[], opts: { group?: boolean } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    // Own process group: a Ctrl-C reaches this script only, which then interrupts tsplay itself.
    child = spawn(cmd, args, { cwd: ROOT, stdio: 'inherit', detached: opts.group === true });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      child = undefined;
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

async function main(): Promise<number> {
  say('build: dist/, the test host image, the Kubernetes binaries (cached after the first time)');
  if ((await run('npm', ['run', 'build'])) !== 0 && !existsSync(`${ROOT}/${CLI}`)) throw new Error('the build failed and there is no dist/');
  await ensureHostTools();
  await ensureImage({ log });
  log(`Kubernetes binaries: ${await ensureClusterBinaries()}`);
  if (interrupted) return 130;

  say(`boot ${count} test hosts (w${first}-w${first + count - 1}, own network namespaces) and a control plane (etcd, kube-apiserver, kube-controller-manager)`);
  let lc: LocalCluster | undefined;
  try {
    lc = await startLocalCluster({ first, count, prefix: 'demo', log });
    if (interrupted) return 130;
    const inv = relative(ROOT, lc.inventoryDir).startsWith('..') ? lc.inventoryDir : relative(ROOT, lc.inventoryDir);
    log(`apiserver ${lc.cluster.server}; nodes ${lc.nodes.map((n) => `${n.name} (${n.ip})`).join(', ')}`);
    log(`inventory ${inv}: hosts.yml, group_vars/all.yml, group_vars/workers.yml`);
    log(
      lc.mode === 'upstream'
        ? `all real: upstream kubelet and kube-proxy ${lc.version} (built from k8s.io/kubernetes), Debian's containerd and runc, systemd, OpenSSH, the control plane`
        : `!!! the kubelet and kube-proxy copied to the nodes are TEST STAND-INS (${lc.standinReason}; test/e2e/README.md); the rest is real`,
    );

    say(`tsplay playbooks/worker.yml -i ${inv}`);
    const code = await run(process.execPath, [CLI, 'playbooks/worker.yml', '-i', lc.inventoryDir], { group: true });
    if (interrupted) return 130;

    const tsplay = `node ${CLI} playbooks/worker.yml -i ${lc.inventoryDir}`;
    say(code === 0 ? 'converged' : `tsplay exited ${code}`);
    process.stdout.write(
      [
        'What happened: RBAC for TLS bootstrapping applied, a bootstrap token per node, the kubelet files',
        `and unit written and started; each kubelet${lc.mode === 'upstream' ? '' : ' (stand-in)'} bootstrapped its client certificate with`,
        'the token, registered its Node and asked for a serving certificate, which tsplay approved',
        'after checking the CSR proves it is that node; then kube-proxy.',
        '',
        wait ? 'Try next (while this demo runs):' : 'Try next (rerun the demo on a terminal, or with --wait, to keep the hosts up):',
        `  ${tsplay}                    # a second run: changed=0`,
        `  ${tsplay} --check --diff     # what a review sees`,
        `  KUBECONFIG=${lc.cluster.adminKubeconfig} kubectl get nodes,csr   # if you have kubectl`,
        `  ssh -i ${lc.hosts.keyFile} -o UserKnownHostsFile=${lc.hosts.knownHostsFile} root@${lc.nodes[0]!.ip} journalctl -u kubelet`,
        '',
      ].join('\n'),
    );
    if (wait) {
      process.stdout.write(tty ? 'Press Enter (or Ctrl-C) to stop the hosts and the control plane.\n' : 'Send SIGINT or SIGTERM to stop the hosts and the control plane.\n');
      waiting = true;
      await new Promise<void>((resolve) => {
        if (tty) {
          const rl = createInterface({ input: process.stdin });
          rl.once('line', () => resolve());
          rl.once('close', () => resolve());
        }
        for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => resolve());
      });
      process.stdin.pause();
    }
    return code;
  } finally {
    say('stopping the hosts and the control plane');
    await lc?.stop().catch((e: unknown) => log(`stop: ${String(e)}`));
  }
}

main().then(
  (code) => process.exit(interrupted ? 130 : code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(interrupted ? 130 : 1);
  },
);
