// Per-tab limits under a flood: the gateway passes on no more than a tab's messages/s and bytes/s
// allow (one second's burst plus the rate over the time the flood took, measured), refuses the
// rest with ERR_TAB_RATE_LIMIT / ERR_TAB_BYTES_LIMIT at the tab (a call and an important send
// reject with the code at once), summarises its log lines, keeps no more than the tab's queued
// bytes for it while it is away (ERR_TAB_QUEUE_FULL at the sender, on the gateway node and on a
// server node in another OS process), and refuses frames above the tab's largest: the tab itself,
// before sending, and the gateway for a tab that sends one anyway.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Actor, PID, ProcessID, Ref, startNode, type Atom, type ErgoError } from 'ergo-ts';

import { Ctl, ErrTabBytesLimit, Op } from '../src/frame.js';
import { DEFAULT_TAB_LIMITS, TabPolicy } from '../src/grant.js';
import { TabSession, type SessionHooks } from '../src/session.js';
import { DEFAULT_FAN_OUT_SLICE, FanOutQueue } from '../src/slices.js';

const NO_HOOKS: SessionHooks = {
  linkClosed: () => undefined,
  answersOverflowed: () => undefined,
  stalled: () => undefined,
  slowConsumerMs: 0,
  fanOut: new FanOutQueue(DEFAULT_FAN_OUT_SLICE),
};

import { gatewayNode, type LogLines, pidJson, rawTab, serverProcess, tabOf, ViewActor } from './helpers.js';

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
): Promise<{
  delivered: number;
  bytes: number;
  refused: string[];
  seconds: number;
  refusedAtGateway: number;
  lines: LogLines;
}> {
  const { g, gw, lines } = await gatewayNode(t, { admit: () => ({ names: { sink: true }, limits }) });
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
  return { delivered, bytes, refused, seconds, refusedAtGateway: info.refused, lines };
}

test('a flood of messages: no more than messagesPerSecond pass, the rest refused with a code', async (t) => {
  const rate = 50;
  const r = await flood(t, { messagesPerSecond: rate }, 1000, 'x');
  // One second's burst, then the rate over the flood's measured duration.
  assert.ok(r.delivered <= rate + Math.ceil(rate * r.seconds), `${r.delivered} passed in ${r.seconds} s`);
  assert.ok(r.delivered >= 1 && r.refused.length >= 1);
  assert.deepEqual(new Set(r.refused), new Set(['ERR_TAB_RATE_LIMIT']));
  assert.equal(r.refusedAtGateway, r.refused.length, 'every refusal counted at the gateway');
  // The log: the first refusal on a line of its own, the rest counted on one line per interval
  // (the default 5 s; the flood's first summary comes at its end), not one line per refusal.
  assert.equal(r.lines.count(/refused: /), 1, 'one line of its own');
  await r.lines.until(() => r.lines.refusals() === r.refused.length, 'the refusals summarised in the log');
  assert.ok(r.lines.count(/ more refusals \(ERR_TAB_RATE_LIMIT\) in the last 5000 ms/) >= 1);
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

/** Answers every call with its request. */
class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    return req;
  }
}

