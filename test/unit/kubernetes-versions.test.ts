/**
 * kubernetes_version decides which flags and feature gates the kubelet and kube-proxy roles
 * write. The roles' tables (roles/kubelet/vars/main.yml, roles/kube-proxy/vars/main.yml) are NOT
 * read here: every expectation is written out below, per version, from the Kubernetes sources
 * (Go modules k8s.io/kubernetes and k8s.io/component-base at the versions named):
 *   --cadvisor-port                 cmd/kubelet/app/options/options.go   in v1.11.0, not v1.12.0
 *   --allow-privileged              cmd/kubelet/app/options/options.go   in v1.14.0, not v1.15.0
 *   --network-plugin, --cni-conf-dir, --image-pull-progress-deadline
 *                                   pkg/kubelet/config/flags.go          in v1.23.0, not v1.24.0
 *   --logtostderr, --alsologtostderr, --log-dir (kubelet and kube-proxy)
 *                                   component-base logs/logs.go          in v0.25.0, not v0.26.0
 *   --container-runtime             pkg/kubelet/config/flags.go          in v1.26.0, not v1.27.0
 *   --pod-infra-container-image     pkg/kubelet/config/flags.go          in v1.34.0, not v1.35.0
 *   gate RotateKubeletClientCertificate  pkg/features/kube_features.go   in v1.20.0, not v1.21.0
 *   gate RotateKubeletServerCertificate  pkg/features/kube_features.go   still in v1.37.2
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { evalCondition, ExprError } from '../../engine/vars/expr.js';
import { renderValue, type Vars } from '../../engine/vars/template.js';
import { ROOT } from '../helpers/cli.js';
import { project, render, taskOf, varsFor } from '../helpers/roles.js';
import { before, parseUnit, seed003KubeletConfig, seed004KubeProxyConfig, seedFeatureGatesAt, seedKubeletFlagsAt, seedKubeProxyFlagsAt } from '../helpers/seeds.js';

const NODE = 'prod-worker-01';
const VERSIONS = ['1.17', '1.24', '1.27', '1.30', '1.37'] as const;
type Version = (typeof VERSIONS)[number];

// ------------------------------------------------------------------ what each version gets

/** The kubelet flags the prod inventory's defaults write (the guides' 003 + 002 flags that are still accepted). */
const ALWAYS = ['bootstrap-kubeconfig', 'cert-dir', 'container-runtime-endpoint', 'root-dir', 'kubeconfig', 'config', 'hostname-override', 'volume-plugin-dir', 'register-node', 'v'];
const KUBELET_FLAGS: Record<Version, string[]> = {
  '1.17': [...ALWAYS, 'network-plugin', 'cni-conf-dir', 'container-runtime', 'image-pull-progress-deadline', 'logtostderr'],
  '1.24': [...ALWAYS, 'container-runtime', 'logtostderr'],
  '1.27': ALWAYS,
  '1.30': ALWAYS,
  '1.37': ALWAYS,
};
/** The defaults each version leaves out, as the rendered kubelet.service names them. */
const KUBELET_LEFT_OUT: Record<Version, string[]> = {
  '1.17': [],
  '1.24': ['--network-plugin=cni', '--cni-conf-dir=/etc/cni/net.d', '--image-pull-progress-deadline=15m'],
  '1.27': ['--network-plugin=cni', '--cni-conf-dir=/etc/cni/net.d', '--image-pull-progress-deadline=15m', '--logtostderr=true', '--container-runtime=remote'],
  '1.30': ['--network-plugin=cni', '--cni-conf-dir=/etc/cni/net.d', '--image-pull-progress-deadline=15m', '--logtostderr=true', '--container-runtime=remote'],
  '1.37': ['--network-plugin=cni', '--cni-conf-dir=/etc/cni/net.d', '--image-pull-progress-deadline=15m', '--logtostderr=true', '--container-runtime=remote'],
};
const GATES: Record<Version, Record<string, boolean>> = {
  '1.17': { RotateKubeletClientCertificate: true, RotateKubeletServerCertificate: true },
  '1.24': { RotateKubeletServerCertificate: true },
  '1.27': { RotateKubeletServerCertificate: true },
  '1.30': { RotateKubeletServerCertificate: true },
  '1.37': { RotateKubeletServerCertificate: true },
};
const KUBE_PROXY_FLAGS: Record<Version, string[]> = {
  '1.17': ['config', 'logtostderr', 'v'],
  '1.24': ['config', 'logtostderr', 'v'],
  '1.27': ['config', 'v'],
  '1.30': ['config', 'v'],
  '1.37': ['config', 'v'],
};
/** Guide 000's optional flags, set explicitly: the first version without each (from the sources above). */
const SEED_000_FLAGS: Record<string, { vars: Vars; value: string; gone: string }> = {
  'cadvisor-port': { vars: { kubelet_cadvisor_port: 0 }, value: '0', gone: '1.12' },
  'allow-privileged': { vars: { kubelet_allow_privileged: 'true' }, value: 'true', gone: '1.15' },
  'alsologtostderr': { vars: { kubelet_alsologtostderr: 'true' }, value: 'true', gone: '1.26' },
  'log-dir': { vars: { kubelet_log_dir: '/var/log/kubernetes' }, value: '/var/log/kubernetes', gone: '1.26' },
  'pod-infra-container-image': { vars: { kubelet_pod_infra_container_image: 'registry.k8s.io/pause:3.10' }, value: 'registry.k8s.io/pause:3.10', gone: '1.35' },
};

