/**
 * Secret values never show: every byte tsplay writes (terminal, logs, reports, diffs, errors)
 * passes through redact(). Secrecy follows the value: the registry grows as values are derived.
 * Values enter from `{secret: true, value}` declarations, secret-named variables (at any depth,
 * lists and maps whole, templates once resolved), no_log task results, `become_password` and
 * connection passwords, whatever a module declares secret (bootstrap token secrets), and every
 * value derived from a secret (a template or helper output that shows one).
 *
 * A secret is masked in every form it can take in output: as is, JSON-escaped (-vvv result dumps,
 * to_json, the JSON report), base64 (whole, and at each byte alignment inside a longer base64
 * text), in any letter case (upper/lower), shell- and YAML-quoted, Markdown-escaped, and line by
 * line when it spans lines (a key shown in a diff). A value shorter than MIN_MASKED characters is
 * never searched for inside other text: masking "ab" or "0" everywhere would mangle the output;
 * the run names such variables in a warning instead, and `tsplay job` refuses them like any other.
 */
export const MASK = '********';
export const MIN_MASKED = 4;
/** Derived values longer than this are not registered whole: the secrets inside them are masked already. */
const MAX_DERIVED = 1024;
/** Base64 forms shorter than this would match unrelated base64 text. */
const MIN_BASE64 = 8;

/**
 * A variable is secret by name when its name ends in a secret word: db_password, api_token,
 * vault_pass, tls_private_key, registry_credentials, dbPassword. Names that only mention one
 * (bootstrap_token_ttl, secret_name, token_usages) describe a secret and are not one.
 */
const SECRET_WORD = /(?:^|[_.-])(?:pass|passwd|password|passphrase|secret|token|private_key|privatekey|api_key|apikey|credential)s?$/i;
const SECRET_CAMEL = /[a-z0-9](?:Pass|Passwd|Password|Passphrase|Secret|Token|PrivateKey|ApiKey|Credential)s?$/;

export function isSecretName(name: string): boolean {
  return SECRET_WORD.test(name) || SECRET_CAMEL.test(name);
}

/** `name: value` holds a secret by name: the name is secret, or one inside the value (maps, lists). */
export function namesSecret(name: string, value: unknown, depth = 0): boolean {
  if (isSecretName(name)) return true;
  if (depth > 20 || !value || typeof value !== 'object') return false;
  return Object.entries(value).some(([k, v]) => namesSecret(Array.isArray(value) ? '' : k, v, depth + 1));
}

/** 'secret': a secret itself (masked line by line too); 'derived': computed from one (masked whole). */
export type Origin = 'secret' | 'derived';

export class Secrets {
  /** value -> its origin (a secret outranks the same value seen as derived). */
  private readonly values = new Map<string, Origin>();
  private readonly short = new Set<string>();
  private readonly shortNames = new Set<string>();
  private pattern: RegExp | undefined;

