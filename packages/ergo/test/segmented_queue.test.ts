// SegmentedQueue (lib/segmented_queue.ts), the storage of every mailbox queue: FIFO order of
// mixed 1/2/4-slot records across ring wrap-around and segment boundaries, growth of the single
// ring, the spare segment, and a seeded fuzz against a plain reference queue with tiny segments
// so that every boundary case is crossed thousands of times. A failing seed is printed; rerun it
// alone with FUZZ_SEED=<seed>.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { SEGMENT_SLOTS, SegmentedQueue } from '../src/lib/segmented_queue.js';
import { rng } from './seeded_rng.js';

type Width = 1 | 2 | 4;
type Slot = number | string;

/** A record's first slot carries its id and width (id * 8 + width); the others are strings. */
function record(id: number, w: Width): Slot[] {
  const r: Slot[] = [id * 8 + w];
  for (let k = 1; k < w; k++) r.push(`${id}:${k}`);
  return r;
}
const widthOf = (first: Slot): Width => ((first as number) & 7) as Width;

function push(q: SegmentedQueue<Slot>, r: Slot[]): void {
  if (r.length === 1) q.push1(r[0]!);
  else if (r.length === 2) q.push2(r[0]!, r[1]!);
  else q.push4(r[0]!, r[1]!, r[2]!, r[3]!);
}

/** Reads and drops the head record (two-slot records with an odd id through shift2). */
function pop(q: SegmentedQueue<Slot>): Slot[] {
  const w = widthOf(q.peek(0));
  const first = q.peek(0) as number;
  if (w === 2 && ((first >> 3) & 1) === 1) return [first, q.shift2()];
  const r: Slot[] = [];
  for (let k = 0; k < w; k++) r.push(q.peek(k));
  if (w === 1) q.drop1();
  else if (w === 2) q.drop2();
  else q.drop4();
  return r;
}

function contents(q: SegmentedQueue<Slot>): Slot[][] {
  const out: Slot[][] = [];
  q.forEachRecord(widthOf, (a, b, c, d) => {
    out.push([a, b, c, d].slice(0, widthOf(a)));
  });
  return out;
}

/** The reference: an array and a head index (never shifted). */
class Reference {
  private items: Slot[][] = [];
  private head = 0;
  slots = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(r: Slot[]): void {
    this.items.push(r);
    this.slots += r.length;
  }
  first(): Slot[] {
    return this.items[this.head]!;
  }
  pop(): Slot[] {
    const r = this.items[this.head++]!;
    this.slots -= r.length;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return r;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
    this.slots = 0;
  }
  all(): Slot[][] {
    return this.items.slice(this.head);
  }
}

