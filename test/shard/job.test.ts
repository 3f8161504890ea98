/**
 * `tsplay job`: the Indexed Job it prints runs `--shard $(JOB_COMPLETION_INDEX)/N` with reports on
 * the PVC, names credentials only by reference (no secret value in the manifest), and passes the
 * real apiserver's server-side dry run (dryRun=All).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startCluster, type TestCluster } from '../cluster/cluster.js';
import { ROOT, tsplay } from '../helpers/cli.js';
import { apiFrom, CLUSTER_TIMEOUT_MS } from '../integration/k8s/fixture.js';

const isRoot = process.getuid?.() === 0;
const IMAGE = 'registry.example/tsplay:0.1.0';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

let dir: string;
const secretValues = {
  become: `become-${randomBytes(8).toString('hex')}`,
  declared: `declared-${randomBytes(8).toString('hex')}`,
  key: `-----BEGIN OPENSSH PRIVATE KEY-----\n${randomBytes(48).toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`,
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsplay-job-'));
  mkdirSync(join(dir, 'inventories/lab/group_vars'), { recursive: true });
  writeFileSync(join(dir, 'id_test'), secretValues.key);
  writeFileSync(
    join(dir, 'inventories/lab/hosts.yml'),
    `all:\n  vars:\n    become_password: ${secretValues.become}\n    ansible_ssh_private_key_file: ${join(dir, 'id_test')}\n  children:\n    workers:\n      hosts:\n${Array.from({ length: 10 }, (_, i) => `        node-${i}: { node_ip: 10.0.0.${i + 1} }`).join('\n')}\n`,
  );
  writeFileSync(join(dir, 'inventories/lab/group_vars/all.yml'), `api_credential:\n  secret: true\n  value: ${secretValues.declared}\n`);
  mkdirSync(join(dir, 'playbooks'));
  writeFileSync(join(dir, 'playbooks/site.yml'), `- hosts: workers\n  tasks:\n    - copy: { content: "x\\n", dest: /tmp/x }\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function job(...args: string[]): Promise<{ code: number | null; text: string; manifest: Obj; stderr: string }> {
  const r = await tsplay(['job', 'playbooks/site.yml', '-i', 'lab', '--image', IMAGE, ...args], { cwd: dir });
  let manifest: Obj;
  try {
    manifest = parse(r.stdout);
  } catch {
    manifest = undefined;
  }
  return { code: r.code, text: r.stdout, manifest, stderr: r.stderr };
}

describe('tsplay job', () => {
  it('prints an Indexed Job: N completions, P at once, one shard per index, reports on the PVC', async () => {
    const { code, manifest: m, text, stderr } = await job('--shards', '4', '--parallelism', '2', '--check', '-l', 'workers', '-e', 'kubelet_max_pods=200', '-e', '@/etc/tsplay/lab/vars.yml');
    expect(code, stderr).toBe(0);
    expect(text).toMatch(/^# tsplay job: playbooks\/site.yml -i lab, 10 host\(s\) in 4 shard\(s\)/);
    expect(m).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'tsplay-site', namespace: 'default' } });
    expect(m.spec).toMatchObject({ completionMode: 'Indexed', completions: 4, parallelism: 2 });
    const pod = m.spec.template.spec;
    expect(pod.restartPolicy).toBe('Never');
    const c = pod.containers[0];
    expect(c.image).toBe(IMAGE);
    expect(c.args).toEqual([
      'playbooks/site.yml', '-i', 'lab',
      '--shard', '$(JOB_COMPLETION_INDEX)/4',
      '--report', '/reports/shard-$(JOB_COMPLETION_INDEX).json',
      '--check', '--limit', 'workers', '-e', 'kubelet_max_pods=200', '-e', '@/etc/tsplay/lab/vars.yml',
    ]);
    // $(VAR) in args expands only from variables the container declares.
    expect(c.env).toContainEqual({ name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } });
    expect(c.env).toContainEqual({ name: 'KUBECONFIG', value: '/home/node/.kube/config' });
    const mount = (name: string): Obj => c.volumeMounts.find((v: Obj) => v.name === name);
    const volume = (name: string): Obj => pod.volumes.find((v: Obj) => v.name === name);
    expect(mount('reports').mountPath).toBe('/reports');
    expect(volume('reports').persistentVolumeClaim.claimName).toBe('tsplay-reports');
    expect(mount('ssh')).toMatchObject({ mountPath: '/home/node/.ssh', readOnly: true });
    expect(volume('ssh').projected.sources).toEqual([
      { secret: { name: 'tsplay-ssh-key', items: [{ key: 'ssh-privatekey', path: 'id_ed25519' }] } },
      { configMap: { name: 'tsplay-known-hosts', items: [{ key: 'known_hosts', path: 'known_hosts' }] } },
    ]);
    expect(volume('kubeconfig').secret).toMatchObject({ secretName: 'tsplay-kubeconfig', items: [{ key: 'config', path: 'config' }] });
  });

  it('takes the names of its Secrets, ConfigMap, PVC and namespace as options', async () => {
    const { manifest: m } = await job('--shards', '3', '--ssh-key-secret', 'lab-ssh', '--kubeconfig-secret', 'lab-admin', '--known-hosts-configmap', 'lab-hosts', '--reports-pvc', 'lab-reports', '--namespace', 'ops', '--name', 'add-workers', '--mount-secret', 'lab-pki:/etc/tsplay/lab');
    expect(m.metadata).toMatchObject({ name: 'add-workers', namespace: 'ops' });
    expect(m.spec.parallelism).toBe(3);
    const text = JSON.stringify(m);
    for (const name of ['lab-ssh', 'lab-admin', 'lab-hosts', 'lab-reports', 'lab-pki']) expect(text).toContain(`"${name}"`);
    expect(m.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: 'extra-0', mountPath: '/etc/tsplay/lab', readOnly: true });
  });

  it('holds no secret value, and refuses a secret given with -e', async () => {
    const { text, code } = await job('--shards', '2');
    expect(code).toBe(0);
    for (const v of [secretValues.become, secretValues.declared, secretValues.key, secretValues.key.split('\n')[1]!]) expect(text).not.toContain(v);
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const refused = await job('--shards', '2', '-e', `become_password=${password}`);
    expect(refused.code).toBe(5);
    expect(refused.text).toBe('');
    expect(refused.stderr).toContain('Kubernetes Secret');
    expect(refused.stderr).not.toContain(password);
    const json = await job('--shards', '2', '-e', JSON.stringify({ registry_token: password }));
    expect(json.code).toBe(5);
  });

  it('checks the project and its options before printing anything', async () => {
    const cases: Array<[string[], number, string]> = [
      [['--shards', '0'], 5, '--shards must be a positive integer'],
      [['--shards', '2', '--name', 'Not_A_Name'], 5, 'is not a Kubernetes name'],
      [['--shards', '2', '--mount-secret', 'pki:relative/path'], 5, 'SECRET:/absolute/path'],
      [['--shards', '2', '-l', 'nothing-matches'], 5, 'names no group or host'],
    ];
    for (const [args, exit, message] of cases) {
      const r = await job(...args);
      expect(r.code, args.join(' ')).toBe(exit);
      expect(r.stderr).toContain(message);
      expect(r.text).toBe('');
    }
    const missing = await tsplay(['job', 'playbooks/none.yml', '-i', 'lab', '--image', IMAGE, '--shards', '2'], { cwd: dir });
    expect(missing.code).toBe(4);
    expect(missing.stdout).toBe('');
  });

  it('prints a Job for the worker playbook and the prod inventory of this repository', async () => {
    const r = await tsplay(['job', 'playbooks/worker.yml', '-i', 'prod', '--shards', '2', '--image', IMAGE], { cwd: ROOT });
    expect(r.code, r.stderr).toBe(0);
    expect(parse(r.stdout).metadata.name).toBe('tsplay-worker');
  });
});

describe.skipIf(!isRoot)('tsplay job against a real apiserver (needs root for the control plane)', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster();
  }, CLUSTER_TIMEOUT_MS);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('passes server-side validation (dryRun=All) and keeps its fields', async () => {
    const api = apiFrom(cluster.adminKubeconfig);
    const ns = await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tsplay-ops' } });
    expect(ns.status, JSON.stringify(ns.body)).toBe(201);
    const { manifest } = await job('--shards', '5', '--parallelism', '2', '--namespace', 'tsplay-ops', '--mount-secret', 'lab-pki:/etc/tsplay/lab', '--check');
    const created = await api('POST', '/apis/batch/v1/namespaces/tsplay-ops/jobs?dryRun=All', manifest);
    expect(created.status, JSON.stringify(created.body, null, 2)).toBe(201);
    expect(created.body.spec).toMatchObject({ completionMode: 'Indexed', completions: 5, parallelism: 2, backoffLimitPerIndex: 1 });
    expect(created.body.spec.template.spec.containers[0].args).toContain('$(JOB_COMPLETION_INDEX)/5');
    // A dry run creates nothing.
    const list = await api('GET', '/apis/batch/v1/namespaces/tsplay-ops/jobs');
    expect(list.body.items).toEqual([]);
    // And it really validates: the same Job with a restart policy Jobs do not allow is refused.
    const broken = structuredClone(manifest);
    broken.spec.template.spec.restartPolicy = 'Always';
    const refused = await api('POST', '/apis/batch/v1/namespaces/tsplay-ops/jobs?dryRun=All', broken);
    expect(refused.status).toBe(422);
  });
});
