/**
 * What an archive holds, for unarchive: its format from its first bytes (as Ansible picks a
 * handler by what the file is, not by its name), its member names from `tar -t` or `unzip -Z1`
 * on the host, or read on the controller for a controller archive (zip's central directory
 * directly, tar through the controller's `tar -t`), so check mode can list them without
 * sending the archive anywhere.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { TaskError } from '../../errors.js';

const execFileP = promisify(execFile);

export type ArchiveFormat = 'zip' | 'tar';

/** zip's local-file or empty-archive signature; anything else goes to tar, which detects its compression. */
export function formatOf(head: Buffer): ArchiveFormat {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6)) ? 'zip' : 'tar';
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', a: '\x07', b: '\b', f: '\f', r: '\r', v: '\v', '\\': '\\', '?': '?', '"': '"' };

/** One line of GNU tar's listing (its default "escape" quoting: `\n`, `\\`, octal `\303`) as the name it stands for. */
export function unescapeTarName(line: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && /^[0-7]{3}$/.test(line.slice(i + 1, i + 4))) {
      bytes.push(parseInt(line.slice(i + 1, i + 4), 8));
      i += 3;
    } else if (c === '\\' && line[i + 1] !== undefined && ESCAPES[line[i + 1]!] !== undefined) {
      bytes.push(...Buffer.from(ESCAPES[line[i + 1]!]!));
      i += 1;
    } else bytes.push(...Buffer.from(c));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Member names of a listing: tar's lines unescaped, zip's as they are. */
export function namesOfListing(format: ArchiveFormat, listing: string): string[] {
  const lines = listing.split('\n').filter((l) => l !== '');
  return format === 'tar' ? lines.map(unescapeTarName) : lines;
}

export type Members = { entries: string[] } | { error: string };

/**
 * The paths below dest the members land at, in archive order without repeats: `./` and a
 * leading `/` dropped (tar and unzip both strip them), a directory's trailing `/` too. A member
 * with a `..` component would land outside dest: the archive is refused.
 */
export function membersOf(names: string[]): Members {
  const seen = new Set<string>();
  for (const name of names) {
    const path = name.replace(/^\/+/, '').replace(/^(\.\/+)+/, '').replace(/\/+$/, '').replace(/\/+/g, '/');
    if (path === '' || path === '.') continue;
    if (path.split('/').includes('..')) return { error: `member ${JSON.stringify(name)} would be extracted outside dest` };
    seen.add(path);
  }
  return { entries: [...seen] };
}

/** The names in a zip file's central directory (what `unzip -Z1` prints), read on the controller. */
export function zipNames(path: string): string[] {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    const tailLength = Math.min(size, 0xffff + 22);
    const tail = Buffer.alloc(tailLength);
    readSync(fd, tail, 0, tailLength, size - tailLength);
    let end = -1;
    for (let i = tailLength - 22; i >= 0; i--) if (tail.readUInt32LE(i) === 0x06054b50) { end = i; break; }
    if (end < 0) throw new TaskError(`${path} is not a zip file: no end of central directory`);
    const count = tail.readUInt16LE(end + 10);
    const cdSize = tail.readUInt32LE(end + 12);
    const cdOffset = tail.readUInt32LE(end + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) throw new TaskError(`${path} is a zip64 archive: tsplay lists only plain zip files on the controller`, 'copy it to the host first and use remote_src: true (unzip lists it there)');
    const cd = Buffer.alloc(cdSize);
    readSync(fd, cd, 0, cdSize, cdOffset);
    const names: string[] = [];
    for (let at = 0, n = 0; n < count; n++) {
      if (cd.readUInt32LE(at) !== 0x02014b50) throw new TaskError(`${path}: damaged zip central directory`);
      const utf8 = (cd.readUInt16LE(at + 8) & 0x800) !== 0;
      const nameLength = cd.readUInt16LE(at + 28);
      const raw = cd.subarray(at + 46, at + 46 + nameLength);
      names.push(raw.toString(utf8 ? 'utf8' : 'latin1'));
      at += 46 + nameLength + cd.readUInt16LE(at + 30) + cd.readUInt16LE(at + 32);
    }
    return names;
  } finally {
    closeSync(fd);
  }
}

export function headOf(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const n = readSync(fd, head, 0, 4, 0);
    return head.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** A controller archive's member names, read once per file version for every host of the run. */
const listings = new Map<string, Promise<string[]>>();

export function controllerNames(path: string, format: ArchiveFormat): Promise<string[]> {
  const st = statSync(path);
  const key = `${path}:${st.size}:${st.mtimeMs}:${st.ino}`;
  let names = listings.get(key);
  if (!names) {
    names =
      format === 'zip'
        ? Promise.resolve().then(() => zipNames(path))
        : execFileP('tar', ['-tf', path], { maxBuffer: 256 << 20, encoding: 'utf8' }).then(
            ({ stdout }) => namesOfListing('tar', stdout),
            (err: Error & { stderr?: string }) => {
              throw new TaskError(`listing ${path} on the controller failed: ${(err.stderr ?? err.message).trim().split('\n').slice(-2).join('; ')}`, 'the controller needs GNU tar and the compressor the archive uses (gzip, xz-utils, bzip2, zstd)');
            },
          );
    listings.set(key, names);
    names.catch(() => listings.delete(key));
  }
  return names;
}