describe('SegmentedQueue', () => {
  test('FIFO of mixed widths through ring wrap-around inside one segment', () => {
    const q = new SegmentedQueue<Slot>(8, 16);
    let id = 0;
    const ref = new Reference();
    // keep 1–3 records queued while thousands pass: the ring wraps, never chains
    for (let i = 0; i < 5_000; i++) {
      const r = record(id++, ([1, 2, 4] as const)[i % 3]!);
      push(q, r);
      ref.push(r);
      if (ref.length > 2) assert.deepEqual(pop(q), ref.pop());
    }
    assert.deepEqual(contents(q), ref.all());
    assert.equal(q.segmentCount(), 1);
  });

  test('the single ring doubles up to the segment size, then segments are chained, not copied', () => {
    const q = new SegmentedQueue<Slot>(4, 64);
    assert.equal(q.capacity(), 4);
    for (let i = 0; i < 32; i++) q.push2(i * 8 + 2, `${i}:1`);
    assert.equal(q.segmentCount(), 1);
    assert.equal(q.capacity(), 64, 'grown in place to one full segment');
    q.push2(32 * 8 + 2, '32:1');
    assert.equal(q.segmentCount(), 2);
    assert.equal(q.capacity(), 128);
    for (let i = 33; i < 1000; i++) q.push2(i * 8 + 2, `${i}:1`);
    assert.equal(q.segmentCount(), Math.ceil(1000 / 32));
    for (let i = 0; i < 1000; i++) {
      assert.equal(q.peek(0), i * 8 + 2);
      assert.equal(q.peek(1), `${i}:1`);
      q.drop2();
      assert.ok(q.segmentCount() <= Math.ceil((1000 - i) / 32) + 2);
    }
    assert.equal(q.length, 0);
    assert.equal(q.segmentCount(), 1, 'drained: the last segment only (the spare goes with the chain)');
    assert.ok(q.capacity() <= 64);
  });

  test('a record that does not fit the tail segment starts the next one; none straddles two', () => {
    const q = new SegmentedQueue<Slot>(8, 8);
    q.push4(0 * 8 + 4, '0:1', '0:2', '0:3');
    q.push2(1 * 8 + 2, '1:1');
    q.push4(2 * 8 + 4, '2:1', '2:2', '2:3'); // 6 of 8 used: goes to a new segment
    assert.equal(q.segmentCount(), 2);
    q.push2(3 * 8 + 2, '3:1'); // fits the second segment's remaining room
    assert.equal(q.segmentCount(), 2);
    assert.deepEqual(contents(q), [record(0, 4), record(1, 2), record(2, 4), record(3, 2)]);
    assert.deepEqual([pop(q), pop(q), pop(q), pop(q)], [record(0, 4), record(1, 2), record(2, 4), record(3, 2)]);
  });

  test('a steady flow across segments keeps the chain bounded: drained segments are dropped or reused as the spare', () => {
    const q = new SegmentedQueue<Slot>(4, 16);
    const ref = new Reference();
    let id = 0;
    for (let i = 0; i < 40; i++) {
      const r = record(id++, 2);
      push(q, r);
      ref.push(r);
    }
    // 40 records of 2 slots in segments of 16 slots: 5 segments; hold the depth at 40 while
    // 10 000 records flow through: the chain rotates through the spare
    const held = q.segmentCount();
    for (let i = 0; i < 10_000; i++) {
      const r = record(id++, 2);
      push(q, r);
      ref.push(r);
      assert.deepEqual(pop(q), ref.pop());
      assert.ok(q.segmentCount() <= held + 1, `${q.segmentCount()} segments for a depth of 40`);
    }
  });

  test('clear drops every record and segment', () => {
    const q = new SegmentedQueue<Slot>(8, 16);
    for (let i = 0; i < 100; i++) push(q, record(i, 4));
    q.clear(8);
    assert.equal(q.length, 0);
    assert.equal(q.segmentCount(), 1);
    assert.equal(q.capacity(), 8);
    assert.deepEqual(contents(q), []);
    push(q, record(7, 1));
    assert.deepEqual(pop(q), record(7, 1));
  });

  test('a 3 M record burst, drained, leaves one small segment', () => {
    const q = new SegmentedQueue<Slot>(16);
    const n = 3_000_000;
    for (let i = 0; i < n; i++) q.push2(i, 's');
    assert.equal(q.length, n);
    let expect = 0;
    while (q.length > 0) {
      if (q.peek(0) !== expect) assert.fail(`record ${expect} came out as ${String(q.peek(0))}`);
      expect++;
      q.drop2();
    }
    assert.equal(expect, n);
    assert.equal(q.segmentCount(), 1, `${q.segmentCount()} segments after the drain`);
    assert.ok(q.capacity() <= 4096, `${q.capacity()} slots kept after the drain (a small ring again)`);
    // and it is a working queue that grows again
    for (let i = 0; i < 3 * SEGMENT_SLOTS; i++) q.push2(i, 's');
    for (let i = 0; i < 3 * SEGMENT_SLOTS; i++) {
      if (q.peek(0) !== i) assert.fail(`record ${i} came out as ${String(q.peek(0))}`);
      q.drop2();
    }
    assert.ok(q.capacity() <= 4096);
  });

  test('fuzz: random push/pop/peek/clear against a reference queue (seeded)', () => {
    const seeds =
      process.env['FUZZ_SEED'] !== undefined ? [Number(process.env['FUZZ_SEED'])] : [1, 2, 3, 4, 5, 6, 7, 8];
    for (const seed of seeds) fuzz(seed, 20_000);
  });
});

function fuzz(seed: number, ops: number): void {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const segmentSlots = pick([4, 8, 16, 32, 64] as const);
  const initial = pick([1, 4, 8, 16] as const);
  const q = new SegmentedQueue<Slot>(initial, segmentSlots);
  const ref = new Reference();
  const ctx = (op: number, what: string): string =>
    `seed ${seed} (segment ${segmentSlots}, initial ${initial}), op ${op}: ${what}`;
  let id = 0;
  let pushBias = 0.5;
  for (let op = 0; op < ops; op++) {
    // phases: filling, draining, or balanced, so the queue walks up and down through boundaries
    if (op % 200 === 0) pushBias = pick([0.1, 0.5, 0.6, 0.9] as const);
    const r = rand();
    if (r < 0.002) {
      q.clear(pick([1, 4, 8] as const));
      ref.clear();
    } else if (r < 0.1) {
      if (ref.length > 0) {
        const first = ref.first();
        const k = Math.floor(rand() * first.length);
        assert.equal(q.peek(k), first[k], ctx(op, `peek(${k})`));
      }
    } else if (rand() < pushBias) {
      const rec = record(id++, pick([1, 2, 2, 4] as const));
      push(q, rec);
      ref.push(rec);
    } else if (ref.length > 0) {
      assert.deepEqual(pop(q), ref.pop(), ctx(op, 'pop'));
    }
    assert.equal(q.length, ref.length, ctx(op, 'length'));
    // memory follows the contents: a full segment holds at least segmentSlots - 3 live slots,
    // plus a partly drained head, a partly filled tail and the spare
    const bound = Math.ceil(ref.slots / (segmentSlots - 3 || 1)) + 3;
    assert.ok(q.segmentCount() <= bound, ctx(op, `${q.segmentCount()} segments for ${ref.slots} slots`));
    if (ref.length === 0) assert.ok(q.segmentCount() <= 1, ctx(op, `empty queue holds ${q.segmentCount()} segments`));
    if (op % 500 === 0) assert.deepEqual(contents(q), ref.all(), ctx(op, 'contents'));
  }
  assert.deepEqual(contents(q), ref.all(), ctx(ops, 'final contents'));
  while (ref.length > 0) assert.deepEqual(pop(q), ref.pop(), ctx(ops, 'final drain'));
  assert.equal(q.length, 0);
  assert.ok(q.segmentCount() <= 1, ctx(ops, 'drained'));
}
