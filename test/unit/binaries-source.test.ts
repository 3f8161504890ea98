/**
 * Where a node's kubelet and kube-proxy binaries come from (k8s_binaries_source, in
 * roles/k8s-common/defaults/main.yml): copied from the controller, or downloaded by each node
 * with get_url against a checksum. The role tasks rendered with the engine's variable composition
 * (test/helpers/roles.ts), their `when` evaluated as the run does.
 */
import { describe, expect, it } from 'vitest';
import { evalCondition } from '../../engine/vars/expr.js';
import type { Vars } from '../../engine/vars/template.js';
import { taskArgs, taskOf, varsFor } from '../helpers/roles.js';

const NODE = 'prod-worker-01';
const BINARIES = [
  { role: 'kubelet', name: 'kubelet', src: 'kubelet_binary_src', dest: '/opt/k8s/bin/kubelet', notify: 'restart kubelet' },
  { role: 'kube-proxy', name: 'kube-proxy', src: 'kube_proxy_binary_src', dest: '/opt/k8s/bin/kube-proxy', notify: 'restart kube-proxy' },
] as const;

/** Does the task run for this node with these variables? */
const runs = (role: string, module: string, extra: Vars): boolean => evalCondition(taskOf(role, module, /binary/).when as string, varsFor('prod', role, NODE, extra));

describe.each(BINARIES)('$name binary', ({ role, name, src, dest, notify }) => {
  it('default: copied from the controller when its src is set (as the prod inventory does), never downloaded', () => {
    expect(varsFor('prod', role, NODE).k8s_binaries_source).toBe('controller');
    expect(runs(role, 'copy', {})).toBe(true);
    expect(runs(role, 'copy', { [src]: `/srv/bin/${name}` })).toBe(true);
    expect(runs(role, 'copy', { [src]: '' })).toBe(false);
    expect(runs(role, 'get_url', { [src]: `/srv/bin/${name}` })).toBe(false);
    expect(taskArgs('prod', role, 'copy', NODE, /binary/, { [src]: `/srv/bin/${name}` })).toEqual({ src: `/srv/bin/${name}`, dest, mode: '0755' });
  });

  it("url: downloaded by the node from dl.k8s.io, checked against the .sha256 published beside it; the copy is skipped even with a src", () => {
    const url = { k8s_binaries_source: 'url', [src]: `/srv/bin/${name}` };
    expect(runs(role, 'get_url', url)).toBe(true);
    expect(runs(role, 'copy', url)).toBe(false);
    const base = `https://dl.k8s.io/release/v1.37.2/bin/linux/amd64/${name}`;
    expect(taskArgs('prod', role, 'get_url', NODE, /binary/, url)).toEqual({ url: base, checksum: `sha256:${base}.sha256`, dest, mode: '0755' });
  });

  it('a mirror, another release or architecture, a pinned digest', () => {
    const vars = { k8s_binaries_source: 'url', k8s_binaries_release: 'v1.36.4', k8s_binaries_arch: 'arm64' };
    expect(taskArgs('prod', role, 'get_url', NODE, /binary/, vars).url).toBe(`https://dl.k8s.io/release/v1.36.4/bin/linux/arm64/${name}`);
    const mirror = { k8s_binaries_source: 'url', k8s_binaries_url: 'http://mirror.internal/k8s' };
    expect(taskArgs('prod', role, 'get_url', NODE, /binary/, mirror)).toMatchObject({ url: `http://mirror.internal/k8s/${name}`, checksum: `sha256:http://mirror.internal/k8s/${name}.sha256` });
    const pinned = { k8s_binaries_source: 'url', [`${src.replace(/_src$/, '')}_checksum`]: `sha256:${'a'.repeat(64)}` };
    expect(taskArgs('prod', role, 'get_url', NODE, /binary/, pinned).checksum).toBe(`sha256:${'a'.repeat(64)}`);
  });

  it(`both ways notify "${notify}"`, () => {
    expect(taskOf(role, 'copy', /binary/).notify).toBe(notify);
    expect(taskOf(role, 'get_url', /binary/).notify).toBe(notify);
  });
});

describe('k8s_binaries_source is checked first in every node play', () => {
  const check = taskOf('k8s-common', 'assert', /k8s_binaries_source/);
  it.each([['controller', true], ['url', true], ['scp', false], ['', false]] as const)('%s: %s', (source, ok) => {
    expect(check.tags).toEqual(['always']);
    expect(evalCondition((check.assert as { that: string }).that, varsFor('prod', 'kubelet', NODE, { k8s_binaries_source: source }))).toBe(ok);
  });
});
