/**
 * The guides' expectations for the worker roles, shared by the unit test that renders the role
 * templates (test/unit/worker-roles.test.ts) and the end-to-end test that reads the files off
 * converged hosts (test/e2e/worker.test.ts). Copied out of the public guides the roles follow
 * (roles/README.md lists them), cited by number:
 *   000  opsnull, follow-me-install-kubernetes-cluster, "07-2.部署 kubelet 组件" (kubelet v1.8)
 *   002  "Kubelet bootstrap 流程" (v1.11)
 *   003  opsnull, follow-me-install-kubernetes-cluster, "06-4. 部署 kubelet 组件" (v1.16)
 *   004  "kubernetes(七)二进制安装-worker节点安装" (kubelet + kube-proxy, v1.17)
 * The guides' placeholders take the guides' own environment values: K8S_DIR=/data/k8s/k8s,
 * CLUSTER_CIDR=172.30.0.0/16, CLUSTER_DNS_SVC_IP=10.254.0.2, clusterDomain cluster.local (all 004).
 * Also the parser that turns a systemd unit into sections and an ExecStart flag map.
 */

// ------------------------------------------------------------------ the guides' expectations

/** 003 "创建和分发 kubelet 参数配置文件": kubelet-config.yaml.template, every field. */
export function seed003KubeletConfig(nodeIp: string): Record<string, unknown> {
  return {
    kind: 'KubeletConfiguration',
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    address: nodeIp, // "##NODE_IP##"
    staticPodPath: '',
    syncFrequency: '1m',
    fileCheckFrequency: '20s',
    httpCheckFrequency: '20s',
    staticPodURL: '',
    port: 10250,
    readOnlyPort: 0,
    rotateCertificates: true,
    serverTLSBootstrap: true,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: '/etc/kubernetes/cert/ca.pem' } },
    authorization: { mode: 'Webhook' },
    registryPullQPS: 0,
    registryBurst: 20,
    eventRecordQPS: 0,
    eventBurst: 20,
    enableDebuggingHandlers: true,
    enableContentionProfiling: true,
    healthzPort: 10248,
    healthzBindAddress: nodeIp, // "##NODE_IP##"
    clusterDomain: 'cluster.local', // "${CLUSTER_DNS_DOMAIN}" (004: "cluster.local")
    clusterDNS: ['10.254.0.2'], // "${CLUSTER_DNS_SVC_IP}" (004: 10.254.0.2)
    nodeStatusUpdateFrequency: '10s',
    nodeStatusReportFrequency: '1m',
    imageMinimumGCAge: '2m',
    imageGCHighThresholdPercent: 85,
    imageGCLowThresholdPercent: 80,
    volumeStatsAggPeriod: '1m',
    kubeletCgroups: '',
    systemCgroups: '',
    cgroupRoot: '',
    cgroupsPerQOS: true,
    cgroupDriver: 'cgroupfs',
    runtimeRequestTimeout: '10m',
    hairpinMode: 'promiscuous-bridge',
    maxPods: 220,
    podCIDR: '172.30.0.0/16', // "${CLUSTER_CIDR}" (004: 172.30.0.0/16)
    podPidsLimit: -1,
    resolvConf: '/etc/resolv.conf',
    maxOpenFiles: 1000000,
    kubeAPIQPS: 1000,
    kubeAPIBurst: 2000,
    serializeImagePulls: false,
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '10%', 'nodefs.inodesFree': '5%', 'imagefs.available': '15%' },
    evictionSoft: {},
    enableControllerAttachDetach: true,
    failSwapOn: true,
    containerLogMaxSize: '20Mi',
    containerLogMaxFiles: 10,
    systemReserved: {},
    kubeReserved: {},
    systemReservedCgroup: '',
    kubeReservedCgroup: '',
    enforceNodeAllocatable: ['pods'],
  };
}

/** 000: --feature-gates=RotateKubeletClientCertificate=true,RotateKubeletServerCertificate=true (003 and 004 name the same featureGates). */
export const SEED_000_FEATURE_GATES = { RotateKubeletClientCertificate: true, RotateKubeletServerCertificate: true };