  /** A string or number, or every leaf of a list or map. `name` names it in the short-value warning. */
  add(value: unknown, origin: Origin = 'secret', name?: string): void {
    if (typeof value === 'number' || typeof value === 'bigint') value = String(value);
    if (typeof value === 'string') {
      // A template is not a value yet: its result is registered when it is rendered.
      if (value === '' || value.includes('{{')) return;
      if (value.length < MIN_MASKED) {
        this.short.add(value);
        if (name && origin === 'secret') this.shortNames.add(name);
        return;
      }
      if (this.values.get(value) === 'secret' || (origin === 'derived' && this.values.has(value))) return;
      if (origin === 'derived' && value.length > MAX_DERIVED) return;
      this.values.set(value, origin);
      this.pattern = undefined;
    } else if (Buffer.isBuffer(value)) {
      this.add(value.toString('utf8'), origin, name);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => this.add(v, origin, name && `${name}[${i}]`));
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) this.add(v, origin, name && `${name}.${k}`);
    }
  }

  /** Secret-named variables at any depth of maps and lists: their whole value is secret. */
  addFromVars(vars: Record<string, unknown>, path = ''): void {
    for (const [name, value] of Object.entries(vars)) {
      const at = path ? `${path}.${name}` : name;
      if (isSecretName(name)) this.add(value, 'secret', at);
      else if (Array.isArray(value)) {
        for (const [i, v] of (value as unknown[]).entries()) if (v && typeof v === 'object') this.addFromVars(v as Record<string, unknown>, `${at}[${i}]`);
      }
      else if (value && typeof value === 'object' && !Buffer.isBuffer(value)) this.addFromVars(value as Record<string, unknown>, at);
    }
  }

  /** Registers a computed value when it shows a secret: what is made from a secret is secret. */
  derive(value: unknown): void {
    if (this.values.size > 0 && typeof value === 'string' && value.length >= MIN_MASKED && !this.values.has(value) && this.reveals(value)) this.add(value, 'derived');
  }

  redact(text: string): string {
    const p = this.regex();
    return p ? text.replace(p, MASK) : text;
  }

  /** Some string in `value` (any depth) shows a secret in one of its forms. */
  reveals(value: unknown): boolean {
    const p = this.regex();
    return p !== undefined && some(value, (s) => s.search(p) >= 0);
  }

  /** `value` is or holds a secret: a leaf equal to one (of any length) or showing one. */
  holds(value: unknown): boolean {
    return some(value, (s) => this.short.has(s) || this.values.has(s)) || this.reveals(value);
  }

  /** Names of secret variables too short to mask, each reported once. */
  takeShortNames(): string[] {
    const names = [...this.shortNames];
    this.shortNames.clear();
    return names;
  }

  get size(): number {
    return this.values.size + this.short.size;
  }

  private regex(): RegExp | undefined {
    if (this.values.size === 0) return undefined;
    if (!this.pattern) {
      const forms = new Set<string>();
      for (const [value, origin] of this.values) for (const f of formsOf(value, origin)) if (f.length >= MIN_MASKED) forms.add(f);
      const sorted = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
      // Case-insensitive: upper/lower (and any other casing) of a secret is the secret.
      this.pattern = new RegExp(sorted.join('|'), 'gi');
    }
    return this.pattern;
  }
}

/** Every way `value` can be written out. */
function formsOf(value: string, origin: Origin): string[] {
  const forms = escapes(value);
  const bytes = Buffer.from(value, 'utf8');
  forms.push(bytes.toString('base64'));
  if (origin === 'secret') {
    // Inside longer base64 text the value starts at byte offset 0, 1 or 2 of a 3-byte group: the
    // characters that encode only its own whole groups are the same wherever it stands.
    for (let k = 0; k < 3; k++) {
      const rest = bytes.subarray(k);
      const whole = rest.subarray(0, rest.length - (rest.length % 3));
      const b64 = whole.toString('base64');
      if (b64.length >= MIN_BASE64) forms.push(b64);
    }
    const lines = value.split(/\r?\n/);
    if (lines.length > 1) for (const line of lines) if (line.trim().length >= MIN_MASKED) forms.push(...escapes(line), ...escapes(line.trim()));
  }
  return forms;
}

/** The value as is and as JSON, shell, YAML and Markdown escape it. */
function escapes(s: string): string[] {
  return [s, JSON.stringify(s).slice(1, -1), s.replace(/'/g, `'\\''`), s.replace(/'/g, "''"), s.replace(/\|/g, '\\|').replace(/</g, '&lt;')];
}

function some(value: unknown, test: (s: string) => boolean, depth = 0): boolean {
  if (typeof value === 'string') return test(value);
  if (typeof value === 'number') return test(String(value));
  if (depth > 20 || !value || typeof value !== 'object' || Buffer.isBuffer(value)) return false;
  return (Array.isArray(value) ? value : Object.values(value)).some((v) => some(v, test, depth + 1));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One registry per process run: secrets learned on any host are masked in all output. */
export const secrets = new Secrets();
