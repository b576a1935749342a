// Limits: each one is an option with its own error code, applied on encode and decode; lying
// lengths and counts are refused before anything is allocated; nesting is bounded (cyclic values,
// hostile descriptors).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import {
  DEFAULT_LIMITS,
  EdfDecoder,
  EdfEncoder,
  EdfError,
  Go,
  asAtom,
  createRegistry,
  resolveLimits,
} from '../src/net/index.js';
import { unhex } from './edf.fixtures.js';

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof EdfError, String(e));
    return e.code;
  }
  return 'no error';
}

function decodeErr(bytes: Uint8Array, limits?: Parameters<typeof resolveLimits>[0]): EdfError {
  try {
    new EdfDecoder({ limits }).decode(bytes);
  } catch (e) {
    assert.ok(e instanceof EdfError, String(e));
    return e;
  }
  assert.fail('expected a decode error');
}

test('defaults are documented protocol maxima plus safe bounds', () => {
  assert.deepStrictEqual(
    { ...DEFAULT_LIMITS },
    {
      maxMessageSize: 64 * 1024 * 1024,
      maxDepth: 100,
      maxAtomBytes: 255,
      maxStringBytes: 65535,
      maxErrorBytes: 32767,
      maxBinaryBytes: 0xffffffff,
      maxZeroSizeElements: 65536,
    },
  );
  assert.throws(() => resolveLimits({ maxAtomBytes: 256 }), { code: 'ERR_EDF_ENCODE' });
  assert.throws(() => resolveLimits({ maxDepth: -1 }), { code: 'ERR_EDF_ENCODE' });
  assert.throws(() => resolveLimits({ bogus: 1 } as never), { code: 'ERR_EDF_ENCODE' });
  assert.equal(resolveLimits({ maxDepth: 5 }).maxDepth, 5);
});

test('atom, string, error text and binary lengths on encode', () => {
  const enc = new EdfEncoder();
  assert.equal(
    code(() => enc.encode(asAtom('a'.repeat(256)))),
    'ERR_EDF_ATOM_TOO_LONG',
  );
  assert.equal(
    code(() => enc.encode(asAtom('é'.repeat(128)))),
    'ERR_EDF_ATOM_TOO_LONG',
    '256 UTF-8 bytes',
  );
  assert.equal(
    code(() => enc.encode(asAtom('é'.repeat(127)))),
    'no error',
  );
  assert.equal(
    code(() => enc.encode('a'.repeat(65536))),
    'ERR_EDF_STRING_TOO_LONG',
  );
  assert.equal(
    code(() => enc.encode('世'.repeat(21846))),
    'ERR_EDF_STRING_TOO_LONG',
    '65538 UTF-8 bytes',
  );
  assert.equal(
    code(() => enc.encode('a'.repeat(65535))),
    'no error',
  );
  assert.equal(
    code(() => enc.encode(new Error('e'.repeat(32768)))),
    'ERR_EDF_ERROR_TOO_LONG',
  );
  const small = new EdfEncoder({
    limits: { maxBinaryBytes: 10, maxStringBytes: 3, maxAtomBytes: 2, maxErrorBytes: 1 },
  });
  assert.equal(
    code(() => small.encode(new Uint8Array(11))),
    'ERR_EDF_BINARY_TOO_LONG',
  );
  assert.equal(
    code(() => small.encode('abcd')),
    'ERR_EDF_STRING_TOO_LONG',
  );
  assert.equal(
    code(() => small.encode(asAtom('abc'))),
    'ERR_EDF_ATOM_TOO_LONG',
  );
  assert.equal(
    code(() => small.encode(new Error('ab'))),
    'ERR_EDF_ERROR_TOO_LONG',
  );
  const e = (() => {
    try {
      small.encode(new Uint8Array(11));
    } catch (x) {
      return x as EdfError;
    }
  })();
  assert.equal(e?.limit, 'maxBinaryBytes');
});

