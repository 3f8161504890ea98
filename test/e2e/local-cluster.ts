/**
 * A local cluster for playbooks/worker.yml: real test hosts (test/hosts) as the new workers, each
 * in its own network namespace on a bridge the harness creates, and a real control plane
 * (test/cluster) listening on that bridge, plus the inventory that joins them, written into a run
 * dir (machine-specific paths: never committed). Used by test/e2e/worker.test.ts and demo.ts.
 *
 *   const lc = await startLocalCluster({ first: 151, count: 3 });
 *   // tsplay playbooks/worker.yml -i lc.inventoryDir
 *   await lc.stop();
 *
 * What it sets up besides booting (test/e2e/README.md explains each choice):
 *   - pki/kube-proxy.pem, pki/kube-proxy-key.pem: kube-proxy's client certificate (CN
 *     system:kube-proxy, ECDSA P-256, signed by the cluster CA with openssl), as guide 004 makes it
 *     with cfssl;
 *   - on every host the container runtime a worker has before it is added: Debian's containerd and
 *     runc as packaged, with a bridge CNI configuration (the cluster's network plugin);
 *   - what this machine's shared kernel forces on the hosts (kernelForcedSettings below), each
 *     labelled in the inventory, never in the roles' defaults;
 *   - inventory/{hosts.yml,group_vars/all.yml,group_vars/workers.yml} in the shape of
 *     inventories/prod, with the upstream kubelet and kube-proxy (built by test/cluster/build.sh
 *     from k8s.io/kubernetes, as the control plane) as the binaries the roles copy.
 * Only on a machine where the upstream kubelet cannot run (nodeBinariesMode) do the labelled
 * stand-ins of test/cluster/standin take their place, and the harness says so loudly.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { shellQuote } from '../../engine/connect/shell.js';
import { ensureClusterBinaries, startCluster, type TestCluster } from '../cluster/cluster.js';
import { bootHosts, ensureHostTools, ensureImage, sshExec, type TestHosts } from '../hosts/harness.js';
import type { BridgeNetwork } from '../hosts/network.js';

const execFileP = promisify(execFile);

export const ROOT = resolve(import.meta.dirname, '../..');
/** The stand-in binaries (test/cluster/standin/) in the directory test/cluster/build.sh built them into. */
export function standinBinaries(binDir: string): { kubelet: string; kubeProxy: string } {
  return { kubelet: join(binDir, 'standin-kubelet'), kubeProxy: join(binDir, 'standin-kube-proxy') };
}
/** The upstream kubelet and kube-proxy test/cluster/build.sh built from k8s.io/kubernetes. */
export function upstreamBinaries(binDir: string): { kubelet: string; kubeProxy: string } {
  return { kubelet: join(binDir, 'kubelet'), kubeProxy: join(binDir, 'kube-proxy') };
}
/** The k8s.io/kubernetes version test/cluster/go.mod pins: the control plane's and the nodes'. */
export function kubernetesVersion(): string {
  const mod = readFileSync(join(ROOT, 'test/cluster/go.mod'), 'utf8');
  const v = /^\s*k8s\.io\/kubernetes\s+(v\d+\.\d+\.\d+)/m.exec(mod)?.[1];
  if (!v) throw new Error('cannot read the k8s.io/kubernetes version from test/cluster/go.mod');
  return v;
}
/** The test apiserver's --service-cluster-ip-range (test/cluster/cluster.ts) and a DNS IP in it. */
export const SERVICE_CIDR = '10.96.0.0/12';
export const CLUSTER_DNS_IP = '10.96.0.10';
/** The `kubernetes` Service's ClusterIP (first address of SERVICE_CIDR). */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
/** The pod network of the test cluster (roles' cluster_cidr) and the CNI bridge's share of it. */
export const CLUSTER_CIDR = '172.30.0.0/16';
/** The modules kube-proxy's IPVS mode needs from the kernel (nf_conntrack aside). */
const IPVS_MODULES = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh'];

