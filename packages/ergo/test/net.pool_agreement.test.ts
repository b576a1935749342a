// How many TCP links two nodes open (issue 47): Ergo's acceptor offers a pool (`poolSize`, 3) and
// the dialler opens that many links. Between two ergo-ts nodes that both announce the `ergoPool`
// flag (bit 58, ignored by Go) the acceptor offers its `ergoPoolSize` instead (default: its
// `poolSize`). Either side turning the flag off, or a Go peer (net.ergo.test.ts), gets `poolSize`.
// Both ends of a connection report the links it has.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { Actor, ProcessID, type Atom, type Node, type NetworkOptions } from '../src/index.js';
import { NetworkFlags, decode, encode } from '../src/net/index.js';
import { DEFAULT_POOL_SIZE } from '../src/net/handshake/index.js';
import { hex } from './edf.fixtures.js';
import { netNode, netPair } from './net_helpers.js';

const COOKIE = 'pool-secret';

class Echo extends Actor {
  override handleCall(_from: unknown, _ref: unknown, request: unknown): unknown {
    return request;
  }
}

/** Connects `a` to `b` (a call to b's echo) and returns the links each end reports. */
async function links(a: Node, b: Node): Promise<{ dialler: number; acceptor: number }> {
  await b.spawnRegister('echo', () => new Echo());
  assert.equal(await a.call(new ProcessID('echo' as Atom, b.name), 'hi'), 'hi');
  return {
    dialler: a.network().node(b.name).info().poolSize,
    acceptor: b.network().node(a.name).info().poolSize,
  };
}

/** Go's default flags with `ergoPool` off (what a node configured so announces). */
const OFF = Object.assign(NetworkFlags.defaults(), { ergoPool: false });

const cases: { what: string; a: NetworkOptions; b: NetworkOptions; expect: number }[] = [
  { what: "by default, Ergo's pool", a: {}, b: {}, expect: DEFAULT_POOL_SIZE },
  {
    what: "the acceptor's ergoPoolSize of 1",
    a: {},
    b: { acceptors: [{ port: 0, ergoPoolSize: 1 }] },
    expect: 1,
  },
  {
    what: "the acceptor's ergoPoolSize",
    a: {},
    b: { acceptors: [{ port: 0, ergoPoolSize: 2 }] },
    expect: 2,
  },
  {
    what: 'an explicit poolSize, for ergo-ts peers too',
    a: {},
    b: { acceptors: [{ port: 0, poolSize: 4 }] },
    expect: 4,
  },
  {
    what: 'the dialler turns the flag off: the acceptor’s poolSize, not its ergoPoolSize',
    a: { flags: OFF },
    b: { acceptors: [{ port: 0, ergoPoolSize: 2 }] },
    expect: DEFAULT_POOL_SIZE,
  },
  {
    what: 'the acceptor turns the flag off: its poolSize, not its ergoPoolSize',
    a: {},
    b: { flags: OFF, acceptors: [{ port: 0, ergoPoolSize: 2 }] },
    expect: DEFAULT_POOL_SIZE,
  },
];

for (const c of cases) {
  test(`links between two ergo-ts nodes: ${c.what} (${c.expect})`, async (t) => {
    // Without the link frames the dialler joins the agreed pool at once (with them it starts on one
    // link and grows to it: net.pool_growth.test.ts).
    const flags = Object.assign(c.a.flags ?? NetworkFlags.defaults(), { ergoFrames: false });
    const { a, b } = await netPair(t, { cookie: COOKIE, ...c.a, flags }, { cookie: COOKIE, ...c.b });
    assert.deepEqual(await links(a, b), { dialler: c.expect, acceptor: c.expect });
    const announced = c.a.flags === undefined && c.b.flags === undefined;
    assert.equal(
      a.network().node(b.name).info().networkFlags.ergoPool,
      announced ? true : c.b.flags ? undefined : true,
    );
  });
}

test('ergoPoolSize out of 1..255 is refused at start with ERR_INCORRECT', async () => {
  for (const bad of [0, 256, 1.5]) {
    await assert.rejects(
      netNode('badpool', { acceptors: [{ port: 0, ergoPoolSize: bad }] }),
      (e: Error & { code?: string }) => e.code === 'ERR_INCORRECT' && /ergoPoolSize/.test(e.message),
    );
  }
});

test('the flag: bit 58, ignored by Go, independent of enable', () => {
  const goDefault = encode(NetworkFlags.defaults());
  const ours = Object.assign(NetworkFlags.defaults(), { ergoPool: true });
  assert.ok(hex(encode(ours)).endsWith('000000080400000000000067'), hex(encode(ours)));
  assert.equal((decode(encode(ours)) as NetworkFlags).ergoPool, true);
  assert.equal((decode(goDefault) as NetworkFlags).ergoPool, undefined);
  const off = Object.assign(new NetworkFlags(), { ergoPool: true });
  assert.equal((decode(encode(off)) as NetworkFlags).ergoPool, true);
});