/** 003 "创建和分发 kubelet systemd unit 文件": ExecStart flags (K8S_DIR=/data/k8s/k8s from 004). */
export function seed003KubeletFlags(nodeName: string): Record<string, string> {
  return {
    'bootstrap-kubeconfig': '/etc/kubernetes/kubelet-bootstrap.kubeconfig',
    'cert-dir': '/etc/kubernetes/cert',
    'network-plugin': 'cni',
    'cni-conf-dir': '/etc/cni/net.d',
    'container-runtime': 'remote',
    'container-runtime-endpoint': 'unix:///var/run/containerd/containerd.sock',
    'root-dir': '/data/k8s/k8s/kubelet',
    kubeconfig: '/etc/kubernetes/kubelet.kubeconfig',
    config: '/etc/kubernetes/kubelet-config.yaml',
    'hostname-override': nodeName, // ##NODE_NAME##
    'image-pull-progress-deadline': '15m',
    'volume-plugin-dir': '/data/k8s/k8s/kubelet/kubelet-plugins/volume/exec/',
    logtostderr: 'true',
    v: '2',
  };
}
/** 002: --register-node=true (the only flag of 002's unit that 003 does not have). */
export const SEED_002_EXTRA_FLAGS = { 'register-node': 'true' };

/** 003 kubelet.service: the unit's other lines. */
export const SEED_003_KUBELET_UNIT = {
  Unit: { Description: 'Kubernetes Kubelet', Documentation: 'https://github.com/GoogleCloudPlatform/kubernetes', After: 'containerd.service', Requires: 'containerd.service' },
  Service: { WorkingDirectory: '/data/k8s/k8s/kubelet', Restart: 'always', RestartSec: '5', StartLimitInterval: '0' },
  Install: { WantedBy: 'multi-user.target' },
};
export const SEED_003_KUBELET_BIN = '/opt/k8s/bin/kubelet';

/** 004 "创建 kube-proxy 配置文件": kube-proxy-config.yaml. */
export function seed004KubeProxyConfig(nodeIp: string, nodeName: string): Record<string, unknown> {
  return {
    kind: 'KubeProxyConfiguration',
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    clientConnection: { burst: 200, kubeconfig: '/etc/kubernetes/kube-proxy.kubeconfig', qps: 100 },
    bindAddress: nodeIp,
    healthzBindAddress: `${nodeIp}:10256`,
    metricsBindAddress: `${nodeIp}:10249`,
    enableProfiling: true,
    clusterCIDR: '172.30.0.0/16',
    hostnameOverride: nodeName,
    mode: 'ipvs',
    portRange: '',
    iptables: { masqueradeAll: false },
    ipvs: { scheduler: 'rr', excludeCIDRs: [] },
  };
}

/** 004 "创建kube-proxy服务启动文件": kube-proxy.service. */
export const SEED_004_KUBE_PROXY_UNIT = {
  Unit: { Description: 'Kubernetes Kube-Proxy Server', Documentation: 'https://github.com/GoogleCloudPlatform/kubernetes', After: 'network.target' },
  Service: { WorkingDirectory: '/data/k8s/k8s/kube-proxy', Restart: 'on-failure', RestartSec: '5', LimitNOFILE: '65536' },
  Install: { WantedBy: 'multi-user.target' },
};
export const SEED_004_KUBE_PROXY_BIN = '/opt/k8s/bin/kube-proxy';
export const SEED_004_KUBE_PROXY_FLAGS = { config: '/etc/kubernetes/kube-proxy-config.yaml', logtostderr: 'true', v: '2' };

