import t from 'tap';
import { containsBigint, parseJson, stringifyJson, JsonSyntaxError } from '../../src/json/lossless.js';

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

t.test('bigints anywhere are written as digits, indented like JSON.stringify', async (t) => {
  const big = 18446744073709551615n;
  const cases: Array<[string, unknown, string]> = [
    ['top level', big, '18446744073709551615'],
    ['negative', { v: -9223372036854775808n }, '{\n  "v": -9223372036854775808\n}'],
    ['in an array next to safe numbers', { a: [1, big, { b: big }] }, '{\n  "a": [\n    1,\n    18446744073709551615,\n    {\n      "b": 18446744073709551615\n    }\n  ]\n}'],
    // Strings that look like numbers, or like a marker without the process's secret, stay strings.
    ['digit strings stay quoted', { s: '18446744073709551615', n: big }, '{\n  "s": "18446744073709551615",\n  "n": 18446744073709551615\n}'],
    ['marker-like strings stay strings', { s: 'bulwark-bigint-0000:12', n: 1n << 64n }, '{\n  "s": "bulwark-bigint-0000:12",\n  "n": 18446744073709551616\n}'],
  ];
  for (const [name, value, expected] of cases) t.equal(stringifyJson(value), expected, name);
  t.equal(stringifyJson({ u: undefined, f: () => 1, arr: [undefined] }, 0), '{"arr":[null]}', 'undefined and functions as JSON.stringify drops them');
});

t.test('a document that cannot be serialised still throws', async (t) => {
  const loop: Record<string, unknown> = { big: 1n };
  loop.self = loop;
  t.throws(() => stringifyJson(loop), TypeError, 'a cycle is an error, with or without bigints');
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
    ['{"__proto__":1,"__proto__":2}', /duplicate key "__proto__"/],
    ['{"constructor":1,"constructor":2}', /duplicate key "constructor"/],
    ['[tru]', /unexpected 't'/],
    ['[nul]', /unexpected 'n'/],
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

t.test('keys that name Object.prototype members are own fields like any other', async (t) => {
  const parsed = parseJson('{"constructor":1,"hasOwnProperty":[true,false,null],"toString":"x","valueOf":{}}') as Record<string, unknown>;
  t.same(Object.keys(parsed), ['constructor', 'hasOwnProperty', 'toString', 'valueOf']);
  t.same(Object.entries(parsed), [['constructor', 1], ['hasOwnProperty', [true, false, null]], ['toString', 'x'], ['valueOf', {}]]);
  t.equal(Object.getPrototypeOf(parsed), Object.prototype);
});

t.test('10,000 levels of nesting fail cleanly, not with a stack overflow', async (t) => {
  t.throws(() => parseJson('['.repeat(10000) + ']'.repeat(10000)), /nesting deeper/);
});

t.test('containsBigint finds a bigint at any depth, and only then', async (t) => {
  const cases: Array<[string, unknown, boolean]> = [
    ['plain config', { a: [1, { b: 'c' }], d: null }, false],
    ['top level', 5n, true],
    ['deep in an array', { a: [1, [2, [3n]]] }, true],
    ['object value', { rlimits: [{ hard: 18446744073709551615n }] }, true],
    ['a digit string is not one', { v: '18446744073709551615' }, false],
    ['parsed from text', parseJson('{"x":{"y":[9007199254740993]}}'), true],
  ];
  for (const [name, value, expected] of cases) t.equal(containsBigint(value), expected, name);
});
