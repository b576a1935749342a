// Test hosts under real traffic: plain TCP echo and UDP agents (hosts_agent.ts) in the hosts,
// and the faults the harness puts between them — connectivity, silent two-way and one-way
// partitions, random loss, rate limits. No wall-clock thresholds: every wait is for an event or a
// counter (nft's and tc's own), bounded only as a hang guard.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { requireHosts, TestHosts } from '../src/index.js';
import { Agent, until } from './hosts_helpers.js';

let hosts: TestHosts | undefined;

before(async () => {
  if (requireHosts({ skip: () => {} })) hosts = await TestHosts.create({ names: ['a', 'b', 'c'] });
});
after(async () => {
  await hosts?.dispose();
});

/** The harness, or a skip (a failure under CI=true) when this machine cannot run it. */
function need(t: { skip(msg: string): void; after(fn: () => Promise<void>): void }): TestHosts | undefined {
  if (!requireHosts(t)) return undefined;
  // A test that fails half way leaves no fault behind for the next one.
  t.after(async () => {
    await hosts?.healAll();
  });
  return hosts;
}

test('each host has its own address on the subnet, loopback up, no default route', async (t) => {
  const h = need(t);
  if (h === undefined) return;
  assert.deepEqual(
    h.hosts.map((x) => x.address),
    [1, 2, 3].map((i) => h.subnet.replace(/0\/24$/, String(i))),
  );
  const { stdout: links } = await h.host('a').exec('ip', ['-br', 'link']);
  assert.match(links, /^lo\s+UNKNOWN/m);
  assert.match(links, /^eth0@\S+\s+UP/m);
  const { stdout: routes } = await h.host('a').exec('ip', ['route']);
  assert.doesNotMatch(routes, /default/);
});

test('TCP echo between two hosts; the server sees the client host address', async (t) => {
  const h = need(t);
  if (h === undefined) return;
  const [a, b] = [await Agent.start(h.host('a'), t), await Agent.start(h.host('b'), t)];
  await b.ask('tcpServer', { port: 7001 }, 'listening');
  await a.ask('tcpConnect', { host: h.host('b').address, port: 7001 }, 'connected');
  const accepted = await b.wait('accepted');
  assert.equal(accepted.remote, h.host('a').address);
  a.send('tcpWrite', { text: 'hello' });
  assert.equal((await a.next('echo')).text, 'hello');
});

test("traffic: each host's sent and received counters grow by what it sent and received", async (t) => {
  const h = need(t);
  if (h === undefined) return;
  const [a, b] = [await Agent.start(h.host('a'), t), await Agent.start(h.host('b'), t)];
  await b.ask('tcpServer', { port: 7005 }, 'listening');
  await a.ask('tcpConnect', { host: h.host('b').address, port: 7005 }, 'connected');
  await b.wait('accepted');
  const before = await h.traffic();
  assert.deepEqual(
    before.map((x) => x.host.name),
    ['a', 'b', 'c'],
  );
  const text = 'x'.repeat(20_000);
  a.send('tcpWrite', { text });
  // The echo comes back in pieces: wait for the counters, not for a count of reads.
  await until(async () => {
    const now = await h.traffic();
    const grown =
      now[0]!.sentBytes - before[0]!.sentBytes >= text.length &&
      now[1]!.receivedBytes - before[1]!.receivedBytes >= text.length &&
      now[0]!.receivedBytes - before[0]!.receivedBytes >= text.length;
    return grown ? true : undefined;
  }, "a's sent, b's received and the echo's bytes grown by the payload");
  const after = await h.traffic();
  assert.ok(after[0]!.sentPackets > before[0]!.sentPackets);
  assert.ok(after[1]!.sentBytes > before[1]!.sentBytes, 'b sent the echo');
});

test('staticNeighbours: every other host is a permanent neighbour, so hosts talk without ARP', async (t) => {
  if (!requireHosts(t)) return;
  await using own = await TestHosts.create({ count: 3, staticNeighbours: true });
  const { stdout } = await own.host(0).exec('ip', ['neigh', 'show', 'dev', 'eth0']);
  const lines = stdout.trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(' ')[0]).sort(), [own.host(1).address, own.host(2).address].sort());
  for (const l of lines) assert.match(l, /PERMANENT\s*$/);
  const [a, b] = [await Agent.start(own.host(0), t), await Agent.start(own.host(1), t)];
  await b.ask('tcpServer', { port: 7006 }, 'listening');
  await a.ask('tcpConnect', { host: own.host(1).address, port: 7006 }, 'connected');
  a.send('tcpWrite', { text: 'hello' });
  assert.equal((await a.next('echo')).text, 'hello');
  const after = await own.host(0).exec('ip', ['neigh', 'show', 'dev', 'eth0']);
  assert.equal(after.stdout.trim().split('\n').length, 2, 'no entry learnt by ARP');
});

