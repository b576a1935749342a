// Delay and jitter through the delay relay (no netem on this kernel): a packet between a delayed
// pair is held by the relay and arrives only after the relay released it. Ordering is checked on
// the machine-wide monotonic clock every process reads (the relay's events and the agents' `at`),
// never against a wall-clock threshold; the added round trip is measured and reported only.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { requireHosts, TestHosts, type RelayEvent } from '../src/index.js';
import { Agent, until } from './hosts_helpers.js';

let hosts: TestHosts | undefined;

before(async () => {
  if (requireHosts({ skip: () => {} })) hosts = await TestHosts.create({ names: ['a', 'b', 'c'] });
});
after(async () => {
  await hosts?.dispose();
});

function need(t: { skip(msg: string): void; after(fn: () => Promise<void>): void }): TestHosts | undefined {
  if (!requireHosts(t)) return undefined;
  // A test that fails half way leaves no fault behind for the next one.
  t.after(async () => {
    await hosts?.healAll();
  });
  return hosts;
}

const hex = (s: string): string => Buffer.from(s).toString('hex');

test('a delayed datagram arrives only after the relay released it, held for at least the delay', async (t) => {
  const h = need(t);
  if (h === undefined) return;
  const [a, b] = [await Agent.start(h.host('a'), t), await Agent.start(h.host('b'), t)];
  await b.ask('udpBind', { port: 7101 }, 'udpBound');
  const link = await h.delay('a', 'b', { ms: 200, jitter: 50, trace: true });
  const since = link.relay.events.length;
  await a.ask('udpSend', { host: h.host('b').address, port: 7101, texts: ['probe-1'] }, 'udpSent');
  const held = await link.relay.waitFor((e) => e.kind === 'held' && e.payload === hex('probe-1'), { since });
  assert.ok(held.kind === 'held');
  assert.equal(held.proto, 'udp');
  assert.equal(held.src, h.host('a').address);
  assert.equal(held.dst, h.host('b').address);
  assert.equal(held.vni, link.vni);
  // The relay's own schedule: at least delay − jitter after it took the packet in.
  assert.ok(held.releaseAt - held.heldAt >= 150_000, `scheduled ${held.releaseAt - held.heldAt} µs later`);
  const released = await link.relay.waitFor((e) => e.kind === 'released' && e.seq === held.seq, { since });
  assert.ok(released.kind === 'released' && released.at >= held.releaseAt, 'never released early');
  const got = await b.wait('udp', (e) => e.text === 'probe-1');
  assert.ok(got.at >= released.at, `delivered at ${got.at}, released at ${released.at}: not before`);
  t.diagnostic(`held ${released.at - held.heldAt} µs; delivered ${got.at - released.at} µs after release`);
  await link.heal();
});

test('TCP runs end to end through the relay, in order under jitter; the added round trip is reported', async (t) => {
  const h = need(t);
  if (h === undefined) return;
  const [a, b] = [await Agent.start(h.host('a'), t), await Agent.start(h.host('c'), t)];
  await b.ask('tcpServer', { port: 7102 }, 'listening');
  await a.ask('tcpConnect', { host: h.host('c').address, port: 7102 }, 'connected');
  const direct = (await a.ask('rtt', { n: 50 }, 'rtt')).samples as number[];

  // The connection made before the delay goes on through the relay (same path MTU).
  const link = await h.delay('a', 'c', { ms: 10, jitter: 5, trace: true });
  const since = link.relay.events.length;
  const delayed = (await a.ask('rtt', { n: 20 }, 'rtt')).samples as number[];
  const tcp = link.relay.events
    .slice(since)
    .filter((e): e is Extract<RelayEvent, { kind: 'held' }> => e.kind === 'held');
  assert.ok(
    tcp.some((e) => e.proto === 'tcp' && e.src === h.host('a').address && e.dstPort === 7102),
    'the segments went through the relay with their own addresses and ports',
  );
  // In order under jitter: 40 datagrams arrive in the order they were sent.
  await b.ask('udpBind', { port: 7103 }, 'udpBound');
  const texts = Array.from({ length: 40 }, (_, i) => `o${i}`);
  await a.ask('udpSend', { host: h.host('c').address, port: 7103, texts }, 'udpSent');
  await b.wait('udp', (e) => e.text === 'o39');
  assert.deepEqual(
    b.all('udp').map((e) => e.text),
    texts,
  );
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]! / 1000;
  t.diagnostic(
    `TCP ping-pong RTT median: direct ${median(direct).toFixed(2)} ms, through 10±5 ms each way ${median(delayed).toFixed(2)} ms`,
  );
  const counts = await link.counts();
  assert.equal(counts.dropped, 0);
  assert.ok(counts.released > 0);

  // Healed: the direct path again, nothing more through the relay.
  await link.heal();
  const { stdout } = await h.host('a').exec('ip', ['route', 'get', h.host('c').address]);
  assert.match(stdout, /dev eth0/);
  const after = link.relay.events.length;
  a.send('tcpWrite', { text: 'direct again' });
  assert.equal((await a.wait('echo', (e) => e.text === 'direct again')).text, 'direct again');
  assert.equal(link.relay.events.length, after, 'no relay events after healing');
});

test('a partition also cuts a delayed pair (drops are at the receiving host, after the relay)', async (t) => {
  const h = need(t);
  if (h === undefined) return;
  const [a, b] = [await Agent.start(h.host('b'), t), await Agent.start(h.host('c'), t)];
  await b.ask('udpBind', { port: 7104 }, 'udpBound');
  const link = await h.delay('b', 'c', { ms: 5, trace: true });
  const cut = await h.partition('b', 'c');
  const since = link.relay.events.length;
  await a.ask('udpSend', { host: h.host('c').address, port: 7104, texts: ['cut-1'] }, 'udpSent');
  const held = await link.relay.waitFor((e) => e.kind === 'held' && e.payload === hex('cut-1'), { since });
  await link.relay.waitFor((e) => e.kind === 'released' && e.seq === held.seq, { since });
  await until(async () => ((await cut.dropped(h.host('c'))).packets >= 1 ? true : undefined), 'the drop at c');
  assert.deepEqual(b.all('udp'), []);
  await cut.heal();
  await a.ask('udpSend', { host: h.host('c').address, port: 7104, texts: ['cut-2'] }, 'udpSent');
  assert.equal((await b.wait('udp')).text, 'cut-2');
  await link.heal();
  assert.deepEqual(
    h.impairments().map((f) => f.label),
    [],
  );
});

test('one delay per pair; a second is refused with a stable code', async (t) => {
  const h = need(t);
  if (h === undefined) return;
  const link = await h.delay('a', 'b', { ms: 1 });
  await assert.rejects(h.delay('b', 'a', { ms: 2 }), { code: 'ERR_TESTHOSTS_BAD_ARG', message: /delayed already/ });
  await link.set({ ms: 3, jitter: 1 });
  await link.heal();
  await link.heal();
  assert.equal(link.healed, true);
});
