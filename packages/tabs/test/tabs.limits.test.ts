// Per-tab limits under a flood: the gateway passes on no more than a tab's messages/s and bytes/s
// allow (one second's burst plus the rate over the time the flood took, measured), refuses the
// rest with ERR_TAB_RATE_LIMIT / ERR_TAB_BYTES_LIMIT at the tab, keeps no more than the tab's
// queued bytes for it while it is away (ERR_TAB_QUEUE_FULL at the sender, on the gateway node and
// on a server node in another OS process), and refuses frames above the tab's largest.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Actor, ProcessID, startNode, type Atom, type ErgoError, type PID } from 'ergo-ts';

import { DEFAULT_TAB_LIMITS, TabPolicy } from '../src/grant.js';
import { TabSession } from '../src/session.js';

import { gatewayNode, pidJson, serverProcess, tabOf, ViewActor } from './helpers.js';

/** Counts what it gets; `onCount` after each. */
class Sink extends Actor {
  constructor(readonly onMessage: (m: unknown) => void) {
    super();
  }
  override handleMessage(_from: PID, m: unknown): void {
    this.onMessage(m);
  }
}

async function flood(
  t: Parameters<typeof gatewayNode>[0],
  limits: { messagesPerSecond?: number; bytesPerSecond?: number },
  count: number,
  payload: string,
): Promise<{ delivered: number; bytes: number; refused: string[]; seconds: number; refusedAtGateway: number }> {
  const { g, gw } = await gatewayNode(t, { admit: () => ({ names: { sink: true }, limits }) });
  let delivered = 0;
  let bytes = 0;
  const refused: string[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const check = (): void => {
    if (delivered + refused.length === count) done();
  };
  await g.spawnRegister('sink', () => new Sink(() => (delivered++, check())));
  const tab = await tabOf(t, gw, 'good', { onRefusal: (e: ErgoError) => (refused.push(e.code), check()) });
  const sink = new ProcessID('sink' as Atom, g.name);
  // Each send's frame size, as the gateway counts it, measured on the wire by the gateway.
  const before = gw.tabs()[0]!.bytesIn;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) tab.node.send(sink, payload);
  await all;
  const seconds = (performance.now() - t0) / 1000;
  const info = gw.tabs()[0]!;
  bytes = info.bytesIn - before;
  return { delivered, bytes, refused, seconds, refusedAtGateway: info.refused };
}

test('a flood of messages: no more than messagesPerSecond pass, the rest refused with a code', async (t) => {
  const rate = 50;
  const r = await flood(t, { messagesPerSecond: rate }, 1000, 'x');
  // One second's burst, then the rate over the flood's measured duration.
  assert.ok(r.delivered <= rate + Math.ceil(rate * r.seconds), `${r.delivered} passed in ${r.seconds} s`);
  assert.ok(r.delivered >= 1 && r.refused.length >= 1);
  assert.deepEqual(new Set(r.refused), new Set(['ERR_TAB_RATE_LIMIT']));
  assert.equal(r.refusedAtGateway, r.refused.length, 'every refusal counted (and logged) at the gateway');
});

test('a flood of bytes: no more than bytesPerSecond pass, the rest refused with a code', async (t) => {
  const rate = 20_000;
  const r = await flood(t, { bytesPerSecond: rate, messagesPerSecond: 1e9 }, 300, 'y'.repeat(1000));
  assert.ok(r.bytes <= rate + Math.ceil(rate * r.seconds), `${r.bytes} bytes passed in ${r.seconds} s`);
  assert.ok(r.delivered >= 1 && r.refused.length >= 1);
  assert.deepEqual(new Set(r.refused), new Set(['ERR_TAB_BYTES_LIMIT']));
});

