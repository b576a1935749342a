// Silent partitions on the test hosts (issue 37): packets dropped, sockets open, no reset. The
// heartbeat (a request only the peer's network layer answers) must make BOTH sides of a cut
// declare each other down — the side that keeps calling, whose own kernel keeps accepting its
// bytes, included — and neither side may blame a third node it still reaches. Against a Go Ergo
// node, which answers the heartbeat but sends none, the ergo-ts side declares it down; the Go side
// learns only from a reset (a one-way cut lets ours through) or its TCP keepalive
// (docs/networking.md). peerStallTimeout is 2 s to keep the suite short; the tests wait for the
// node-down notices (hang guards only), never on time.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Peer, requireHosts, requirePeer, TestHosts } from '@ergo-ts/test-support';
import { LfNode } from './linkflow_helpers.js';

const STALL = { LF_STALL: '2000' };

async function threeNodes(hosts: TestHosts): Promise<[LfNode, LfNode, LfNode]> {
  const a = await LfNode.start('na', STALL, hosts.host('a'));
  const b = await LfNode.start('nb', STALL, hosts.host('b'));
  const c = await LfNode.start('nc', STALL, hosts.host('c'));
  await a.route(b, hosts.host('b').address);
  await a.route(c, hosts.host('c').address);
  await b.route(c, hosts.host('c').address);
  for (const [from, to] of [
    [a, b],
    [a, c],
    [b, c],
  ] as const) {
    const r = await from.ask('call', { node: to.name, request: 'hello', timeout: 10_000 });
    assert.deepEqual([r.ok, r.value], [true, 'hello'], r.message);
  }
  return [a, b, c];
}

async function stopAll(...nodes: LfNode[]): Promise<void> {
  for (const n of nodes) await n.stop();
}

/** No node-down notice about `node` on any of `on`. */
function noDown(node: LfNode, ...on: LfNode[]): void {
  for (const n of on)
    assert.deepEqual(
      n.notices.filter((x) => x.kind === 'down' && x.node === node.name),
      [],
      `${n.name} declared ${node.name} down`,
    );
}

test('a silent two-way cut between A (calling B every 100 ms) and B: both declare each other down; C stays up for both', async (t) => {
  if (!requireHosts(t)) return;
  await using hosts = await TestHosts.create({ names: ['a', 'b', 'c'] });
  const [a, b, c] = await threeNodes(hosts);
  try {
    await a.ask('ticker', { node: b.name });
    const cut = await hosts.partition('a', 'b');
    const [onA, onB] = await Promise.all([
      a.notice((n) => n.kind === 'down' && n.node === b.name, 'B declared down'),
      b.notice((n) => n.kind === 'down' && n.node === a.name, 'A declared down'),
    ]);
    assert.match(onA.reason!, /stalled: nothing read from it/);
    assert.match(onB.reason!, /stalled: nothing read from it/);
    assert.ok((await cut.dropped(hosts.host('b'))).packets > 0, 'the cut dropped packets');
    // C was reachable throughout: a call from each still works, and nobody blamed it.
    for (const n of [a, b])
      assert.equal((await n.ask('call', { node: c.name, request: 'c?', timeout: 10_000 })).value, 'c?');
    noDown(c, a, b);
    await cut.heal();
  } finally {
    await stopAll(a, b, c);
  }
});

test('a silent one-way cut (A to B dropped): both declare each other down', async (t) => {
  if (!requireHosts(t)) return;
  await using hosts = await TestHosts.create({ names: ['a', 'b', 'c'] });
  const [a, b, c] = await threeNodes(hosts);
  try {
    await a.ask('ticker', { node: b.name });
    const cut = await hosts.partition('a', 'b', { oneWay: true });
    // B hears nothing and declares A down; A hears B's heartbeats until B gives up, then B's
    // reset (B to A still flows) or its own heartbeat ends it.
    await Promise.all([
      a.notice((n) => n.kind === 'down' && n.node === b.name, 'B declared down'),
      b.notice((n) => n.kind === 'down' && n.node === a.name, 'A declared down'),
    ]);
    noDown(c, a, b);
    await cut.heal();
  } finally {
    await stopAll(a, b, c);
  }
});

test('a Go Ergo node in its own host: Go to ergo-ts cut, both sides see the connection down (Go by the reset); two-way cut, the ergo-ts side declares it down', async (t) => {
  if (!requireHosts(t)) return;
  const bin = requirePeer(t);
  if (bin === undefined) return;
  await using hosts = await TestHosts.create({ names: ['a', 'g'] });
  const g = hosts.host('g');
  const goName = `go@${g.address}`;
  const go = await Peer.start('ip', [
    'netns',
    'exec',
    g.namespace,
    bin,
    '-name',
    goName,
    '-cookie',
    'linkflow',
    '-registrar',
    'none',
  ]);
  const a = await LfNode.start('na', STALL, hosts.host('a'));
  try {
    const route = await a.ask('route', { match: `^go@`, host: g.address, port: Number(go.ready.port) });
    assert.ok(route.ok, route.message);
    const first = await a.ask('call', { node: goName, request: 'hello', timeout: 10_000 });
    assert.deepEqual([first.ok, first.value], [true, 'hello'], first.message);
    await a.ask('ticker', { node: goName });

    // One-way cut, Go to ergo-ts dropped: ergo-ts reads nothing (Go's answers are lost), declares
    // Go down, and its reset reaches Go (ergo-ts to Go still flows): Go's node monitor fires.
    const mon = await go.cmd('monitor', { target: { node: a.name } });
    assert.equal(mon.kind, 'result', String(mon.error));
    const since = go.mark();
    const oneWay = await hosts.partition('g', 'a', { oneWay: true });
    await a.notice((n) => n.kind === 'down' && n.node === goName, 'Go declared down (one-way cut)');
    await go
      .waitFor((l) => l.kind === 'down', { since, timeout: 30_000 })
      .catch((e: unknown) => {
        throw new Error(`${String(e)}; go lines: ${JSON.stringify(go.lines.slice(since))}`);
      });
    await oneWay.heal();

    // Two-way cut: Go answers heartbeats but sends none, and no reset crosses: only the ergo-ts
    // side can tell (Go learns from its TCP keepalive, or from a reset once the cut heals).
    const again = await a.ask('call', { node: goName, request: 'again', timeout: 20_000 });
    assert.deepEqual([again.ok, again.value], [true, 'again'], again.message);
    const downs = a.notices.filter((n) => n.kind === 'down').length;
    const cut = await hosts.partition('a', 'g');
    await a.notice(
      () => a.notices.filter((n) => n.kind === 'down' && n.node === goName).length > downs,
      'Go declared down (two-way cut)',
    );
    await cut.heal();
  } finally {
    await a.stop();
    await go.stop();
  }
});