export interface LocalNode {
  /** inventory name = node name = the host's hostname: w<index> */
  name: string;
  index: number;
  /** the host's own address on the bridge: ssh address and node_ip */
  ip: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** 'upstream': the real kubelet, kube-proxy and containerd; 'standin': the labelled fallback. */
export type NodeBinariesMode = 'upstream' | 'standin';

export interface LocalCluster {
  hosts: TestHosts;
  cluster: TestCluster;
  /** the bridge the hosts and the apiserver are on */
  network: BridgeNetwork;
  /** run dir: inventory/ and pki/; removed by stop() */
  dir: string;
  /** pass to tsplay -i */
  inventoryDir: string;
  nodes: LocalNode[];
  /** false: this kernel has no IPVS modules, so the inventory runs kube-proxy in iptables mode */
  ipvs: boolean;
  kubeProxyCert: string;
  kubeProxyKey: string;
  /** which kubelet and kube-proxy the inventory installs, and why if not the upstream ones */
  mode: NodeBinariesMode;
  standinReason?: string;
  /** the binaries the inventory installs as kubelet and kube-proxy */
  binaries: { kubelet: string; kubeProxy: string };
  /** v1.37.2: the control plane's and (upstream mode) the nodes' version */
  version: string;
  /** a command on a node as root over real ssh (strict host keys) */
  ssh(node: string | number, command: string, opts?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** Power off the hosts, stop the control plane, remove the bridge and the run dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface LocalClusterOptions {
  first: number;
  count: number;
  /** machine name prefix of the hosts (default 'e2e') */
  prefix?: string;
  log?: (m: string) => void;
}

/** The stand-in container runtime of the fallback mode: a unit named as the guides' runtime, doing nothing. */
export const CONTAINERD_STANDIN_UNIT = `# tsplay TEST STAND-IN for containerd (test/e2e/local-cluster.ts): NOT a container runtime.
# Used only with the stand-in kubelet (fallback mode, test/e2e/README.md), so that
# kubelet.service's Requires=containerd.service (guide 003) can be met.
[Unit]
Description=tsplay test stand-in for containerd (sleep infinity)

[Service]
ExecStart=/bin/sleep infinity

[Install]
WantedBy=multi-user.target
`;

/**
 * The cluster's network plugin on each node, as a CNI configuration for Debian's CNI plugins: a
 * bridge with host-local addresses from this node's share of the pod network. Guide 003 installs a
 * network plugin after the nodes join; containerd reports NetworkReady (and the Node Ready) only
 * once one is configured. No pod runs in these tests; nothing routes or masquerades.
 */
export function cniConfig(index: number): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'tsplay-test',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: false,
          ipMasq: false,
          ipam: { type: 'host-local', ranges: [[{ subnet: `172.30.${index}.0/24` }]] },
        },
      ],
    },
    null,
    2,
  ) + '\n';
}

/**
 * kubelet-config.yaml and kube-proxy-config.yaml fields this machine forces on the test hosts
 * (workersYml says why for each); the inventory sets them, the roles' defaults never do.
 */
export const KERNEL_FORCED_KUBELET_CONFIG = { failCgroupV1: false, cgroupsPerQOS: false, enforceNodeAllocatable: [] as string[] };
export const KERNEL_FORCED_KUBE_PROXY_CONFIG = { conntrack: { maxPerCore: 0 } };

/**
 * Kernel settings the kubelet sets itself when they differ (pkg/kubelet/cm: vm.overcommit_memory=1,
 * kernel.panic=10, kernel.panic_on_oops=1) and fails to start when it cannot. They are not
 * namespaced: the hosts share this machine's kernel and see /proc/sys read-only, so the harness
 * sets them on the machine, as every Kubernetes node has them. Left set after the run (other runs
 * may be using them).
 */
const KUBELET_KERNEL_SETTINGS: Array<[file: string, value: string]> = [
  ['/proc/sys/vm/overcommit_memory', '1'],
  ['/proc/sys/kernel/panic', '10'],
  ['/proc/sys/kernel/panic_on_oops', '1'],
];

async function setKubeletKernelSettings(): Promise<string | undefined> {
  for (const [file, value] of KUBELET_KERNEL_SETTINGS) {
    try {
      if (readFileSync(file, 'utf8').trim() !== value) writeFileSync(file, value);
    } catch (e) {
      return `cannot set ${file} to ${value} on this machine (${(e as Error).message})`;
    }
  }
  return undefined;
}

/**
 * Upstream binaries unless this machine cannot run them. TSPLAY_E2E_NODES=standin forces the
 * fallback (to compare, or on a machine known not to work).
 */
async function nodeBinariesMode(): Promise<{ mode: NodeBinariesMode; reason?: string }> {
  if (process.env.TSPLAY_E2E_NODES === 'standin') return { mode: 'standin', reason: 'TSPLAY_E2E_NODES=standin' };
  if (!existsSync('/dev/kmsg')) return { mode: 'standin', reason: 'this machine has no /dev/kmsg for the kubelet to read' };
  const sysctl = await setKubeletKernelSettings();
  if (sysctl) return { mode: 'standin', reason: sysctl };
  return { mode: 'upstream' };
}

function kernelHasIpvs(): boolean {
  return IPVS_MODULES.every((m) => existsSync(`/sys/module/${m}`));
}

/** kube-proxy's client certificate, signed by the cluster CA (guide 004: CN system:kube-proxy). */
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
    "# Host names are node names; node_ip is the host's own address on the test bridge.",
    'all:',
    '  children:',
    '    workers:',
    '      hosts:',
    ...nodes.flatMap((n) => [`        ${n.name}:`, `          node_ip: ${n.ip}`]),
    '',
  ].join('\n');
}

