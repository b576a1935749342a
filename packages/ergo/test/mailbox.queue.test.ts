// The mailbox's queue storage (node/mailbox.ts over lib/segmented_queue.ts): a seeded fuzz of the
// four-queue mailbox against a plain reference (push with limits and forced notifications, take,
// takeUrgent, Actor's peekSender/takeMessage fast path, lengths, forEachRecord, live request ids,
// clear) in bursty phases that cross segment boundaries, both record layouts (a regular message
// to a PID in two slots, everything else in four), and the structural check that a drained multi-million burst gives its memory back.
// A failing seed is printed; rerun it alone with FUZZ_SEED=<seed>.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { MailboxKind, type PID, type Ref } from '../src/index.js';
import { SegmentedQueue } from '../src/lib/segmented_queue.js';
import { Mailbox, Q_LOG, Q_MAIN, Q_SYSTEM, Q_URGENT } from '../src/node/mailbox.js';
import { rng } from './seeded_rng.js';

const QUEUE_NAMES = ['urgent', 'system', 'main', 'log'] as const;

interface Rec {
  kind: MailboxKind;
  from: PID;
  message: unknown;
  extra: unknown;
}

/** Stand-ins for senders and refs: the mailbox only stores them and reads `ref.id[0]`. */
const SENDERS = [{ s: 'a' }, { s: 'b' }, { s: 'c' }] as unknown as PID[];
function refOf(n: number): Ref {
  return { id: [n, 0, 0] } as unknown as Ref;
}

/** Four arrays with head indexes: the obviously right mailbox. */
class ReferenceMailbox {
  queues: Rec[][] = [[], [], [], []];
  heads = [0, 0, 0, 0];
  constructor(readonly limit: number) {}
  len(q: number): number {
    return this.queues[q]!.length - this.heads[q]!;
  }
  get size(): number {
    return this.len(0) + this.len(1) + this.len(2) + this.len(3);
  }
  push(q: number, r: Rec, force: boolean): boolean {
    if (this.limit > 0 && this.len(q) >= this.limit && !force) return false;
    this.queues[q]!.push(r);
    return true;
  }
  take(urgentOnly: boolean): [number, Rec] | null {
    for (let q = 0; q < (urgentOnly ? 1 : 4); q++) if (this.len(q) > 0) return [q, this.queues[q]![this.heads[q]!++]!];
    return null;
  }
  all(): Rec[] {
    return this.queues.flatMap((xs, q) => xs.slice(this.heads[q]));
  }
  clear(): void {
    this.queues = [[], [], [], []];
    this.heads = [0, 0, 0, 0];
  }
}

/** The real mailbox over segments of `segmentSlots` slots, so that a short run crosses many. */
class SmallSegmentMailbox extends Mailbox {
  constructor(
    limit: number,
    private readonly segmentSlots: number,
  ) {
    super(limit);
  }
  protected override newQueue(initialSlots: number): SegmentedQueue {
    return new SegmentedQueue(Math.min(initialSlots, this.segmentSlots), this.segmentSlots);
  }
}

