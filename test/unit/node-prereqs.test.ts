/**
 * The node-prereqs role (guide 000's "安装依赖包"): wired into playbooks/worker.yml before the
 * kubelet, one package task with the role's list, and that list is what the test hosts' local apt
 * repository holds (test/hosts/harness.ts), so the e2e test installs every package for real.
 */
import { describe, expect, it } from 'vitest';
import { LOCAL_REPO_PACKAGES } from '../hosts/harness.js';
import { tsplay } from '../helpers/cli.js';
import { PLAYBOOK, taskArgs, tasks, varsFor } from '../helpers/roles.js';

const NODE = 'prod-worker-01';

describe('node-prereqs', () => {
  it.each(['prod', 'staging'])('%s: runs in the kubelet play, after the version check and before the bootstrap token and the kubelet', async (inv) => {
    const list = await tsplay([PLAYBOOK, '-i', inv, '--list-tasks']);
    expect(list.code, list.stdout + list.stderr).toBe(0);
    const order = ['play #2', 'k8s-common : kubernetes_version', "node-prereqs : the worker's dependency packages", 'bootstrap-token : bootstrap token', 'kubelet : kubelet enabled and started'];
    const play2 = list.stdout.slice(list.stdout.indexOf('play #2'));
    const at = order.map((o) => play2.indexOf(o));
    expect(at.every((i) => i >= 0), list.stdout).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('one package task: the whole list in one transaction, present, no cache update by default', () => {
    expect(tasks('node-prereqs')).toHaveLength(1);
    expect(taskArgs('prod', 'node-prereqs', 'package', NODE)).toEqual({ name: ['conntrack', 'ipset', 'ipvsadm', 'socat', 'jq', 'curl', 'iptables'], state: 'present', update_cache: false });
  });

  it("the role's default list is what the test hosts' local apt repository holds", () => {
    expect(varsFor('prod', 'node-prereqs', NODE).node_prereq_packages).toEqual(LOCAL_REPO_PACKAGES);
  });
});
