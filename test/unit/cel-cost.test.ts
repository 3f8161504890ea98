/** CEL's cost bound: refused before it runs when the work could be too much, fine otherwise. */
import { describe, expect, it } from 'vitest';
import { CEL_COST_LIMIT, estimateCost, sizeOfValue } from '../../engine/vars/cel-cost.js';
import { layeredVars } from '../../engine/vars/context.js';
import { checkExpr, evalExpr, ExprError } from '../../engine/vars/expr.js';
import { parse } from '@bufbuild/cel';

const list = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('CEL cost limit', () => {
  it('refuses a nested map over 10^6 pairs before evaluating it, quickly and with a hint', () => {
    const vars = layeredVars([{ l: list(1000) }]);
    const started = Date.now();
    let error: unknown;
    try {
      evalExpr('l.map(a, l.map(b, a + b)).size() > 0', vars);
    } catch (err) {
      error = err;
    }
    expect(Date.now() - started).toBeLessThan(500); // the old code ran it: seconds and hundreds of MB
    expect(error).toBeInstanceOf(ExprError);
    expect((error as ExprError).message).toMatch(/may take up to 7\.0e\+6 evaluation steps, more than the limit of 1e\+6/);
    expect((error as ExprError).hint).toMatch(/nested comprehensions/);
  });

  it('a literal bomb is refused at load (checkExpr), without any variable', () => {
    const ten = '[0,1,2,3,4,5,6,7,8,9]';
    const bomb = `${ten}.map(a, ${ten}.map(b, ${ten}.map(c, ${ten}.map(d, ${ten}.map(e, ${ten}.map(f, a + b + c + d + e + f)))))).size() > 0`;
    expect(() => checkExpr(bomb)).toThrow(/more than the limit/);
    expect(() => checkExpr(`${ten}.map(a, ${ten}.map(b, a + b)).size() == 10`)).not.toThrow();
  });

  it('ordinary comprehensions over real data still run', () => {
    const vars = layeredVars([{ l: list(2000), m: { a: [1, 2], b: [3] } }]);
    expect(evalExpr('l.filter(x, x > 1500.0).exists(x, x == 1999.0)', vars)).toBe(true);
    expect(evalExpr('l.all(x, x >= 0.0)', vars)).toBe(true);
    expect(evalExpr('m.all(k, size(m[k]) > 0)', vars)).toBe(true);
  });

  it('bounds grow with the data they iterate and multiply when nested', () => {
    const cost = (src: string, sizes: Record<string, unknown>): number =>
      estimateCost(parse(src).expr, (name) => (name in sizes ? sizeOfValue(sizes[name]) : undefined));
    const single = cost('l.map(a, a)', { l: list(100) });
    expect(cost('l.map(a, a)', { l: list(1000) })).toBeGreaterThan(9 * single);
    expect(cost('l.map(a, l.map(b, b))', { l: list(1000) })).toBeGreaterThan(CEL_COST_LIMIT);
    // The inner range is an element of the outer list: its size comes from the data.
    expect(cost('ll.map(a, a.map(b, b))', { ll: [list(3), list(2000)] })).toBeGreaterThan(2 * 2000);
    expect(cost('ll.map(a, a.map(b, b))', { ll: [list(3), list(2000)] })).toBeLessThan(CEL_COST_LIMIT);
  });
});
