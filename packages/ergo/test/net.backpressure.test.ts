// Back-pressure towards a slow peer (issue 37): what one connection holds for its peer is bounded
// in bytes by `peerBufferLimit`. A sender floods a peer that does not read — a node whose event
// loop is blocked (a worker thread held in Atomics.wait), over TCP and over the in-host ring, and
// a node in its own OS process stopped with SIGSTOP — and every send past the bound is refused
// at once with ERR_PEER_BUSY while the queue the connection reports never exceeds the bound.
// Before the bound, every send was accepted and the queue grew with them. Once the peer runs
// again, every accepted message arrives (a call behind them on the same ordered route counts
// them). No waits on time: the tests wait for the peer to be blocked and for the answers.

import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { test } from 'node:test';
import { MessageChannel, Worker } from 'node:worker_threads';
import { ProcessID, startNode, type Atom, type Node } from '../src/index.js';
import { InHostTransport } from '../src/net/inhost/transport.js';
import { type NetworkImpl } from '../src/net/network/network.js';
import { within } from './helpers.js';
import { flood, LfNode } from './linkflow_helpers.js';
import type { SlowPeerData } from './linkflow_worker.js';
import { routeTo } from './route_helpers.js';

const WORKER = new URL('./linkflow_worker.js', import.meta.url);
const COOKIE = 'linkflow';
const LIMIT = 1024 * 1024;
const SIZE = 64 * 1024;
/** 62.5 MiB offered: far beyond the bound plus the kernel's buffers or the ring. */
const ATTEMPTS = 1000;

/** Atomics.waitAsync (ES2024; the library target here is older). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

interface SlowPeer {
  sender: Node;
  peer: string;
  worker: Worker;
  block(): Promise<void>;
  release(): void;
}

/** A sender node here and a node in a worker thread whose event loop the test blocks. */
async function slowPeer(t: { after(fn: () => Promise<void>): void }, inhost: boolean): Promise<SlowPeer> {
  const tag = `${inhost ? 'i' : 't'}${process.pid}`;
  const peer = `slow${tag}@localhost`;
  const senderName = `fast${tag}@localhost`;
  const sab = new SharedArrayBuffer(8);
  const flags = new Int32Array(sab);
  const channel = inhost ? new MessageChannel() : null;
  const data: SlowPeerData = { name: peer, cookie: COOKIE, sab };
  if (channel !== null) data.inhost = { port: channel.port2, peer: senderName, ringSize: 64 * 1024 };
  const worker = new Worker(WORKER, { workerData: data, transferList: channel === null ? [] : [channel.port2] });
  const [ready] = (await within(once(worker, 'message'), 'slow peer ready', 20_000)) as [{ port: number }];
  const sender = await startNode(senderName, {
    network: {
      cookie: COOKIE,
      registrar: null,
      acceptors: [],
      peerBufferLimit: LIMIT,
      peerStallTimeout: 0, // the peer is blocked on purpose: keep the connection
      routes: inhost ? [] : [{ match: peer.replace(/[.$]/g, '\\$&'), route: routeTo(ready.port) }],
    },
    log: { defaultLogger: { disable: true } },
  });
  if (channel !== null) {
    const transport = new InHostTransport({ ringSize: 64 * 1024 });
    transport.setPeer(peer, channel.port1);
    (sender.network() as NetworkImpl).attachInHost(transport);
  }
  const release = (): void => {
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
  };
  t.after(async () => {
    release();
    await sender.stop().catch(() => undefined);
    worker.postMessage({ kind: 'stop' });
    await within(once(worker, 'message'), 'slow peer stopped', 20_000).catch(() => undefined);
    await worker.terminate();
  });
  return {
    sender,
    peer,
    worker,
    block: async () => {
      worker.postMessage({ kind: 'block' });
      const w = waitAsync(flags, 1, 0);
      if (w.async) await within(w.value as Promise<string>, 'the peer blocks its event loop', 20_000);
    },
    release,
  };
}

