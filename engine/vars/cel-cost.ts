/**
 * An upper bound of the work a CEL expression does, computed from its syntax tree and the sizes
 * of the values it reads, before it runs. @bufbuild/cel has no cost limit of its own, and a
 * comprehension nested in another multiplies: `l.map(a, l.map(b, a + b))` over 1000 items is a
 * million steps (seconds and hundreds of MB). Kubernetes bounds CEL the same way (an estimated
 * cost checked before evaluation, a per-expression limit of 1,000,000); this counts one unit per
 * node evaluated, each iteration of a comprehension paying for its condition and step again.
 */
import type * as Cel from '@bufbuild/cel';

export const CEL_COST_LIMIT = 1_000_000;

/** Largest number of elements a value may have, and a bound for its elements (undefined: scalars). */
interface Size {
  n: number;
  elem?: Size;
}

const SCALAR: Size = { n: 0 };

function join(a: Size | undefined, b: Size | undefined): Size | undefined {
  if (!a) return b;
  if (!b) return a;
  return { n: Math.max(a.n, b.n), elem: join(a.elem, b.elem) };
}

/** The size bound of an actual value (a variable the expression reads). */
export function sizeOfValue(value: unknown, seen = new Map<object, Size>()): Size {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return SCALAR;
  const known = seen.get(value);
  if (known) return known;
  const out: Size = { n: 0 };
  seen.set(value, out); // a cycle adds nothing more
  const items = value instanceof Map ? [...value.values()] : Array.isArray(value) ? value : Object.values(value);
  out.n = items.length;
  for (const item of items) out.elem = join(out.elem, sizeOfValue(item, seen));
  return out;
}

type Expr = NonNullable<ReturnType<typeof Cel.parse>['expr']>;

interface Estimate {
  cost: number;
  size: Size;
}

/**
 * Bound the cost of `expr`. `variables` gives the size of each top-level name it reads; a name
 * without one is a scalar (at load time values are not known yet: only literals count).
 */
export function estimateCost(expr: Expr | undefined, variables: (name: string) => Size | undefined): number {
  const scope: Array<Map<string, Size>> = [];
  const lookup = (name: string): Size => {
    for (let i = scope.length - 1; i >= 0; i--) {
      const found = scope[i]!.get(name);
      if (found) return found;
    }
    return variables(name) ?? SCALAR;
  };
  const visit = (node: Expr | undefined): Estimate => {
    const kind = node?.exprKind;
    switch (kind?.case) {
      case 'identExpr':
        return { cost: 1, size: lookup(kind.value.name) };
      case 'selectExpr': {
        const operand = visit(kind.value.operand);
        return { cost: operand.cost + 1, size: kind.value.testOnly ? SCALAR : (operand.size.elem ?? SCALAR) };
      }
      case 'listExpr': {
        const items = kind.value.elements.map(visit);
        return { cost: 1 + sum(items), size: { n: items.length, elem: items.reduce<Size | undefined>((a, b) => join(a, b.size), undefined) } };
      }
      case 'structExpr': {
        const entries = kind.value.entries.map((e) => [e.keyKind.case === 'mapKey' ? visit(e.keyKind.value) : { cost: 0, size: SCALAR }, visit(e.value)] as const);
        const values = entries.map(([, v]) => v);
        return { cost: 1 + sum(entries.map(([k]) => k)) + sum(values), size: { n: entries.length, elem: values.reduce<Size | undefined>((a, b) => join(a, b.size), undefined) } };
      }
      case 'callExpr': {
        const args = [...(kind.value.target ? [kind.value.target] : []), ...kind.value.args].map(visit);
        const cost = 1 + sum(args);
        switch (kind.value.function) {
          case '_+_': {
            // Lists concatenate lazily (no copy); the elements are paid for when iterated.
            const [a, b] = args;
            return { cost, size: { n: (a?.size.n ?? 0) + (b?.size.n ?? 0), elem: join(a?.size.elem, b?.size.elem) } };
          }
          case '_?_:_':
            return { cost, size: join(args[1]?.size, args[2]?.size) ?? SCALAR };
          case '_[_]':
            return { cost, size: args[0]?.size.elem ?? SCALAR };
          case 'dyn':
            return { cost, size: args[0]?.size ?? SCALAR };
          default:
            // The standard library's other functions return scalars (size, int, string, contains, ...).
            return { cost, size: SCALAR };
        }
      }
      case 'comprehensionExpr': {
        const c = kind.value;
        const range = visit(c.iterRange);
        const init = visit(c.accuInit);
        const iterations = range.size.n;
        // A list's variable is its element; a map's is its key, bounded here by its values (more, never less).
        const frame = new Map<string, Size>([[c.accuVar, { n: 0, elem: init.size.elem }]]);
        if (c.iterVar) frame.set(c.iterVar, range.size.elem ?? SCALAR);
        if (c.iterVar2) frame.set(c.iterVar2, range.size.elem ?? SCALAR);
        scope.push(frame);
        const condition = visit(c.loopCondition);
        const step = visit(c.loopStep);
        scope.pop();
        // The accumulator grows by at most what one step adds, once per iteration.
        const accu: Size = { n: init.size.n + iterations * step.size.n, elem: join(init.size.elem, step.size.elem) };
        scope.push(new Map([[c.accuVar, accu]]));
        const result = visit(c.result);
        scope.pop();
        return { cost: range.cost + init.cost + iterations * (condition.cost + step.cost) + result.cost, size: result.size };
      }
      default:
        return { cost: 1, size: SCALAR };
    }
  };
  return visit(expr).cost;
}

function sum(items: Estimate[]): number {
  return items.reduce((a, b) => a + b.cost, 0);
}
