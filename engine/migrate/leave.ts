/**
 * A construct the converter will not rewrite, with the reason and where it starts in the
 * expression or template being converted. The converters throw it; the file converters catch
 * it, keep the text as written and list it (file:line:col, reason).
 */
export class Leave extends Error {
  constructor(
    readonly reason: string,
    readonly at: number,
  ) {
    super(reason);
    this.name = 'Leave';
  }
}

/** Filters and tests named with their collection (ansible.builtin.bool) are the bare ones. */
export function bareName(name: string): string {
  return name.replace(/^ansible\.(builtin|legacy)\./, '');
}
