/**
 * The upstream kubelet v1.37.2 judges the files the roles render: with kubernetes_version "1.37"
 * and only the cluster's variables, it parses every flag, decodes kubelet-config.yaml, accepts its
 * feature gates and validates the configuration, and stops only where a kubelet outside a cluster
 * must: it has no bootstrap kubeconfig. The guides' 1.17 files it refuses (unknown flag, unknown
 * gate), which is why kubernetes_version exists.
 *
 * The binary is the one test/cluster/build.sh builds (`build.sh kubelet`) into the cache; when it is
 * not there this test is skipped and says so. Every path the kubelet is given lies in a temp dir.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { render } from '../helpers/roles.js';
import { parseUnit } from '../helpers/seeds.js';

const version = /^\s*k8s\.io\/kubernetes\s+(v\S+)/m.exec(readFileSync(join(ROOT, 'test/cluster/go.mod'), 'utf8'))?.[1] ?? 'v1.37.2';
const KUBELET = join(process.env.TSPLAY_CACHE ?? '/var/cache/tsplay', 'k8s', version, 'kubelet');
const present = existsSync(KUBELET);
if (!present) console.warn(`kubelet-accepts: SKIPPED, no ${KUBELET} (build it with test/cluster/build.sh kubelet)`);

const work = mkdtempSync(join(tmpdir(), 'tsplay-kubelet-accepts-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** This machine's cgroup version: a kubelet >= 1.35 refuses cgroup v1 unless failCgroupV1 is false. */
const cgroupV1 = !existsSync('/sys/fs/cgroup/cgroup.controllers');

function runKubelet(kubernetesVersion: string): string {
  const dir = join(work, kubernetesVersion);
  const conf = join(dir, 'etc');
  mkdirSync(conf, { recursive: true });
  const vars = {
    kubernetes_version: kubernetesVersion,
    k8s_dir: join(dir, 'k8s'),
    k8s_conf_dir: conf,
    k8s_cert_dir: join(conf, 'cert'),
    node_ip: '127.0.0.1',
    // What this machine forces, not a role default (roles/README.md, "Kubernetes versions").
    ...(cgroupV1 ? { kubelet_config_extra: { failCgroupV1: false } } : {}),
  };
  writeFileSync(join(conf, 'kubelet-config.yaml'), render('prod', 'kubelet', 'kubelet-config.yaml.hbs', 'prod-worker-01', vars));
  const unit = parseUnit(render('prod', 'kubelet', 'kubelet.service.hbs', 'prod-worker-01', vars));
  const args = Object.entries(unit.flags).map(([k, v]) => `--${k}=${v}`);
  const run = spawnSync(KUBELET, args, { encoding: 'utf8', timeout: 60_000 });
  return `${run.stdout}${run.stderr}`;
}

describe.skipIf(!present)(`upstream kubelet ${version} and the rendered files`, () => {
  it('kubernetes_version "1.37": flags, config and gates accepted; it stops at the missing bootstrap kubeconfig', () => {
    const out = runKubelet('1.37');
    expect(out).not.toMatch(/unknown flag|unrecognized feature gate|failed to validate kubelet configuration|failed to load Kubelet config/);
    expect(out).toMatch(/"Updated" featureGates=\{"RotateKubeletServerCertificate":true\}/);
    expect(out).toMatch(/unable to load bootstrap kubeconfig: stat \S+kubelet-bootstrap\.kubeconfig: no such file or directory/);
  });

  it('the guides files (kubernetes_version "1.17") are refused: --network-plugin is unknown', () => {
    expect(runKubelet('1.17')).toMatch(/unknown flag: --network-plugin/);
  });
});