const at = (version: string, extra: Vars = {}): Vars => ({ kubernetes_version: version, ...extra });
const unit = (role: string, file: string, version: string, extra: Vars = {}) => parseUnit(render('prod', role, file, NODE, at(version, extra)));
const yaml = (role: string, file: string, version: string, extra: Vars = {}) => parseYaml(render('prod', role, file, NODE, at(version, extra))) as Record<string, unknown>;
const comments = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('#')).slice(1);

// ------------------------------------------------------------------ tests

describe.each(VERSIONS)('kubernetes_version %s with the prod inventory (only the cluster variables set)', (version) => {
  it('kubelet.service: exactly the flags this kubelet accepts', () => {
    const flags = unit('kubelet', 'kubelet.service.hbs', version).flags;
    expect(Object.keys(flags).sort()).toEqual([...KUBELET_FLAGS[version]].sort());
    // The guides' values, for the e2e test too (test/helpers/seeds.ts), agree with the list above.
    expect(flags).toEqual(seedKubeletFlagsAt(version, NODE));
    expect(flags['container-runtime-endpoint']).toBe('unix:///var/run/containerd/containerd.sock');
  });

  it('kubelet.service: one comment line per default left out, naming it and the version that removed it', () => {
    const lines = comments(render('prod', 'kubelet', 'kubelet.service.hbs', NODE, at(version)));
    expect(lines).toHaveLength(KUBELET_LEFT_OUT[version].length);
    KUBELET_LEFT_OUT[version].forEach((flag, i) => expect(lines[i]).toMatch(new RegExp(`^# kubelet ${version.replace('.', '\\.')}: ${flag.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} left out, removed in 1\\.2[467]: `)));
  });

  it('kubelet-config.yaml: the guide 003 fields, and only the feature gates this kubelet knows', () => {
    const config = yaml('kubelet', 'kubelet-config.yaml.hbs', version);
    const { featureGates, ...fields } = config;
    expect(fields).toEqual(seed003KubeletConfig('172.27.138.251'));
    expect(featureGates).toEqual(GATES[version]);
    expect(featureGates).toEqual(seedFeatureGatesAt(version));
    const lines = comments(render('prod', 'kubelet', 'kubelet-config.yaml.hbs', NODE, at(version)));
    expect(lines).toEqual(version === '1.17' ? [] : [expect.stringMatching(new RegExp(`^# kubelet ${version.replace('.', '\\.')}: featureGates\\.RotateKubeletClientCertificate: true left out, removed in 1\\.21: `))]);
  });

  it('kube-proxy.service and kube-proxy-config.yaml: the flags this kube-proxy accepts, guide 004 config', () => {
    const flags = unit('kube-proxy', 'kube-proxy.service.hbs', version).flags;
    expect(Object.keys(flags).sort()).toEqual([...KUBE_PROXY_FLAGS[version]].sort());
    expect(flags).toEqual(seedKubeProxyFlagsAt(version));
    expect(yaml('kube-proxy', 'kube-proxy-config.yaml.hbs', version)).toEqual(seed004KubeProxyConfig('172.27.138.251', NODE));
    const lines = comments(render('prod', 'kube-proxy', 'kube-proxy.service.hbs', NODE, at(version)));
    expect(lines).toEqual(KUBE_PROXY_FLAGS[version].includes('logtostderr') ? [] : [expect.stringMatching(new RegExp(`^# kube-proxy ${version.replace('.', '\\.')}: --logtostderr=true left out, removed in 1\\.26: `))]);
  });

  it.each(Object.entries(SEED_000_FLAGS))("guide 000's --%s, set explicitly, is written exactly while the kubelet has it", (flag, { vars, value, gone }) => {
    const flags = unit('kubelet', 'kubelet.service.hbs', version, vars).flags;
    expect(flags[flag], `--${flag} at ${version} (gone in ${gone})`).toBe(before(version, gone) ? value : undefined);
  });
});