test('atom, string, error text and binary lengths on decode', () => {
  const lim = { maxAtomBytes: 2, maxStringBytes: 2, maxErrorBytes: 2, maxBinaryBytes: 2 };
  assert.equal(decodeErr(unhex('8c0003616263'), lim).code, 'ERR_EDF_ATOM_TOO_LONG');
  assert.equal(decodeErr(unhex('8c0100')).code, 'ERR_EDF_CACHE', 'a u16 above 255 is an atom cache id');
  assert.equal(decodeErr(unhex('8d0003616263'), lim).code, 'ERR_EDF_STRING_TOO_LONG');
  assert.equal(decodeErr(unhex('9c0003616263'), lim).code, 'ERR_EDF_ERROR_TOO_LONG');
  assert.equal(decodeErr(unhex('8e00000003616263'), lim).code, 'ERR_EDF_BINARY_TOO_LONG');
});

test('message size: encode stops growing at maxMessageSize, decode refuses larger inputs', () => {
  const enc = new EdfEncoder({ limits: { maxMessageSize: 100 } });
  assert.equal(
    code(() => enc.encode(new Uint8Array(200))),
    'ERR_EDF_MESSAGE_TOO_LARGE',
  );
  assert.equal(
    code(() => enc.encode(['x'.repeat(60), 'y'.repeat(60)])),
    'ERR_EDF_MESSAGE_TOO_LARGE',
  );
  assert.equal(
    code(() => enc.encode('x'.repeat(90))),
    'no error',
  );
  const big = new EdfEncoder().encode(new Uint8Array(200));
  assert.equal(decodeErr(big, { maxMessageSize: 100 }).code, 'ERR_EDF_MESSAGE_TOO_LARGE');
});

test('capacity: a writer that grew for a large message keeps at most 1 MiB once rewound or detached', () => {
  const enc = new EdfEncoder();
  enc.encode(new Uint8Array(4 * 1024 * 1024));
  assert.ok(enc.buf.length > 4 * 1024 * 1024, 'it grew for the message');
  enc.reset();
  assert.equal(enc.buf.length, 1024 * 1024);
  enc.encode(new Uint8Array(3 * 1024 * 1024));
  enc.detach();
  assert.equal(enc.buf.length, 1024 * 1024);
  // A small buffer stays as it is.
  const small = new EdfEncoder();
  small.encode('x');
  const cap = small.buf.length;
  small.reset();
  small.detach();
  assert.equal(small.buf.length, cap);
});

test('lying lengths and counts are refused before allocating', () => {
  const cases: [string, string][] = [
    ['8e ffffffff 00', 'binary of 4 GiB announced'],
    ['8d ffff 61', 'string longer than the input'],
    ['8200029d91 9d ffffffff 01', '[]bool with 2^32-1 elements'],
    ['8200039f8d91 9f ffffffff 0001 61 01', 'map with 2^32-1 entries'],
    ['8200029d8d 9d 00010000 0000', '[]string: 65536 elements need 131072 bytes'],
    ['820006 9e ffffffff 96', '[4294967295]int in a descriptor'],
    ['82ffff 9d', 'descriptor longer than the input'],
    ['8300ff 23', 'type name longer than the input'],
    ['af ff 01', 'time body longer than the input'],
  ];
  // No clock here (a loaded machine stalls any step for 50 ms): a decoder that trusted a count
  // would allocate for it (seen below), throw a RangeError (not ERR_EDF_DECODE), or loop for
  // minutes, and each element read consumes input, so a loop over tiny inputs stops at their end.
  for (const [h, what] of cases) {
    const before = process.memoryUsage().arrayBuffers;
    const e = decodeErr(unhex(h.replace(/ /g, '')));
    assert.equal(e.code, 'ERR_EDF_DECODE', what);
    assert.ok(e.offset >= 0, what);
    assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20, `${what}: no large allocation`);
  }
});