/** What each of `results` came to: 'ok', or the rejection's code. */
function outcomes(results: PromiseSettledResult<unknown>[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of results) {
    const k = r.status === 'fulfilled' ? 'ok' : String((r.reason as { code?: unknown }).code ?? r.reason);
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

for (const [limit, limits, count, size, code] of [
  ['messages/s', { messagesPerSecond: 50 }, 1000, 1, 'ERR_TAB_RATE_LIMIT'],
  ['bytes/s', { messagesPerSecond: 1e9, bytesPerSecond: 20_000 }, 300, 1000, 'ERR_TAB_BYTES_LIMIT'],
] as const)
  test(`${count} calls at once past the tab's ${limit}: each answered or rejected at once with ${code}`, async (t) => {
    const { g, gw } = await gatewayNode(t, { admit: () => ({ names: { echo: true }, limits }) });
    await g.spawnRegister('echo', () => new Echo());
    const refusals: string[] = [];
    const tab = await tabOf(t, gw, 'good', { onRefusal: (e) => refusals.push(e.code) });
    const echo = new ProcessID('echo' as Atom, g.name);
    const payload = 'c'.repeat(size);
    const results = await Promise.allSettled(Array.from({ length: count }, () => tab.node.call(echo, payload)));
    const got = outcomes(results);
    // Without the refusal's answer to the call, the refused calls ended ERR_TIMEOUT after 5 s.
    assert.deepEqual([...got.keys()].sort(), ['ok', code].sort(), JSON.stringify([...got]));
    assert.equal(got.get(code), gw.tabs()[0]!.refused, 'every refusal rejected its call');
    assert.deepEqual(refusals, [], 'nothing went to onRefusal');
  });

/** A tab process that sends `n` important messages at once and answers what each came to. */
class Burst extends Actor {
  constructor(readonly to: ProcessID) {
    super();
  }
  override async handleCall(_from: PID, _ref: Ref, n: number): Promise<[string, number][]> {
    const sends = Array.from({ length: n }, (_, i) => this.sendImportant(this.to, i));
    return [...outcomes(await Promise.allSettled(sends))];
  }
}

test('400 important sends at once past the rate: each settles, acknowledged or rejected with the code', async (t) => {
  const { g, gw } = await gatewayNode(t, {
    admit: () => ({ names: { sink: true }, limits: { messagesPerSecond: 50 } }),
  });
  const got: unknown[] = [];
  let want = Infinity;
  let reached!: () => void;
  const delivered = new Promise<void>((r) => (reached = r));
  await g.spawnRegister('sink', () => new Sink((m) => (got.push(m), got.length >= want && reached())));
  const tab = await tabOf(t, gw);
  const burst = await tab.node.spawn(() => new Burst(new ProcessID('sink' as Atom, g.name)));
  // The sending process answers once every send settled (it stayed blocked without the fix).
  const r = new Map((await tab.node.call(burst, 400, { timeout: 30_000 })) as [string, number][]);
  assert.deepEqual([...r.keys()].sort(), ['ERR_TAB_RATE_LIMIT', 'ok']);
  // Every acknowledged send was delivered (the sink may handle the last just after its ack left).
  want = r.get('ok')!;
  if (got.length >= want) reached();
  await delivered;
  assert.equal(got.length, want);
  assert.equal(r.get('ERR_TAB_RATE_LIMIT'), gw.tabs()[0]!.refused);
});

test("a frame above the tab's maxFrameBytes: refused at the tab before anything is sent", async (t) => {
  const max = 2000;
  const { g, gw, lines } = await gatewayNode(t, {
    admit: () => ({ names: { sink: true, echo: true }, limits: { maxFrameBytes: max } }),
  });
  const got: unknown[] = [];
  let first!: () => void;
  const arrived = new Promise<void>((r) => (first = r));
  await g.spawnRegister('sink', () => new Sink((m) => (got.push(m), first())));
  await g.spawnRegister('echo', () => new Echo());
  const tab = await tabOf(t, gw);
  const sink = new ProcessID('sink' as Atom, g.name);
  const echo = new ProcessID('echo' as Atom, g.name);
  // Above the limit, and above four times it (where `ws` would close the socket, 1009).
  for (const size of [max + 1000, 5 * max]) {
    const big = 'w'.repeat(size);
    await assert.rejects(tab.node.call(echo, big), { code: 'ERR_TAB_FRAME' });
    await assert.rejects(tab.node.callImportant(echo, big), { code: 'ERR_TAB_FRAME' });
    assert.throws(() => tab.node.send(sink, big), { code: 'ERR_TAB_FRAME' });
  }
  // Nothing reached the gateway; the socket stayed up and a frame within the limit goes through.
  assert.equal(await tab.node.call(echo, 'small'), 'small');
  tab.node.send(sink, 'small');
  await arrived;
  assert.deepEqual(got, ['small']);
  const info = gw.tabs()[0]!;
  assert.deepEqual([info.refused, info.messagesIn, info.connected], [0, 2, true]);
  assert.equal(lines.count(/away/), 0, 'the tab never redialled');
});

test('a frame above maxFrameBytes sent anyway: refused undecoded, a call and an important send by their ids', async (t) => {
  const { g, gw } = await gatewayNode(t, { admit: () => ({ names: { sink: true }, limits: { maxFrameBytes: 2000 } }) });
  const got: unknown[] = [];
  let first!: () => void;
  const arrived = new Promise<void>((r) => (first = r));
  await g.spawnRegister('sink', () => new Sink((m) => (got.push(m), first())));
  const raw = await rawTab(gw.url);
  t.after(() => raw.close());
  const sink = new ProcessID('sink' as Atom, g.name);
  const own = new PID(raw.name as Atom, 1, 1);
  const ref = new Ref(raw.name as Atom, 1, [1, 2, 3]);
  const big = 'w'.repeat(5000);
  raw.send([Op.Send, raw.name, g.name, 0, 0, own, sink, big]);
  raw.send([Op.Send, raw.name, g.name, 9, 0, own, sink, big]);
  raw.send([Op.Call, raw.name, g.name, 0, 0, own, sink, ref, big]);
  const refusals = [await raw.next(), await raw.next(), await raw.next()];
  for (const f of refusals) {
    assert.equal(f[0], Ctl.Refusal);
    assert.equal((f[3] as [string, string])[0], 'ERR_TAB_FRAME');
  }
  // [op, peer, reqId, error, what, caller, ref]: what the tab settles its request with.
  assert.deepEqual(
    refusals.map((f) => [f[1], f[2], f[4]]),
    [
      [g.name, 0, 'send'],
      [g.name, 9, 'send'],
      [g.name, 0, 'call'],
    ],
  );
  assert.ok(own.equals(refusals[2]![5]) && ref.equals(refusals[2]![6]), 'the call named by its caller and Ref');
  // The socket stays up: a frame within the limit after them goes through (and it alone).
  raw.send([Op.Send, raw.name, g.name, 0, 0, own, sink, 'small']);
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
    NO_HOOKS,
  );
  t.after(() => s.end(1000, 'done'));
  for (let i = 0; i < 3; i++) assert.equal(s.admitInbound(1000), ErrTabBytesLimit, 'a frame past the bytes/s');
  // The two messages of this second are still there (a refill in the meantime only adds).
  assert.equal(s.admitInbound(10), null);
  assert.equal(s.admitInbound(10), null);
  assert.equal(s.info('').messagesIn, 2);
});
