import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GoJsonSyntaxError, goFormat, goQuote, parseGoJson } from './go.ts';

describe('parseGoJson', () => {
  // Messages of Go's encoding/json scanner for the same input.
  const syntax: Array<[string, string]> = [
    ['', 'unexpected end of JSON input'],
    ['{"a":', 'unexpected end of JSON input'],
    ['x', "invalid character 'x' looking for beginning of value"],
    ['{a:1}', "invalid character 'a' looking for beginning of object key string"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
    ['[1 2]', "invalid character '2' after array element"],
    ['{} {}', "invalid character '{' after top-level value"],
    ['tru', 'unexpected end of JSON input'],
    ['trux', "invalid character 'x' in literal true (expecting 'e')"],
    ['-x', "invalid character 'x' in numeric literal"],
    ['1.x', "invalid character 'x' after decimal point in numeric literal"],
    ['1ex', "invalid character 'x' in exponent of numeric literal"],
    ['"a\\x"', "invalid character 'x' in string escape code"],
    ['"\\u12z4"', "invalid character 'z' in \\u hexadecimal character escape"],
    ['"a\nb"', "invalid character '\\n' in string literal"],
    ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
  ];
  for (const [input, message] of syntax) {
    test(`reports ${JSON.stringify(input)} as Go does`, () => {
      assert.throws(() => parseGoJson(input), (e: unknown) => e instanceof GoJsonSyntaxError && e.message === message);
    });
  }

  test('parses valid JSON like JSON.parse', () => {
    assert.deepEqual(parseGoJson(' {"a":[1,2.5,-3e2,true,false,null,"\\u00e9"]} '), { a: [1, 2.5, -300, true, false, null, 'é'] });
  });
});

describe('goFormat', () => {
  test('prints values as fmt %v prints decoded JSON', () => {
    assert.equal(goFormat({ port: 80, name: 'a', list: [1, 'b'], m: {} }), 'map[list:[1 b] m:map[] name:a port:80]');
    assert.equal(goFormat(null), '<nil>');
    assert.equal(goFormat(1.5), '1.5');
    assert.equal(goFormat(1e21), '1e+21');
    assert.equal(goFormat(0.00001), '1e-05');
  });

  test('goQuote quotes as %q', () => {
    assert.equal(goQuote('TCP'), '"TCP"');
    assert.equal(goQuote('a"b\\c\n'), '"a\\"b\\\\c\\n"');
  });
});
