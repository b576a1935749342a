// Leader (act/leader) on one node, against scripted peers: pre-vote (nobody changes term on the
// question; a member with a live leader says no), check-quorum (a leader whose heartbeats go
// unanswered steps down), the correction of a leader of an older term, and terms a float64
// cannot hold exactly (refused on receipt, logged once; refused at encode).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '@ergo-ts/test-support';
import {
  Leader,
  LEADER_TS_EDF_PACKAGE,
  MessageLeaderHeartbeat,
  MessageLeaderPreVote,
  MessageLeaderPreVoteReply,
  MessageLeaderVote,
  MessageLeaderVoteReply,
  ProcessID,
  isLeaderTerm,
  memoryLeaderStore,
  type Atom,
  type HandlerResult,
  type LeaderOptions,
  type Node,
  type PID,
  type Ref,
} from '../src/index.js';
import { decode, encode } from '../src/net/index.js';
import { Inbox, LogCapture, probe, scriptedPeer, withNode } from './helpers.js';

const FAST = { electionTimeoutMin: 40, electionTimeoutMax: 80, heartbeatInterval: 10 };
/** A member that never stands on its own (the test drives it). */
const SLOW = { electionTimeoutMin: 60_000, electionTimeoutMax: 60_001 };

interface Status {
  term: number;
  leader: PID | undefined;
  isLeader: boolean;
}

class Member extends Leader {
  readonly seen: string[] = [];
  constructor(readonly opts: Partial<LeaderOptions> & { clusterID: string }) {
    super();
  }
  init(): LeaderOptions {
    return { ...FAST, ...this.opts };
  }
  override handleBecomeLeader(): HandlerResult {
    this.seen.push(`leader:${this.term()}`);
  }
  override handleBecomeFollower(leader: PID | undefined): HandlerResult {
    this.seen.push(`follower:${leader === undefined ? '-' : leader.node}:${this.term()}`);
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (request === 'status')
      return { term: this.term(), leader: this.clusterLeader(), isLeader: this.isLeader() } satisfies Status;
    if (request === 'seen') return this.seen.slice();
    return undefined;
  }
}

const status = (node: Node, name: string): Promise<Status> =>
  node.call(new ProcessID(name as Atom), 'status') as Promise<Status>;
const info = async (node: Node, name: string): Promise<Record<string, string>> => node.inspect(node.processPID(name));

test('pre-vote: granted only above the term and with no live leader; nobody changes term on it', async () => {
  await withNode(async (node) => {
    const voter = await node.spawnRegister(
      'v',
      () => new Member({ clusterID: 'c1', ...SLOW, store: memoryLeaderStore() }),
    );
    const inbox = new Inbox();
    const x = await scriptedPeer(node, 'x', inbox);
    const z = await scriptedPeer(node, 'z', inbox);
    // No leader known: yes, and the voter stays in term 0 with no vote given.
    node.send(x, { to: voter, send: new MessageLeaderPreVote('c1', 4, x) });
    assert.deepEqual((await inbox.count(1))[0]!.message, new MessageLeaderPreVoteReply('c1', 4, true));
    assert.equal((await status(node, 'v')).term, 0);
    // A leader in term 2, just heard from: no, with the voter's own term.
    node.send(z, { to: voter, send: new MessageLeaderHeartbeat('c1', 2, z) });
    await inbox.count(2); // the heartbeat's answer to z
    node.send(x, { to: voter, send: new MessageLeaderPreVote('c1', 3, x) });
    assert.deepEqual((await inbox.count(3))[2]!.message, new MessageLeaderPreVoteReply('c1', 2, false));
    // Not above the voter's term: no (the asker learns the term from the answer).
    node.kill(z);
    await eventually(async () => (await status(node, 'v')).leader === undefined, 'voter lost z');
    node.send(x, { to: voter, send: new MessageLeaderPreVote('c1', 2, x) });
    assert.deepEqual((await inbox.count(4))[3]!.message, new MessageLeaderPreVoteReply('c1', 2, false));
    // Leader gone: yes again, still without a term change; the real vote is what moves it.
    node.send(x, { to: voter, send: new MessageLeaderPreVote('c1', 3, x) });
    assert.deepEqual((await inbox.count(5))[4]!.message, new MessageLeaderPreVoteReply('c1', 3, true));
    assert.equal((await status(node, 'v')).term, 2);
    node.send(x, { to: voter, send: new MessageLeaderVote('c1', 3, x) });
    assert.deepEqual((await inbox.count(6))[5]!.message, new MessageLeaderVoteReply('c1', 3, true));
    assert.equal((await status(node, 'v')).term, 3);
  });
});

