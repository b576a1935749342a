// Round-trip properties over random values of the value model (seeded, so failures reproduce):
// plain decoding gives the documented JS mapping of the input, exact decoding re-encodes to the
// same bytes, and the "simulate remote" round trip equals plain decoding.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { ErrTimeout, TerminateReasonNormal } from '../src/gen/errors.js';
import { Event } from '../src/gen/event.js';
import { PID } from '../src/gen/pid.js';
import { ProcessID } from '../src/gen/processid.js';
import { Alias, Ref } from '../src/gen/ref.js';
import { EdfDecoder, EdfEncoder, Go, GoTime, createRegistry, roundTrip, type EdfType } from '../src/net/index.js';
import { hex } from './edf.fixtures.js';
import { rng } from './seeded_rng.js';

/** mulberry32: small, fast, seedable. */

const registry = createRegistry();
class Rec {
  n: unknown = 0;
  s = '';
  tags: unknown = null;
  who: unknown = null;
  any: unknown = null;
  when: unknown = null;
}
registry.register({
  name: '#example.com/rt/Rec',
  class: Rec,
  fields: { n: Go.int32, s: Go.string, tags: Go.slice(Go.atom), who: Go.pid, any: Go.any, when: Go.time },
});

type Pair = [input: unknown, plain: unknown];

function gen(r: () => number, depth: number): Pair {
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const str = (max: number): string => {
    const alphabet = ['a', 'b', 'z', ' ', 'é', '世', '🌍', '\u0000', '"'];
    let s = '';
    const n = int(0, max);
    for (let i = 0; i < n; i++) s += alphabet[int(0, alphabet.length - 1)];
    return s;
  };
  const big64 = (): bigint => (BigInt(int(0, 0xffffffff)) << 32n) | BigInt(int(0, 0xffffffff));
  const plain64 = (v: bigint): number | bigint => (v >= -(2n ** 53n) + 1n && v <= 2n ** 53n - 1n ? Number(v) : v);
  const choice = int(0, depth > 0 ? 26 : 19);
  switch (choice) {
    case 0: {
      const v = [-0, Infinity, -Infinity, NaN, 2 ** 60, -(2 ** 70), Number.MAX_SAFE_INTEGER, 0.1][int(0, 7)]!;
      return [v, v];
    }
    case 1: {
      const v = (r() - 0.5) * 1e6;
      return [v, v];
    }
    case 2: {
      const s = str(12);
      return [s, s];
    }
    case 3: {
      const b = r() < 0.5;
      return [b, b];
    }
    case 4:
      return [null, null];
    case 5: {
      const v = big64() - 2n ** 63n; // int64 range
      return [v, plain64(v)];
    }
    case 6: {
      const v = 2n ** 63n + (big64() >> 1n); // only uint64 can hold it
      return [v, v];
    }
    case 7: {
      const kinds: [EdfType, number, number][] = [
        [Go.int8, -128, 127],
        [Go.int16, -32768, 32767],
        [Go.int32, -2147483648, 2147483647],
        [Go.uint8, 0, 255],
        [Go.uint16, 0, 65535],
        [Go.uint32, 0, 4294967295],
      ];
      const [t, lo, hi] = kinds[int(0, kinds.length - 1)]!;
      const v = int(lo, hi);
      return [t.of(r() < 0.3 ? BigInt(v) : v), v];
    }
    case 8: {
      const t = [Go.int, Go.int64][int(0, 1)]!;
      const v = big64() - 2n ** 63n;
      return [t.of(v), plain64(v)];
    }
    case 9: {
      const t = [Go.uint, Go.uint64][int(0, 1)]!;
      const v = big64();
      return [t.of(v), plain64(v)];
    }
    case 10: {
      const v = (r() - 0.5) * 1000;
      return [Go.float32.of(v), Math.fround(v)];
    }
    case 11: {
      const v = int(-100, 100);
      return [Go.float64.of(v), v];
    }
    case 12: {
      const s = str(8);
      return [Go.atom.of(s), s];
    }
    case 13: {
      const p = new PID(str(6), int(0, 2 ** 40), int(0, 2 ** 31));
      return [p, new PID(p.node, p.id, p.creation)];
    }
    case 14: {
      const x = [
        new ProcessID(str(5), str(5)),
        new Event(str(5), str(5)),
        new Ref(str(4), int(0, 1e9), [int(0, 1e9), 7, 9]),
        new Alias('', 1, [1, 2, 3]),
      ][int(0, 3)]!;
      return [x, x];
    }
    case 15: {
      const d = new Date(int(-1e13, 1e13));
      return [d, new Date(d.getTime())];
    }
    case 16: {
      const e = [new Error(str(10)), ErrTimeout, TerminateReasonNormal, ErrTimeout.with('detail')][int(0, 3)]!;
      return [
        e,
        e === ErrTimeout || e.message.startsWith('timed out')
          ? ErrTimeout
          : e === TerminateReasonNormal
            ? e
            : new Error(e.message),
      ];
    }
    case 17: {
      const b = new Uint8Array(int(0, 20)).map(() => int(0, 255));
      return [r() < 0.5 ? Buffer.from(b) : b, Uint8Array.from(b)];
    }
    case 18: {
      const g = new GoTime(BigInt(int(-1e10, 1e10)), int(0, 999_999_999), null);
      return [g, g.toDate()];
    }
    case 19: {
      const v = int(-1e9, 1e9);
      return [v, v];
    }
    case 20: {
      const n = int(0, 4);
      const a: Pair[] = Array.from({ length: n }, () => gen(r, depth - 1));
      return [a.map((p) => p[0]), a.map((p) => p[1])];
    }
    case 21: {
      const n = int(0, 4);
      const inp = new Map<unknown, unknown>();
      const out = new Map<unknown, unknown>();
      for (let i = 0; i < n; i++) {
        const k = str(4);
        const [vi, vo] = gen(r, depth - 1);
        inp.set(k, vi);
        out.set(k, vo);
      }
      return [inp, out];
    }
    case 22: {
      const n = int(0, 4);
      const inp: Record<string, unknown> = {};
      const out = new Map<unknown, unknown>();
      for (let i = 0; i < n; i++) {
        const k = `k${str(3)}`;
        const [vi, vo] = gen(r, depth - 1);
        inp[k] = vi;
        out.set(k, vo);
      }
      return [inp, out];
    }
    case 23: {
      const nil = r() < 0.2;
      const a = Array.from({ length: int(0, 5) }, () => int(-1000, 1000));
      return [Go.slice(Go.int16).of(nil ? null : a), nil ? null : a];
    }
    case 24: {
      const m = new Map<number, string[]>();
      for (let i = int(0, 3); i > 0; i--) m.set(int(0, 50), [str(3)]);
      return [Go.map(Go.uint8, Go.slice(Go.string)).of(m), new Map(m)];
    }
    case 25: {
      const a = [int(0, 255), int(0, 255), int(0, 255)];
      return [Go.array(3, Go.uint8).of(a), a];
    }
    default: {
      const [ai, ao] = gen(r, depth - 1);
      const tags = Array.from({ length: int(0, 3) }, () => str(4));
      const who = new PID(str(3), int(1, 5000), 1);
      const when = new Date(int(0, 2e12));
      const inp = Object.assign(new Rec(), { n: int(-5, 5), s: str(5), tags, who, any: ai, when });
      const out = Object.assign(new Rec(), {
        n: inp.n,
        s: inp.s,
        tags,
        who: new PID(who.node, who.id, who.creation),
        any: ao,
        when: new Date(when.getTime()),
      });
      return [inp, out];
    }
  }
}

