/**
 * Downloading on the host (get_url): curl or wget, whichever the host has (curl first), driven
 * by a configuration the module builds, and what their failures mean.
 *
 * The request (URL, credentials, headers) is never on a command line, which any user of the
 * host can read in /proc: it travels in shell variables, set from the exec's environment (itself
 * sent over stdin, connect/shell.ts) and unset before curl or wget starts, so neither inherits
 * them. curl reads its configuration from a pipe (`-K -`); wget reads its from a 0600 temp file
 * (it reads a configuration file twice, so a pipe will not do) and the URL from stdin (`-i -`).
 */
import { q } from './remote.js';

export interface RequestArgs {
  url: string;
  timeout?: number;
  url_username?: string;
  url_password?: string;
  force_basic_auth?: boolean;
  headers?: Record<string, string>;
  validate_certs?: boolean;
  http_agent?: string;
  use_proxy?: boolean;
}

/** The variables the fetch snippet reads: curl's configuration, wget's, and the URL (for wget). */
export interface FetchConfig {
  TSPLAY_FETCH_CURLRC: string;
  TSPLAY_FETCH_WGETRC: string;
  TSPLAY_FETCH_URL: string;
}

export const DEFAULT_TIMEOUT = 10;

/** A value for curl's configuration file: quoted, its backslashes and quotes escaped. */
const curlValue = (v: string): string => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** A value with a line break would end the configuration line early and start another: refused. */
export function lineBreakIn(args: RequestArgs): string | undefined {
  const values: Array<[string, string | undefined]> = [['url', args.url], ['url_username', args.url_username], ['url_password', args.url_password], ['http_agent', args.http_agent], ...Object.entries(args.headers ?? {}).map(([k, v]): [string, string] => [`headers.${k}`, `${k}${v}`])];
  return values.find(([, v]) => v !== undefined && /[\r\n\0]/.test(v))?.[0];
}

/**
 * Ansible's `timeout` is a socket timeout, not a limit on the whole download (a 100 MB kubelet
 * on a slow link may take minutes): curl gives up connecting after it, or when fewer than one
 * byte a second arrived for that long; wget's `timeout` is the same per-read limit.
 */
export function fetchConfig(args: RequestArgs): FetchConfig {
  const t = args.timeout ?? DEFAULT_TIMEOUT;
  const curl = ['fail', 'location', 'max-redirs = 10', 'silent', 'show-error', `connect-timeout = ${t}`, 'speed-limit = 1', `speed-time = ${t}`];
  const wget = ['verbose = off', 'tries = 1', `timeout = ${t}`, 'max_redirect = 10'];
  if (args.url_username !== undefined || args.url_password !== undefined) {
    curl.push(`user = ${curlValue(`${args.url_username ?? ''}:${args.url_password ?? ''}`)}`, args.force_basic_auth ? 'basic' : 'anyauth');
    if (args.url_username !== undefined) wget.push(`user = ${args.url_username}`);
    if (args.url_password !== undefined) wget.push(`password = ${args.url_password}`);
    if (args.force_basic_auth) wget.push('auth_no_challenge = on');
  }
  for (const [name, value] of Object.entries(args.headers ?? {})) {
    curl.push(`header = ${curlValue(`${name}: ${value}`)}`);
    wget.push(`header = ${name}: ${value}`);
  }
  if (args.validate_certs === false) {
    curl.push('insecure');
    wget.push('check_certificate = off');
  }
  if (args.http_agent !== undefined) {
    curl.push(`user-agent = ${curlValue(args.http_agent)}`);
    wget.push(`user_agent = ${args.http_agent}`);
  }
  if (args.use_proxy === false) {
    curl.push('noproxy = "*"');
    wget.push('use_proxy = off');
  }
  curl.push(`url = ${curlValue(args.url)}`);
  return { TSPLAY_FETCH_CURLRC: `${curl.join('\n')}\n`, TSPLAY_FETCH_WGETRC: `${wget.join('\n')}\n`, TSPLAY_FETCH_URL: args.url };
}

