/**
 * Host names as Ansible's inventory plugins read them: `name:port`, `[v6addr]:port`, and ranges
 * `www[01:50]`, `www[01:50:2]`, `db-[a:f]` (several in one name multiply). The rules follow
 * ansible-core's lib/ansible/parsing/utils/addresses.py (parse_address) and
 * lib/ansible/plugins/inventory/__init__.py (expand_hostname_range), so a host key means what it
 * means to Ansible.
 */

export class HostRangeError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'HostRangeError';
  }
}

const NUMERIC_RANGE = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const HEX_RANGE = String.raw`\[(?:[0-9a-fA-F]+:[0-9a-fA-F]+)(?::[0-9]+)?\]`;
const ALNUM_RANGE = String.raw`\[(?:[a-zA-Z]:[a-zA-Z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const V6 = `(?:[0-9a-fA-F]{1,4}|${HEX_RANGE})`;
const V4 = `(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${NUMERIC_RANGE})`;
// Python's \w with re.UNICODE: letters, digits (and marks), underscore.
const WORD = String.raw`[\p{L}\p{N}\p{M}_]`;
const LABEL = `(?:${WORD}|${ALNUM_RANGE})(?:${WORD}|-|${ALNUM_RANGE})*(?<![_-])`;

const BRACKETED_HOSTPORT = /^\[(.+)\]:([0-9]+)$/s;
const HOSTPORT = /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/s;
const IPV4 = new RegExp(`^(?:${V4}\\.){3}${V4}$`);
// As in Ansible, only the last alternative is anchored at the end (re.match anchors the start).
const IPV6 = new RegExp(
  '^(?:' +
    [
      `(?:${V6}:){7}${V6}`,
      `(?:${V6}:){1,6}:`,
      `(?:${V6}:)(?::${V6}){1,6}`,
      `(?:${V6}:){2}(?::${V6}){1,5}`,
      `(?:${V6}:){3}(?::${V6}){1,4}`,
      `(?:${V6}:){4}(?::${V6}){1,3}`,
      `(?:${V6}:){5}(?::${V6}){1,2}`,
      `(?:${V6}:){6}(?::${V6})`,
      `:(?::${V6}){1,6}`,
      `${V6}?::`,
      `(?:0:){6}(?:${V6}\\.){3}${V6}`,
      `::(?:ffff:)?(?:${V6}\\.){3}${V6}`,
      `(?:0:){5}ffff:(?:${V6}\\.){3}${V6}$`,
    ].join('|') +
    ')',
  'i',
);
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`, 'u');

/** Ansible's parse_address: `{host, port}` or undefined when it is no host identifier. */
export function parseAddress(address: string, allowRanges: boolean): { host: string; port?: number } | undefined {
  let rest = address;
  let port: number | undefined;
  for (const re of [BRACKETED_HOSTPORT, HOSTPORT]) {
    const m = re.exec(rest);
    if (m) {
      rest = m[1]!;
      port = Number(m[2]);
    }
  }
  if (!IPV4.test(rest) && !IPV6.test(rest) && !HOSTNAME.test(rest)) return undefined;
  if (!allowRanges && rest.includes('[')) return undefined;
  return { host: rest, port };
}

export function isIpAddress(name: string): boolean {
  return IPV4.test(name) || IPV6.test(name);
}

/** A host key of an inventory: its host names (ranges expanded) and the port it names, if any. */
export function expandHostPattern(pattern: string): { hosts: string[]; port?: number } {
  const parsed = parseAddress(pattern, true);
  const name = parsed ? parsed.host : pattern;
  return { hosts: name.includes('[') ? expandRange(name) : [name], port: parsed?.port };
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const RANGE_HINT = 'a range is [begin:end] or [begin:end:step], e.g. www[01:50], www[1:9:2], db-[a:f]';

/** expand_hostname_range: the first [..] becomes each of its values, then the rest recursively. */
export function expandRange(name: string): string[] {
  const open = name.indexOf('[');
  const close = name.indexOf(']', open);
  if (open < 0 || close < 0) {
    throw new HostRangeError(`unbalanced [ ] in host name '${name}'`, RANGE_HINT);
  }
  const head = name.slice(0, open);
  const tail = name.slice(close + 1);
  const bounds = name.slice(open + 1, close).split(':');
  if (bounds.length !== 2 && bounds.length !== 3) throw new HostRangeError(`host range in '${name}' must be begin:end or begin:end:step`, RANGE_HINT);
  const beg = bounds[0] || '0';
  const end = bounds[1]!;
  const stepText = bounds[2] ?? '1';
  if (!end) throw new HostRangeError(`host range in '${name}' has no end value`, RANGE_HINT);
  if (!/^[0-9]+$/.test(stepText) || Number(stepText) === 0) throw new HostRangeError(`host range step in '${name}' must be a positive integer`, RANGE_HINT);
  const step = Number(stepText);
  let width = 0;
  if (beg[0] === '0' && beg.length > 1) {
    if (beg.length !== end.length) throw new HostRangeError(`host range in '${name}' must have begin and end of equal length (${beg} vs ${end})`, `pad both to the same width, e.g. [01:50]`);
    width = beg.length;
  }
  let values: string[];
  const ib = /^[a-zA-Z]$/.test(beg) ? LETTERS.indexOf(beg) : -1;
  const ie = /^[a-zA-Z]$/.test(end) ? LETTERS.indexOf(end) : -1;
  if (ib >= 0 && ie >= 0) {
    if (ib > ie) throw new HostRangeError(`host range in '${name}' must have begin <= end`, RANGE_HINT);
    values = [];
    for (let i = ib; i <= ie; i += step) values.push(LETTERS[i]!);
  } else if (/^[0-9]+$/.test(beg) && /^[0-9]+$/.test(end)) {
    const from = Number(beg);
    const to = Number(end);
    if ((to - from) / step > 100_000) throw new HostRangeError(`host range in '${name}' expands to more than 100000 hosts`, 'split the range');
    values = [];
    for (let i = from; i <= to; i += step) values.push(String(i).padStart(width, '0'));
  } else {
    throw new HostRangeError(`host range in '${name}' mixes letters and numbers or uses more than one letter: [${bounds.join(':')}]`, RANGE_HINT);
  }
  return values.flatMap((v) => {
    const host = head + v + tail;
    return host.includes('[') ? expandRange(host) : [host];
  });
}
