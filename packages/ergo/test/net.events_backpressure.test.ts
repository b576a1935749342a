// Back-pressure of event fan-out towards a stalled subscriber node: the publisher's connection
// to a node whose event loop is blocked (a worker thread held in Atomics.wait, see
// linkflow_worker.ts) holds at most `peerBufferLimit` bytes, however many events are published;
// the events it cannot take are dropped for that node only (logged), while a healthy subscriber
// node gets every event in order. The connection checks its room for events with a running
// estimate (EnpConnection.eventRoom) rather than a sum over its links per event: this test is
// what keeps that estimate honest. No waits on time: the test waits for the worker's answers.

import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Actor, Event, ProcessID, startNode, type Atom, type MessageEvent, type Node, type PID } from '../src/index.js';
import { within } from './helpers.js';
import type { SlowPeerData } from './linkflow_worker.js';
import { portOf, routeTo } from './route_helpers.js';

const WORKER = new URL('./linkflow_worker.js', import.meta.url);
const COOKIE = 'linkflow';
const LIMIT = 256 * 1024;
const SIZE = 8 * 1024;
/** 32 MiB offered: far beyond the bound plus the kernel's socket buffers. */
const EVENTS = 4000;
/** Events per event-loop turn: under LIMIT, so the healthy node's connection never refuses. */
const PER_TURN = 16;
const EVENT = 'flood' as Atom;

/** Atomics.waitAsync (ES2024; the library target here is older). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

/** The healthy subscriber: counts events and notes whether each was the next number. */
class Counter extends Actor {
  count = 0;
  ordered = true;
  override async handleMessage(_from: PID, ev: unknown): Promise<void> {
    await this.monitorEvent(ev as Event);
  }
  override handleEvent(m: MessageEvent): void {
    if ((m.message as { n: number }).n !== this.count) this.ordered = false;
    this.count++;
  }
}

/** The worker's answer of the given kind. */
async function answer<T>(worker: Worker, kind: string, what: string): Promise<T> {
  for (;;) {
    const [m] = (await within(once(worker, 'message'), what, 30_000)) as [{ kind: string } & T];
    if (m.kind === kind) return m;
  }
}

test('events to a subscriber node whose event loop is blocked: its queue stays within peerBufferLimit, a healthy subscriber node gets every event in order', async (t) => {
  const tag = `e${process.pid}`;
  const slow = `evslow${tag}@localhost`;
  const sab = new SharedArrayBuffer(8);
  const flags = new Int32Array(sab);
  const data: SlowPeerData = { name: slow, cookie: COOKIE, sab };
  const worker = new Worker(WORKER, { workerData: data });
  const release = (): void => {
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
  };
  const nodes: Node[] = [];
  t.after(async () => {
    release();
    for (const n of nodes) await n.stop().catch(() => undefined);
    worker.postMessage({ kind: 'stop' });
    await within(once(worker, 'message'), 'slow peer stopped', 20_000).catch(() => undefined);
    await worker.terminate();
  });
  const ready = await answer<{ port: number }>(worker, 'ready', 'slow peer ready');
  const pub = await startNode(`evpub${tag}@localhost`, {
    network: {
      cookie: COOKIE,
      registrar: null,
      acceptors: [{ host: '127.0.0.1', port: 0 }],
      peerBufferLimit: LIMIT,
      peerStallTimeout: 0, // the peer is blocked on purpose: keep the connection
      routes: [{ match: slow.replace(/[.$]/g, '\\$&'), route: routeTo(ready.port) }],
    },
    log: { defaultLogger: { disable: true } },
  });
  nodes.push(pub);
  const healthy = await startNode(`evok${tag}@localhost`, {
    network: {
      cookie: COOKIE,
      registrar: null,
      acceptors: [],
      routes: [{ match: pub.name.replace(/[.$]/g, '\\$&'), route: routeTo(portOf(pub)) }],
    },
    log: { defaultLogger: { disable: true } },
  });
  nodes.push(healthy);
  const token = pub.registerEvent(EVENT);
  const ev = new Event(EVENT, pub.name);

  // Both subscribe; the publisher learns of each subscription before it publishes.
  assert.equal(await pub.call(new ProcessID('sink' as Atom, slow as Atom), 'count'), 0, 'connected');
  worker.postMessage({ kind: 'subscribe', node: pub.name, event: EVENT });
  await answer(worker, 'subscribed', 'the slow node subscribes');
  let counter: Counter | null = null;
  const cpid = await healthy.spawn(() => (counter = new Counter()));
  healthy.send(cpid, ev);
  const info = () => pub.eventList().find((e) => e.event.name === EVENT)!;
  for (let i = 0; info().subscribers < 2; i++) {
    assert.ok(i < 10_000, 'both subscriptions reach the publisher');
    await new Promise((resolve) => setImmediate(resolve));
  }

  // Stall the slow node, then flood.
  worker.postMessage({ kind: 'block' });
  const w = waitAsync(flags, 1, 0);
  if (w.async) await within(w.value as Promise<string>, 'the peer blocks its event loop', 20_000);
  const slowConn = pub.network().node(slow);
  const pad = 'x'.repeat(SIZE);
  let maxQueued = 0;
  for (let n = 0; n < EVENTS;) {
    for (let i = 0; i < PER_TURN; i++, n++) {
      pub.sendEvent(EVENT, token, { n, pad });
      maxQueued = Math.max(maxQueued, slowConn.info().queuedBytes ?? Infinity);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.diagnostic(`largest queue towards the stalled node ${maxQueued} B (limit ${LIMIT})`);
  assert.ok(maxQueued > LIMIT / 2, `the flood reached the bound (${maxQueued} B)`);
  assert.ok(maxQueued <= LIMIT, `the queue stays within the bound (${maxQueued} > ${LIMIT})`);

  // The healthy node got every event, in order.
  for (let i = 0; counter!.count < EVENTS; i++) {
    assert.ok(i < 1_000_000, `every event reaches the healthy node (${counter!.count})`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(counter!.count, EVENTS);
  assert.ok(counter!.ordered, 'in publish order');

  // Released, the stalled node gets what its connection took: a prefix, in order, not all.
  release();
  // Settled: a count above 0 that a round trip to the node leaves unchanged.
  let got = { count: 0, ordered: false };
  for (let prev = -1, i = 0; got.count === 0 || got.count !== prev; i++) {
    assert.ok(i < 1000, `the stalled node's count settles (${got.count})`);
    prev = got.count;
    assert.equal(await pub.call(new ProcessID('sink' as Atom, slow as Atom), 'count', { timeout: 30_000 }), 0);
    worker.postMessage({ kind: 'events' });
    got = await answer<{ count: number; ordered: boolean }>(worker, 'events', 'the slow node counts');
  }
  t.diagnostic(`the stalled node got ${got.count} of ${EVENTS}`);
  assert.ok(got.count > 0 && got.count < EVENTS, `some events were refused for it (${got.count})`);
  assert.ok(got.ordered, 'what it got came in order');
});
