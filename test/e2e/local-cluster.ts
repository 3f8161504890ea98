/**
 * A local cluster for playbooks/worker.yml: real test hosts (test/hosts) as the new workers and a
 * real control plane (test/cluster), plus the inventory that joins them, written into a run dir
 * (machine-specific paths: never committed). Used by test/e2e/worker.test.ts and test/e2e/demo.ts.
 *
 *   const lc = await startLocalCluster({ first: 151, count: 3 });
 *   // tsplay playbooks/worker.yml -i lc.inventoryDir
 *   await lc.stop();
 *
 * What it sets up besides booting (test/e2e/README.md explains each choice):
 *   - pki/kube-proxy.pem, pki/kube-proxy-key.pem: kube-proxy's client certificate (CN
 *     system:kube-proxy, ECDSA P-256, signed by the cluster CA with openssl), as seed 004 makes it
 *     with cfssl;
 *   - on every host a stand-in `containerd.service` (`sleep infinity`), so the seeds'
 *     `Requires=containerd.service` of kubelet.service is met: a worker has its runtime before
 *     the playbook runs, and these hosts have none;
 *   - inventory/{hosts.yml,group_vars/all.yml,group_vars/workers.yml} in the shape of
 *     inventories/prod, with the stand-in kubelet and kube-proxy (test/cluster/standin/, built by
 *     test/cluster/build.sh beside the control plane) as the binaries the roles copy, and, when
 *     this kernel has no IPVS, kube-proxy in iptables mode.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureClusterBinaries, startCluster, type TestCluster } from '../cluster/cluster.js';
import { bootHosts, ensureHostTools, ensureImage, sshExec, type TestHosts } from '../hosts/harness.js';

const execFileP = promisify(execFile);

export const ROOT = resolve(import.meta.dirname, '../..');
/** The stand-in binaries (test/cluster/standin/) in the directory test/cluster/build.sh built them into. */
export function standinBinaries(binDir: string): { kubelet: string; kubeProxy: string } {
  return { kubelet: join(binDir, 'standin-kubelet'), kubeProxy: join(binDir, 'standin-kube-proxy') };
}
/** The test apiserver's --service-cluster-ip-range (test/cluster/cluster.ts) and a DNS IP in it. */
export const SERVICE_CIDR = '10.96.0.0/12';
export const CLUSTER_DNS_IP = '10.96.0.10';
/** The modules kube-proxy's IPVS mode needs from the kernel (nf_conntrack aside). */
const IPVS_MODULES = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh'];