test('zero-size elements draw on maxZeroSizeElements', () => {
  const r = createRegistry({ framework: false });
  const Empty = r.register({ name: '#example.com/z/Empty', fields: {} });
  const name = Buffer.from(Empty.regName);
  const nameHex = name.length.toString(16).padStart(4, '0') + name.toString('hex');
  // []Empty with 2^32-1 elements in 0 bytes: Go would loop; we refuse after the budget.
  const desc = '9d83' + nameHex;
  const lying = unhex('82' + (desc.length / 2).toString(16).padStart(4, '0') + desc + '9dffffffff');
  const d = new EdfDecoder({ registry: r });
  assert.throws(
    () => d.decode(lying),
    (e: unknown) =>
      e instanceof EdfError && e.code === 'ERR_EDF_ZERO_SIZE_ELEMENTS' && e.limit === 'maxZeroSizeElements',
  );
  // [N][0]int nested arrays multiply: refused too.
  assert.throws(() => d.decode(unhex('8200109e000100009e000100009e0000000096')), {
    code: 'ERR_EDF_ZERO_SIZE_ELEMENTS',
  });
  // A reasonable number of empty elements is fine.
  const ok = new EdfEncoder({ registry: r }).encode(Go.slice(Empty).of([{}, {}, {}]));
  assert.equal((d.decode(ok) as unknown[]).length, 3);
});

test('nesting depth: cyclic values and deep inputs fail with ERR_EDF_TOO_DEEP, never a stack overflow', () => {
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  const e = (() => {
    try {
      new EdfEncoder().encode(cyclic);
    } catch (x) {
      return x as EdfError;
    }
  })();
  assert.equal(e?.code, 'ERR_EDF_TOO_DEEP');
  assert.ok(e!.path.startsWith('value[0][0][0]'));
  const obj: Record<string, unknown> = {};
  obj.self = obj;
  assert.equal(
    code(() => new EdfEncoder().encode(obj)),
    'ERR_EDF_TOO_DEEP',
  );

  // 0x84 0x84 ... (any-in-any) and nested []any descriptors.
  assert.equal(decodeErr(unhex('84'.repeat(100000) + '9101')).code, 'ERR_EDF_TOO_DEEP');
  assert.equal(decodeErr(unhex('8200029d849d00000001'.repeat(5000) + 'ff')).code, 'ERR_EDF_TOO_DEEP');
  // A descriptor nesting slices 60000 deep.
  assert.equal(decodeErr(unhex('82ea60' + '9d'.repeat(60000))).code, 'ERR_EDF_TOO_DEEP');
  // Within the limit it works, and the limit is configurable.
  assert.equal(new EdfDecoder().decode(unhex('84'.repeat(50) + '9101')), true);
  assert.equal(decodeErr(unhex('84'.repeat(5) + '9101'), { maxDepth: 3 }).code, 'ERR_EDF_TOO_DEEP');
  let deep: unknown = 1;
  for (let i = 0; i < 20; i++) deep = [deep];
  assert.equal(
    code(() => new EdfEncoder({ limits: { maxDepth: 10 } }).encode(deep)),
    'ERR_EDF_TOO_DEEP',
  );
  assert.equal(
    code(() => new EdfEncoder().encode(deep)),
    'no error',
  );
});

test('descriptors longer than 65535 bytes are refused', () => {
  const r = createRegistry({ framework: false });
  const Long = r.register({ name: '#example.com/' + 'x'.repeat(4000) + '/T', fields: {} });
  let t = Go.map(Long, Long);
  for (let i = 0; i < 14; i++) t = Go.map(Long, t);
  assert.equal(t.desc.length, 16 * (3 + Long.regName.length) + 15);
  assert.throws(() => Go.map(Long, t), { code: 'ERR_EDF_DESCRIPTOR_TOO_LONG' });
  // A short descriptor whose type-cache ids expand past the limit decodes, but cannot be re-sent.
  const desc = '9f831388'.repeat(16) + '831388';
  const wire = unhex('82' + (desc.length / 2).toString(16).padStart(4, '0') + desc + 'ff');
  const typeCache = new Map([[5000, Long.regName]]);
  assert.equal(new EdfDecoder({ registry: r, typeCache }).decode(wire), null);
  const exact = new EdfDecoder({ registry: r, typeCache, exact: true }).decode(wire);
  assert.throws(() => new EdfEncoder({ registry: r }).encode(exact), { code: 'ERR_EDF_DESCRIPTOR_TOO_LONG' });
  assert.equal(
    new EdfEncoder({ registry: r, typeCache: new Map([[Long.regName, 5000]]) }).encode(exact).length,
    wire.length,
  );
});