test('a refused pre-vote with a higher term brings the asker up to that term', async () => {
  await withNode(async (node) => {
    const inbox = new Inbox();
    // x refuses every pre-vote with term 9.
    await node.spawnRegister(
      'x',
      probe((msg, from, self) => {
        if (msg instanceof MessageLeaderPreVote) self.send(from, new MessageLeaderPreVoteReply('c1', 9, false));
        else inbox.push(msg, from);
      }),
    );
    const bootstrap = ['m', 'x', 'y'].map((n) => new ProcessID(n as Atom, node.name));
    await node.spawnRegister('m', () => new Member({ clusterID: 'c1', bootstrap, startupQuiet: 0 }));
    await eventually(async () => (await status(node, 'm')).term === 9, 'm adopts term 9');
    assert.equal((await status(node, 'm')).isLeader, false);
  });
});

/**
 * Scripted members x and y: they say yes to m's pre-vote and vote for term 1 only, count m's
 * heartbeats, and answer them while `acking` says so. m is the third member; quorum 2 of 3.
 */
async function scriptedMajority(
  node: Node,
  acking: { x: boolean; y: boolean },
  options: Partial<LeaderOptions> = {},
): Promise<{ beats: number }> {
  const seen = { beats: 0 };
  for (const name of ['x', 'y'] as const)
    await node.spawnRegister(
      name,
      probe((msg, from, self) => {
        if (msg instanceof MessageLeaderPreVote)
          self.send(from, new MessageLeaderPreVoteReply('c1', msg.term === 1 ? 1 : 0, msg.term === 1));
        else if (msg instanceof MessageLeaderVote)
          self.send(from, new MessageLeaderVoteReply('c1', msg.term, msg.term === 1));
        else if (msg instanceof MessageLeaderHeartbeat) {
          if (name === 'x') seen.beats++;
          if (acking[name]) self.send(from, new MessageLeaderVoteReply('c1', msg.term, false));
        }
      }),
    );
  const bootstrap = ['m', 'x', 'y'].map((n) => new ProcessID(n as Atom, node.name));
  await node.spawnRegister('m', () => new Member({ clusterID: 'c1', bootstrap, startupQuiet: 0, ...options }));
  return seen;
}

// 20 heartbeats are 200 ms of m's own clock: more than twice its longest election timeout.
const MANY_BEATS = 20;

test('check-quorum: a leader whose heartbeats a majority stops answering steps down, in the same term', async () => {
  await withNode(async (node) => {
    const acking = { x: true, y: false };
    const seen = await scriptedMajority(node, acking);
    await eventually(async () => (await status(node, 'm')).isLeader, 'm leads term 1');
    // x's answers make 2 of 3: m stays leader while they come.
    const from = seen.beats;
    await eventually(() => seen.beats >= from + MANY_BEATS, `${MANY_BEATS} heartbeats`);
    assert.deepEqual(await status(node, 'm'), { term: 1, leader: node.processPID('m'), isLeader: true });
    acking.x = false;
    await eventually(async () => !(await status(node, 'm')).isLeader, 'm steps down');
    const s = await status(node, 'm');
    assert.equal(s.term, 1);
    assert.equal(s.leader, undefined);
    const log = (await node.call(new ProcessID('m' as Atom), 'seen')) as string[];
    assert.deepEqual(log.slice(log.indexOf('leader:1')), ['leader:1', 'follower:-:1']);
  });
});

test('check-quorum: a leader whose own event loop stalls does not blame its followers for it', async () => {
  await withNode(async (node) => {
    const seen = await scriptedMajority(node, { x: true, y: false });
    await eventually(async () => (await status(node, 'm')).isLeader, 'm leads term 1');
    for (let stall = 0; stall < 5; stall++) {
      const from = seen.beats;
      await eventually(() => seen.beats >= from + 3, 'heartbeats again');
      // The fault: the whole event loop blocked for longer than an election timeout (a long GC
      // pause, a starved host). The leader's tick is due when the loop comes back, before it has
      // read x's answer to its last heartbeat.
      const until = performance.now() + 4 * FAST.electionTimeoutMax;
      while (performance.now() < until);
    }
    const from = seen.beats;
    await eventually(() => seen.beats >= from + MANY_BEATS, `${MANY_BEATS} heartbeats`);
    assert.deepEqual(await status(node, 'm'), { term: 1, leader: node.processPID('m'), isLeader: true });
    const log = (await node.call(new ProcessID('m' as Atom), 'seen')) as string[];
    assert.deepEqual(log, ['leader:1'], 'm never stepped down');
  });
});

test('without check-quorum (checkQuorum: false) the same leader stays leader', async () => {
  await withNode(async (node) => {
    const seen = await scriptedMajority(node, { x: false, y: false }, { checkQuorum: false });
    await eventually(async () => (await status(node, 'm')).isLeader, 'm leads term 1');
    const from = seen.beats;
    await eventually(() => seen.beats >= from + MANY_BEATS, `${MANY_BEATS} heartbeats`);
    assert.deepEqual(await status(node, 'm'), { term: 1, leader: node.processPID('m'), isLeader: true });
  });
});

