// The ergo-ts JS-value extension of EDF at the codec level: the byte layout of each tag, the
// Go mapping left unchanged when the extension is off, the handshake flag bit that announces it,
// and decoding of hostile input (bad sign, lying counts, deep nesting, `__proto__` keys).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { EdfDecoder, EdfEncoder, EdfError, JsTag, NetworkFlags, decode, encode } from '../src/net/index.js';
import { hex, unhex } from './edf.fixtures.js';

const js = new EdfEncoder({ jsValues: true });

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof EdfError, `expected EdfError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected an error');
}

test('byte layout of each JS-value tag', () => {
  // {a: undefined}: object, 1 key, "a", undefined
  assert.equal(hex(js.encode({ a: undefined })), 'e1 00000001 0001 61 e0'.replace(/ /g, ''));
  assert.equal(hex(js.encode(Object.assign(Object.create(null) as object, {}))), 'e600000000');
  assert.equal(hex(js.encode(-258n)), 'e2 01 00000002 0102'.replace(/ /g, ''));
  assert.equal(hex(js.encode(0n)), 'e2 00 00000001 00'.replace(/ /g, ''));
  assert.equal(hex(js.encode(new Set([true]))), 'e3 00000001 9101'.replace(/ /g, ''));
  assert.equal(hex(js.encode(new Date(0))), 'e4 0000000000000000'.replace(/ /g, ''));
  assert.ok(Number.isNaN((decode(js.encode(new Date(NaN))) as Date).getTime()));
  const long = 'é'.repeat(40_000);
  const b = js.encode(long);
  assert.equal(b[0], JsTag.String);
  assert.equal(hex(b.subarray(1, 5)), (80_000).toString(16).padStart(8, '0'));
  assert.equal(decode(b), long);
  // Strings up to 21845 units keep the EDF string form.
  assert.equal(js.encode('x'.repeat(21_845))[0], 0x8d);
});

test('without the extension the Go mapping is unchanged', () => {
  const plain = new EdfEncoder();
  // map[string]any {"a": nil}, int64 5, []any{nil}
  assert.equal(hex(plain.encode({ a: undefined })), '8200039f8d849f000000010001 61 ff'.replace(/ /g, ''));
  assert.equal(hex(plain.encode(5n)), '950000000000000005');
  assert.equal(hex(plain.encode([undefined])), hex(encode([null])));
  assert.equal(
    codeOf(() => plain.encode(new Set())),
    'ERR_EDF_UNREGISTERED',
  );
  assert.equal(
    codeOf(() => plain.encode(2n ** 64n)),
    'ERR_EDF_RANGE',
  );
  assert.ok(decode(plain.encode({ a: 1 })) instanceof Map);
  // Registered framework types and builtins keep their EDF form with the extension on.
  assert.equal(hex(js.encode(new Map([['a', 1]]))), hex(plain.encode(new Map([['a', 1]]))));
  assert.equal(hex(js.encode([1, 'x'])), hex(plain.encode([1, 'x'])));
  assert.equal(hex(js.encode(new Uint8Array([1]))), hex(plain.encode(new Uint8Array([1]))));
});

test('the handshake flag: bit 56, ignored by Go, independent of enable', () => {
  const goDefault = encode(NetworkFlags.defaults());
  assert.ok(hex(goDefault).endsWith('000000080000000000000067'), hex(goDefault));
  const ours = Object.assign(NetworkFlags.defaults(), { jsValues: true });
  assert.ok(hex(encode(ours)).endsWith('000000080100000000000067'));
  const back = decode(encode(ours)) as NetworkFlags;
  assert.equal(back.jsValues, true);
  assert.equal(back.enableImportantDelivery, true);
  assert.equal((decode(goDefault) as NetworkFlags).jsValues, undefined);
  const off = Object.assign(new NetworkFlags(), { jsValues: true });
  assert.equal((decode(encode(off)) as NetworkFlags).jsValues, true);
});

test('hostile input: bad sign, lying counts, huge bigints, deep nesting, __proto__ keys', () => {
  const d = new EdfDecoder();
  assert.equal(
    codeOf(() => d.decode(unhex('e2 02 00000001 01'.replace(/ /g, '')))),
    'ERR_EDF_DECODE',
  );
  assert.equal(
    codeOf(() => d.decode(unhex('e2 00 00100000'.replace(/ /g, '')))),
    'ERR_EDF_DECODE',
  );
  assert.equal(
    codeOf(() => d.decode(unhex('e1 ffffffff 0001 61'.replace(/ /g, '')))),
    'ERR_EDF_DECODE',
  );
  assert.equal(
    codeOf(() => d.decode(unhex('e3 7fffffff e0'.replace(/ /g, '')))),
    'ERR_EDF_DECODE',
  );
  assert.equal(
    codeOf(() => d.decode(unhex('e5 00000010 6161'.replace(/ /g, '')))),
    'ERR_EDF_DECODE',
  );
  assert.equal(
    codeOf(() => d.decode(unhex('e7'))),
    'ERR_EDF_DECODE',
  );
  let deep: unknown = 1;
  for (let i = 0; i < 150; i++) deep = { d: deep };
  assert.equal(
    codeOf(() => js.encode(deep)),
    'ERR_EDF_TOO_DEEP',
  );
  const nested = '[e1 00000001 0001 64]'.replace(/[[\] ]/g, '').repeat(150) + '95' + '00'.repeat(8);
  assert.equal(
    codeOf(() => d.decode(unhex(nested))),
    'ERR_EDF_TOO_DEEP',
  );
  const polluted = decode(js.encode(JSON.parse('{"__proto__": {"x": 1}}'))) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(polluted), Object.prototype);
  assert.deepEqual(Object.keys(polluted), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).x, undefined);
  // Encode errors name the path.
  assert.throws(
    () => js.encode({ a: { f: () => 1 } }),
    (e: unknown) => e instanceof EdfError && /a\.f/.test(e.message),
  );
  assert.throws(
    () => js.encode(new Set([1, Symbol('s')])),
    (e: unknown) => e instanceof EdfError && /\[1\]/.test(e.message),
  );
});