test('random values: plain decode gives the JS mapping, exact decode re-encodes to the same bytes', () => {
  const r = rng(0x5eed);
  const enc = new EdfEncoder({ registry });
  const plain = new EdfDecoder({ registry });
  const exact = new EdfDecoder({ registry, exact: true });
  let checked = 0;
  for (let i = 0; i < 5000; i++) {
    const [input, want] = gen(r, 3);
    if (input === null) continue; // top-level nil is not encodable (Go refuses it too)
    const bytes = enc.encode(input);
    assert.deepStrictEqual(plain.decode(bytes), want, `case ${i}: ${hex(bytes)}`);
    const again = enc.encode(exact.decode(bytes));
    assert.equal(hex(again), hex(bytes), `case ${i}: exact round trip`);
    checked++;
  }
  assert.ok(checked > 4500);
});

function containsRec(v: unknown): boolean {
  if (v instanceof Rec) return true;
  if (Array.isArray(v)) return v.some(containsRec);
  if (v instanceof Map) return [...v.values()].some(containsRec);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
    return Object.values(v).some(containsRec);
  return false;
}

test('roundTrip (simulate remote) equals encode + plain decode', () => {
  const r = rng(42);
  for (let i = 0; i < 1000; i++) {
    const [input, want] = gen(r, 2);
    if (input === null) continue;
    // The default registry does not know Rec: it must fail loudly, naming the class.
    if (input instanceof Rec) {
      assert.throws(() => roundTrip(input), { code: 'ERR_EDF_UNREGISTERED' });
      continue;
    }
    if (containsRec(input)) continue;
    assert.deepStrictEqual(roundTrip(input), want, `case ${i}`);
    assert.deepStrictEqual(roundTrip(input, registry), want);
  }
});

test('the same value always encodes to the same bytes (encoder state does not leak)', () => {
  const r = rng(7);
  const enc = new EdfEncoder({ registry });
  const values: unknown[] = [];
  for (let i = 0; i < 300; i++) {
    const [v] = gen(r, 3);
    if (v !== null) values.push(v);
  }
  const first = values.map((v) => hex(enc.encode(v)));
  const second = values.map((v) => hex(new EdfEncoder({ registry }).encode(v)));
  assert.deepStrictEqual(second, first);
});
