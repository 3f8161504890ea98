/**
 * The shards as a Kubernetes Indexed Job: pod I runs `tsplay PLAYBOOK -i INV --shard I/N` and
 * writes its report to /reports/shard-I.json on a PVC, where `tsplay report merge /reports`
 * reads them all. Credentials come only by reference (Secret and ConfigMap names): the manifest
 * holds no secret value.
 */
import { stringify } from 'yaml';

export interface JobSpec {
  name: string;
  namespace: string;
  image: string;
  playbook: string;
  inventory: string;
  shards: number;
  parallelism: number;
  /** Secret with key `ssh-privatekey` (type kubernetes.io/ssh-auth). */
  sshKeySecret: string;
  /** Secret with key `config`: the kubeconfig for the k8s modules. */
  kubeconfigSecret: string;
  /** ConfigMap with key `known_hosts`. */
  knownHostsConfigMap: string;
  reportsPvc: string;
  /** More Secrets mounted read-only, e.g. the CA and kube-proxy key files the roles read. */
  secretMounts: Array<{ secret: string; path: string }>;
  /** Run options passed on to every shard (-C, -l, -t, -e @file ...). */
  runArgs: string[];
  cpu: string;
  memory: string;
}

/** Defaults of `tsplay job`, documented in README "Sharding". */
export const JOB_DEFAULTS = {
  namespace: 'default',
  sshKeySecret: 'tsplay-ssh-key',
  kubeconfigSecret: 'tsplay-kubeconfig',
  knownHostsConfigMap: 'tsplay-known-hosts',
  reportsPvc: 'tsplay-reports',
  cpu: '1',
  memory: '512Mi',
};

/** The image's user (node:20-slim's `node`) and where it finds ~/.ssh and ~/.kube. */
const UID = 1000;
const HOME = '/home/node';
const INDEX = 'JOB_COMPLETION_INDEX';
const CONTAINER = 'tsplay';
/** tsplay's own exit codes: the shard ran to its end (or found bad input) and wrote what it could. */
const TSPLAY_EXIT_CODES = [1, 2, 3, 4, 5, 99];

/** A Job name: a DNS-1123 label short enough for the `<job>-<index>` pod host names. */
export function jobName(playbook: string): string {
  const base = playbook.replace(/^.*\//, '').replace(/\.ya?ml$/, '');
  const label = `tsplay-${base}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').slice(0, 50).replace(/-+$/, '');
  return label || 'tsplay';
}

export function jobManifest(s: JobSpec): Record<string, unknown> {
  const labels = { 'app.kubernetes.io/name': 'tsplay', 'app.kubernetes.io/instance': s.name };
  const readOnly = 0o440; // group-readable: the files belong to root with group fsGroup
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: s.name, namespace: s.namespace, labels },
    spec: {
      completionMode: 'Indexed',
      completions: s.shards,
      parallelism: s.parallelism,
      // A shard that exits with tsplay's own code ran (its report says what happened): rerunning
      // it changes nothing. A pod lost to the node (evicted, preempted) is retried, once.
      backoffLimitPerIndex: 1,
      podFailurePolicy: {
        rules: [
          { action: 'FailIndex', onExitCodes: { containerName: CONTAINER, operator: 'In', values: TSPLAY_EXIT_CODES } },
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
        ],
      },
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          securityContext: { runAsNonRoot: true, runAsUser: UID, runAsGroup: UID, fsGroup: UID, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: CONTAINER,
              image: s.image,
              // The image's ENTRYPOINT is tsplay. $(VAR) in args is expanded by Kubernetes from the
              // container's env, where JOB_COMPLETION_INDEX is declared explicitly below.
              args: [
                s.playbook,
                '-i',
                s.inventory,
                '--shard',
                `$(${INDEX})/${s.shards}`,
                '--report',
                `/reports/shard-$(${INDEX}).json`,
                ...s.runArgs,
              ],
              env: [
                { name: INDEX, valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
                { name: 'HOME', value: HOME },
                { name: 'KUBECONFIG', value: `${HOME}/.kube/config` },
                { name: 'NO_COLOR', value: '1' },
              ],
              resources: { requests: { cpu: s.cpu, memory: s.memory }, limits: { memory: s.memory } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'ssh', mountPath: `${HOME}/.ssh`, readOnly: true },
                { name: 'kubeconfig', mountPath: `${HOME}/.kube`, readOnly: true },
                { name: 'reports', mountPath: '/reports' },
                { name: 'tmp', mountPath: '/tmp' },
                ...s.secretMounts.map((m, i) => ({ name: `extra-${i}`, mountPath: m.path, readOnly: true })),
              ],
            },
          ],
          volumes: [
            {
              name: 'ssh',
              projected: {
                defaultMode: readOnly,
                sources: [
                  // Any key type: tsplay reads the type from the file, not its name.
                  { secret: { name: s.sshKeySecret, items: [{ key: 'ssh-privatekey', path: 'id_ed25519' }] } },
                  { configMap: { name: s.knownHostsConfigMap, items: [{ key: 'known_hosts', path: 'known_hosts' }] } },
                ],
              },
            },
            { name: 'kubeconfig', secret: { secretName: s.kubeconfigSecret, defaultMode: readOnly, items: [{ key: 'config', path: 'config' }] } },
            { name: 'reports', persistentVolumeClaim: { claimName: s.reportsPvc } },
            { name: 'tmp', emptyDir: {} },
            ...s.secretMounts.map((m, i) => ({ name: `extra-${i}`, secret: { secretName: m.secret, defaultMode: readOnly } })),
          ],
        },
      },
    },
  };
}

export function jobYaml(s: JobSpec, comment: string[] = []): string {
  return [...comment.map((c) => `# ${c}`), stringify(jobManifest(s), { lineWidth: 0, aliasDuplicateObjects: false })].join('\n');
}
