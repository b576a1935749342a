// A session keeps the ordering entry of a subscription key (the newest subscribe / unsubscribe of
// it, so a late command cannot cancel the next page's subscription) only while the key is
// subscribed or being subscribed: a tab clicking through hundreds of processes leaves nothing
// behind. The entry still lives while a subscribe is in flight, so a re-subscribe that overtakes
// an earlier subscribe and its unsubscribe gets its value.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { Actor, type Node, type PID } from 'ergo-ts';

import { HUB_NAME, SESSION_PREFIX } from '../src/index.js';
import { SessionCommand, SessionReply } from '../src/session_protocol.js';
import { StreamClient, post, startObserved, WAIT } from './helpers.js';

const PROCESSES = 40;

class Idle extends Actor {}

/** The session's inspect: `subscriptions` and `keys` (entries kept to order late commands). */
async function sessionState(node: Node, session: string): Promise<Record<string, string>> {
  return node.inspect(SESSION_PREFIX + session);
}

test('subscribing to and unsubscribing from many processes leaves no key in the session', async () => {
  const { node, url } = await startObserved();
  const stream = await StreamClient.open(url);
  try {
    await stream.waitFor('connected');
    const h = { 'x-observer-session': stream.session };
    const pids: PID[] = [];
    for (let i = 0; i < PROCESSES; i++) pids.push(await node.spawn(Idle, {}));
    let id = 0;
    const subs: { type: string; pid: string; id: number }[] = [];
    for (const pid of pids)
      for (const type of ['process_info', 'process_state']) subs.push({ type, pid: String(pid), id: ++id });

    // Subscribed in parallel, as tabs do; every key is tracked while it is subscribed.
    const answers = await Promise.all(
      subs.map((s) => post(url, '/api/subscribe', { type: s.type, args: { pid: s.pid }, id: s.id }, h)),
    );
    for (const a of answers) assert.equal(a.status, 200, a.body.error);
    const during = await sessionState(node, stream.session);
    assert.equal(during.subscriptions, String(subs.length));
    assert.equal(during.keys, String(subs.length));

    const gone = await Promise.all(
      subs.map((s) => post(url, '/api/unsubscribe', { type: s.type, args: { pid: s.pid }, id: s.id }, h)),
    );
    for (const a of gone) assert.equal(a.status, 200, a.body.error);
    // A late unsubscribe of a key never (or no longer) subscribed creates nothing.
    const late = await post(
      url,
      '/api/unsubscribe',
      { type: 'process_info', args: { pid: String(pids[0]) }, id: 1 },
      h,
    );
    assert.equal(late.status, 200);

    const after = await sessionState(node, stream.session);
    assert.equal(after.subscriptions, '0');
    assert.equal(after.keys, '0', 'no key of an unsubscribed process is kept');
    assert.equal(after.inflight, '0');
    await eventually(async () => (await node.inspect(HUB_NAME)).subscriptions === '0', 'the hub to hold nothing', WAIT);
  } finally {
    stream.close();
    await node.stop();
  }
});

test('subscribes that fail leave no key in the session', async () => {
  // Without its system application the node has no system_inspect: every subscribe fails late
  // (after its request), the path on which a failed subscribe must settle its key too.
  const { node, url } = await startObserved({}, { systemApp: false });
  const stream = await StreamClient.open(url);
  try {
    await stream.waitFor('connected');
    const h = { 'x-observer-session': stream.session };
    const pids: PID[] = [];
    for (let i = 0; i < PROCESSES; i++) pids.push(await node.spawn(Idle, {}));
    const answers = await Promise.all(
      pids.map((pid, i) => post(url, '/api/subscribe', { type: 'process_info', args: { pid: String(pid) }, id: i }, h)),
    );
    for (const a of answers) assert.equal(a.status, 502, a.body.error);
    assert.match(answers[0]!.body.error ?? '', /no system_inspect process/);
    const after = await sessionState(node, stream.session);
    assert.deepEqual([after.subscriptions, after.keys, after.inflight], ['0', '0', '0']);
  } finally {
    stream.close();
    await node.stop();
  }
});