function allYml(c: TestCluster, pki: { cert: string; key: string }, version: string): string {
  return [
    '# Generated by test/e2e/local-cluster.ts: the test control plane of this run (test/cluster).',
    `kube_apiserver: ${q(c.server)}`,
    `cluster_ca_file: ${q(c.caFile)}`,
    `kube_proxy_cert_src: ${q(pki.cert)}`,
    `kube_proxy_key_src: ${q(pki.key)}`,
    "# the test apiserver's --service-cluster-ip-range, and a DNS Service IP inside it",
    `service_cidr: ${SERVICE_CIDR}`,
    `cluster_dns_ip: ${CLUSTER_DNS_IP}`,
    `cluster_cidr: ${CLUSTER_CIDR}`,
    "# the controller's API access (RBAC, tokens, CSRs, Nodes): the cluster admin",
    `kubeconfig: ${q(c.adminKubeconfig)}`,
    "# CN of the test apiserver's --kubelet-client-certificate",
    `apiserver_kubelet_user: ${q(c.apiserverKubeletClientUser)}`,
    '# the version of the control plane and of the kubelet and kube-proxy installed',
    `kubernetes_version: ${q(version)}`,
    '',
  ].join('\n');
}

function workersYml(t: TestHosts, ipvs: boolean, mode: NodeBinariesMode, binaries: { kubelet: string; kubeProxy: string }, version: string, reason?: string): string {
  const lines = [
    '# Generated by test/e2e/local-cluster.ts: how to reach the test hosts, what to install.',
    'ansible_host: "{{ node_ip }}"',
    'ansible_user: root',
    `ansible_ssh_private_key_file: ${q(t.keyFile)}`,
    `known_hosts_file: ${q(t.knownHostsFile)}`,
    '',
  ];
  if (mode === 'upstream') {
    lines.push(
      `# The upstream kubelet and kube-proxy ${version}, built from k8s.io/kubernetes by test/cluster/build.sh.`,
      `kubelet_binary_src: ${q(binaries.kubelet)}`,
      `kube_proxy_binary_src: ${q(binaries.kubeProxy)}`,
      '',
      "# What this machine's shared kernel forces on the test hosts (test/e2e/README.md); none of it",
      '# is a role default, a real worker needs none of it:',
      '# - this machine mounts cgroup v1 (hybrid); kubelets since 1.35 refuse it unless told.',
      '# - systemd-nspawn gives the hosts their cgroup controllers read-only: the kubelet cannot make',
      '#   its QoS cgroups (kubepods) or enforce node allocatable there.',
      `kubelet_config_extra: ${JSON.stringify({ failCgroupV1: KERNEL_FORCED_KUBELET_CONFIG.failCgroupV1 })}`,
      `kubelet_cgroups_per_qos: ${JSON.stringify(KERNEL_FORCED_KUBELET_CONFIG.cgroupsPerQOS)}`,
      `kubelet_enforce_node_allocatable: ${JSON.stringify(KERNEL_FORCED_KUBELET_CONFIG.enforceNodeAllocatable)}`,
      "# - nf_conntrack_max is the machine's (not per network namespace) and read-only in a host:",
      '#   maxPerCore 0 makes kube-proxy leave it alone, as kind does.',
      `kube_proxy_config_extra: ${JSON.stringify(KERNEL_FORCED_KUBE_PROXY_CONFIG)}`,
    );
  } else {
    lines.push(
      `# TEST STAND-INS, not Kubernetes binaries (test/e2e/README.md): the upstream kubelet cannot run`,
      `# on this machine (${reason}). The kubelet stand-in does the kubelet's TLS bootstrap, Node`,
      "# registration and serving CSR with the files tsplay writes; the kube-proxy stand-in checks its",
      '# kubeconfig against the apiserver. Both then stay up.',
      `kubelet_binary_src: ${q(binaries.kubelet)}`,
      `kube_proxy_binary_src: ${q(binaries.kubeProxy)}`,
    );
  }
  if (!ipvs) {
    lines.push(
      '',
      "# This machine's kernel has no IPVS (ip_vs* are not in /sys/module) and the test hosts cannot",
      '# load modules (no /lib/modules), so kube-proxy runs in iptables mode and only nf_conntrack',
      '# (built into this kernel) is declared.',
      'kube_proxy_mode: iptables',
      'kube_proxy_ipvs_modules: [nf_conntrack]',
    );
  }
  return lines.join('\n') + '\n';
}

