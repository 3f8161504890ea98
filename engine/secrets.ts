/**
 * Secret values never show: every byte tsplay writes (terminal, logs, reports, errors) passes
 * through redact(). Values enter here from no_log tasks, secret-looking variable names,
 * `become_password`, and whatever a module returns as secret (e.g. bootstrap token secrets).
 */
export const MASK = '********';

const SECRET_NAME = /(pass(word|wd|phrase)?|secret|token|private_key|api_key|credential)/i;

export class Secrets {
  private readonly values = new Set<string>();
  private pattern: RegExp | undefined;

  add(value: unknown): void {
    if (typeof value === 'string') {
      // Tiny values would mask ordinary words everywhere; real secrets are longer.
      if (value.length < 4 || this.values.has(value)) return;
      this.values.add(value);
      this.pattern = undefined;
    } else if (Array.isArray(value)) {
      value.forEach((v) => this.add(v));
    } else if (value && typeof value === 'object') {
      Object.values(value).forEach((v) => this.add(v));
    }
  }

  /** Mark values of variables whose names look secret (token, password, ...). */
  addFromVars(vars: Record<string, unknown>): void {
    for (const [name, value] of Object.entries(vars)) {
      if (SECRET_NAME.test(name) && (typeof value === 'string' || typeof value === 'number')) this.add(String(value));
      else if (value && typeof value === 'object' && !Array.isArray(value)) this.addFromVars(value as Record<string, unknown>);
    }
  }

  redact(text: string): string {
    if (this.values.size === 0) return text;
    if (!this.pattern) {
      const sorted = [...this.values].sort((a, b) => b.length - a.length).map(escapeRegExp);
      this.pattern = new RegExp(sorted.join('|'), 'g');
    }
    return text.replace(this.pattern, MASK);
  }

  get size(): number {
    return this.values.size;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One registry per process run: secrets learned on any host are masked in all output. */
export const secrets = new Secrets();