test('a leader of an older term is told the newer one by the first member it heartbeats, and steps down', async () => {
  await withNode(async (node) => {
    const inbox = new Inbox();
    const x = await scriptedPeer(node, 'x', inbox);
    const voter = await node.spawnRegister(
      'v',
      () => new Member({ clusterID: 'c1', ...SLOW, store: memoryLeaderStore() }),
    );
    node.send(x, { to: voter, send: new MessageLeaderVote('c1', 7, x) });
    assert.deepEqual((await inbox.count(1))[0]!.message, new MessageLeaderVoteReply('c1', 7, true));
    node.send(x, { to: voter, send: new MessageLeaderHeartbeat('c1', 5, x) });
    assert.deepEqual((await inbox.count(2))[1]!.message, new MessageLeaderVoteReply('c1', 7, false));
    assert.equal((await status(node, 'v')).leader, undefined);
  });
});

const BAD_TERMS: [string, number][] = [
  ['2^60', 2 ** 60],
  ['2^53', 2 ** 53],
  ['NaN', NaN],
  ['-1', -1],
  ['1.5', 1.5],
  ['Infinity', Infinity],
];

test('terms that are not safe non-negative integers are ignored on receipt (logged once); elections go on', async () => {
  const capture = new LogCapture();
  await withNode(
    async (node) => {
      const inbox = new Inbox();
      const x = await scriptedPeer(node, 'x', inbox);
      const voter = await node.spawnRegister(
        'v',
        () => new Member({ clusterID: 'c1', ...SLOW, store: memoryLeaderStore() }),
      );
      for (const [, t] of BAD_TERMS) {
        node.send(x, { to: voter, send: new MessageLeaderHeartbeat('c1', t, x) });
        node.send(x, { to: voter, send: new MessageLeaderVote('c1', t, x) });
        node.send(x, { to: voter, send: new MessageLeaderPreVote('c1', t, x) });
      }
      // Then a good one: it is the first thing answered, and it is followed.
      node.send(x, { to: voter, send: new MessageLeaderVote('c1', 3, x) });
      const [first] = await inbox.count(1);
      assert.deepEqual(first!.message, new MessageLeaderVoteReply('c1', 3, true));
      const i = await info(node, 'v');
      assert.equal(i.refused_terms, String(BAD_TERMS.length * 3));
      assert.equal(i.term, '3');
      // A forged 2^60 did not freeze it: the next term is 4, then 5.
      node.send(x, { to: voter, send: new MessageLeaderHeartbeat('c1', 4, x) });
      await eventually(async () => (await status(node, 'v')).term === 4, 'term 4');
      const text = capture.text();
      assert.equal(text.match(/is not a safe non-negative integer/g)?.length, 1, text);
      assert.match(text, /ignored MessageLeaderHeartbeat from .* term 1152921504606847000/);
    },
    {},
    capture,
  );
});

test('encoding refuses every such term with ERR_EDF_RANGE; 0 and 2^53 − 1 round-trip; pre-vote names', async () => {
  await withNode(async (node) => {
    const pid = await node.spawn(probe());
    const make = (t: number): unknown[] => [
      new MessageLeaderVote('c', t, pid),
      new MessageLeaderVoteReply('c', t, true),
      new MessageLeaderHeartbeat('c', t, pid),
      new MessageLeaderPreVote('c', t, pid),
      new MessageLeaderPreVoteReply('c', t, false),
    ];
    for (const [name, t] of BAD_TERMS) {
      assert.equal(isLeaderTerm(t), false, name);
      for (const m of make(t))
        assert.throws(
          () => encode(m),
          (e: Error & { code?: string }) => e.code === 'ERR_EDF_RANGE' && /leader term/.test(e.message),
          `${name} ${(m as object).constructor.name}`,
        );
    }
    for (const t of [0, Number.MAX_SAFE_INTEGER]) for (const m of make(t)) assert.deepEqual(decode(encode(m)), m);
    for (const [m, name] of [
      [new MessageLeaderPreVote('c', 1, pid), 'msgPreVote'],
      [new MessageLeaderPreVoteReply('c', 1, true), 'msgPreVoteReply'],
    ] as const)
      assert.ok(Buffer.from(encode(m)).includes(`#${LEADER_TS_EDF_PACKAGE}/${name}`), name);
    // A Go peer's uint64 past 2^53 decodes to an inexact number, which the actor then refuses.
    const bytes = Buffer.from(encode(new MessageLeaderHeartbeat('c', 0x0102030405, pid)));
    const at = bytes.indexOf(Buffer.from([0, 0, 0, 1, 2, 3, 4, 5]));
    assert.ok(at > 0);
    bytes.writeBigUInt64BE(2n ** 60n, at);
    const forged = decode(bytes) as MessageLeaderHeartbeat;
    assert.equal(forged.term, 2 ** 60);
    assert.equal(isLeaderTerm(forged.term), false);
  });
});
