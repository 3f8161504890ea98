/**
 * ssh command-line arguments as Ansible users write them (`ansible_ssh_common_args`,
 * `ansible_ssh_extra_args`, `ansible_ssh_args`, `ssh_args` in ansible.cfg). tsplay dials with
 * ssh2, not the ssh binary, so each option is honoured (ProxyJump, -J: ssh2 forwarded channels),
 * ignored because it means nothing here or only makes ssh less strict than tsplay already is
 * (ControlMaster, -C, StrictHostKeyChecking=no), or refused: an option that would change where,
 * how or as whom ssh connects (ProxyCommand, Port, User, IdentityFile, -F, ...) or one tsplay does
 * not know is never dropped silently, so a host is never dialled directly by mistake.
 */
import { basename } from 'node:path';
import { shellSplit, ShellSplitError } from './shell.js';

export interface SshArgs {
  /** The first ProxyJump / -J, as ssh takes the first value of an option. `none` is no jump. */
  jump?: string;
  /** Options tsplay has no use for, as written. */
  ignored: string[];
  refused: Array<{ option: string; hint: string }>;
}

/** -o options (lower-cased) that mean nothing over one ssh2 connection, or relax checks tsplay keeps. */
const IGNORED_OPTIONS = new Set(
  [
    'ControlMaster', 'ControlPersist', 'ControlPath', 'Compression', 'ServerAliveInterval', 'ServerAliveCountMax',
    'TCPKeepAlive', 'ConnectTimeout', 'ConnectionAttempts', 'StrictHostKeyChecking', 'UserKnownHostsFile',
    'GlobalKnownHostsFile', 'HashKnownHosts', 'CheckHostIP', 'VerifyHostKeyDNS', 'UpdateHostKeys', 'LogLevel',
    'BatchMode', 'PasswordAuthentication', 'PubkeyAuthentication', 'KbdInteractiveAuthentication',
    'ChallengeResponseAuthentication', 'GSSAPIAuthentication', 'GSSAPIDelegateCredentials', 'PreferredAuthentications',
    'NumberOfPasswordPrompts', 'IdentitiesOnly', 'IdentityAgent', 'AddKeysToAgent', 'ForwardAgent', 'ForwardX11',
    'ForwardX11Trusted', 'RequestTTY', 'SendEnv', 'SetEnv', 'EscapeChar', 'VisualHostKey', 'ExitOnForwardFailure',
    'Ciphers', 'MACs', 'KexAlgorithms', 'HostKeyAlgorithms', 'PubkeyAcceptedKeyTypes', 'PubkeyAcceptedAlgorithms',
    'IPQoS', 'AddressFamily', 'BindAddress', 'BindInterface', 'UseRoaming', 'ClearAllForwardings',
  ].map((o) => o.toLowerCase()),
);

/** Where to say instead what a refused option asks for. */
const REFUSED_OPTIONS: Record<string, string> = {
  proxycommand: 'tsplay connects through jump hosts itself: write -o ProxyJump=[user@]host[:port] (or set jump_host)',
  hostname: 'set ansible_host instead',
  port: 'set ansible_port (or remote_port in ansible.cfg) instead',
  user: 'set ansible_user (or -u, remote_user in ansible.cfg) instead',
  identityfile: 'set ansible_ssh_private_key_file (or --private-key, private_key_file in ansible.cfg) instead',
  certificatefile: 'tsplay does not log in with SSH certificates: use a key (ansible_ssh_private_key_file)',
  localforward: 'tsplay opens no port forwards: open the tunnel before the run',
  remoteforward: 'tsplay opens no port forwards: open the tunnel before the run',
  dynamicforward: 'tsplay opens no port forwards: open the tunnel before the run',
  localcommand: 'tsplay runs no commands from ssh options',
  permitlocalcommand: 'tsplay runs no commands from ssh options',
  remotecommand: 'tsplay runs no commands from ssh options',
  include: "tsplay reads ~/.ssh/config itself: put these settings there, or in inventory variables",
};

/** Single-letter flags without an argument that change nothing for tsplay. */
const IGNORED_FLAGS = new Set(['4', '6', 'A', 'a', 'C', 'g', 'K', 'k', 'n', 'q', 'T', 't', 'v', 'X', 'x', 'Y', 'y']);
/** Flags taking an argument (ssh(1)), and what to do instead of each refused one. */
const FLAGS_WITH_ARG: Record<string, string | undefined> = {
  B: undefined, b: undefined, c: undefined, E: undefined, e: undefined, m: undefined, O: undefined, S: undefined,
  J: undefined,
  o: undefined,
  p: REFUSED_OPTIONS.port,
  l: REFUSED_OPTIONS.user,
  i: REFUSED_OPTIONS.identityfile,
  F: REFUSED_OPTIONS.include,
  L: REFUSED_OPTIONS.localforward,
  R: REFUSED_OPTIONS.localforward,
  D: REFUSED_OPTIONS.localforward,
  W: 'tsplay runs commands on the host itself; stdio forwarding (-W) is what a jump host does: use -J or -o ProxyJump',
  w: 'tsplay opens no tunnel devices',
  I: 'tsplay does not use PKCS#11 tokens: use a key file or ssh-agent',
  Q: 'ssh -Q only lists algorithms; remove it',
};

