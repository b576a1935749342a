// Fuzzing the decoder: 1,000,000 random and mutated inputs under `npm run test:proofs`, the first
// 250,000 of them in CI (@ergo-ts/test-support's proofSize; fixed seeds) (mutations of Go Ergo's vectors,
// splices, lying lengths and counts, random descriptors). Every input must either decode or
// fail with the codec's own EdfError — never another exception, never a slow case, never a
// large allocation. The cases run in two worker threads with a small heap limit (an
// over-allocation kills the worker and fails the test) while ArrayBuffer memory is sampled.
// The workers capture no stack traces (Error.stackTraceLimit 0): V8's capture in each thrown
// EdfError was ~40 % of the run's CPU, and no check here reads a stack; an input that fails a
// check is decoded once more with frames, for the report.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { EdfDecoder, EdfEncoder, EdfError } from '../src/net/index.js';
import { hex, loadVectors, unhex, vectorCaches, wiregen } from './edf.fixtures.js';
import { rng } from './seeded_rng.js';
import { proofSize } from '@ergo-ts/test-support';

const TOTAL_CASES = proofSize({ ci: 250_000, full: 1_000_000 });
const WORKERS = 2;

interface Stats {
  cases: number;
  decoded: number;
  reencoded: number;
  codes: Record<string, number>;
  maxCaseMs: number;
  /** The slowest input re-timed alone (best of 5), to tell a real blow-up from scheduling noise. */
  slowestRetimedMs: number;
  maxArrayBuffersMB: number;
  maxHeapMB: number;
  failure: string | undefined;
}

const TAGS = [
  0x82, 0x83, 0x84, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b,
  0x9c, 0x9d, 0x9e, 0x9f, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xff,
];
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, ...TAGS];
const WIDE = [0xffffffff, 0x7fffffff, 0x00010000, 0x0000ffff, 0x00001000, 0x80000000, 0x01000000];

function seeds(): Uint8Array[] {
  const out = loadVectors('edf.json').map((v) => unhex(v.hex));
  for (const v of loadVectors<{ fields?: { payload_hex?: string } }>('enp.json')) {
    const p = v.fields?.payload_hex;
    if (typeof p === 'string' && p.length > 0 && p.length < 2000) out.push(unhex(p));
  }
  return out;
}