function fuzz(seed: number, ops: number): void {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  // twelve consecutive seeds cover each limit with several segment sizes (small ones where a
  // limit keeps the queues short, so that they still chain)
  const limit = ([0, 3, 100] as const)[seed % 3]!;
  const segmentSlots = limit === 0 ? ([4, 8, 32, 128] as const)[seed % 4]! : ([4, 8, 16, 32] as const)[seed % 4]!;
  const mb = new SmallSegmentMailbox(limit, segmentSlots);
  const ref = new ReferenceMailbox(limit);
  const ctx = (op: number, what: string): string =>
    `seed ${seed} (limit ${limit}, segment ${segmentSlots}), op ${op}: ${what}`;
  let n = 0;
  let pushBias = 0.5;
  let lastRef: Ref | null = null;
  let deepest = 0;
  let fastTaken = 0;
  const record = (): Rec => {
    const id = n++;
    const r = rand();
    // mostly regular messages to a PID (the two-slot layout), the rest four-slot records
    if (r < 0.6) return { kind: MailboxKind.Regular, from: pick(SENDERS), message: id, extra: undefined };
    if (r < 0.7) return { kind: MailboxKind.Regular, from: pick(SENDERS), message: id, extra: pick(['name', 'other']) };
    if (r < 0.8)
      return {
        kind: MailboxKind.Request,
        from: pick(SENDERS),
        message: id,
        extra: rand() < 0.5 ? refOf(id) : [refOf(id), 'name'],
      };
    if (r < 0.9)
      return {
        kind: pick([MailboxKind.Event, MailboxKind.Exit] as const),
        from: pick(SENDERS),
        message: { id },
        extra: undefined,
      };
    // a message whose own value is a number or undefined must not confuse the layouts
    return { kind: MailboxKind.Inspect, from: pick(SENDERS), message: undefined, extra: refOf(id) };
  };
  let phaseEnd = 0;
  // Which queues a phase pushes to: all four; main only (the other queues, once made, sit empty:
  // take's "everything is in main" shortcut); or main with a rare urgent/system/log record.
  const MIXES = [
    [Q_URGENT, Q_SYSTEM, Q_MAIN, Q_MAIN, Q_MAIN, Q_LOG],
    [Q_MAIN],
    [
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_MAIN,
      Q_URGENT,
      Q_SYSTEM,
      Q_LOG,
    ],
  ] as const;
  let mix: readonly number[] = MIXES[0];
  for (let op = 0; op < ops; op++) {
    // phases of filling, draining and balance: the queues walk up and down through boundaries
    if (op >= phaseEnd) {
      pushBias = pick([0.05, 0.5, 0.55, 0.95] as const);
      mix = pick(MIXES);
      phaseEnd = op + 50 + Math.floor(rand() * 2_000);
    }
    const r = rand();
    if (r < 0.0005) {
      mb.clear();
      ref.clear();
      lastRef = null;
    } else if (rand() < pushBias) {
      const q = pick(mix);
      const rec = record();
      const force = rand() < 0.05;
      assert.equal(
        mb.push(q, rec.kind, rec.from, rec.message, rec.extra, force),
        ref.push(q, rec, force),
        ctx(op, `push to ${q}`),
      );
    } else if (rand() < 0.3) {
      // Actor's fast path: peekSender offers the next record only when it is a plain message to
      // the PID at the head of main with nothing queued elsewhere; takeMessage takes it.
      const sender = mb.peekSender();
      const head = ref.len(Q_MAIN) > 0 ? ref.queues[Q_MAIN]![ref.heads[Q_MAIN]!]! : null;
      const plainNext =
        head !== null && ref.size === ref.len(Q_MAIN) && head.kind === MailboxKind.Regular && head.extra === undefined;
      assert.equal(sender, plainNext ? head.from : undefined, ctx(op, 'peekSender'));
      if (sender !== undefined) {
        const fields = [mb.kind, mb.from, mb.message, mb.extra, mb.queue];
        assert.equal(mb.takeMessage(), head!.message, ctx(op, 'takeMessage'));
        assert.deepEqual(
          [mb.kind, mb.from, mb.message, mb.extra, mb.queue],
          fields,
          ctx(op, 'takeMessage leaves the record fields'),
        );
        assert.equal(mb.currentRef, null, ctx(op, 'currentRef after takeMessage'));
        ref.take(false);
        lastRef = null;
        fastTaken++;
      }
    } else {
      const urgentOnly = rand() < 0.1;
      const want = ref.take(urgentOnly);
      const got = urgentOnly ? mb.takeUrgent() : mb.take();
      assert.equal(got, want !== null, ctx(op, 'take found a record'));
      if (want !== null) {
        const [q, rec] = want;
        assert.equal(mb.queue, QUEUE_NAMES[q], ctx(op, 'queue'));
        assert.equal(mb.kind, rec.kind, ctx(op, 'kind'));
        assert.equal(mb.from, rec.from, ctx(op, 'from'));
        assert.equal(mb.message, rec.message, ctx(op, 'message'));
        assert.equal(mb.extra, rec.extra, ctx(op, 'extra'));
        const isRequest = rec.kind === MailboxKind.Request || rec.kind === MailboxKind.Inspect;
        lastRef = isRequest ? (Array.isArray(rec.extra) ? (rec.extra[0] as Ref) : (rec.extra as Ref)) : null;
        assert.equal(mb.currentRef, lastRef, ctx(op, 'currentRef'));
        mb.release();
      }
    }
    assert.equal(mb.size, ref.size, ctx(op, 'size'));
    assert.deepEqual(
      mb.lengths(),
      { urgent: ref.len(0), system: ref.len(1), main: ref.len(2), log: ref.len(3) },
      ctx(op, 'lengths'),
    );
    deepest = Math.max(deepest, ref.len(0), ref.len(1), ref.len(2), ref.len(3));
    if (ref.size === 0) assert.ok(mb.segmentCount() <= 4, ctx(op, `empty mailbox holds ${mb.segmentCount()} segments`));
    if (op % 2_000 === 0) checkContents(mb, ref, lastRef, ctx(op, 'contents'));
  }
  checkContents(mb, ref, lastRef, ctx(ops, 'final contents'));
  for (let want = ref.take(false); want !== null; want = ref.take(false)) {
    assert.ok(mb.take(), ctx(ops, 'final drain'));
    assert.equal(mb.message, want[1].message, ctx(ops, 'final drain'));
  }
  assert.equal(mb.take(), false);
  assert.ok(mb.segmentCount() <= 4, ctx(ops, `drained mailbox holds ${mb.segmentCount()} segments`));
  assert.ok(fastTaken > 0, ctx(ops, `the fast path served only ${fastTaken} records`));
  assert.ok(deepest * 4 > segmentSlots * 2, ctx(ops, `the run never chained segments (deepest queue ${deepest})`));
}