test('a tab away: the gateway keeps no more than queuedBytes for it, senders get ERR_TAB_QUEUE_FULL', async (t) => {
  const limit = 10_000;
  const { g, gw, lines } = await gatewayNode(t, { admit: () => ({ limits: { queuedBytes: limit } }) });
  const srv = await serverProcess(t, g);
  // The tab does not come back (the window test shows held frames arriving on a return).
  const tab = await tabOf(t, gw, 'good', { reconnect: false });
  const view = await tab.node.spawn(() => new ViewActor());
  // The tab's node knows the server (it will hold frames for it once away).
  assert.equal(await srv.ipc.value('call', { pid: pidJson(view) }), 'rendered:from-server');
  const away = lines.waitFor(/away: /, 'the tab away');
  tab.dropConnection();
  await away;
  let kept = 0;
  let full: unknown;
  for (let i = 0; i < 100 && full === undefined; i++) {
    try {
      g.send(view, 'z'.repeat(1000));
      kept++;
    } catch (e) {
      full = e;
    }
    assert.ok(gw.tabs()[0]!.queuedBytes <= limit, 'within queuedBytes');
  }
  assert.equal((full as { code?: string }).code, 'ERR_TAB_QUEUE_FULL');
  assert.ok(kept >= 1 && kept < 10, `${kept} kept`);
  // Filled to the brim with the smallest sends: then nothing more fits, a call neither.
  for (let i = 0; i < 10_000; i++) {
    try {
      g.send(view, '');
    } catch {
      break;
    }
  }
  assert.ok(gw.tabs()[0]!.queuedBytes <= limit);
  await assert.rejects(g.call(view, 'full'), { code: 'ERR_TAB_QUEUE_FULL' });
  await assert.rejects(srv.ipc.value('call', { pid: pidJson(view) }), { code: 'ERR_TAB_QUEUE_FULL' });
  assert.ok(gw.tabs()[0]!.queuedBytes <= limit);
  await lines.waitFor(/not delivered: tab queue is full/, 'the server frame refusal logged');
});

test('a frame above maxFrameBytes is refused undecoded with ERR_TAB_FRAME', async (t) => {
  const { g, gw } = await gatewayNode(t, { admit: () => ({ names: { sink: true }, limits: { maxFrameBytes: 2000 } }) });
  const got: unknown[] = [];
  let first!: () => void;
  const arrived = new Promise<void>((r) => (first = r));
  await g.spawnRegister('sink', () => new Sink((m) => (got.push(m), first())));
  const refused: string[] = [];
  let one!: () => void;
  const refusal = new Promise<void>((r) => (one = r));
  const tab = await tabOf(t, gw, 'good', { onRefusal: (e) => (refused.push(e.code), one()) });
  tab.node.send(new ProcessID('sink' as Atom, g.name), 'w'.repeat(5000));
  await refusal;
  assert.deepEqual(refused, ['ERR_TAB_FRAME']);
  // The socket stays up: a frame within the limit after it goes through (and it alone).
  tab.node.send(new ProcessID('sink' as Atom, g.name), 'small');
  await arrived;
  assert.deepEqual(got, ['small']);
});

test('a frame refused for bytes/s uses up none of the messages/s', async (t) => {
  const node = await startNode(`lim${process.pid}@localhost`, { log: { defaultLogger: { disable: true } } });
  t.after(() => node.stop());
  const name = `tab-${'0'.repeat(14)}-lim@localhost` as Atom;
  const limits = { ...DEFAULT_TAB_LIMITS, messagesPerSecond: 2, bytesPerSecond: 100 };
  const s = new TabSession(
    name,
    'secret',
    new TabPolicy(name, { names: {} }, () => false),
    limits,
    node.name,
    node.log,
    () => undefined,
  );
  t.after(() => s.end(1000, 'done'));
  for (let i = 0; i < 3; i++)
    assert.throws(() => s.admitInbound(1000), { code: 'ERR_TAB_BYTES_LIMIT' }, 'a frame past the bytes/s');
  // The two messages of this second are still there (a refill in the meantime only adds).
  s.admitInbound(10);
  s.admitInbound(10);
  assert.equal(s.info('').messagesIn, 2);
});
