import t from 'tap';
import { parseJson, stringifyJson, JsonSyntaxError } from '../../src/json/lossless.js';

t.test('uint64 and int64 values survive a round trip digit for digit', async (t) => {
  const text = JSON.stringify({ a: 1 }).replace('1', '18446744073709551615');
  const cases: Array<[string, unknown]> = [
    ['{"hard":18446744073709551615}', 18446744073709551615n],
    ['{"hard":9007199254740993}', 9007199254740993n],
    ['{"hard":-9223372036854775808}', -9223372036854775808n],
    ['{"hard":9007199254740991}', 9007199254740991],
    ['{"hard":1.5}', 1.5],
  ];
  for (const [input, expected] of cases) {
    const parsed = parseJson(input) as { hard: unknown };
    t.equal(parsed.hard, expected, `${input} parses exactly`);
    t.equal(stringifyJson(parsed, 0), input, `${input} writes back unchanged`);
  }
  t.equal(stringifyJson(parseJson(text), 0), '{"a":18446744073709551615}');
});

t.test('unknown fields and their order are kept', async (t) => {
  const input = '{"z":{"x-vendor":[1,{"deep":true}]},"ociVersion":"1.0.2","a":null,"s":"\\u00e9\\n\\"q\\""}';
  t.equal(stringifyJson(parseJson(input), 0), input.replace('\\u00e9', 'é'));
});

t.test('indentation matches JSON.stringify for safe values', async (t) => {
  const value = { a: [1, 2, { b: 'c' }], d: {}, e: [], f: -0, g: 1e21 };
  t.equal(stringifyJson(value), JSON.stringify(value, null, 2));
});

t.test('hostile or broken input is refused with a position', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['{"a":1,"a":2}', /duplicate key "a" at line 1 column 8/],
    ['{"a":1,}', /expected a key/],
    ['[1,2', /expected ',' or '\]', found end of input/],
    ['{"a":1} x', /after the document/],
    ['{"a":"\u0001"}', /control character/],
    ['{"a":01}', /expected ',' or '}'/],
    ['{"a":NaN}', /unexpected 'N'/],
    ['"\\x"', /bad escape/],
    ['[' .repeat(200) + ']'.repeat(200), /nesting deeper than 128/],
    ['', /unexpected end of input/],
  ];
  for (const [input, message] of cases) {
    t.throws(() => parseJson(input), message, JSON.stringify(input.slice(0, 20)));
    t.throws(() => parseJson(input), JsonSyntaxError);
  }
});

t.test('a "__proto__" key is an ordinary field, never a prototype switch', async (t) => {
  const parsed = parseJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
  t.equal(Object.getPrototypeOf(parsed), Object.prototype);
  t.equal(({} as Record<string, unknown>).polluted, undefined);
  t.same(Object.keys(parsed), ['__proto__']);
  t.equal(stringifyJson(parsed, 0), '{"__proto__":{"polluted":true}}');
});

t.test('10,000 levels of nesting fail cleanly, not with a stack overflow', async (t) => {
  t.throws(() => parseJson('['.repeat(10000) + ']'.repeat(10000)), /nesting deeper/);
});