function mutate(r: () => number, s: Uint8Array[]): Uint8Array {
  const int = (n: number): number => Math.floor(r() * n);
  const mode = int(11);
  if (mode === 0) {
    // random bytes, usually starting with a tag
    const b = new Uint8Array(int(48));
    for (let i = 0; i < b.length; i++) b[i] = r() < 0.3 ? TAGS[int(TAGS.length)]! : int(256);
    if (b.length > 0 && r() < 0.7) b[0] = TAGS[int(TAGS.length)]!;
    return b;
  }
  if (mode === 1) {
    // random type descriptor block with a random body
    const desc = Array.from({ length: 1 + int(12) }, () => (r() < 0.7 ? TAGS[int(TAGS.length)]! : int(256)));
    const body = Array.from({ length: int(24) }, () => (r() < 0.2 ? INTERESTING[int(INTERESTING.length)]! : int(256)));
    return Uint8Array.from([0x82, desc.length >>> 8, desc.length & 0xff, ...desc, ...body]);
  }
  if (mode === 2) {
    // splice two seeds
    const a = s[int(s.length)]!;
    const b = s[int(s.length)]!;
    const cut = int(a.length + 1);
    const from = int(b.length + 1);
    const out = new Uint8Array(cut + b.length - from);
    out.set(a.subarray(0, cut));
    out.set(b.subarray(from), cut);
    return out;
  }
  if (mode === 3) {
    // deep nesting: any-in-any, []any in []any, long descriptor chains
    const parts: number[] = [];
    const depth = 1 + int(24);
    for (let k = 0; k < depth; k++) {
      const kind = int(3);
      if (kind === 0) parts.push(0x84);
      else if (kind === 1) parts.push(0x82, 0x00, 0x02, 0x9d, 0x84, 0x9d, 0x00, 0x00, 0x00, 0x01);
      else {
        const chain = 1 + int(12);
        parts.push(
          0x82,
          0x00,
          chain + 1,
          ...new Array<number>(chain).fill(0x9d),
          0x91,
          ...new Array<number>(chain).fill(0).flatMap(() => [0x9d, 0, 0, 0, 1]),
          0x01,
        );
        break;
      }
    }
    parts.push(0x91, 0x01);
    return Uint8Array.from(parts);
  }
  const src = s[int(s.length)]!;
  let b = Uint8Array.from(src);
  const n = 1 + int(4);
  for (let k = 0; k < n; k++) {
    const op = int(8);
    const at = b.length === 0 ? 0 : int(b.length);
    if (op === 0 && b.length > 0) b[at] = b[at]! ^ (1 << int(8));
    else if (op === 1 && b.length > 0) b[at] = int(256);
    else if (op === 2 && b.length > 0) b[at] = INTERESTING[int(INTERESTING.length)]!;
    else if (op === 3) {
      const c = new Uint8Array(b.length + 1);
      c.set(b.subarray(0, at));
      c[at] = int(256);
      c.set(b.subarray(at), at + 1);
      b = c;
    } else if (op === 4 && b.length > 0) {
      const c = new Uint8Array(b.length - 1);
      c.set(b.subarray(0, at));
      c.set(b.subarray(at + 1), at);
      b = c;
    } else if (op === 5) b = b.subarray(0, int(b.length + 1));
    else if (op === 6 && b.length >= 4) {
      // a lying u32 (count / length) or u16
      const p = int(b.length - 3);
      const w = WIDE[int(WIDE.length)]!;
      if (r() < 0.5) new DataView(b.buffer, b.byteOffset).setUint32(p, w);
      else new DataView(b.buffer, b.byteOffset).setUint16(p, w & 0xffff || 0xffff);
    } else if (op === 7 && b.length > 2) {
      // duplicate a chunk
      const len = 1 + int(Math.min(16, b.length - at));
      const c = new Uint8Array(b.length + len);
      c.set(b.subarray(0, at + len));
      c.set(b.subarray(at, at + len), at + len);
      c.set(b.subarray(at + len), at + 2 * len);
      b = c;
    }
  }
  return b;
}

function runFuzz(seed: number, cases: number): Stats {
  const W = wiregen();
  const decoders = [
    new EdfDecoder({ registry: W.registry, ...vectorCaches.decode }),
    new EdfDecoder({ registry: W.registry, exact: true, ...vectorCaches.decode }),
    new EdfDecoder({
      registry: W.registry,
      limits: { maxDepth: 6, maxZeroSizeElements: 64, maxMessageSize: 4096, maxAtomBytes: 16 },
    }),
  ];
  const encoder = new EdfEncoder({ registry: W.registry, ...vectorCaches.encode });
  const s = seeds();
  const r = rng(seed);
  const st: Stats = {
    cases: 0,
    decoded: 0,
    reencoded: 0,
    codes: {},
    maxCaseMs: 0,
    slowestRetimedMs: 0,
    maxArrayBuffersMB: 0,
    maxHeapMB: 0,
    failure: undefined,
  };
  let slowest: { input: Uint8Array; d: EdfDecoder } | undefined;
  const limit = Error.stackTraceLimit;
  /** What `input` throws when decoded (or re-encoded) again with stack traces on: the report's text. */
  const withFrames = (run: () => unknown): string => {
    Error.stackTraceLimit = limit;
    try {
      run();
      return 'nothing the second time';
    } catch (err) {
      return String((err as Error)?.stack ?? err);
    }
  };
  Error.stackTraceLimit = 0;
  for (let i = 0; i < cases; i++) {
    const input = mutate(r, s);
    const d = decoders[i % decoders.length]!;
    const t0 = performance.now();
    try {
      const v = d.decode(input);
      st.decoded++;
      if (d.exact && (i & 7) === 1 && v !== null) {
        try {
          encoder.encode(v);
          st.reencoded++;
        } catch (err) {
          if (!(err instanceof EdfError)) {
            st.failure = `re-encode of ${hex(input)} threw ${withFrames(() => encoder.encode(v))}`;
            return st;
          }
        }
      }
    } catch (err) {
      if (
        !(err instanceof EdfError) ||
        !err.code.startsWith('ERR_EDF_') ||
        err.offset < 0 ||
        err.offset > input.length
      ) {
        st.failure = `decode of ${hex(input)} threw ${String(err)}; again with frames: ${withFrames(() => d.decode(input))}`;
        return st;
      }
      st.codes[err.code] = (st.codes[err.code] ?? 0) + 1;
    }
    const ms = performance.now() - t0;
    if (ms > st.maxCaseMs) {
      st.maxCaseMs = ms;
      slowest = { input, d };
    }
    st.cases++;
    if ((i & 0x3fff) === 0) {
      const m = process.memoryUsage();
      st.maxArrayBuffersMB = Math.max(st.maxArrayBuffersMB, m.arrayBuffers / 2 ** 20);
      st.maxHeapMB = Math.max(st.maxHeapMB, m.heapUsed / 2 ** 20);
    }
  }
  Error.stackTraceLimit = limit;
  if (slowest !== undefined) {
    let best = Infinity;
    for (let k = 0; k < 5; k++) {
      const t0 = performance.now();
      try {
        slowest.d.decode(slowest.input);
      } catch {
        /* already checked */
      }
      best = Math.min(best, performance.now() - t0);
    }
    st.slowestRetimedMs = best;
  }
  return st;
}