async function blockedPeer(t: { after(fn: () => Promise<void>): void; diagnostic(m: string): void }, inhost: boolean) {
  const { sender, peer, block, release } = await slowPeer(t, inhost);
  const sink = new ProcessID('sink' as Atom, peer as Atom);
  assert.equal(await sender.call(sink, 'count'), 0, 'connected and healthy');
  await block();
  const r = await flood(sender, peer, sink, ATTEMPTS, SIZE);
  t.diagnostic(
    `accepted ${r.accepted}, refused ${r.refused}, largest queue ${r.maxQueued} B, sender RSS +${(r.rssGrowth / 2 ** 20).toFixed(1)} MiB`,
  );
  assert.ok(r.refused > 0, 'sends past the bound are refused');
  assert.ok(r.maxQueued <= LIMIT, `the queue stays within the bound (${r.maxQueued} > ${LIMIT})`);
  assert.equal(r.firstRefusal!.code, 'ERR_PEER_BUSY');
  assert.match(r.firstRefusal!.message, new RegExp(`${peer}.*peerBufferLimit ${LIMIT}`));
  // A call the full queue cannot take fails at once with the same error (it waits for nothing).
  await assert.rejects(sender.call(sink, new Uint8Array(LIMIT)), { code: 'ERR_PEER_BUSY' });
  release();
  // Behind every accepted message on the same ordered route: all of them arrived, none refused did.
  assert.equal(await sender.call(sink, 'count', { timeout: 60_000 }), r.accepted);
}

test('a peer whose event loop is blocked, over TCP: sends past peerBufferLimit are refused with ERR_PEER_BUSY, the queue stays within it', async (t) => {
  await blockedPeer(t, false);
});

test('a peer whose event loop is blocked, over the in-host ring: the same bound and refusal', async (t) => {
  await blockedPeer(t, true);
});

test('a peer stopped with SIGSTOP (its own OS process): the queue stays within the bound; after SIGCONT the accepted messages arrive', async (t) => {
  const child = await LfNode.start(`stopped${process.pid}`, { LF_STALL: '0' });
  const reap = (): void => {
    child.proc.kill('SIGCONT');
    child.proc.kill('SIGKILL');
  };
  process.once('exit', reap);
  t.after(() => child.stop().catch(reap));
  const sender = await startNode(`sender${process.pid}@localhost`, {
    network: {
      cookie: COOKIE,
      registrar: null,
      acceptors: [],
      peerBufferLimit: LIMIT,
      peerStallTimeout: 0,
      routes: [{ match: child.name.replace(/[.$]/g, '\\$&'), route: routeTo(child.port) }],
    },
    log: { defaultLogger: { disable: true } },
  });
  t.after(() => sender.stop().catch(() => undefined));
  const sink = new ProcessID('sink' as Atom, child.name as Atom);
  assert.equal(await sender.call(sink, 'count'), 0);
  child.proc.kill('SIGSTOP');
  const r = await flood(sender, child.name, sink, ATTEMPTS, SIZE);
  t.diagnostic(
    `accepted ${r.accepted}, refused ${r.refused}, largest queue ${r.maxQueued} B, sender RSS +${(r.rssGrowth / 2 ** 20).toFixed(1)} MiB`,
  );
  assert.ok(r.refused > 0, 'sends past the bound are refused');
  assert.ok(r.maxQueued <= LIMIT, `the queue stays within the bound (${r.maxQueued} > ${LIMIT})`);
  child.proc.kill('SIGCONT');
  assert.equal(await sender.call(sink, 'count', { timeout: 60_000 }), r.accepted);
});

test('peerBufferLimit is validated: ERR_INCORRECT below 1024 bytes or not an integer', async () => {
  for (const bad of [0, 1023, 1.5, -1, Number.NaN]) {
    await assert.rejects(
      startNode(`bad${process.pid}@localhost`, {
        network: { registrar: null, acceptors: [], peerBufferLimit: bad },
        log: { defaultLogger: { disable: true } },
      }),
      { code: 'ERR_INCORRECT' },
      String(bad),
    );
  }
});