test('a re-subscribe overtaking a subscribe and its unsubscribe still gets its value', async () => {
  const { node, url } = await startObserved();
  const stream = await StreamClient.open(url);
  try {
    await stream.waitFor('connected');
    const session = SESSION_PREFIX + stream.session;
    const command = (op: string, pid: PID, id: number): Promise<SessionReply> =>
      node.call(session, new SessionCommand(op, '', { type: 'process_info', args: { pid: String(pid) }, id }), {
        timeout: 20_000,
      }) as Promise<SessionReply>;

    // Each sequence reaches the session's mailbox in this order, before the first subscribe's
    // calls to system_inspect and the hub come back: that subscribe settles last but one.
    const sequences: [string, number][][] = [
      [
        ['subscribe', 1],
        ['unsubscribe', 1],
        ['subscribe', 2],
      ],
      [
        ['subscribe', 1],
        ['subscribe', 2],
      ],
      [
        ['subscribe', 1],
        ['unsubscribe', 1],
        ['subscribe', 2],
        ['unsubscribe', 1],
      ],
    ];
    for (const sequence of sequences) {
      const pid = await node.spawn(Idle, {});
      const what = sequence.map(([op, id]) => `${op} ${id}`).join(', ');
      const mark = stream.frames.length;
      const replies = await Promise.all(sequence.map(([op, id]) => command(op, pid, id)));
      for (const r of replies) {
        assert.ok(r instanceof SessionReply, what);
        assert.equal(r.status, 200, `${what}: ${r.error}`);
      }
      assert.equal((replies[0]!.data as { superseded?: boolean }).superseded, true, `${what}: the first is dropped`);
      const last = replies[sequence.findLastIndex(([op]) => op === 'subscribe')]!;
      assert.equal((last.data as { superseded?: boolean }).superseded, undefined, `${what}: the re-subscribe holds`);
      const state = await sessionState(node, stream.session);
      assert.equal(state.subscriptions, '1', what);
      assert.equal(state.keys, '1', what);
      await stream.waitFor('process_info', (d) => JSON.stringify(d).includes(String(pid)), mark);

      const end = await command('unsubscribe', pid, 2);
      assert.equal(end.status, 200);
      const after = await sessionState(node, stream.session);
      assert.deepEqual([after.subscriptions, after.keys], ['0', '0'], what);
      // Whatever the dropped subscribes joined was left too.
      await eventually(
        async () => (await node.inspect(HUB_NAME)).subscriptions === '0',
        `${what}: the hub to hold nothing`,
        WAIT,
      );
    }
  } finally {
    stream.close();
    await node.stop();
  }
});

test('what a dropped subscribe joined is left once no subscribe of its key is in flight', async () => {
  const { node, url } = await startObserved();
  const stream = await StreamClient.open(url);
  try {
    await stream.waitFor('connected');
    const session = SESSION_PREFIX + stream.session;
    const command = (op: string, type: string, args: Record<string, unknown>, id: number): Promise<SessionReply> =>
      node.call(session, new SessionCommand(op, '', { type, args, id }), { timeout: 20_000 }) as Promise<SessionReply>;
    const hubSubscriptions = async (): Promise<string> => (await node.inspect(HUB_NAME)).subscriptions!;

    // A subscribe overtaken by its own unsubscribe: its event is left when it lands.
    const pid = String(await node.spawn(Idle, {}));
    const [first, gone] = await Promise.all([
      command('subscribe', 'process_info', { pid }, 1),
      command('unsubscribe', 'process_info', { pid }, 1),
    ]);
    assert.equal((first.data as { superseded?: boolean }).superseded, true);
    assert.equal(gone.status, 200);
    await eventually(
      async () => (await hubSubscriptions()) === '0',
      'the hub to drop the overtaken subscription',
      WAIT,
    );

    // Two pages of the process list (one lookup key, two events): the first page's event goes,
    // the second page's stays.
    const [page1, page2] = await Promise.all([
      command('subscribe', 'process_list', { pidStart: 1000, pidLimit: 10 }, 2),
      command('subscribe', 'process_list', { pidStart: 1010, pidLimit: 10 }, 3),
    ]);
    assert.equal((page1.data as { superseded?: boolean }).superseded, true);
    assert.equal(page2.status, 200, page2.error ?? '');
    await eventually(async () => (await hubSubscriptions()) === '1', 'the hub to hold only the second page', WAIT);
    const state = await sessionState(node, stream.session);
    assert.deepEqual([state.subscriptions, state.keys], ['1', '1']);
    const mark = stream.frames.length;
    await stream.waitFor('process_list', () => true, mark);
  } finally {
    stream.close();
    await node.stop();
  }
});
