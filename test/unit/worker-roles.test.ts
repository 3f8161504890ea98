/**
 * The worker roles (playbooks/worker.yml) against the seeds they automate.
 *
 * The expectations are the seeds' own values, copied out of the seed articles into
 * test/helpers/seeds.ts (shared with test/e2e/worker.test.ts; cited by number, the public guides
 * listed in roles/README.md):
 *   000  opsnull "07-2.部署 kubelet 组件" (kubelet v1.8)
 *   002  "Kubelet bootstrap 流程" (v1.11)
 *   003  opsnull "06-4. 部署 kubelet 组件" (v1.16)
 *   004  "kubernetes(七)二进制安装-worker节点安装" (kubelet + kube-proxy, v1.17)
 * The seeds' placeholders take the seeds' own environment values: K8S_DIR=/data/k8s/k8s,
 * CLUSTER_CIDR=172.30.0.0/16, CLUSTER_DNS_SVC_IP=10.254.0.2, clusterDomain cluster.local (all 004),
 * which the prod inventory keeps; ##NODE_IP## / ##NODE_NAME## are the prod node's.
 *
 * The role templates are rendered with the engine's own variable composition (the play's role
 * defaults from the loader, the inventory's group/host vars, magic variables) and then PARSED:
 * YAML with the yaml package, systemd units into sections and ExecStart into a flag map.
 */
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { inventoryVarsOf } from '../../engine/load/inventory.js';
import { snapshot } from '../../engine/vars/context.js';
import { renderValue, type Vars } from '../../engine/vars/template.js';
import { tsplay } from '../helpers/cli.js';
import { PLAYBOOK, project, render as renderFor, taskArgs, tasks, varsFor } from '../helpers/roles.js';
import { wanted } from '../../engine/modules/k8s/bootstrap_token.js';
import { parseUnit, seed003KubeletConfig, seed003KubeletFlags, seed004KubeProxyConfig, SEED_000_FEATURE_GATES, SEED_002_EXTRA_FLAGS, SEED_003_CSR_CRB, SEED_003_KUBELET_BIN, SEED_003_KUBELET_UNIT, SEED_004_KUBE_PROXY_BIN, SEED_004_KUBE_PROXY_FLAGS, SEED_004_KUBE_PROXY_UNIT, withoutExecStart, type Unit } from '../helpers/seeds.js';

// The seeds ran kubelet and kube-proxy 1.16/1.17 (003, 004): their files are what the roles
// render for that version. What newer versions leave out: test/unit/kubernetes-versions.test.ts.
const SEEDS_VERSION = '1.17';
function render(inventory: string, role: string, name: string, host: string, extra: Vars = {}): string {
  return renderFor(inventory, role, name, host, { kubernetes_version: SEEDS_VERSION, ...extra });
}

// ------------------------------------------------------------------ tests

const PROD_NODE = 'prod-worker-01';
let prodIp: string;

beforeAll(() => {
  prodIp = String(inventoryVarsOf(project('prod').inventory, PROD_NODE).node_ip);
});

