/**
 * How a CEL expression reads `vars` (the host's variables by name, Ansible's `vars`): the names
 * it reads through it, those it only tests (`has(vars.x)`, `"x" in vars`: optional, so the load
 * check does not require them), whether it reads `vars` as a whole (refused: every variable
 * would be resolved), and a has() of a bare variable (`has(x)`, refused with the fix).
 */
export interface VarsReads {
  names: Set<string>;
  tested: Set<string>;
  dynamic: boolean;
  bareHas?: string;
}

/** From the parsed tree: expr.ts binds only the names read, and the load check takes the tested ones as optional. */
export function varsReadsOf(tree: unknown): VarsReads {
  const out: VarsReads = { names: new Set(), tested: new Set(), dynamic: false };
  type Node = { exprKind?: { case?: string; value?: Record<string, unknown> } };
  const identName = (node: unknown): string | undefined => {
    const kind = (node as Node | undefined)?.exprKind;
    return kind?.case === 'identExpr' ? String(kind.value?.name) : undefined;
  };
  const stringConst = (node: unknown): string | undefined => {
    const kind = (node as Node | undefined)?.exprKind;
    const c = kind?.case === 'constExpr' ? (kind.value?.constantKind as { case?: string; value?: unknown } | undefined) : undefined;
    return c?.case === 'stringValue' ? String(c.value) : undefined;
  };
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const kind = (node as Node).exprKind;
    const value = kind?.value ?? {};
    if (kind?.case === 'selectExpr' && identName(value.operand) === 'vars') {
      out.names.add(String(value.field));
      if (value.testOnly === true) out.tested.add(String(value.field));
      return;
    }
    if (kind?.case === 'callExpr') {
      const args = (value.args as unknown[] | undefined) ?? [];
      if (value.function === '_[_]' && identName(args[0]) === 'vars' && stringConst(args[1]) !== undefined) {
        out.names.add(stringConst(args[1])!);
        return;
      }
      if (value.function === '@in' && identName(args[1]) === 'vars' && stringConst(args[0]) !== undefined) {
        out.names.add(stringConst(args[0])!);
        out.tested.add(stringConst(args[0])!);
        return;
      }
      if (value.function === 'has' && !value.target && args.length === 1 && identName(args[0])) out.bareHas ??= identName(args[0]);
    }
    if (identName(node) === 'vars') out.dynamic = true;
    for (const child of Object.values(node)) {
      if (Array.isArray(child)) child.forEach(visit);
      else if (child && typeof child === 'object') visit(child);
    }
  };
  visit(tree);
  return out;
}