test('a two-way partition makes a connected socket silent; healing delivers on the same socket', async (t) => {
  const h = need(t);
  if (h === undefined) return;
  const [a, b] = [await Agent.start(h.host('a'), t), await Agent.start(h.host('b'), t)];
  await b.ask('tcpServer', { port: 7002 }, 'listening');
  await a.ask('tcpConnect', { host: h.host('b').address, port: 7002 }, 'connected');
  a.send('tcpWrite', { text: 'before' });
  assert.equal((await a.next('echo')).text, 'before');

  const cut = await h.partition('a', 'b');
  const written = await a.ask('tcpWrite', { text: 'during' }, 'written');
  assert.equal(written.error, undefined, 'the write succeeds: the kernel takes the bytes');
  // The segment (and its retransmissions) reached b's entrance and was dropped there.
  await until(async () => ((await cut.dropped(h.host('b'))).packets >= 2 ? true : undefined), 'drops at b');
  assert.deepEqual(
    b.all('tcpData').map((e) => e.text),
    ['before'],
    'nothing arrived during the partition',
  );
  assert.equal(a.all('tcpError').length, 0, 'the socket stays open');

  await cut.heal();
  assert.equal((await b.wait('tcpData', (e) => e.text === 'during')).text, 'during');
  assert.equal((await a.wait('echo', (e) => e.text === 'during')).text, 'during');
  assert.equal(a.all('connected').length, 1, 'the same connection');
});

test('a one-way partition drops a->b only (UDP shows the direction)', async (t) => {
  const h = need(t);
  if (h === undefined) return;
  const [a, b] = [await Agent.start(h.host('a'), t), await Agent.start(h.host('b'), t)];
  await a.ask('udpBind', { port: 7003 }, 'udpBound');
  await b.ask('udpBind', { port: 7003 }, 'udpBound');
  const cut = await h.partition('a', 'b', { oneWay: true });
  const texts = Array.from({ length: 5 }, (_, i) => `ab${i}`);
  await a.ask('udpSend', { host: h.host('b').address, port: 7003, texts }, 'udpSent');
  await b.ask('udpSend', { host: h.host('a').address, port: 7003, texts: ['ba0', 'ba1'] }, 'udpSent');
  // b -> a arrives ...
  await a.wait('udp', (e) => e.text === 'ba1');
  // ... a -> b does not: all five reached b's entrance and were dropped there, none at a.
  await until(async () => ((await cut.dropped(h.host('b'))).packets >= 5 ? true : undefined), 'five drops at b');
  assert.equal((await cut.dropped(h.host('a'))).packets, 0);
  assert.deepEqual(b.all('udp'), []);
  await cut.heal();
  await a.ask('udpSend', { host: h.host('b').address, port: 7003, texts: ['healed'] }, 'udpSent');
  assert.equal((await b.wait('udp')).text, 'healed');
  assert.equal(cut.healed, true);
});

test('loss: about the share of 1000 UDP datagrams is dropped (30 %: 500..850 arrive)', async (t) => {
  const h = need(t);
  if (h === undefined) return;
  const [a, b] = [await Agent.start(h.host('a'), t), await Agent.start(h.host('c'), t)];
  await b.ask('udpBind', { port: 7004, quiet: true }, 'udpBound');
  const loss = await h.loss('a', 'c', 30, { oneWay: true });
  // Windows of 100, each sent once the last has been accounted for (arrived or dropped), so no
  // datagram is lost to a full receive buffer instead of to the rule.
  for (let w = 1; w <= 10; w++) {
    const texts = Array.from({ length: 100 }, (_, i) => `d${w}-${i}`);
    await a.ask('udpSend', { host: h.host('c').address, port: 7004, texts }, 'udpSent');
    await until(async () => {
      const [got, dropped] = [Number((await b.ask('udpCount', {}, 'udpCount')).n), (await loss.dropped()).packets];
      return got + dropped >= w * 100 ? true : undefined;
    }, `window ${w} accounted for`);
  }
  const arrived = Number((await b.ask('udpCount', {}, 'udpCount')).n);
  t.diagnostic(`30 % loss: ${arrived} of 1000 arrived`);
  assert.ok(arrived >= 500 && arrived <= 850, `${arrived} of 1000 arrived`);
  await loss.heal();
});