function checkContents(mb: Mailbox, ref: ReferenceMailbox, current: Ref | null, what: string): void {
  const seen: Rec[] = [];
  mb.forEachRecord((kind, from, message, extra) => seen.push({ kind, from, message, extra }));
  const want = ref.all();
  assert.equal(seen.length, want.length, what);
  for (let i = 0; i < want.length; i++) {
    const a = seen[i]!;
    const b = want[i]!;
    if (a.kind !== b.kind || a.from !== b.from || a.message !== b.message || a.extra !== b.extra) {
      assert.fail(`${what}: record ${i} is ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);
    }
  }
  const ids = new Set<number>();
  if (current !== null) ids.add(current.id[0]);
  for (const r of want) {
    if (r.kind === MailboxKind.Request || r.kind === MailboxKind.Inspect)
      ids.add((Array.isArray(r.extra) ? (r.extra[0] as Ref) : (r.extra as Ref)).id[0]);
  }
  assert.deepEqual(mb.liveRequestIds(), ids, `${what}: live request ids`);
}

describe('mailbox queue storage', () => {
  test('fuzz: the four-queue mailbox against a reference mailbox (seeded, across segment boundaries)', () => {
    const seeds =
      process.env['FUZZ_SEED'] !== undefined
        ? [Number(process.env['FUZZ_SEED'])]
        : [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22];
    for (const seed of seeds) fuzz(seed, 20_000);
  });

  test('a 2.5 M message burst, drained, leaves one segment (and FIFO held throughout)', () => {
    const mb = new Mailbox(0);
    const from = SENDERS[0]!;
    const n = 2_500_000;
    let next = 0;
    let pushed = 0;
    // a burst with a few interruptions: push 1 M, take half, push the rest, then a 4-slot record
    const take = (count: number): void => {
      for (let i = 0; i < count; i++) {
        if (!mb.take()) assert.fail(`mailbox empty at ${next}`);
        if (mb.message !== next) assert.fail(`message ${next} came out as ${String(mb.message)}`);
        next++;
        mb.release();
      }
    };
    for (; pushed < 1_000_000; pushed++) mb.push(Q_MAIN, MailboxKind.Regular, from, pushed, undefined);
    take(500_000);
    for (; pushed < n; pushed++)
      mb.push(Q_MAIN, MailboxKind.Regular, from, pushed, pushed % 1000 === 0 ? 'via-name' : undefined);
    assert.ok(mb.segmentCount() > 100, 'the burst spans many segments');
    take(n - 500_000);
    assert.equal(mb.size, 0);
    assert.equal(mb.take(), false);
    assert.equal(mb.segmentCount(), 1, `${mb.segmentCount()} segments after the drain`);
    // still a working queue afterwards
    mb.push(Q_MAIN, MailboxKind.Regular, from, 'after', undefined);
    assert.ok(mb.take());
    assert.equal(mb.message, 'after');
  });

  test('an owner that does not read the address: mail sent by name or alias takes the fast path', () => {
    const mb = new Mailbox(0);
    const [a, b] = SENDERS as [PID, PID];
    // Default: the address is kept, so the record is not for the PID fast path.
    mb.push(Q_MAIN, MailboxKind.Regular, a, 'by name', 'worker');
    assert.equal(mb.peekSender(), undefined);
    assert.ok(mb.take());
    assert.equal(mb.extra, 'worker');
    mb.release();

    mb.readsAddress(false);
    mb.push(Q_MAIN, MailboxKind.Regular, a, 'by name', 'worker');
    mb.push(Q_MAIN, MailboxKind.Regular, b, 'by alias', { alias: 1 });
    // A request keeps its ref whatever the owner reads (only regular mail drops the address).
    mb.push(Q_MAIN, MailboxKind.Request, a, 'call', refOf(7));
    assert.equal(mb.peekSender(), a);
    assert.equal(mb.takeMessage(), 'by name');
    assert.equal(mb.peekSender(), b);
    assert.equal(mb.takeMessage(), 'by alias');
    assert.equal(mb.peekSender(), undefined);
    assert.ok(mb.take());
    assert.equal(mb.kind, MailboxKind.Request);
    assert.equal((mb.extra as unknown as Ref).id[0], 7);

    // Back on: new mail keeps its address again.
    mb.readsAddress(true);
    mb.push(Q_MAIN, MailboxKind.Regular, a, 'by name again', 'worker');
    assert.equal(mb.peekSender(), undefined);
    assert.ok(mb.take());
    assert.equal(mb.extra, 'worker');
  });
});
