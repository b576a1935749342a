// Scale (issue 3 item 8): a chain of 10,000 linked processes dies completely when its head dies
// (every one with the head's reason, unwrapped one level per hop); 100,000 subscribers of one
// event all receive it exactly once, and the producer hears one MessageEventStart.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  Actor,
  Event,
  MessageEventStart,
  TerminateReasonKill,
  unwrapReason,
  type MessageEvent,
  type PID,
} from '../src/index.js';
import { deferred, exec, guardUnhandled, spawnTest, testNode, within } from './lifecycle_helpers.js';

guardUnhandled();

/** Shared counters of a scale run (one per test). */
class Tally {
  count = 0;
  readonly done = deferred<void>();
  constructor(readonly target: number) {}
  hit(): void {
    if (++this.count === this.target) this.done.resolve();
  }
}

interface ChainCtx {
  linked: Tally;
  ended: Tally;
  reasons: Error[];
}

/** Links to the previous process of the chain as soon as it runs (links are not allowed in init). */
class ChainLink extends Actor {
  private prev: PID | null = null;
  private ctx!: ChainCtx;

  override init(prev: PID | null, ctx: ChainCtx): void {
    this.prev = prev;
    this.ctx = ctx;
    if (prev === null) ctx.linked.hit();
    else this.send(this.pid, 'link');
  }

  override handleMessage(_from: PID, message: unknown): void {
    if (message === 'link' && this.prev !== null) {
      this.link(this.prev);
      this.ctx.linked.hit();
    }
  }

  override terminate(reason: Error): void {
    this.ctx.reasons.push(reason);
    this.ctx.ended.hit();
  }
}

test('a chain of 10,000 linked processes dies completely when its head dies', async () => {
  const N = 10_000;
  const node = await testNode();
  try {
    const ctx: ChainCtx = { linked: new Tally(N), ended: new Tally(N), reasons: [] };
    let prev: PID | null = null;
    let head: PID | null = null;
    for (let i = 0; i < N; i++) {
      prev = await node.spawn(ChainLink, {}, prev, ctx);
      head ??= prev;
    }
    await within(ctx.linked.done.promise, 'every link to be made', 20_000);
    assert.equal(node.info().processesTotal, N);
    // Every process except the head links to its predecessor.
    assert.equal(node.processInfo(prev!).linksPID.length, 1);
    assert.equal(node.processInfo(head!).linksPID.length, 0);

    node.kill(head!);
    await within(ctx.ended.done.promise, 'the whole chain to end', 20_000);
    assert.equal(ctx.reasons.length, N);
    assert.equal(ctx.reasons[0], TerminateReasonKill, 'the head was killed');
    for (const r of ctx.reasons)
      assert.equal(unwrapReason(r), TerminateReasonKill, 'the reason travels down the chain');
    assert.equal(node.info().processesTotal, 0);
    assert.deepEqual(node.processList(), []);
  } finally {
    await node.stop();
  }
});

interface SubCtx {
  event: Event;
  subscribed: Tally;
  received: Tally;
  counts: Uint8Array;
}

/** Monitors the event as soon as it runs, counts what it receives. */
class Subscriber extends Actor {
  private idx = 0;
  private ctx!: SubCtx;

  override init(idx: number, ctx: SubCtx): void {
    this.idx = idx;
    this.ctx = ctx;
    this.send(this.pid, 'subscribe');
  }

  override handleMessage(_from: PID, message: unknown): void {
    if (message === 'subscribe') {
      void this.monitorEvent(this.ctx.event); // safe to ignore: the event exists and the test counts subscriptions
      this.ctx.subscribed.hit();
    }
  }

  override handleEvent(m: MessageEvent): void {
    if (m.message !== 'broadcast') return;
    this.ctx.counts[this.idx]!++;
    this.ctx.received.hit();
  }
}

test('100,000 subscribers of one event all receive it exactly once', async () => {
  const N = 100_000;
  const node = await testNode();
  try {
    const producer = await spawnTest(node);
    const token = await exec(node, producer.pid, (a) => a.registerEvent('big_event', { notify: true }));
    const ctx: SubCtx = {
      event: new Event('big_event', node.name),
      subscribed: new Tally(N),
      received: new Tally(N),
      counts: new Uint8Array(N),
    };
    for (let i = 0; i < N; i++) await node.spawn(Subscriber, {}, i, ctx);
    await within(ctx.subscribed.done.promise, 'every subscription', 30_000);

    await exec(node, producer.pid, (a) => a.sendEvent('big_event', token, 'broadcast'));
    await within(ctx.received.done.promise, 'every delivery', 30_000);
    // Had any subscriber got it twice, the total would have been reached with another at zero.
    let zeros = 0;
    let more = 0;
    for (let i = 0; i < N; i++) {
      if (ctx.counts[i] === 0) zeros++;
      else if (ctx.counts[i]! > 1) more++;
    }
    assert.equal(zeros, 0, 'nobody missed it');
    assert.equal(more, 0, 'nobody got it twice');
    // The producer heard the first subscriber once, not 100,000 times.
    await exec(node, producer.pid, () => undefined);
    assert.equal(producer.inbox.messages().filter((m) => m instanceof MessageEventStart).length, 1);
  } finally {
    await node.stop();
  }
});