test('rate limit: tbf delays and drops what exceeds the rate (tc counters); healing removes it', async (t) => {
  const h = need(t);
  if (h === undefined) return;
  const [a, b] = [await Agent.start(h.host('b'), t), await Agent.start(h.host('c'), t)];
  await b.ask('udpBind', { port: 7005, quiet: true }, 'udpBound');
  const limit = await h.limitRate('b', { rate: 1_000_000, burst: 4000, latencyMs: 20, direction: 'out' });
  // 2 MB offered as fast as the socket takes it: far beyond 1 Mbit/s with a 20 ms queue.
  const flooded = await a.ask(
    'flood',
    { host: h.host('c').address, port: 7005, datagrams: 2000, size: 1000 },
    'flooded',
  );
  assert.equal(flooded.sent, 2000);
  // Once tbf's queue has drained, every datagram was either sent on or dropped by it.
  await until(async () => ((await limit.stats())[0]!.qlen === 0 ? true : undefined), 'the queue to drain');
  const [out] = await limit.stats();
  t.diagnostic(`tbf: ${JSON.stringify(out)}`);
  assert.equal(out!.direction, 'out');
  assert.ok(out!.overlimits > 0, 'packets had to wait for tokens');
  assert.ok(out!.drops > 0, 'packets beyond the queue were dropped');
  assert.ok(out!.packets + out!.drops >= 2000, 'every datagram met the limit');
  const arrived = Number((await b.ask('udpCount', {}, 'udpCount')).n);
  // Every datagram that arrived went through tbf (its packet count may also hold an ARP
  // request or two, and its drops too, so `2000 - drops` is not a bound).
  assert.ok(arrived <= out!.packets, `only what tbf sent arrives (${arrived} of ${out!.packets} sent on)`);
  await limit.heal();
  const { stdout } = await h.host('b').exec('tc', ['qdisc', 'show', 'dev', 'eth0']);
  assert.doesNotMatch(stdout, /tbf/);
});

test('isolate: one host cut off from all, both ways; the others still talk', async (t) => {
  const h = need(t);
  if (h === undefined) return;
  const [a, b, c] = [
    await Agent.start(h.host('a'), t),
    await Agent.start(h.host('b'), t),
    await Agent.start(h.host('c'), t),
  ];
  for (const x of [a, b, c]) await x.ask('udpBind', { port: 7006 }, 'udpBound');
  const off = await h.isolate('c');
  await a.ask('udpSend', { host: h.host('c').address, port: 7006, texts: ['a-c'] }, 'udpSent');
  await c.ask('udpSend', { host: h.host('b').address, port: 7006, texts: ['c-b'] }, 'udpSent');
  await a.ask('udpSend', { host: h.host('b').address, port: 7006, texts: ['a-b'] }, 'udpSent');
  await b.wait('udp', (e) => e.text === 'a-b');
  await until(async () => ((await off.dropped(h.host('c'))).packets >= 1 ? true : undefined), 'the drop at c');
  await until(async () => ((await off.dropped(h.host('b'))).packets >= 1 ? true : undefined), 'the drop at b');
  assert.deepEqual(c.all('udp'), []);
  assert.deepEqual(
    b.all('udp').map((e) => e.text),
    ['a-b'],
  );
  await off.heal();
  await c.ask('udpSend', { host: h.host('b').address, port: 7006, texts: ['c-b again'] }, 'udpSent');
  await b.wait('udp', (e) => e.text === 'c-b again');
});

test('bad arguments fail with a stable code', async (t) => {
  const h = need(t);
  if (h === undefined) return;
  await assert.rejects(h.partition('a', 'a'), { code: 'ERR_TESTHOSTS_BAD_ARG' });
  await assert.rejects(h.partition('a', 'nope'), { code: 'ERR_TESTHOSTS_BAD_ARG', message: /no such host "nope"/ });
  await assert.rejects(h.loss('a', 'b', 130), { code: 'ERR_TESTHOSTS_BAD_ARG' });
  await assert.rejects(h.limitRate('a', { rate: 10 }), { code: 'ERR_TESTHOSTS_BAD_ARG' });
  await assert.rejects(h.delay('a', 'b', { ms: -1 }), { code: 'ERR_TESTHOSTS_BAD_ARG' });
  await assert.rejects(h.host('a').exec('false'), { code: 'ERR_TESTHOSTS_COMMAND' });
  await assert.rejects(TestHosts.create({ names: ['Bad name'] }), { code: 'ERR_TESTHOSTS_BAD_ARG' });
  assert.deepEqual(
    h.impairments().map((f) => f.label),
    [],
  );
});