export interface LocalNode {
  /** inventory name = node name = the host's hostname: w<index> */
  name: string;
  index: number;
  /** 127.0.1.<index>: ssh address and node_ip */
  ip: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface LocalCluster {
  hosts: TestHosts;
  cluster: TestCluster;
  /** run dir: inventory/ and pki/; removed by stop() */
  dir: string;
  /** pass to tsplay -i */
  inventoryDir: string;
  nodes: LocalNode[];
  /** false: this kernel has no IPVS modules, so the inventory runs kube-proxy in iptables mode */
  ipvs: boolean;
  kubeProxyCert: string;
  kubeProxyKey: string;
  /** the stand-in binaries the inventory installs as kubelet and kube-proxy */
  standins: { kubelet: string; kubeProxy: string };
  /** a command on a node as root over real ssh (strict host keys) */
  ssh(node: string | number, command: string, opts?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** Power off the hosts, stop the control plane, remove the run dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface LocalClusterOptions {
  first: number;
  count: number;
  /** machine name prefix of the hosts (default 'e2e') */
  prefix?: string;
  log?: (m: string) => void;
}

/** The stand-in container runtime: a unit named as the seeds' runtime, doing nothing. */
export const CONTAINERD_STANDIN_UNIT = `# tsplay TEST STAND-IN for containerd (test/e2e/local-cluster.ts): NOT a container runtime.
# It exists so that kubelet.service's Requires=containerd.service (seed 003) can be met on the
# test hosts, which have no container runtime.
[Unit]
Description=tsplay test stand-in for containerd (sleep infinity)

[Service]
ExecStart=/bin/sleep infinity

[Install]
WantedBy=multi-user.target
`;

function kernelHasIpvs(): boolean {
  return IPVS_MODULES.every((m) => existsSync(`/sys/module/${m}`));
}

/** kube-proxy's client certificate, signed by the cluster CA (seed 004: CN system:kube-proxy). */
async function kubeProxyPki(pki: string, c: TestCluster): Promise<{ cert: string; key: string }> {
  const key = join(pki, 'kube-proxy-key.pem');
  const csr = join(pki, 'kube-proxy.csr');
  const cert = join(pki, 'kube-proxy.pem');
  const ext = join(pki, 'kube-proxy.ext');
  writeFileSync(ext, 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
  await execFileP('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  await execFileP('openssl', ['req', '-new', '-key', key, '-subj', '/O=k8s/CN=system:kube-proxy', '-out', csr]);
  await execFileP('openssl', ['x509', '-req', '-in', csr, '-CA', c.caFile, '-CAkey', c.caKeyFile, '-set_serial', `0x${Date.now().toString(16)}`, '-days', '7', '-extfile', ext, '-out', cert]);
  return { cert, key };
}

const q = (s: string) => JSON.stringify(s); // a JSON string is a YAML scalar

function hostsYml(nodes: LocalNode[]): string {
  return [
    '# Generated by test/e2e/local-cluster.ts for one run (the test hosts of test/hosts).',
    '# Host names are node names; node_ip is the host\'s own loopback address.',
    'all:',
    '  children:',
    '    workers:',
    '      hosts:',
    ...nodes.flatMap((n) => [`        ${n.name}:`, `          node_ip: ${n.ip}`]),
    '',
  ].join('\n');
}

function allYml(c: TestCluster, pki: { cert: string; key: string }): string {
  return [
    '# Generated by test/e2e/local-cluster.ts: the test control plane of this run (test/cluster).',
    `kube_apiserver: ${q(c.server)}`,
    `cluster_ca_file: ${q(c.caFile)}`,
    `kube_proxy_cert_src: ${q(pki.cert)}`,
    `kube_proxy_key_src: ${q(pki.key)}`,
    '# the test apiserver\'s --service-cluster-ip-range, and a DNS Service IP inside it',
    `service_cidr: ${SERVICE_CIDR}`,
    `cluster_dns_ip: ${CLUSTER_DNS_IP}`,
    '# the controller\'s API access (RBAC, tokens, CSRs, Nodes): the cluster admin',
    `kubeconfig: ${q(c.adminKubeconfig)}`,
    '# CN of the test apiserver\'s --kubelet-client-certificate',
    `apiserver_kubelet_user: ${q(c.apiserverKubeletClientUser)}`,
    '',
  ].join('\n');
}

function workersYml(t: TestHosts, ipvs: boolean, standins: { kubelet: string; kubeProxy: string }): string {
  const lines = [
    '# Generated by test/e2e/local-cluster.ts: how to reach the test hosts, what to install.',
    'ansible_host: "{{ node_ip }}"',
    'ansible_user: root',
    `ansible_ssh_private_key_file: ${q(t.keyFile)}`,
    `known_hosts_file: ${q(t.knownHostsFile)}`,
    '',
    '# TEST STAND-INS, not Kubernetes binaries (test/e2e/README.md): the kubelet stand-in does the',
    '# kubelet\'s TLS bootstrap, Node registration and serving CSR with the files tsplay writes;',
    '# the kube-proxy stand-in checks its kubeconfig against the apiserver. Both then stay up.',
    `kubelet_binary_src: ${q(standins.kubelet)}`,
    `kube_proxy_binary_src: ${q(standins.kubeProxy)}`,
    '# kubelet_runtime_unit keeps the seeds\' containerd.service: the hosts run a stand-in unit of',
    '# that name (installed by local-cluster.ts before any playbook runs).',
  ];
  if (!ipvs) {
    lines.push(
      '',
      '# This machine\'s kernel has no IPVS (ip_vs* are not in /sys/module) and the test hosts cannot',
      '# load modules (no /lib/modules), so kube-proxy runs in iptables mode and only nf_conntrack',
      '# (built into this kernel) is declared.',
      'kube_proxy_mode: iptables',
      'kube_proxy_ipvs_modules: [nf_conntrack]',
    );
  }
  return lines.join('\n') + '\n';
}

export async function startLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[local-cluster] ${m}\n`));
  const dir = mkdtempSync(join(tmpdir(), `tsplay-local-${opts.first}-`));
  let hosts: TestHosts | undefined;
  let cluster: TestCluster | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.allSettled([hosts?.stop(), cluster?.stop()]);
      rmSync(dir, { recursive: true, force: true });
    })());
  try {
    await ensureHostTools();
    await ensureImage({ log });
    const [h, c] = await Promise.allSettled([
      bootHosts({ first: opts.first, count: opts.count, prefix: opts.prefix ?? 'e2e', log }),
      startCluster(),
    ]);
    if (h.status === 'fulfilled') hosts = h.value;
    if (c.status === 'fulfilled') cluster = c.value;
    if (h.status === 'rejected') throw h.reason;
    if (c.status === 'rejected') throw c.reason;
    const t = hosts!;
    const cl = cluster!;
    const nodes: LocalNode[] = t.hosts.map((x) => ({ name: x.hostname, index: x.index, ip: x.address }));
    const ssh = async (node: string | number, command: string, o: { input?: string; timeoutMs?: number } = {}) => {
      const n = nodes.find((x) => x.name === node || x.index === node);
      if (!n) throw new Error(`no node ${node}`);
      return sshExec(t, n.index, command, o);
    };

    const pkiDir = join(dir, 'pki');
    mkdirSync(pkiDir);
    const pki = await kubeProxyPki(pkiDir, cl);

    await Promise.all(
      nodes.map(async (n) => {
        const r = await ssh(n.name, 'cat > /etc/systemd/system/containerd.service && systemctl daemon-reload && systemctl enable --now containerd.service 2>&1', { input: CONTAINERD_STANDIN_UNIT });
        if (r.code !== 0) throw new Error(`stand-in containerd.service on ${n.name}: ${r.stdout}${r.stderr}`);
      }),
    );

    // startCluster has run build.sh already (memoized): this only returns its directory.
    const standins = standinBinaries(await ensureClusterBinaries());
    const ipvs = kernelHasIpvs();
    const inventoryDir = join(dir, 'inventory');
    mkdirSync(join(inventoryDir, 'group_vars'), { recursive: true });
    writeFileSync(join(inventoryDir, 'hosts.yml'), hostsYml(nodes));
    writeFileSync(join(inventoryDir, 'group_vars', 'all.yml'), allYml(cl, pki));
    writeFileSync(join(inventoryDir, 'group_vars', 'workers.yml'), workersYml(t, ipvs, standins));
    log(`inventory ${inventoryDir}: ${nodes.map((n) => `${n.name} (${n.ip})`).join(', ')}; apiserver ${cl.server}`);

    return { hosts: t, cluster: cl, dir, inventoryDir, nodes, ipvs, kubeProxyCert: pki.cert, kubeProxyKey: pki.key, standins, ssh, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