describe('kubernetes_version 1.17 renders the guides files byte for byte as before the version table', () => {
  // test/golden/roles-1.17/ was rendered by the roles as they were before kubernetes_version
  // existed (commit b070f72), for the same node.
  it.each([
    ['kubelet', 'kubelet.service'],
    ['kubelet', 'kubelet-config.yaml'],
    ['kube-proxy', 'kube-proxy.service'],
    ['kube-proxy', 'kube-proxy-config.yaml'],
  ])('%s %s', (role, file) => {
    expect(render('prod', role, `${file}.hbs`, NODE, at('1.17'))).toBe(readFileSync(join(ROOT, 'test/golden/roles-1.17', file), 'utf8'));
  });
});

describe('the spellings of a version', () => {
  it('"1.37", "v1.37" and "v1.37.2" render the same files', () => {
    for (const [role, file] of [['kubelet', 'kubelet.service.hbs'], ['kubelet', 'kubelet-config.yaml.hbs'], ['kube-proxy', 'kube-proxy.service.hbs']] as const) {
      const strip = (t: string) => t.replace(/^# (kubelet|kube-proxy) v?1\.37(\.2)?:/gm, '# $1 1.37:');
      const plain = render('prod', role, file, NODE, at('1.37'));
      expect(strip(render('prod', role, file, NODE, at('v1.37')))).toBe(plain);
      expect(strip(render('prod', role, file, NODE, at('v1.37.2')))).toBe(plain);
    }
  });

  it('the example inventories and the role default say "1.37", the version the tests run', () => {
    for (const inv of ['prod', 'staging']) expect(varsFor(inv, 'kubelet', [...project(inv).inventory.hosts.keys()][0]!).kubernetes_version).toBe('1.37');
    expect(parseYaml(readFileSync(join(ROOT, 'roles/k8s-common/defaults/main.yml'), 'utf8')).kubernetes_version).toBe('1.37');
  });
});

// ------------------------------------------------------------------ the checks before any file

/** Each line of the role's table through its assert task, as the task would see it. */
function checkRole(role: 'kubelet' | 'kube-proxy', version: string, extra: Vars = {}, which = /accepts every flag (and feature gate )?set$/): Array<{ name: string; ok: boolean; msg: string }> {
  const task = taskOf(role, 'assert', which);
  const args = task.assert as { that: string; fail_msg: string };
  const vars = varsFor('prod', role, NODE, at(version, extra));
  const table = vars[role === 'kubelet' ? 'kubelet_removed' : 'kube_proxy_removed'] as Array<{ name: string }>;
  expect(task.loop).toBe(role === 'kubelet' ? '{{ kubelet_removed }}' : '{{ kube_proxy_removed }}');
  return table.map((item) => {
    const itemVars = varsFor('prod', role, NODE, at(version, { ...extra, item }));
    return { name: item.name, ok: evalCondition(args.that, itemVars), msg: String(renderValue(args.fail_msg, itemVars)) };
  });
}
const failures = (rows: ReturnType<typeof checkRole>) => rows.filter((r) => !r.ok);

describe('a value the version no longer accepts is an error before any file is written', () => {
  it.each(VERSIONS)('%s: the defaults pass', (version) => {
    expect(failures(checkRole('kubelet', version))).toEqual([]);
    expect(failures(checkRole('kube-proxy', version))).toEqual([]);
  });

  it('--log-dir on a kubelet after 1.26: the error names the variable, the version that removed it and what to do', () => {
    expect(failures(checkRole('kubelet', '1.24', { kubelet_log_dir: '/var/log/kubernetes' }))).toEqual([]);
    const [fail, ...rest] = failures(checkRole('kubelet', '1.37', { kubelet_log_dir: '/var/log/kubernetes' }));
    expect(rest).toEqual([]);
    expect(fail!.name).toBe('--log-dir');
    expect(fail!.msg).toMatch(/^kubelet_log_dir: kubelet 1\.37 does not accept --log-dir=\/var\/log\/kubernetes: removed in 1\.26, .*journald.*\. Remove it from the inventory, or set kubernetes_version to the version the nodes run$/);
  });

  it('a value other than what the newer kubelet always does fails; the same value is left out', () => {
    expect(failures(checkRole('kubelet', '1.23', { kubelet_network_plugin: 'kubenet' }))).toEqual([]);
    const [fail] = failures(checkRole('kubelet', '1.24', { kubelet_network_plugin: 'kubenet' }));
    expect(fail!.msg).toContain('kubelet_network_plugin: kubelet 1.24 does not accept --network-plugin=kubenet: removed in 1.24');
    expect(fail!.msg).toContain('(or set cni, which that kubelet always does)');
    expect(failures(checkRole('kubelet', '1.24', { kubelet_network_plugin: 'cni' }))).toEqual([]);
    expect(failures(checkRole('kubelet', '1.37', { kubelet_container_runtime: 'docker' })).map((f) => f.name)).toEqual(['--container-runtime']);
    expect(failures(checkRole('kube-proxy', '1.37', { kube_proxy_logtostderr: 'false' })).map((f) => f.name)).toEqual(['--logtostderr']);
  });

  it('a removed feature gate set against its GA value fails; at its GA value it is left out', () => {
    const gates = { kubelet_feature_gates: { RotateKubeletClientCertificate: false, RotateKubeletServerCertificate: true } };
    expect(failures(checkRole('kubelet', '1.20', gates))).toEqual([]);
    const [fail] = failures(checkRole('kubelet', '1.21', gates));
    expect(fail!.msg).toContain('kubelet_feature_gates: kubelet 1.21 does not accept RotateKubeletClientCertificate=false: removed in 1.21');
    expect(failures(checkRole('kubelet', '1.37', { kubelet_feature_gates: { RotateKubeletServerCertificate: true } }))).toEqual([]);
  });

  it('kubelet_extra_flags / kube_proxy_extra_flags: a removed flag fails there too; other flags pass', () => {
    const extraCheck = /extra_flags$/;
    const kubelet = { kubelet_extra_flags: { 'node-labels': 'role=worker', 'network-plugin': 'cni' } };
    expect(failures(checkRole('kubelet', '1.23', kubelet, extraCheck))).toEqual([]);
    const [fail, ...rest] = failures(checkRole('kubelet', '1.24', kubelet, extraCheck));
    expect(rest).toEqual([]);
    expect(fail!.msg).toMatch(/^kubelet_extra_flags: kubelet 1\.24 does not accept --network-plugin: removed in 1\.24, dockershim removed.*Remove it from kubelet_extra_flags/);
    expect(failures(checkRole('kubelet', '1.37', { kubelet_extra_flags: { 'node-labels': 'role=worker' } }, extraCheck))).toEqual([]);
    expect(failures(checkRole('kubelet', '1.37', {}, extraCheck))).toEqual([]);
    expect(failures(checkRole('kube-proxy', '1.37', { kube_proxy_extra_flags: { logtostderr: 'true' } }, /extra_flags$/)).map((f) => f.name)).toEqual(['--logtostderr']);
    expect(failures(checkRole('kube-proxy', '1.25', { kube_proxy_extra_flags: { logtostderr: 'true' } }, /extra_flags$/))).toEqual([]);
  });

  it('guide 000 --pod-infra-container-image fails from 1.35 on: the sandbox image is the runtime setting', () => {
    const image = { kubelet_pod_infra_container_image: 'registry.k8s.io/pause:3.10' };
    expect(failures(checkRole('kubelet', '1.34', image))).toEqual([]);
    expect(failures(checkRole('kubelet', '1.35', image))[0]!.msg).toMatch(/removed in 1\.35, .*sandbox/);
  });
});

describe('kubernetes_version is checked first in every node play', () => {
  const check = taskOf('k8s-common', 'assert', /^kubernetes_version/);
  const that = (check.assert as { that: string }).that;

  it('runs in every play, first, whatever the tags', () => {
    expect(check.tags).toEqual(['always']);
    for (const play of project('prod').playbook.plays) {
      const first = play.sections[1]![0]!;
      expect(first.kind === 'block' && first.role?.name, play.name).toBe('k8s-common');
    }
  });

  it.each(['1.37', 'v1.37', 'v1.37.2', '1.17'])('%s passes', (version) => {
    expect(evalCondition(that, varsFor('prod', 'kubelet', NODE, at(version)))).toBe(true);
  });

  it.each([['1.x', '"1.x" is not a version'], ['latest', '"latest" is not a version'], [1.3, 'the number 1.3 is not a version']] as const)('%j is an error with a hint', (version, message) => {
    let err: unknown;
    try {
      evalCondition(that, varsFor('prod', 'kubelet', NODE, at(version as string)));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExprError);
    expect((err as ExprError).message).toContain(message);
    expect((err as ExprError).hint).toMatch(/1\.37|quote it/);
  });
});