/** Does the request carry something secret (then it goes in the exec's environment, never in a script)? */
export function requestIsSecret(args: RequestArgs): boolean {
  return args.url_password !== undefined || args.headers !== undefined || /^[a-z]+:\/\/[^/@]*@/i.test(args.url);
}

/** Shell: take the configuration from the variables (inline ones, or the exec's environment), then unset them. */
export function fetchVarsScript(inline?: FetchConfig): string {
  const set = inline ? (Object.entries(inline) as Array<[string, string]>).map(([k, v]) => `${k}=${q(v)}`) : [];
  return [...set, '__tsplay_curlrc=$TSPLAY_FETCH_CURLRC; __tsplay_wgetrc=$TSPLAY_FETCH_WGETRC; __tsplay_url=$TSPLAY_FETCH_URL', 'unset TSPLAY_FETCH_CURLRC TSPLAY_FETCH_WGETRC TSPLAY_FETCH_URL'].join('\n');
}

/** Which download tool the host has: what the probe reads, and what fetch below picks. */
export const TOOL_SCRIPT = 'if command -v curl >/dev/null 2>&1; then printf curl; elif command -v wget >/dev/null 2>&1; then printf wget; else printf none; fi';

/**
 * Shell function `__tsplay_fetch OUT`: download the configured URL to OUT ("-": stdout). curl
 * prints the HTTP status on stdout after the body (`-w`); exit 127 when the host has neither tool.
 */
export const FETCH_FN = [
  '__tsplay_fetch() {',
  '  if command -v curl >/dev/null 2>&1; then',
  `    printf '%s' "$__tsplay_curlrc" | curl -K - -o "$1" -w 'status %{http_code}\\n'`,
  '  elif command -v wget >/dev/null 2>&1; then',
  '    __tsplay_rc=$(mktemp) || return 1',
  `    chmod 600 "$__tsplay_rc" && printf '%s' "$__tsplay_wgetrc" > "$__tsplay_rc" || { rm -f -- "$__tsplay_rc"; return 1; }`,
  `    printf '%s\\n' "$__tsplay_url" | wget --config="$__tsplay_rc" -i - -O "$1"; __tsplay_s=$?`,
  '    rm -f -- "$__tsplay_rc"; return $__tsplay_s',
  '  else',
  "    echo 'neither curl nor wget is installed' >&2; return 127",
  '  fi',
  '}',
].join('\n');

/** What a failed download means, from the tool's exit code and what it printed. */
export function fetchFailure(tool: string, rc: number, stderr: string, url: string, timeout: number): { message: string; hint?: string } {
  const err = stderr.trim().split('\n').slice(-3).join('; ');
  const http = /returned error: (\d{3})|ERROR (\d{3})/.exec(stderr);
  if (rc === 127) return { message: `cannot download ${url}: neither curl nor wget is installed on the host`, hint: 'install curl (apt-get install curl) or wget on the host, or copy the file from the controller' };
  if (http) {
    const code = http[1] ?? http[2];
    return { message: `download of ${url} failed: HTTP ${code}`, hint: code === '404' ? 'no such file on the server: check url (the release, version and architecture in it)' : code === '401' || code === '403' ? 'the server refused the request: check url_username/url_password or headers' : 'the server failed the request: try again later, or use another mirror' };
  }
  const timedOut = (tool === 'curl' && rc === 28) || /timed out/i.test(stderr);
  if (timedOut) return { message: `download of ${url} timed out (nothing received for ${timeout} s): ${err}`, hint: `raise timeout (now ${timeout} s), or check the host reaches the server (a proxy goes in environment: https_proxy)` };
  if ((tool === 'curl' && [6, 7].includes(rc)) || (tool === 'wget' && rc === 4)) return { message: `cannot reach ${url}: ${err}`, hint: "the host cannot reach the server: check its DNS and route, or set a proxy (environment: https_proxy), or copy the file from the controller" };
  if ((tool === 'curl' && [35, 51, 58, 60, 77].includes(rc)) || (tool === 'wget' && rc === 5)) return { message: `TLS with ${url} failed: ${err}`, hint: "install the server's CA on the host; validate_certs: false only for a server you trust otherwise" };
  return { message: `download of ${url} failed (${tool} exit ${rc}): ${err}` };
}
