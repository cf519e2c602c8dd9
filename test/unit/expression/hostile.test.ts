import { checkExpression, evaluateCondition, evaluateExpression, ExpressionError, maxExpressionLength } from '../../../workflows/expression';

const refused = (expression: string, variables: Record<string, unknown> = {}) => {
  try {
    evaluateExpression(expression, variables);
  } catch (error) {
    expect(error).toBeInstanceOf(ExpressionError);
    return (error as Error).message;
  }
  throw new Error(`expected ${expression} to be refused`);
};

describe('FEEL expressions against hostile input', () => {
  describe('no way out to JavaScript objects', () => {
    it.each(['x.constructor', 'x.__proto__', '"abc".constructor', 'x.constructor.constructor("return process")()', 'x["constructor"]', 'toString', 'x.toString'])(
      '%s yields nothing usable',
      (expression) => {
        let value: unknown;
        try {
          value = evaluateExpression(expression, { x: {} });
        } catch (error) {
          expect(error).toBeInstanceOf(ExpressionError);
          return;
        }
        // null, or an empty filter result: never a function, never a prototype
        expect([null, []]).toContainEqual(value);
      },
    );

    it('does not pollute Object.prototype through a context literal or a variable named __proto__', () => {
      evaluateExpression('{__proto__: {polluted: true}}', {});
      evaluateExpression('context put(x, "__proto__", {polluted: true})', { x: {} });
      const fromJson = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
      evaluateExpression('x.__proto__.polluted', { x: fromJson });

      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it('returns plain JSON, never a FEEL object with methods', () => {
      const value = evaluateExpression('{when: date("2026-01-31"), took: duration("PT1H"), span: [1..3]}', {});

      expect(value).toEqual({ when: '2026-01-31', took: 'PT1H', span: null });
    });
  });

  describe('bounded cost', () => {
    it('refuses to iterate a giant literal range before running anything', () => {
      expect(checkExpression('for i in 1..1000000000 return i')).toMatch(/at most 10000 may be iterated/);
      expect(refused('count(for i in 1..1000000000 return i)')).toMatch(/at most 10000/);
    });

    it('refuses a giant range whose bound comes from a variable, at run time', () => {
      expect(checkExpression('for i in 1..n return i')).toBeNull();
      expect(evaluateExpression('for i in 1..n return i', { n: 3 })).toEqual([1, 2, 3]);

      expect(refused('for i in 1..n return i', { n: 1e9 })).toMatch(/more than 10000 items/);
    });

    it('refuses fractional range bounds, which feelin would step past for ever', () => {
      expect(checkExpression('for i in 1..1.5 return i')).toMatch(/whole-number bounds/);
      expect(refused('for i in 1..n return i', { n: 1.5 })).toMatch(/whole numbers/);
    });

    it('refuses nested iterations whose product is too large', () => {
      expect(checkExpression('for i in 1..n, j in 1..n return i * j')).toMatch(/iterate more than/);
      expect(checkExpression('for x in xs return xs[item > x]')).toMatch(/iterate more than/);
      expect(checkExpression('for i in 1..10, j in 1..10 return i * j')).toBeNull();
    });

    it('refuses lists in the variables too long to iterate', () => {
      expect(refused('count(xs[item > 0])', { xs: Array.from({ length: 20_000 }, () => 1) })).toMatch(/more than 10000 items/);
      // a built-in that does not iterate in FEEL terms is fine
      expect(evaluateExpression('count(xs)', { xs: Array.from({ length: 20_000 }, () => 1) })).toBe(20_000);
    });

    it('refuses function definitions (recursion) and `partial` (results growing each iteration)', () => {
      expect(checkExpression('{f: function(n) if n = 0 then 0 else f(n - 1)}.f(1000000)')).toMatch(/function definitions/);
      expect(checkExpression('for i in 1..60 return if i = 1 then "ab" else partial[-1] + partial[-1]')).toMatch(/partial/);
    });

    it('refuses regular expressions that backtrack catastrophically, and patterns it cannot see', () => {
      expect(checkExpression('matches(s, "(a+)+$")')).toMatch(/exponential/);
      expect(checkExpression('replace(s, "(x*)*y", "")')).toMatch(/exponential/);
      expect(checkExpression('matches(s, p)')).toMatch(/string literal/);
      expect(evaluateExpression('matches(s, "^[0-9]{11}$")', { s: '13800138000' })).toBe(true);
    });

    it('refuses deep nesting without overflowing the stack', () => {
      const deep = `${'('.repeat(1500)}1${')'.repeat(1500)}`;
      const deepLists = `${'['.repeat(1500)}1${']'.repeat(1500)}`;

      expect(checkExpression(deep)).toMatch(/nests deeper than 64/);
      expect(checkExpression(deepLists)).toMatch(/nests deeper than 64/);
      expect(checkExpression(`${'('.repeat(20)}1${')'.repeat(20)}`)).toBeNull();
    });

    it('refuses an expression longer than the limit, and a megabyte of it', () => {
      expect(refused(`"${'a'.repeat(maxExpressionLength)}"`)).toMatch(/longer than/);
      expect(refused('x'.repeat(1024 * 1024))).toMatch(/longer than/);
    });

    it('handles a 1 MB string variable in linear time', () => {
      const big = 'ü'.repeat(1024 * 1024);

      expect(evaluateExpression('string length(s)', { s: big })).toBe(1024 * 1024);
      expect(evaluateExpression('contains(s, "x")', { s: big })).toBe(false);
      expect(evaluateExpression('string length(s + s)', { s: big })).toBe(2 * 1024 * 1024);
    });
  });

  describe('unicode and odd input', () => {
    it('compares and concatenates unicode text as it is', () => {
      expect(evaluateExpression('客户 + "：" + 等级', { 客户: '广州移动', 等级: '金牌' })).toBe('广州移动：金牌');
      expect(evaluateCondition('name = "Zoë 🚀"', { name: 'Zoë 🚀' })).toBe(true);
      expect(evaluateExpression('string length("🚀")', {})).toBe(1);
    });

    it.each(['', '   ', '=', 'a +', 'foo(', '"unterminated', '1 + * 2', '\u0000', 'if then else'])('refuses %j with an ExpressionError, never a crash', (expression) => {
      expect(checkExpression(expression)).not.toBeNull();
      expect(() => evaluateExpression(expression, {})).toThrow(ExpressionError);
    });

    it('treats a missing variable in a condition as false, and a non-boolean as an error', () => {
      expect(evaluateCondition('missing > 3', {})).toBe(false);
      expect(() => evaluateCondition('"yes"', {})).toThrow(/not a boolean/);
    });
  });
});
