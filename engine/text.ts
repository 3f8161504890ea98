/**
 * Reading the user's text files (playbooks, inventories, vars, templates, manifests): UTF-8 or an
 * error naming the first bad byte. Node's 'utf8' decoding would turn a Latin-1 "é" into U+FFFD
 * without a word, and the replacement character would end up in a config file on every host.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Place } from './errors.js';

/** Larger files are refused before they are read: no playbook, inventory or template is this big. */
export const TEXT_FILE_MAX = 16 * 1024 * 1024;

/**
 * How many nodes aliases may copy, per the yaml library's measure (each alias counts the nodes it
 * repeats): anchors for shared settings stay cheap, a "billion laughs" document is refused.
 */
export const YAML_MAX_ALIAS_COUNT = 1000;

export class TextFileError extends Error {
  constructor(
    message: string,
    readonly place: Place,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'TextFileError';
  }
}

const strict = new TextDecoder('utf-8', { fatal: true });

/** `buf` as text; throws TextFileError at the line and column of the first byte that is not UTF-8. */
export function decodeUtf8(buf: Buffer, file: string): string {
  try {
    return strict.decode(buf);
  } catch {
    const at = firstInvalidByte(buf);
    const before = buf.subarray(0, at).toString('utf8');
    const line = before.split('\n').length;
    const col = before.length - before.lastIndexOf('\n');
    throw new TextFileError(
      `not UTF-8 text: byte 0x${(buf[at] ?? 0).toString(16).padStart(2, '0')} at offset ${at} is not part of a valid UTF-8 character`,
      { file, line, col },
      'save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8); binary files belong in copy: src, not in templates or YAML',
    );
  }
}

/** Read a text file the user wrote: at most TEXT_FILE_MAX bytes, UTF-8. */
export function readTextFile(file: string): string {
  const size = statSync(file).size;
  if (size > TEXT_FILE_MAX) {
    throw new TextFileError(
      `${file} is ${(size / 1048576).toFixed(1)} MiB, more than the ${TEXT_FILE_MAX / 1048576} MiB a playbook, inventory, variables file or template may be`,
      { file, line: 1, col: 1 },
      'split it into several files (group_vars/NAME/ may be a directory), or ship large data with copy: src',
    );
  }
  return decodeUtf8(readFileSync(file), file);
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence (RFC 3629). */
function firstInvalidByte(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    let n: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [n, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [n, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    let cp = b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return buf.length;
}