/** What a worker has before it is added: its container runtime, running (and the CNI config). */
async function prepareRuntime(ssh: LocalCluster['ssh'], n: LocalNode, mode: NodeBinariesMode): Promise<void> {
  const script =
    mode === 'upstream'
      ? [
          'set -e',
          // Debian's containerd as packaged (its config already names Debian's CNI plugin dir).
          'mkdir -p /etc/cni/net.d',
          `printf '%s' ${shellQuote(cniConfig(n.index))} > /etc/cni/net.d/10-tsplay-test.conflist`,
          'systemctl enable --now containerd.service 2>&1',
          // containerd answers CRI on its socket once its plugins are up
          'for i in $(seq 100); do [ -S /run/containerd/containerd.sock ] && break; sleep 0.1; done',
          '[ -S /run/containerd/containerd.sock ]',
        ].join('\n')
      : `printf '%s' ${shellQuote(CONTAINERD_STANDIN_UNIT)} > /etc/systemd/system/containerd.service && systemctl daemon-reload && systemctl enable --now containerd.service 2>&1`;
  const r = await ssh(n.name, script);
  if (r.code !== 0) throw new Error(`container runtime on ${n.name}: ${r.stdout}${r.stderr}`);
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
    const binDir = await ensureClusterBinaries();
    const version = kubernetesVersion();
    const { mode, reason } = await nodeBinariesMode();
    if (mode === 'standin') {
      log(`!!! THE UPSTREAM KUBELET CANNOT RUN HERE (${reason}): the nodes get the labelled TEST STAND-INS of test/cluster/standin`);
    }
    // The apiserver binds the bridge's address, so it starts once bootHosts has made the bridge.
    let bridgeUp!: (net: BridgeNetwork) => void;
    const bridge = new Promise<BridgeNetwork>((res) => (bridgeUp = res));
    const hostsP = bootHosts({
      first: opts.first,
      count: opts.count,
      prefix: opts.prefix ?? 'e2e',
      log,
      network: 'bridge',
      onBridge: bridgeUp,
      // The kubernetes Service's ClusterIP must be routable for kube-proxy's DNAT to see the packet
      // (a node's default route does that; these hosts have none). On the bridge, with no ARP
      // answer for an address no rule rewrites.
      hostRoutes: [SERVICE_CIDR],
      // The kubelet reads the kernel log (OOM events) and refuses to start without /dev/kmsg,
      // which nspawn gives no container; opening it needs CAP_SYSLOG (kernel.dmesg_restrict=1
      // here), which nspawn drops by default. In a network namespace of its own nspawn's /sys has
      // no /sys/module: the shared kernel's, read-only, is how a node (and tsplay's modprobe)
      // sees which modules are loaded or built in.
      nspawnArgs: ['--bind-ro=/dev/kmsg', '--capability=CAP_SYSLOG', '--bind-ro=/sys/module'],
    });
    const clusterP = Promise.race([bridge, hostsP.then(() => bridge)]).then((net) => startCluster({ address: net.gateway }));
    const [h, c] = await Promise.allSettled([hostsP, clusterP]);
    if (h.status === 'fulfilled') hosts = h.value;
    if (c.status === 'fulfilled') cluster = c.value;
    if (h.status === 'rejected') throw h.reason;
    if (c.status === 'rejected') throw c.reason;
    const t = hosts!;
    const cl = cluster!;
    const network = t.network!;
    const nodes: LocalNode[] = t.hosts.map((x) => ({ name: x.hostname, index: x.index, ip: x.address }));
    const ssh = async (node: string | number, command: string, o: { input?: string; timeoutMs?: number } = {}) => {
      const n = nodes.find((x) => x.name === node || x.index === node);
      if (!n) throw new Error(`no node ${node}`);
      return sshExec(t, n.index, command, o);
    };

    const pkiDir = join(dir, 'pki');
    mkdirSync(pkiDir);
    const pki = await kubeProxyPki(pkiDir, cl);
    await Promise.all(nodes.map((n) => prepareRuntime(ssh, n, mode)));

    const binaries = mode === 'upstream' ? upstreamBinaries(binDir) : standinBinaries(binDir);
    const ipvs = kernelHasIpvs();
    const inventoryDir = join(dir, 'inventory');
    mkdirSync(join(inventoryDir, 'group_vars'), { recursive: true });
    writeFileSync(join(inventoryDir, 'hosts.yml'), hostsYml(nodes));
    writeFileSync(join(inventoryDir, 'group_vars', 'all.yml'), allYml(cl, pki, version));
    writeFileSync(join(inventoryDir, 'group_vars', 'workers.yml'), workersYml(t, ipvs, mode, binaries, version, reason));
    log(`inventory ${inventoryDir}: ${nodes.map((n) => `${n.name} (${n.ip})`).join(', ')}; apiserver ${cl.server}; ${mode === 'upstream' ? `upstream kubelet and kube-proxy ${version}, containerd` : 'TEST STAND-INS'}`);

    return { hosts: t, cluster: cl, network, dir, inventoryDir, nodes, ipvs, kubeProxyCert: pki.cert, kubeProxyKey: pki.key, mode, standinReason: reason, binaries, version, ssh, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