export function readSshArgs(text: string): SshArgs {
  const out: SshArgs = { ignored: [], refused: [] };
  let tokens: string[];
  try {
    tokens = shellSplit(text, { comments: false });
  } catch (err) {
    if (!(err instanceof ShellSplitError)) throw err;
    out.refused.push({ option: text, hint: `cannot split it as ssh arguments: ${err.message}` });
    return out;
  }
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const flag = /^-([A-Za-z0-9])(.*)$/.exec(token);
    if (!flag) {
      out.refused.push({ option: token, hint: 'not an ssh option: only options (-o Key=Value, -J host, ...) belong here' });
      continue;
    }
    const [, letter, rest] = flag as unknown as [string, string, string];
    if (letter in FLAGS_WITH_ARG) {
      const arg = rest || tokens[++i];
      const written = rest ? token : `${token} ${arg ?? ''}`.trim();
      if (arg === undefined) out.refused.push({ option: written, hint: `${token} needs an argument` });
      else if (letter === 'o') readOption(arg, written, out);
      else if (letter === 'J') out.jump ??= arg;
      else if (FLAGS_WITH_ARG[letter] !== undefined) out.refused.push({ option: written, hint: FLAGS_WITH_ARG[letter] });
      else out.ignored.push(written);
      continue;
    }
    // Several flags may share one dash (-qC); each must be one tsplay may ignore.
    const letters = [letter, ...rest];
    if (letters.every((l) => IGNORED_FLAGS.has(l))) out.ignored.push(token);
    else out.refused.push({ option: token, hint: unknownHint(token) });
  }
  return out;
}

function readOption(option: string, written: string, out: SshArgs): void {
  const m = /^\s*([A-Za-z0-9]+)\s*(?:=\s*|\s+)(.*)$/.exec(option);
  if (!m) {
    out.refused.push({ option: written, hint: 'write -o Key=Value' });
    return;
  }
  const key = m[1]!.toLowerCase();
  const value = m[2]!.trim();
  if (key === 'proxyjump') out.jump ??= value;
  else if (IGNORED_OPTIONS.has(key)) out.ignored.push(written);
  else if (key in REFUSED_OPTIONS) out.refused.push({ option: written, hint: key === 'proxycommand' ? proxyCommandHint(value) : REFUSED_OPTIONS[key]! });
  else out.refused.push({ option: written, hint: unknownHint(written) });
}

function unknownHint(option: string): string {
  return `tsplay dials with its own SSH client and does not know what ${option} would change, so it will not drop it silently: remove it (tsplay honours -o ProxyJump and -J; it ignores options such as ControlMaster, ControlPersist, -C and StrictHostKeyChecking)`;
}

/** For `ssh -W %h:%p [-p port] [-l user] [user@]bastion`: the ProxyJump that does the same. */
function proxyCommandHint(command: string): string {
  let words: string[];
  try {
    words = shellSplit(command, { comments: false });
  } catch {
    return REFUSED_OPTIONS.proxycommand!;
  }
  if (basename(words[0] ?? '') !== 'ssh' || !words.some((w, i) => w === '-W' && /^\[?%h\]?:%p$/.test(words[i + 1] ?? ''))) return REFUSED_OPTIONS.proxycommand!;
  let port: string | undefined;
  let user: string | undefined;
  const rest: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    const f = /^-([A-Za-z])(.*)$/.exec(w);
    if (!f) rest.push(w);
    else if (f[1]! in FLAGS_WITH_ARG) {
      const arg = f[2] || words[++i];
      if (f[1] === 'p') port = arg;
      if (f[1] === 'l') user = arg;
    }
  }
  if (rest.length !== 1) return REFUSED_OPTIONS.proxycommand!;
  const target = rest[0]!;
  const jump = `${user && !target.includes('@') ? `${user}@` : ''}${target}${port ? `:${port}` : ''}`;
  return `tsplay connects through jump hosts itself: write -o ProxyJump=${jump} instead (or set jump_host: ${jump}); the jump host's key is checked like any host's`;
}