if (!isMainThread && (workerData as { edfFuzz?: boolean } | null)?.edfFuzz === true) {
  const { seed, cases } = workerData as { seed: number; cases: number };
  parentPort!.postMessage(runFuzz(seed, cases));
} else {
  test(
    `decoder fuzz: ${TOTAL_CASES} random and mutated inputs give only EdfErrors, fast, with bounded memory`,
    { timeout: 120_000 },
    async (t) => {
      const t0 = performance.now();
      const per = Math.ceil(TOTAL_CASES / WORKERS);
      const results = await Promise.all(
        Array.from(
          { length: WORKERS },
          (_, k) =>
            new Promise<Stats>((resolve, reject) => {
              const w = new Worker(new URL(import.meta.url), {
                workerData: { edfFuzz: true, seed: 0xf0220 + k, cases: per },
                resourceLimits: { maxOldGenerationSizeMb: 192, maxYoungGenerationSizeMb: 32 },
              });
              w.once('message', (m: Stats) => resolve(m));
              w.once('error', reject);
              w.once('exit', (code) => code !== 0 && reject(new Error(`fuzz worker exited with ${code}`)));
            }),
        ),
      );
      const seconds = (performance.now() - t0) / 1000;
      const codes: Record<string, number> = {};
      let cases = 0;
      let decoded = 0;
      let reencoded = 0;
      for (const st of results) {
        assert.equal(st.failure, undefined, st.failure);
        cases += st.cases;
        decoded += st.decoded;
        reencoded += st.reencoded;
        for (const [c, n] of Object.entries(st.codes)) codes[c] = (codes[c] ?? 0) + n;
        // The slowest case's time (re-timed alone) is reported below, not asserted: a wall-clock
        // bound fails on a loaded machine (the project's rule: no timing thresholds in tests). The
        // load-free guards are the memory bound below and the test's timeout over 10^6 cases.
        assert.ok(st.maxArrayBuffersMB < 64, `ArrayBuffer memory reached ${st.maxArrayBuffersMB} MB`);
      }
      assert.ok(cases >= TOTAL_CASES, `ran ${cases} cases`);
      // The mix must reach both outcomes and the interesting failure kinds.
      assert.ok(decoded > cases / 50, `only ${decoded} inputs decoded`);
      for (const c of ['ERR_EDF_DECODE', 'ERR_EDF_UNREGISTERED', 'ERR_EDF_CACHE', 'ERR_EDF_TOO_DEEP'])
        assert.ok((codes[c] ?? 0) > 0, `no ${c} seen`);
      t.diagnostic(
        `fuzz: ${cases} cases in ${seconds.toFixed(1)} s, ${decoded} decoded, ${reencoded} re-encoded, errors ${JSON.stringify(codes)}, ` +
          `slowest ${Math.max(...results.map((x) => x.maxCaseMs)).toFixed(2)} ms (alone ${Math.max(...results.map((x) => x.slowestRetimedMs)).toFixed(3)} ms), max heap ${Math.max(...results.map((x) => x.maxHeapMB)).toFixed(0)} MB, ` +
          `max ArrayBuffers ${Math.max(...results.map((x) => x.maxArrayBuffersMB)).toFixed(1)} MB`,
      );
    },
  );
}