describe('playbooks/worker.yml loads against both example clusters', () => {
  it.each(['prod', 'staging'])('%s: --syntax-check and --list-tasks pass', async (inv) => {
    const syntax = await tsplay([PLAYBOOK, '-i', inv, '--syntax-check']);
    expect(syntax.code, syntax.stdout + syntax.stderr).toBe(0);
    expect(syntax.stdout).toContain('4 play(s), syntax OK');
    const list = await tsplay([PLAYBOOK, '-i', inv, '--list-tasks']);
    expect(list.code, list.stdout + list.stderr).toBe(0);
    // The seeds' order: RBAC once, then token -> files -> start, then CSR approval, then kube-proxy.
    const order = ['node-bootstrap-rbac :', 'bootstrap-token : bootstrap token', 'kubelet : kubelet-config.yaml', 'kubelet : kubelet enabled and started', 'kubelet-csr : approve the serving CSR', 'kube-proxy : kube-proxy enabled and started'];
    const at = order.map((o) => list.stdout.indexOf(o));
    expect(at.every((i) => i >= 0), list.stdout).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it.each(['prod', 'staging'])('%s: every variable of every play resolves for every host', (inv) => {
    const p = project(inv);
    for (const host of p.inventory.hosts.keys()) {
      for (const play of p.playbook.plays) {
        const role = play.sections[1]!.map((n) => (n.kind === 'block' ? n.role?.name : undefined)).filter(Boolean).pop()!;
        expect(() => snapshot(varsFor(inv, role, host)), `${inv} ${host} play ${play.name}`).not.toThrow();
      }
    }
  });
});

describe('kubelet-config.yaml (prod node) has every field of seed 003', () => {
  let config: Record<string, unknown>;
  beforeAll(() => {
    config = parseYaml(render('prod', 'kubelet', 'kubelet-config.yaml.hbs', PROD_NODE)) as Record<string, unknown>;
  });

  it.each(Object.keys(seed003KubeletConfig('NODE_IP')))('%s as in seed 003', (field) => {
    expect(config[field], `${field}: seed 003 kubelet-config.yaml.template`).toEqual(seed003KubeletConfig(prodIp)[field]);
  });

  it('featureGates as seed 000 --feature-gates (named by 003 and 004)', () => {
    expect(config.featureGates).toEqual(SEED_000_FEATURE_GATES);
  });

  it('has no field the seeds do not set', () => {
    expect(Object.keys(config).sort()).toEqual([...Object.keys(seed003KubeletConfig(prodIp)), 'featureGates'].sort());
  });

  it('address and healthzBindAddress are the node IP, never 127.0.0.1 (seed 003)', () => {
    expect(config.address).toBe('172.27.138.251');
    expect(config.healthzBindAddress).toBe('172.27.138.251');
  });
});

describe('kubelet.service (prod node) has the flags of seed 003', () => {
  let unit: Unit;
  beforeAll(() => {
    unit = parseUnit(render('prod', 'kubelet', 'kubelet.service.hbs', PROD_NODE));
  });

  it('runs /opt/k8s/bin/kubelet (seed 003)', () => {
    expect(unit.bin).toBe(SEED_003_KUBELET_BIN);
  });

  it.each(Object.entries(seed003KubeletFlags(PROD_NODE)))('--%s=%s as in seed 003', (flag, value) => {
    expect(unit.flags[flag], `--${flag}: seed 003 kubelet.service.template`).toBe(value);
  });

  it('--register-node=true as in seed 002', () => {
    expect(unit.flags['register-node']).toBe(SEED_002_EXTRA_FLAGS['register-node']);
  });

  it('has exactly the seeds flags and --v last', () => {
    expect(unit.flags).toEqual({ ...seed003KubeletFlags(PROD_NODE), ...SEED_002_EXTRA_FLAGS });
    expect(unit.sections.Service!.ExecStart).toMatch(/--v=2$/);
  });

  it('[Unit] After/Requires the runtime, [Service] and [Install] as in seed 003', () => {
    expect(withoutExecStart(unit)).toEqual(SEED_003_KUBELET_UNIT);
  });

  it('a flag variable set to "" drops the flag (for kubelets that removed it)', () => {
    const modern = parseUnit(
      render('prod', 'kubelet', 'kubelet.service.hbs', PROD_NODE, {
        kubelet_network_plugin: '',
        kubelet_cni_conf_dir: '',
        kubelet_container_runtime: '',
        kubelet_image_pull_progress_deadline: '',
        kubelet_logtostderr: '',
        kubelet_runtime_unit: 'docker.service',
        kubelet_extra_flags: { 'node-ip': '172.27.138.251' },
      }),
    );
    for (const gone of ['network-plugin', 'cni-conf-dir', 'container-runtime', 'image-pull-progress-deadline', 'logtostderr']) expect(modern.flags).not.toHaveProperty(gone);
    expect(modern.flags['container-runtime-endpoint']).toBe('unix:///var/run/containerd/containerd.sock');
    expect(modern.flags['node-ip']).toBe('172.27.138.251');
    // 000, 002 and 004 ran the kubelet after docker.service.
    expect(modern.sections.Unit).toMatchObject({ After: 'docker.service', Requires: 'docker.service' });
  });

  it("seed 000's flags come back through their variables (at seed 000's kubelet, v1.8)", () => {
    const old = parseUnit(
      render('prod', 'kubelet', 'kubelet.service.hbs', PROD_NODE, {
        kubernetes_version: '1.8',
        kubelet_pod_infra_container_image: 'registry.access.redhat.com/rhel7/pod-infrastructure:latest',
        kubelet_allow_privileged: 'true',
        kubelet_cadvisor_port: 0,
        kubelet_logtostderr: 'false',
        kubelet_alsologtostderr: 'true',
        kubelet_log_dir: '/var/log/kubernetes',
      }),
    );
    expect(old.flags).toMatchObject({
      'pod-infra-container-image': 'registry.access.redhat.com/rhel7/pod-infrastructure:latest',
      'allow-privileged': 'true',
      'cadvisor-port': '0',
      logtostderr: 'false',
      alsologtostderr: 'true',
      'log-dir': '/var/log/kubernetes',
    });
  });
});

describe('kube-proxy (prod node) as in seed 004', () => {
  it('kube-proxy-config.yaml equals seed 004 kube-proxy-config.yaml', () => {
    const config = parseYaml(render('prod', 'kube-proxy', 'kube-proxy-config.yaml.hbs', PROD_NODE)) as Record<string, unknown>;
    const seed = seed004KubeProxyConfig(prodIp, PROD_NODE);
    for (const [field, value] of Object.entries(seed)) expect(config[field], `${field}: seed 004 kube-proxy-config.yaml`).toEqual(value);
    expect(config).toEqual(seed);
  });

  it('kube-proxy.service equals seed 004 kube-proxy.service', () => {
    const unit = parseUnit(render('prod', 'kube-proxy', 'kube-proxy.service.hbs', PROD_NODE));
    expect(unit.bin).toBe(SEED_004_KUBE_PROXY_BIN);
    expect(unit.flags).toEqual(SEED_004_KUBE_PROXY_FLAGS);
    expect(withoutExecStart(unit)).toEqual(SEED_004_KUBE_PROXY_UNIT);
  });

  it('certificate into /etc/kubernetes/cert/ (004: scp kube-proxy*.pem), key mode 0600, never shown', () => {
    const cert = taskArgs('prod', 'kube-proxy', 'copy', PROD_NODE, /client certificate/);
    const key = taskArgs('prod', 'kube-proxy', 'copy', PROD_NODE, /client key/);
    expect(cert).toMatchObject({ src: '/etc/tsplay/prod/kube-proxy.pem', dest: '/etc/kubernetes/cert/kube-proxy.pem' });
    expect(key).toMatchObject({ src: '/etc/tsplay/prod/kube-proxy-key.pem', dest: '/etc/kubernetes/cert/kube-proxy-key.pem', mode: '0600', secret: true });
  });

  it('kubeconfig: cluster kubernetes, user kube-proxy, context default, client cert (004 kubectl config set-*)', () => {
    expect(taskArgs('prod', 'kube-proxy', 'kubeconfig', PROD_NODE)).toEqual({
      server: 'https://172.27.138.10:6443',
      ca_file: '/etc/tsplay/prod/ca.pem',
      client_cert_file: '/etc/tsplay/prod/kube-proxy.pem',
      client_key_file: '/etc/tsplay/prod/kube-proxy-key.pem',
      cluster_name: 'kubernetes',
      user_name: 'kube-proxy',
      context_name: 'default',
      dest: '/etc/kubernetes/kube-proxy.kubeconfig',
      mode: '0600',
    });
  });

  it('IPVS modules include 004 "modprobe ip_vs_rr", persistent', () => {
    const vars = varsFor('prod', 'kube-proxy', PROD_NODE);
    expect(vars.kube_proxy_ipvs_modules).toEqual(['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh', 'nf_conntrack']);
    const task = tasks('kube-proxy').find((t) => 'modprobe' in t)!;
    expect(task.loop).toBe('{{ kube_proxy_ipvs_modules }}');
    expect(taskArgs('prod', 'kube-proxy', 'modprobe', PROD_NODE, undefined, { item: 'ip_vs_rr' })).toEqual({ name: 'ip_vs_rr', state: 'present', persistent: 'present' });
  });

  it('working directory ${K8S_DIR}/kube-proxy (004: mkdir -p ${K8S_DIR}/kube-proxy)', () => {
    const t = tasks('kube-proxy').find((x) => /directories/.test(x.name ?? ''))!;
    expect(renderValue(t.loop, varsFor('prod', 'kube-proxy', PROD_NODE))).toContain('/data/k8s/k8s/kube-proxy');
  });
});

describe('kubelet files and bootstrap (prod node)', () => {
  it('working directories: /etc/kubernetes, cert dir, ${K8S_DIR}/kubelet and its volume plugin dir (003 mkdir)', () => {
    const t = tasks('kubelet').find((x) => /directories/.test(x.name ?? ''))!;
    const dirs = renderValue(t.loop, varsFor('prod', 'kubelet', PROD_NODE)) as string[];
    expect(dirs).toEqual(expect.arrayContaining(['/etc/kubernetes', '/etc/kubernetes/cert', '/data/k8s/k8s/kubelet', '/data/k8s/k8s/kubelet/kubelet-plugins/volume/exec/', '/opt/k8s/bin']));
  });

  it('CA certificate to /etc/kubernetes/cert/ca.pem, the clientCAFile of seed 003', () => {
    expect(taskArgs('prod', 'kubelet', 'copy', PROD_NODE, /CA certificate/)).toMatchObject({ src: '/etc/tsplay/prod/ca.pem', dest: '/etc/kubernetes/cert/ca.pem' });
  });

  it('bootstrap kubeconfig: set-cluster kubernetes, set-credentials kubelet-bootstrap --token, set-context default (003)', () => {
    const task = tasks('kubelet').find((t) => 'kubeconfig' in t)!;
    const args = renderValue(task.kubeconfig, varsFor('prod', 'kubelet', PROD_NODE, { kubelet_bootstrap_token: { token: 'abcdef.0123456789abcdef' } }));
    expect(args).toEqual({
      server: 'https://172.27.138.10:6443',
      ca_file: '/etc/tsplay/prod/ca.pem',
      token: 'abcdef.0123456789abcdef',
      cluster_name: 'kubernetes',
      user_name: 'kubelet-bootstrap',
      context_name: 'default',
      dest: '/etc/kubernetes/kubelet-bootstrap.kubeconfig',
      mode: '0600',
    });
  });

  it('bootstrap token per node: --description kubelet-bootstrap-token --groups system:bootstrappers:<node>, 1 day (003)', () => {
    expect(taskArgs('prod', 'bootstrap-token', 'bootstrap_token', PROD_NODE)).toEqual({
      node: PROD_NODE,
      ttl: '24h',
      usages: ['authentication', 'signing'],
      extra_groups: [],
      description: 'kubelet-bootstrap-token',
    });
    // The module adds the node's own group: 003's --groups system:bootstrappers:${node_name}.
    expect(wanted({ node: PROD_NODE, extra_groups: [] }).groups).toEqual([`system:bootstrappers:${PROD_NODE}`]);
  });

  it('every kubelet file task notifies "restart kubelet"', () => {
    const fileTasks = tasks('kubelet').filter((t) => ['file', 'copy', 'template', 'kubeconfig'].some((m) => m in t));
    expect(fileTasks.length).toBeGreaterThanOrEqual(6);
    for (const t of fileTasks) expect(t.notify, t.name).toBe('restart kubelet');
  });

  it('swap off and kubelet enabled + started after a daemon-reload (000, 003)', () => {
    expect(taskArgs('prod', 'kubelet', 'swapoff', PROD_NODE)).toEqual({ fstab: true });
    expect(taskArgs('prod', 'kubelet', 'systemd', PROD_NODE)).toEqual({ name: 'kubelet', daemon_reload: true, enabled: true, state: 'started' });
  });
});

describe('cluster RBAC as in seed 003', () => {
  it("csr-crb.yaml's four objects of seed 003: the group-wide nodeclient binding in its own file, the other three", () => {
    const docs = (file: string) => parseAllDocuments(render('prod', 'node-bootstrap-rbac', file, PROD_NODE)).map((d) => d.toJS());
    expect([...docs('nodeclient-binding.yaml.hbs'), ...docs('csr-crb.yaml.hbs')]).toEqual(SEED_003_CSR_CRB);
  });

  it("by default (kubelet_client_csr_approver: tsplay) the group-wide nodeclient binding is removed, not applied; the kubelet-csr role approves first client CSRs", () => {
    const rbac = tasks('node-bootstrap-rbac');
    const byTemplate = rbac.filter((t) => (t.k8s as { template?: string } | undefined)?.template === 'nodeclient-binding.yaml.hbs');
    expect(byTemplate.map((t) => [t.when, (t.k8s as { state?: string }).state ?? 'present'])).toEqual([
      ['kubelet_client_csr_approver == "cluster"', 'present'],
      ['kubelet_client_csr_approver == "tsplay"', 'absent'],
    ]);
    const client = tasks('kubelet-csr').find((t) => (t.csr_approve as { signer?: string } | undefined)?.signer === 'client');
    expect(client?.when).toBe('kubelet_client_csr_approver == "tsplay" && kubelet_client_cert_present.rc != 0');
    expect(varsFor('prod', 'kubelet-csr', PROD_NODE).kubelet_client_csr_approver).toBe('tsplay');
  });

  it('kubectl create clusterrolebinding kubelet-bootstrap --clusterrole=system:node-bootstrapper --group=system:bootstrappers', () => {
    const def = taskArgs('prod', 'node-bootstrap-rbac', 'k8s', PROD_NODE, /may create CSRs/).definition as Record<string, unknown>;
    expect(def).toMatchObject({
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kubelet-bootstrap' },
      roleRef: { kind: 'ClusterRole', name: 'system:node-bootstrapper' },
      subjects: [{ kind: 'Group', name: 'system:bootstrappers' }],
    });
  });

  it('kubectl create clusterrolebinding kube-apiserver:kubelet-apis --clusterrole=system:kubelet-api-admin --user kubernetes-master', () => {
    const def = taskArgs('prod', 'node-bootstrap-rbac', 'k8s', PROD_NODE, /kubelet API/).definition as Record<string, unknown>;
    expect(def).toMatchObject({
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kube-apiserver:kubelet-apis' },
      roleRef: { kind: 'ClusterRole', name: 'system:kubelet-api-admin' },
      subjects: [{ kind: 'User', name: 'kubernetes-master' }],
    });
  });

  it('every RBAC task runs once, on the controller', () => {
    for (const t of tasks('node-bootstrap-rbac')) expect([t.run_once, t.delegate_to], t.name).toEqual([true, 'controller']);
  });
});

describe('staging reuses the same roles with its own group_vars', () => {
  it('kubelet-config.yaml and kube-proxy-config.yaml take staging values', () => {
    const config = parseYaml(renderFor('staging', 'kubelet', 'kubelet-config.yaml.hbs', 'stg-worker-02')) as Record<string, unknown>;
    expect(config).toMatchObject({ address: '192.168.0.115', podCIDR: '10.244.0.0/16', clusterDNS: ['10.96.0.10'], clusterDomain: 'staging.local', maxPods: 110, cgroupDriver: 'systemd' });
    // Everything staging does not override is still the seed's.
    expect(config.evictionHard).toEqual(seed003KubeletConfig('x').evictionHard);
    const proxy = parseYaml(renderFor('staging', 'kube-proxy', 'kube-proxy-config.yaml.hbs', 'stg-worker-02')) as Record<string, unknown>;
    expect(proxy).toMatchObject({ bindAddress: '192.168.0.115', clusterCIDR: '10.244.0.0/16', hostnameOverride: 'stg-worker-02' });
    expect(taskArgs('staging', 'kube-proxy', 'kubeconfig', 'stg-worker-02')).toMatchObject({ server: 'https://192.168.0.107:6443', ca_file: '/etc/tsplay/staging/ca.pem' });
  });
});
