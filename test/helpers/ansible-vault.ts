/** Vault data made by the real `ansible-vault` (ansible-core) at test time, for the vault tests. */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ENV = { ...process.env, ANSIBLE_NOCOLOR: '1' };

export const hasAnsibleVault = await run('ansible-vault', ['--version']).then(
  () => true,
  () => false,
);

/** `--vault-password-file FILE` or `--vault-id LABEL@FILE`: which password encrypts. */
export type VaultWith = { passwordFile: string } | { id: string; passwordFile: string };

function withArgs(w: VaultWith): string[] {
  return 'id' in w ? ['--vault-id', `${w.id}@${w.passwordFile}`, '--encrypt-vault-id', w.id] : ['--vault-password-file', w.passwordFile];
}

/** `NAME: !vault |` and the lines of ansible-vault encrypt_string, indented by `indent`. */
export async function encryptString(name: string, plaintext: string, w: VaultWith, indent = ''): Promise<string> {
  const child = execFile('ansible-vault', ['encrypt_string', ...withArgs(w), '--stdin-name', name], { env: ENV });
  child.stdin!.end(plaintext);
  const out = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`ansible-vault encrypt_string: ${stderr}`))));
  });
  return out.trimEnd().split('\n').map((l) => indent + l).join('\n') + '\n';
}

/** The ciphertext lines alone (what follows `!vault |`). */
export async function encryptToText(plaintext: string, w: VaultWith): Promise<string> {
  const yaml = await encryptString('x', plaintext, w);
  return yaml.split('\n').slice(1).map((l) => l.trim()).join('\n');
}

/** Writes `text` to `file` and encrypts it in place with ansible-vault encrypt. */
export async function encryptFile(file: string, text: string, w: VaultWith): Promise<string> {
  writeFileSync(file, text);
  await run('ansible-vault', ['encrypt', ...withArgs(w), file], { env: ENV });
  return readFileSync(file, 'utf8');
}

/** ansible-vault decrypt of `vaultText`, or its error. */
export async function ansibleDecrypt(vaultText: string, args: string[], env: Record<string, string> = {}): Promise<{ ok: boolean; plaintext: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('ansible-vault', ['decrypt', ...args, '--output', '-'], { env: { ...ENV, ...env }, encoding: 'buffer' }, (err, stdout, stderr) =>
      resolve({ ok: !err, plaintext: stdout.toString('utf8'), stderr: stderr.toString('utf8') }),
    );
    child.stdin!.end(vaultText);
  });
}

/** Ansible's own VaultLib.encrypt with a given salt (the CLI always draws a random one), for each case. */
export function ansibleEncryptWithSalt(cases: Array<{ plaintext: Buffer; password: Buffer; salt: Buffer; vaultId?: string }>): string[] {
  // The Python that runs ansible-vault has the ansible package.
  const python = readFileSync(execFileSync('sh', ['-c', 'command -v ansible-vault'], { encoding: 'utf8' }).trim(), 'utf8').split('\n')[0]!.replace(/^#!\s*/, '').split(/\s+/);
  const script = `
import sys, json
from ansible.parsing.vault import VaultLib, VaultSecret
out = []
for a in json.loads(sys.stdin.read()):
    s = VaultSecret(bytes.fromhex(a["password"]))
    vid = a["vaultId"]
    out.append(VaultLib([(vid or "default", s)]).encrypt(bytes.fromhex(a["plaintext"]), secret=s, vault_id=vid, salt=bytes.fromhex(a["salt"])).decode())
print(json.dumps(out))
`;
  const input = JSON.stringify(cases.map((c) => ({ password: c.password.toString('hex'), plaintext: c.plaintext.toString('hex'), salt: c.salt.toString('hex'), vaultId: c.vaultId ?? null })));
  return JSON.parse(execFileSync(python[0]!, [...python.slice(1), '-c', script], { input, encoding: 'utf8' })) as string[];
}
