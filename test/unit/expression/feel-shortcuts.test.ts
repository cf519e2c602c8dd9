import { evaluate, unaryTest } from 'feelin';
import { toJson } from '../../../workflows/expression';
import { shortcutExpression, shortcutUnaryTests } from '../../../workflows/feel-shortcuts';

/**
 * The shortcuts must answer exactly as feelin does wherever they answer at all: each case below is
 * run through both, over values of every type a variable can hold.
 */
const values: unknown[] = ['a', 'b', '', '1', 'gold', 0, 1, 5, 10, 3.5, -2, -1.5, 1000, 4999.99, 5000, 20000, true, false, null, [1], { a: 1 }];

const unaryCases = [
  '"a"', '"a","b"', '"gold", "silver"', '""', '1', '-1', '007', '3.50', '< 10', '<= 5', '> -2', '>= 5', '< -1.5',
  '[1..5]', '(1..5)', ']1..5[', '[1..5)', '[1000..5000)', '[ 1 .. 5 ]', 'not("a")', 'not("a", "b")', 'not(1, 2)', 'not(< 10)',
  'not([1..5])', 'true', 'false', '1, 5, 10', '< 0, > 100', '[1..2], [4..6]',
  // not for the shortcuts: mixed types, names, expressions, escapes — feelin answers
  '"a", 1', 'x', '? > 1', '"a\\"b"', 'null', '< x', 'date("2020-01-01")',
];

const expressionCases = [
  '"gold"', '""', '2', '-3', '4.25', 'true', 'false', 'null', 'tier', 'amount', 'flag', 'missing', 'date', 'not', 'amount + 1',
  'tier = "gold"', 'tier != "gold"', 'tier="gold"', 'amount > 10', 'amount >= 12', 'amount < -1', 'amount <= -1.5', 'amount = 12', 'amount != 12',
  'flag = true', 'flag != false', 'missing > 1', 'amount > "10"', 'tier > "a"', 'date = "today"', 'not = 1', 'amount > 10 and flag',
];
const variableSets: Record<string, unknown>[] = [{ tier: 'gold', amount: 12, flag: true }, { tier: null, amount: -1.5, flag: false }, { tier: 3, amount: 'x', date: 'today' }, {}];

describe('FEEL shortcuts', () => {
  it('answer unary tests as feelin does whenever they answer, and leave the rest to it', () => {
    const disagreements: string[] = [];
    let answered = 0;
    for (const tests of unaryCases) {
      for (const value of values) {
        const shortcut = shortcutUnaryTests(tests, value);
        if (shortcut === undefined) continue;
        answered += 1;
        const feelin = unaryTest(tests, { '?': value }).value === true;
        if (shortcut !== feelin) disagreements.push(`${tests} with ${JSON.stringify(value)}: shortcut ${shortcut}, feelin ${feelin}`);
      }
    }
    expect(disagreements).toEqual([]);
    expect(answered).toBeGreaterThan(250);
  });

  it('never answer for a value of another type than the literals, nor for tests beyond literals', () => {
    expect(shortcutUnaryTests('< 10', '1')).toBeUndefined();
    expect(shortcutUnaryTests('"a"', 1)).toBeUndefined();
    expect(shortcutUnaryTests('not("a")', null)).toBeUndefined();
    for (const tests of ['"a", 1', 'x', '? > 1', '"a\\"b"', 'null', '< x', 'date("2020-01-01")']) expect(shortcutUnaryTests(tests, 1)).toBeUndefined();
  });

  it('give literal and variable-name expressions the value feelin gives', () => {
    const disagreements: string[] = [];
    for (const expression of expressionCases) {
      for (const variables of variableSets) {
        const shortcut = shortcutExpression(expression, variables);
        if (shortcut === undefined) continue;
        const feelin = toJson(evaluate(expression, variables).value);
        if (JSON.stringify(shortcut) !== JSON.stringify(feelin)) disagreements.push(`${expression} with ${JSON.stringify(variables)}: shortcut ${JSON.stringify(shortcut)}, feelin ${JSON.stringify(feelin)}`);
      }
    }
    expect(disagreements).toEqual([]);
    expect(shortcutExpression('missing', {})).toBeUndefined();
    expect(shortcutExpression('date', {})).toBeUndefined();
    expect(shortcutExpression('amount + 1', { amount: 1 })).toBeUndefined();
    // Ordering is numbers' only; a value of another type than the literal is feelin's to answer.
    expect(shortcutExpression('tier > "a"', { tier: 'b' })).toBeUndefined();
    expect(shortcutExpression('amount > 10', { amount: '12' })).toBeUndefined();
    expect(shortcutExpression('amount > 10', { amount: 12 })).toBe(true);
    expect(shortcutExpression('tier = "gold"', { tier: 'gold' })).toBe(true);
  });
});
