/** `tsplay job PLAYBOOK -i INV --shards N --image IMAGE ...`: print the sharded run as an Indexed Job. */
import { Command, CommanderError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Diagnostics, DiagnosticsError, EXIT, formatDiagnostic } from '../errors.js';
import { inventoryVarsOf } from '../load/inventory.js';
import { loadProject, parseExtraVars } from '../load/project.js';
import { openVaultKeyring } from '../load/vault-passwords.js';
import { learnStaticSecrets } from '../run/index.js';
import { namesSecret, secrets } from '../secrets.js';
import { JOB_DEFAULTS, jobName, jobYaml, type JobSpec } from '../shard/job.js';
import { shardOf } from '../run/rendezvous.js';
import { collectRaw, collectTags, countVerbose, positiveInt } from './common.js';
import { effectiveSettings } from './settings.js';

interface JobOptions {
  inventory: string;
  shards: number;
  parallelism?: number;
  image: string;
  name?: string;
  namespace: string;
  sshKeySecret: string;
  kubeconfigSecret: string;
  knownHostsConfigmap: string;
  reportsPvc: string;
  mountSecret: string[];
  cpu: string;
  memory: string;
  check?: boolean;
  diff?: boolean;
  limit?: string;
  tags: string[];
  skipTags: string[];
  extraVars: string[];
  forks?: number;
  verbose: number;
  vaultId: string[];
  vaultPasswordFile: string[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function dnsName(flag: string): (value: string) => string {
  return (value) => {
    if (value.length > 63 || !DNS_LABEL.test(value)) throw new CommanderError(EXIT.options, 'tsplay.option', `${flag} '${value}' is not a Kubernetes name (lower case letters, digits and '-', at most 63)`);
    return value;
  };
}

function mountSecret(value: string, prev: string[]): string[] {
  const m = /^([a-z0-9][-a-z0-9.]*):(\/.*)$/.exec(value);
  if (!m || !DNS_LABEL.test(m[1]!.replace(/\./g, '-'))) throw new CommanderError(EXIT.options, 'tsplay.option', `--mount-secret wants SECRET:/absolute/path, got '${value}'`);
  return [...prev, value];
}

export function defineJob(cmd: Command, done: (code: number) => void): Command {
  const d = JOB_DEFAULTS;
  return cmd
    .description('Print a Kubernetes Job (batch/v1, Indexed) whose N pods each run one shard of the playbook and write shard-I.json to a PVC.')
    .argument('<playbook>', 'playbook path inside the image (the image copies playbooks/, roles/, inventories/)')
    .requiredOption('-i, --inventory <inventory>', 'inventory inside the image; a bare name means inventories/NAME/')
    .addOption(new Option('--shards <n>', 'number of shards (the Job\'s completions)').argParser(positiveInt('--shards')).makeOptionMandatory())
    .addOption(new Option('--parallelism <p>', 'shards running at once (default: all of them)').argParser(positiveInt('--parallelism')))
    .requiredOption('--image <image>', 'the tsplay image (see Dockerfile)')
    .addOption(new Option('--name <name>', 'Job name (default: tsplay-PLAYBOOK)').argParser(dnsName('--name')))
    .addOption(new Option('--namespace <ns>', 'namespace of the Job, its Secrets, ConfigMap and PVC').default(d.namespace).argParser(dnsName('--namespace')))
    .addOption(new Option('--ssh-key-secret <name>', 'Secret with key ssh-privatekey (type kubernetes.io/ssh-auth), mounted as ~/.ssh/id_ed25519').default(d.sshKeySecret).argParser(dnsName('--ssh-key-secret')))
    .addOption(new Option('--kubeconfig-secret <name>', 'Secret with key config, mounted as ~/.kube/config (KUBECONFIG)').default(d.kubeconfigSecret).argParser(dnsName('--kubeconfig-secret')))
    .addOption(new Option('--known-hosts-configmap <name>', 'ConfigMap with key known_hosts, mounted as ~/.ssh/known_hosts').default(d.knownHostsConfigMap).argParser(dnsName('--known-hosts-configmap')))
    .addOption(new Option('--reports-pvc <name>', 'PersistentVolumeClaim (ReadWriteMany when pods may land on several nodes) mounted at /reports').default(d.reportsPvc).argParser(dnsName('--reports-pvc')))
    .option('--mount-secret <secret:path>', 'also mount a Secret read-only at an absolute path, e.g. the CA and kube-proxy key files the roles read (repeatable)', mountSecret, [])
    .option('--cpu <q>', 'CPU request of each shard pod', d.cpu)
    .option('--memory <q>', 'memory request and limit of each shard pod', d.memory)
    .option('-C, --check', 'every shard runs with --check (a plan)')
    .option('-D, --diff', 'every shard runs with --diff')
    .option('-l, --limit <pattern>', 'passed to every shard (the split is of the hosts the limit selects)')
    .option('-t, --tags <tags>', 'passed to every shard', collectTags, [])
    .option('--skip-tags <tags>', 'passed to every shard', collectTags, [])
    .option('-e, --extra-vars <vars>', 'passed to every shard; no secret values (put them in a Secret mounted as a file: -e @/path)', collectRaw, [])
    .addOption(new Option('-f, --forks <n>', 'passed to every shard').argParser(positiveInt('--forks')))
    .option('-v, --verbose', 'passed to every shard', countVerbose, 0)
    .option('--vault-id <[label@]file>', 'passed to every shard: a vault password file in the pod (a mounted Secret); read here too when it exists here (repeatable)', collectRaw, [])
    .option('--vault-password-file <file>', 'passed to every shard, as --vault-id; the pods see neither this environment (ANSIBLE_VAULT_*) nor a terminal to prompt on', collectRaw, [])
    .addHelpText('after', `
Example:
  tsplay job playbooks/worker.yml -i prod --shards 4 --image registry.example/tsplay:1.0 > job.yaml
  kubectl apply -f job.yaml            # then collect /reports and run: tsplay report merge ./reports

The playbook and inventory are loaded here first, so a broken project fails now (exit 4/5), not in
N pods. The manifest names Secrets and a ConfigMap; it never holds a secret value.`)
    .action(async (playbook: string, opts: JobOptions) => done(await job(playbook, opts)));
}

async function job(playbook: string, opts: JobOptions): Promise<number> {
  const inline = opts.extraVars.filter((e) => !e.startsWith('@'));
  let hosts: string[];
  try {
    // -e @FILE names a file in the pod (often a mounted Secret): checked here only when it is here too.
    const local = opts.extraVars.filter((e) => !e.startsWith('@') || existsSync(resolve(e.slice(1))));
    // Strict: a Job printed for a mistyped -l would run every shard for nothing.
    // Vault password files, like -e @FILE, are in the pod; the ones also here open the project here.
    const here = (file: string): boolean => existsSync(resolve(file));
    const sourceOf = (slug: string): string => slug.slice(slug.indexOf('@') + 1);
    if (opts.vaultId.some((v) => /^prompt(_ask_vault_pass)?$/.test(sourceOf(v)))) {
      process.stderr.write("error: --vault-id ...@prompt: a shard's pod has no terminal to ask on\n  hint: put the password in a Kubernetes Secret, --mount-secret it and pass --vault-id LABEL@/path/in/pod\n");
      return EXIT.options;
    }
    const vaultFlags = { vaultId: opts.vaultId.filter((v) => here(sourceOf(v))), vaultPasswordFile: opts.vaultPasswordFile.filter(here) };
    const vault = await openVaultKeyring(vaultFlags, {}, { cwd: process.cwd(), prompt: () => Promise.reject(new Error('tsplay job never prompts')), warn: (w) => process.stderr.write(`[WARNING]: ${secrets.redact(w)}\n`) });
    // The pods run the same image from the same directory: roles_path (TSPLAY_ROLES_PATH, ansible.cfg) as a run here finds it.
    const rolesPath = effectiveSettings({}).values.DEFAULT_ROLES_PATH.value as string[];
    const project = loadProject({ playbook, inventory: opts.inventory, extraVars: local, limit: opts.limit, strict: true, cwd: process.cwd(), vault, rolesPath });
    hosts = [...project.selected];
    // A value given inline is written into the manifest, for anyone who can read the Job. Refused:
    // a secret by name or declaration (any shape, any length), or a value the project holds secret.
    learnStaticSecrets(project.playbook, new Map([...project.inventory.hosts.keys()].map((h) => [h, inventoryVarsOf(project.inventory, h)])), {});
    const inlineVars = parseExtraVars(inline, process.cwd(), new Diagnostics());
    const refused = Object.entries(inlineVars).filter(([name, value]) => namesSecret(name, value) || secrets.holds(value)).map(([name]) => name);
    if (refused.length > 0) {
      process.stderr.write(
        `error: -e ${refused.join(', ')}: a secret given inline would be written into the Job manifest, for anyone who can read the Job to see\n` +
          '  hint: put it in a Kubernetes Secret and pass it as a file: kubectl create secret generic tsplay-vars --from-file=vars.yml, then --mount-secret tsplay-vars:/etc/tsplay/vars -e @/etc/tsplay/vars/vars.yml\n',
      );
      return EXIT.options;
    }
  } catch (err) {
    if (!(err instanceof DiagnosticsError)) throw err;
    for (const d of err.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
    process.stderr.write(`${err.diagnostics.length} problem${err.diagnostics.length === 1 ? '' : 's'} found; no Job printed.\n`);
    return err.kind === 'options' ? EXIT.options : EXIT.parse;
  }
  if (hosts.length === 0) {
    process.stderr.write(`error: --limit '${opts.limit}' matches no host in the inventory\n`);
    return EXIT.options;
  }
  const runArgs = [
    ...(opts.check ? ['--check'] : []),
    ...(opts.diff ? ['--diff'] : []),
    ...(opts.limit ? ['--limit', opts.limit] : []),
    ...(opts.tags.length ? ['--tags', opts.tags.join(',')] : []),
    ...(opts.skipTags.length ? ['--skip-tags', opts.skipTags.join(',')] : []),
    ...opts.extraVars.flatMap((e) => ['-e', e]),
    ...(opts.forks ? ['--forks', String(opts.forks)] : []),
    ...(opts.verbose ? [`-${'v'.repeat(Math.min(opts.verbose, 4))}`] : []),
    ...opts.vaultId.flatMap((v) => ['--vault-id', v]),
    ...opts.vaultPasswordFile.flatMap((f) => ['--vault-password-file', f]),
  ];
  const spec: JobSpec = {
    name: opts.name ?? jobName(playbook),
    namespace: opts.namespace,
    image: opts.image,
    playbook,
    inventory: opts.inventory,
    shards: opts.shards,
    parallelism: Math.min(opts.parallelism ?? opts.shards, opts.shards),
    sshKeySecret: opts.sshKeySecret,
    kubeconfigSecret: opts.kubeconfigSecret,
    knownHostsConfigMap: opts.knownHostsConfigmap,
    reportsPvc: opts.reportsPvc,
    secretMounts: opts.mountSecret.map((m) => ({ secret: m.slice(0, m.indexOf(':')), path: m.slice(m.indexOf(':') + 1) })),
    runArgs,
    cpu: opts.cpu,
    memory: opts.memory,
  };
  const sizes = Array<number>(opts.shards).fill(0);
  for (const h of hosts) sizes[shardOf(h, opts.shards)]!++;
  const comment = [
    `tsplay job: ${playbook} -i ${opts.inventory}, ${hosts.length} host(s) in ${opts.shards} shard(s)`,
    opts.shards <= 32 ? `hosts per shard: ${sizes.join(' ')}` : `hosts per shard: ${Math.min(...sizes)} to ${Math.max(...sizes)}`,
    `reports: /reports/shard-I.json on PVC ${opts.reportsPvc}; merge them with: tsplay report merge DIR`,
  ];
  process.stdout.write(jobYaml(spec, comment));
  return EXIT.ok;
}