/** 003 "自动 approve CSR 请求，生成 kubelet client 证书": csr-crb.yaml, the four objects. */
export const SEED_003_CSR_CRB = [
  {
    kind: 'ClusterRoleBinding',
    apiVersion: 'rbac.authorization.k8s.io/v1',
    metadata: { name: 'auto-approve-csrs-for-group' },
    subjects: [{ kind: 'Group', name: 'system:bootstrappers', apiGroup: 'rbac.authorization.k8s.io' }],
    roleRef: { kind: 'ClusterRole', name: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient', apiGroup: 'rbac.authorization.k8s.io' },
  },
  {
    kind: 'ClusterRoleBinding',
    apiVersion: 'rbac.authorization.k8s.io/v1',
    metadata: { name: 'node-client-cert-renewal' },
    subjects: [{ kind: 'Group', name: 'system:nodes', apiGroup: 'rbac.authorization.k8s.io' }],
    roleRef: { kind: 'ClusterRole', name: 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', apiGroup: 'rbac.authorization.k8s.io' },
  },
  {
    kind: 'ClusterRole',
    apiVersion: 'rbac.authorization.k8s.io/v1',
    metadata: { name: 'approve-node-server-renewal-csr' },
    rules: [{ apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests/selfnodeserver'], verbs: ['create'] }],
  },
  {
    kind: 'ClusterRoleBinding',
    apiVersion: 'rbac.authorization.k8s.io/v1',
    metadata: { name: 'node-server-cert-renewal' },
    subjects: [{ kind: 'Group', name: 'system:nodes', apiGroup: 'rbac.authorization.k8s.io' }],
    roleRef: { kind: 'ClusterRole', name: 'approve-node-server-renewal-csr', apiGroup: 'rbac.authorization.k8s.io' },
  },
];

// ------------------------------------------------------------------ the guides' files on newer versions

/**
 * The first kubelet / kube-proxy version without each seed flag or gate the roles write by
 * default, checked in the Kubernetes sources (files cited in test/unit/kubernetes-versions.test.ts).
 * Written here, not read from the roles' tables, so that tests of the roles stay independent of them.
 */
export const SEED_KUBELET_FLAGS_GONE: Record<string, string> = {
  'network-plugin': '1.24',
  'cni-conf-dir': '1.24',
  'image-pull-progress-deadline': '1.24',
  logtostderr: '1.26',
  'container-runtime': '1.27',
};
export const SEED_FEATURE_GATES_GONE: Record<string, string> = { RotateKubeletClientCertificate: '1.21' };
export const SEED_KUBE_PROXY_FLAGS_GONE: Record<string, string> = { logtostderr: '1.26' };

/** "1.23.4" is before "1.24" (major.minor; "v" allowed). */
export function before(version: string, gone: string): boolean {
  const [a, b] = [version, gone].map((v) => v.replace(/^v/, '').split('.').map(Number));
  return a![0]! < b![0]! || (a![0] === b![0] && a![1]! < b![1]!);
}
const keep = <T>(map: Record<string, T>, gone: Record<string, string>, version: string): Record<string, T> =>
  Object.fromEntries(Object.entries(map).filter(([k]) => !(k in gone) || before(version, gone[k]!)));

/** kubelet.service's flags for the prod defaults at `version`: seed 003's and 002's that it still has. */
export function seedKubeletFlagsAt(version: string, nodeName: string): Record<string, string> {
  return keep({ ...seed003KubeletFlags(nodeName), ...SEED_002_EXTRA_FLAGS }, SEED_KUBELET_FLAGS_GONE, version);
}
export function seedFeatureGatesAt(version: string): Record<string, boolean> {
  return keep(SEED_000_FEATURE_GATES, SEED_FEATURE_GATES_GONE, version);
}
export function seedKubeProxyFlagsAt(version: string): Record<string, string> {
  return keep(SEED_004_KUBE_PROXY_FLAGS, SEED_KUBE_PROXY_FLAGS_GONE, version);
}

// ------------------------------------------------------------------ parsing helpers

export interface Unit {
  sections: Record<string, Record<string, string>>;
  bin: string;
  flags: Record<string, string>;
}

/** A systemd unit: sections of key=value (continuation lines joined), ExecStart split into a flag map. */
export function parseUnit(text: string): Unit {
  const sections: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = sections[section[1]!] = {};
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`not a unit line: ${line}`);
    current[line.slice(0, eq)] = line.slice(eq + 1).trim();
  }
  const words = (sections.Service?.ExecStart ?? '').split(/\s+/).filter(Boolean);
  const flags: Record<string, string> = {};
  for (const w of words.slice(1)) {
    const m = /^--([^=]+)=(.*)$/.exec(w);
    if (!m) throw new Error(`ExecStart word is not --flag=value: ${w}`);
    if (m[1]! in flags) throw new Error(`flag --${m[1]} given twice`);
    flags[m[1]!] = m[2]!;
  }
  return { sections, bin: words[0] ?? '', flags };
}

export function withoutExecStart(u: Unit): Record<string, Record<string, string>> {
  const { ExecStart: _drop, ...service } = u.sections.Service ?? {};
  return { ...u.sections, Service: service };
}
