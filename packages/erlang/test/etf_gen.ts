// Seeded random terms for the round-trip and fuzz tests of the ETF codec.

import {
  ErlBitString,
  ErlExport,
  ErlFloat,
  ErlFun,
  ErlImproperList,
  ErlMap,
  ErlPid,
  ErlPort,
  ErlRef,
  ErlTuple,
  atom,
  type Term,
} from '../src/index.js';

/** A small, fast, seeded PRNG (mulberry32) returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ATOMS = ['ok', 'error', 'undefined', 'nil', '', 'привет_λ', 'a b', "it's", 'x'.repeat(255), 'ü'.repeat(200)];
const NODES = ['e1@localhost', 'ts@127.0.0.1', 'nonode@nohost'];

/** A random term in the canonical form a decoder produces (so it must round-trip exactly). */
export function randomTerm(r: () => number, depth = 0): Term {
  const int = (n: number): number => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const leaf = depth >= 4 || r() < 0.45;
  if (leaf) {
    switch (int(16)) {
      case 0:
        return int(256);
      case 1:
        return int(2 ** 32) - 2 ** 31;
      case 2:
        return (r() < 0.5 ? -1 : 1) * Math.floor(r() * Number.MAX_SAFE_INTEGER);
      case 3: {
        const v = BigInt(Number.MAX_SAFE_INTEGER) + 1n + BigInt(int(1e9)) * 2n ** BigInt(int(200));
        return r() < 0.5 ? v : -v;
      }
      case 4: {
        const f = (r() - 0.5) * 2 ** int(50);
        return Number.isInteger(f) ? f + 0.5 : f;
      }
      case 5:
        return new ErlFloat(pick([0, -0, 1, -7, 1e300, 2 ** 60]));
      case 6:
        return atom(pick(ATOMS));
      case 7:
        return r() < 0.5;
      case 8:
        return Uint8Array.from({ length: int(40) }, () => int(256));
      case 9: {
        const bits = 1 + int(7);
        const bytes = Uint8Array.from({ length: 1 + int(5) }, () => int(256));
        bytes[bytes.length - 1] = bytes[bytes.length - 1]! & ((0xff << (8 - bits)) & 0xff);
        return new ErlBitString(bytes, bits);
      }
      case 10:
        return new ErlPid(pick(NODES), int(2 ** 32), int(2 ** 32), int(2 ** 32));
      case 11:
        return new ErlRef(
          pick(NODES),
          int(2 ** 32),
          Array.from({ length: 1 + int(5) }, () => int(2 ** 32)),
        );
      case 12:
        return new ErlPort(pick(NODES), r() < 0.5 ? BigInt(int(2 ** 32)) : 2n ** 40n + BigInt(int(1e9)), int(2 ** 32));
      case 13:
        return new ErlExport(pick(ATOMS), pick(ATOMS), int(256));
      case 14:
        return Array.from({ length: int(20) }, () => int(256));
      default:
        return [];
    }
  }
  const n = int(6);
  const kids = (): Term[] => Array.from({ length: n }, () => randomTerm(r, depth + 1));
  switch (int(6)) {
    case 0:
      return new ErlTuple(kids());
    case 1: {
      const ks = kids();
      // a list whose elements are all bytes would come back from STRING_EXT the same way
      return ks.length === 0 ? [] : ks;
    }
    case 2: {
      let tail = randomTerm(r, depth + 1);
      while (Array.isArray(tail) || tail instanceof ErlImproperList) tail = atom('tail');
      return new ErlImproperList([randomTerm(r, depth + 1), ...kids()], tail);
    }
    case 3: {
      const m = new ErlMap();
      for (let i = 0; i < n; i++) m.set(randomTerm(r, depth + 1), randomTerm(r, depth + 1));
      return m;
    }
    case 4:
      return new ErlFun(
        int(256),
        Uint8Array.from({ length: 16 }, () => int(256)),
        int(1000),
        pick(ATOMS),
        int(1000),
        int(2 ** 31),
        new ErlPid(pick(NODES), int(2 ** 15), 0, int(2 ** 32)),
        kids(),
      );
    default:
      return new ErlTuple([
        atom('$gen_call'),
        new ErlTuple([
          randomTerm(r, depth + 1),
          new ErlImproperList(
            [atom('alias')],
            new ErlRef(pick(NODES), int(2 ** 32), [int(2 ** 32), int(2 ** 32), int(2 ** 32)]),
          ),
        ]),
        randomTerm(r, depth + 1),
      ]);
  }
}
