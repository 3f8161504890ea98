/**
 * get_url's `checksum`: `<algorithm>:<hex>`, or `<algorithm>:<url>` of a checksum file (a
 * SHA256SUMS list, whose line for the downloaded file's name is used, or a file holding only the
 * digest, as dl.k8s.io publishes `kubelet.sha256`). What Ansible accepts, for sha256 and sha512.
 */
import { q, SHA256_FN } from './remote.js';

export type Algorithm = 'sha256' | 'sha512';
export const HEX_LENGTH: Record<Algorithm, number> = { sha256: 64, sha512: 128 };

export type ChecksumSpec = { algorithm: Algorithm; hex: string } | { algorithm: Algorithm; url: string } | { error: string };

export function parseChecksum(text: string): ChecksumSpec {
  const m = /^(sha256|sha512):(.+)$/i.exec(text.trim());
  if (!m) return { error: `checksum '${text}' is not <algorithm>:<digest or url>` };
  const algorithm = m[1]!.toLowerCase() as Algorithm;
  const value = m[2]!.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return { algorithm, url: value };
  if (!/^[0-9a-f]+$/i.test(value) || value.length !== HEX_LENGTH[algorithm]) return { error: `checksum '${text}': a ${algorithm} digest is ${HEX_LENGTH[algorithm]} hex digits` };
  return { algorithm, hex: value.toLowerCase() };
}

/** The file name a checksum list names the download by: the URL path's last segment. */
export function urlFileName(url: string): string {
  const path = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '').replace(/[?#].*$/, '');
  const name = path.split('/').pop() ?? '';
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/**
 * The digest for `fileName` in a checksum file, as Ansible reads one: a file of one word is the
 * digest itself; otherwise the line `<digest> [*]<name>` (or `./<name>`) for the file's name.
 */
export function digestFromList(body: string, fileName: string, algorithm: Algorithm): string | { error: string } {
  const lines = body.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const want = (hex: string): string | { error: string } => (new RegExp(`^[0-9a-f]{${HEX_LENGTH[algorithm]}}$`, 'i').test(hex) ? hex.toLowerCase() : { error: `'${hex.slice(0, 140)}' is not a ${algorithm} digest` });
  if (lines.length === 1 && !/\s/.test(lines[0]!)) return want(lines[0]!);
  for (const line of lines) {
    const m = /^(\S+)\s+\*?(.+)$/.exec(line);
    if (m && (m[2] === fileName || m[2] === `./${fileName}`)) return want(m[1]!);
  }
  return { error: `no line for ${fileName} in it (${lines.length} lines)` };
}

/** Shell: a function `__tsplay_digest FILE` printing the file's digest in hex. */
export function digestFn(algorithm: Algorithm): string {
  if (algorithm === 'sha256') return `${SHA256_FN}\n__tsplay_digest() { __tsplay_sha256 "$1"; }`;
  return `__tsplay_digest() { sha512sum < "$1" | cut -d' ' -f1; }`;
}

/** Shell: the digest of a regular file at `path` (never a link's target), or nothing. */
export function digestOf(path: string, algorithm: Algorithm): string {
  const p = q(path);
  return `${digestFn(algorithm)}\nif [ -f ${p} ] && [ ! -L ${p} ]; then __tsplay_digest ${p}; fi`;
}
