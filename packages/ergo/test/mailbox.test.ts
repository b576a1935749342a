// The four-queue mailbox (issue 2, items 6 and 9; ARCHITECTURE §3): urgent → system → main →
// log order, the optional size limit per queue that rejects with ErrProcessMailboxFull (never
// drops silently), nothing accepted is ever lost under load, the overflow fallback, and
// framework notifications that bypass the limit.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  ErrProcessMailboxFull,
  isError,
  MailboxKind,
  MessageFallback,
  MessagePriority,
  ProcessState,
  TerminateReasonShutdown,
  unwrapReason,
  type PID,
} from '../src/index.js';
import { Mailbox, Q_LOG, Q_MAIN, Q_SYSTEM, Q_URGENT } from '../src/node/mailbox.js';
import {
  deferred,
  Inbox,
  LogCapture,
  noUnhandled,
  probe,
  quietNode,
  thrown,
  withNode,
  type Deferred,
} from './helpers.js';

noUnhandled();

describe('Mailbox (unit)', () => {
  test('served urgent → system → main → log, FIFO within a queue, urgent re-checked after every take', () => {
    const mb = new Mailbox(0);
    const from = undefined as unknown as PID;
    mb.push(Q_LOG, MailboxKind.Regular, from, 'log1', undefined);
    mb.push(Q_MAIN, MailboxKind.Regular, from, 'main1', undefined);
    mb.push(Q_SYSTEM, MailboxKind.Regular, from, 'sys1', undefined);
    mb.push(Q_URGENT, MailboxKind.Exit, from, 'urg1', undefined);
    mb.push(Q_MAIN, MailboxKind.Regular, from, 'main2', undefined);
    mb.push(Q_URGENT, MailboxKind.Regular, from, 'urg2', undefined);
    assert.equal(mb.size, 6);
    assert.deepEqual(mb.lengths(), { urgent: 2, system: 1, main: 2, log: 1 });
    const seen: string[] = [];
    const take = (): void => {
      assert.ok(mb.take());
      seen.push(`${mb.queue}:${String(mb.message)}`);
      mb.release();
    };
    take();
    take();
    take();
    // something urgent arrives while main is pending: it goes first
    mb.push(Q_URGENT, MailboxKind.Regular, from, 'urg3', undefined);
    while (mb.size > 0) take();
    assert.equal(mb.take(), false);
    assert.deepEqual(seen, [
      'urgent:urg1',
      'urgent:urg2',
      'system:sys1',
      'urgent:urg3',
      'main:main1',
      'main:main2',
      'log:log1',
    ]);
  });

  test('a limit bounds each queue separately; forced pushes (notifications) bypass it', () => {
    const mb = new Mailbox(2);
    const from = undefined as unknown as PID;
    for (const q of [Q_URGENT, Q_SYSTEM, Q_MAIN, Q_LOG]) {
      assert.ok(mb.push(q, MailboxKind.Regular, from, 1, undefined));
      assert.ok(mb.push(q, MailboxKind.Regular, from, 2, undefined));
      assert.equal(mb.push(q, MailboxKind.Regular, from, 3, undefined), false, `queue ${q} is full at 2`);
    }
    assert.ok(mb.push(Q_URGENT, MailboxKind.Exit, from, 'exit', undefined, true));
    assert.equal(mb.size, 9);
  });

  test('a queue grows past its initial ring size and keeps FIFO order', () => {
    const mb = new Mailbox(0);
    const from = undefined as unknown as PID;
    for (let i = 0; i < 10_000; i++) mb.push(Q_MAIN, MailboxKind.Regular, from, i, undefined);
    for (let i = 0; i < 5_000; i++) {
      mb.take();
      assert.equal(mb.message, i);
    }
    for (let i = 10_000; i < 12_000; i++) mb.push(Q_MAIN, MailboxKind.Regular, from, i, undefined);
    for (let i = 5_000; i < 12_000; i++) {
      mb.take();
      assert.equal(mb.message, i);
    }
    assert.equal(mb.size, 0);
  });
});

/** An actor that parks in its first message until `gate` resolves (so mail accumulates). */
function parked(gate: Deferred<void>, parkedD: Deferred<void>, inbox: Inbox) {
  return probe(async (m, from) => {
    if (m === 'park') {
      parkedD.resolve();
      await gate.promise;
      return;
    }
    inbox.push(m, from);
  });
}

describe('mailbox limit', () => {
  test('a full queue rejects with ErrProcessMailboxFull; other queues still accept; accepted mail is all handled', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const isParked = deferred<void>();
      const inbox = new Inbox();
      const pid = await node.spawn(parked(gate, isParked, inbox), { mailboxSize: 2 });
      node.send(pid, 'park');
      await isParked.promise;
      node.send(pid, 'n1');
      node.send(pid, 'n2');
      const e = thrown(() => node.send(pid, 'n3'), 'ERR_PROCESS_MAILBOX_FULL');
      assert.ok(isError(e, ErrProcessMailboxFull));
      node.send(pid, 'h1', { priority: MessagePriority.High });
      node.send(pid, 'h2', { priority: MessagePriority.High });
      thrown(() => node.send(pid, 'h3', { priority: MessagePriority.High }), 'ERR_PROCESS_MAILBOX_FULL');
      node.send(pid, 'm1', { priority: MessagePriority.Max });
      assert.deepEqual(node.processInfo(pid).mailboxQueues, { urgent: 1, system: 2, main: 2, log: 0 });
      // a call does not fit either, and is not left pending
      await assert.rejects(node.call(pid, 'q'), { code: 'ERR_PROCESS_MAILBOX_FULL' });
      gate.resolve();
      assert.deepEqual(
        (await inbox.count(5)).map((s) => s.message),
        ['m1', 'h1', 'h2', 'n1', 'n2'],
      );
      // room again
      node.send(pid, 'n4');
      await inbox.count(6);
    }));

  test('from a process: send throws ErrProcessMailboxFull too, sendImportant rejects', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const isParked = deferred<void>();
      const inbox = new Inbox();
      const target = await node.spawn(parked(gate, isParked, inbox), { mailboxSize: 1 });
      node.send(target, 'park');
      await isParked.promise;
      const out = deferred<string[]>();
      const sender = await node.spawn(
        probe(async (_m, _f, self) => {
          const codes: string[] = [];
          for (let i = 0; i < 2; i++) {
            try {
              self.send(target, i);
              codes.push('ok');
            } catch (e) {
              codes.push((e as { code: string }).code);
            }
          }
          codes.push(
            await self.sendImportant(target, 'imp').then(
              () => 'ok',
              (e: { code: string }) => e.code,
            ),
          );
          out.resolve(codes);
        }),
      );
      node.send(sender, 'go');
      assert.deepEqual(await out.promise, ['ok', 'ERR_PROCESS_MAILBOX_FULL', 'ERR_PROCESS_MAILBOX_FULL']);
      gate.resolve();
      assert.deepEqual(
        (await inbox.count(1)).map((s) => s.message),
        [0],
      );
    }));

  test('under load: every accepted message arrives exactly once, in order; rejected ones never do', () =>
    withNode(async (node) => {
      const received: number[] = [];
      let waitFor: { n: number; d: Deferred<void> } | null = null;
      const consumer = await node.spawn(
        probe((m) => {
          received.push(m as number);
          if (waitFor !== null && received.length >= waitFor.n) {
            const w = waitFor;
            waitFor = null;
            w.d.resolve();
          }
        }),
        { mailboxSize: 16 },
      );
      const accepted: number[] = [];
      let rejected = 0;
      let seq = 0;
      for (let round = 0; round < 200; round++) {
        // push until the queue refuses, then let the consumer drain what was accepted
        for (;;) {
          const n = seq++;
          try {
            node.send(consumer, n);
            accepted.push(n);
          } catch (e) {
            assert.ok(isError(e, ErrProcessMailboxFull));
            rejected++;
            break;
          }
        }
        if (received.length < accepted.length) {
          const d = deferred<void>();
          waitFor = { n: accepted.length, d };
          await d.promise;
        }
      }
      assert.equal(rejected, 200);
      assert.ok(accepted.length >= 200 * 16);
      assert.deepEqual(received, accepted, 'exactly the accepted messages, in order, no loss, no duplicates');
    }));

  test('many producers against one bounded consumer: accepted == received', () =>
    withNode(async (node) => {
      let received = 0;
      const all = deferred<void>();
      let expected = -1;
      const consumer = await node.spawn(
        probe(() => {
          received++;
          if (received === expected) all.resolve();
        }),
        { mailboxSize: 8 },
      );
      let accepted = 0;
      const producers: Promise<void>[] = [];
      for (let p = 0; p < 20; p++) {
        const done = deferred<void>();
        producers.push(done.promise);
        const pid = await node.spawn(
          probe(async (_m, _f, self) => {
            for (let i = 0; i < 500; i++) {
              try {
                self.send(consumer, i);
                accepted++;
              } catch (e) {
                assert.ok(isError(e, ErrProcessMailboxFull));
              }
              if (i % 50 === 0) await new Promise((r) => setImmediate(r));
            }
            done.resolve();
          }),
        );
        node.send(pid, 'go');
      }
      await Promise.all(producers);
      expected = accepted;
      if (received === expected) all.resolve();
      await all.promise;
      assert.equal(received, accepted);
      assert.ok(accepted > 0);
    }));

  test('fallback: overflow is re-sent to the fallback process as MessageFallback; own name is ignored', () =>
    withNode(async (node) => {
      const fbInbox = new Inbox();
      await node.spawnRegister('fb', probe(fbInbox.push));
      const gate = deferred<void>();
      const isParked = deferred<void>();
      const inbox = new Inbox();
      const pid = await node.spawn(parked(gate, isParked, inbox), {
        mailboxSize: 1,
        fallback: { enable: true, name: 'fb', tag: 'overflow' },
      });
      node.send(pid, 'park');
      await isParked.promise;
      node.send(pid, 'fits');
      node.send(pid, 'overflows'); // no throw: it went to the fallback
      const [fb] = await fbInbox.count(1);
      assert.ok(fb!.message instanceof MessageFallback);
      const m = fb!.message as MessageFallback;
      assert.ok(m.pid.equals(pid));
      assert.equal(m.tag, 'overflow');
      assert.equal(m.message, 'overflows');
      assert.ok(fb!.from.equals(pid));
      // calls are never redirected
      await assert.rejects(node.call(pid, 'q'), { code: 'ERR_PROCESS_MAILBOX_FULL' });
      gate.resolve();
      assert.deepEqual(
        (await inbox.count(1)).map((s) => s.message),
        ['fits'],
      );

      // a fallback naming the process itself is ignored
      const gate2 = deferred<void>();
      const parked2 = deferred<void>();
      const self = await node.spawnRegister('selfish', parked(gate2, parked2, new Inbox()), {
        mailboxSize: 1,
        fallback: { enable: true, name: 'selfish' },
      });
      node.send(self, 'park');
      await parked2.promise;
      node.send(self, 'fits');
      thrown(() => node.send(self, 'overflow'), 'ERR_PROCESS_MAILBOX_FULL');
      gate2.resolve();
    }));

  test('fallbacks pointing at each other: the send fails with ErrProcessMailboxFull after one hop, nothing is delivered twice', () =>
    withNode(async (node) => {
      const gates = [deferred<void>(), deferred<void>()];
      const parks = [deferred<void>(), deferred<void>()];
      const inboxes = [new Inbox(), new Inbox()];
      const a = await node.spawnRegister('fb-a', parked(gates[0]!, parks[0]!, inboxes[0]!), {
        mailboxSize: 1,
        fallback: { enable: true, name: 'fb-b', tag: 'from-a' },
      });
      const b = await node.spawnRegister('fb-b', parked(gates[1]!, parks[1]!, inboxes[1]!), {
        mailboxSize: 1,
        fallback: { enable: true, name: 'fb-a', tag: 'from-b' },
      });
      node.send(a, 'park');
      node.send(b, 'park');
      await Promise.all(parks.map((d) => d.promise));
      node.send(a, 'fits-a');
      node.send(b, 'fits-b');
      // both full: a → b's fallback would be a MessageFallback, which goes no further
      for (const [to, name] of [
        [a, 'fb-a'],
        [b, 'fb-b'],
      ] as const) {
        for (const target of [to, name]) {
          const e = thrown(() => node.send(target, 'overflow'), 'ERR_PROCESS_MAILBOX_FULL');
          assert.ok(!(e instanceof RangeError), 'no stack overflow');
          assert.ok(isError(e, ErrProcessMailboxFull));
        }
      }
      assert.deepEqual(node.processInfo(a).mailboxQueues, { urgent: 0, system: 0, main: 1, log: 0 });
      assert.deepEqual(node.processInfo(b).mailboxQueues, { urgent: 0, system: 0, main: 1, log: 0 });
      gates[0]!.resolve();
      gates[1]!.resolve();
      await Promise.all(inboxes.map((i) => i.count(1)));
      // FIFO: anything queued by the failed sends would arrive before the end marker
      node.send(a, 'end');
      node.send(b, 'end');
      assert.deepEqual(
        (await inboxes[0]!.count(2)).map((s) => s.message),
        ['fits-a', 'end'],
      );
      assert.deepEqual(
        (await inboxes[1]!.count(2)).map((s) => s.message),
        ['fits-b', 'end'],
      );
      assert.equal(inboxes[0]!.items.length + inboxes[1]!.items.length, 4, 'nothing delivered twice');
    }));

  test('a MessageFallback is never redirected: one hop when the fallback has room, none for a MessageFallback sent to a full process', () =>
    withNode(async (node) => {
      const gates = [deferred<void>(), deferred<void>()];
      const parks = [deferred<void>(), deferred<void>()];
      const inboxes = [new Inbox(), new Inbox()];
      const a = await node.spawnRegister('fb1-a', parked(gates[0]!, parks[0]!, inboxes[0]!), {
        mailboxSize: 1,
        fallback: { enable: true, name: 'fb1-b', tag: 'from-a' },
      });
      const b = await node.spawnRegister('fb1-b', parked(gates[1]!, parks[1]!, inboxes[1]!), {
        mailboxSize: 2,
        fallback: { enable: true, name: 'fb1-a', tag: 'from-b' },
      });
      node.send(a, 'park');
      node.send(b, 'park');
      await Promise.all(parks.map((d) => d.promise));
      node.send(a, 'fits-a');
      node.send(a, 'to-b'); // a full: wrapped once and queued at b
      node.send(b, 'fits-b'); // b now full too
      // a MessageFallback sent by hand to a full process with a fallback is refused, not wrapped
      const forged = new MessageFallback(b, 'forged', 'x');
      thrown(() => node.send(a, forged), 'ERR_PROCESS_MAILBOX_FULL');
      gates[0]!.resolve();
      gates[1]!.resolve();
      await Promise.all([inboxes[0]!.count(1), inboxes[1]!.count(2)]);
      node.send(a, 'end');
      node.send(b, 'end');
      assert.deepEqual(
        (await inboxes[0]!.count(2)).map((s) => s.message),
        ['fits-a', 'end'],
      );
      const atB = (await inboxes[1]!.count(3)).map((s) => s.message);
      assert.equal(atB.length, 3);
      const fb = atB[0] as MessageFallback;
      assert.ok(fb instanceof MessageFallback);
      assert.ok(fb.pid.equals(a));
      assert.equal(fb.tag, 'from-a');
      assert.equal(fb.message, 'to-b', 'wrapped exactly once');
      assert.deepEqual(atB.slice(1), ['fits-b', 'end']);
    }));

  test('the shutdown exit is a notification: it reaches a process whose urgent queue is full', async () => {
    const node = await quietNode();
    const gate = deferred<void>();
    const isParked = deferred<void>();
    const reason = deferred<Error>();
    class Busy extends Actor {
      override async handleMessage(_f: PID, m: unknown) {
        if (m === 'park') {
          isParked.resolve();
          await gate.promise;
        }
      }
      override terminate(r: Error) {
        reason.resolve(r);
      }
    }
    const pid = await node.spawn(Busy, { mailboxSize: 1 });
    node.send(pid, 'park');
    await isParked.promise;
    node.send(pid, 'u', { priority: MessagePriority.Max });
    thrown(() => node.send(pid, 'u2', { priority: MessagePriority.Max }), 'ERR_PROCESS_MAILBOX_FULL');
    assert.equal(node.processState(pid), ProcessState.Running);
    const stopping = node.stop();
    gate.resolve();
    await stopping;
    assert.equal(unwrapReason(await reason.promise), TerminateReasonShutdown);
  });
});

describe('mailbox high-water mark and the node-wide limit (issue 19 item 9)', () => {
  test('one warning per process when its mailbox reaches the mark; a spawn may turn it off', async () => {
    const capture = new LogCapture();
    const node = await quietNode({ mailboxHighWater: 100 }, capture);
    try {
      const gate = deferred();
      const stuck = probe(() => gate.promise);
      const a = await node.spawn(stuck);
      const b = await node.spawn(stuck, { mailboxHighWater: 0 });
      // The first message blocks each process in its handler; the rest queue up.
      for (let i = 0; i < 350; i++) {
        node.send(a, i);
        node.send(b, i);
      }
      const warnings = capture.lines.filter((l) => l.includes('high-water'));
      assert.equal(warnings.length, 1, warnings.join(''));
      assert.ok(warnings[0]!.includes(a.toString()), warnings[0]);
      assert.match(warnings[0]!, /has 100 messages queued/);
      assert.match(warnings[0]!, /mailboxSize/);
      gate.resolve();
    } finally {
      await node.stopForce();
    }
  });

  test('NodeOptions.mailboxSize bounds every process spawned without its own limit', async () => {
    const node = await quietNode({ mailboxSize: 3 });
    try {
      const gate = deferred();
      const a = await node.spawn(probe(() => gate.promise));
      const b = await node.spawn(
        probe(() => gate.promise),
        { mailboxSize: 0 },
      );
      assert.equal(node.processInfo(a).mailboxSize, 3);
      assert.equal(node.processInfo(b).mailboxSize, 0);
      node.send(a, 'blocks');
      await waitState(node, a);
      for (let i = 0; i < 3; i++) node.send(a, i);
      thrown(() => node.send(a, 'one too many'), 'ERR_PROCESS_MAILBOX_FULL');
      for (let i = 0; i < 10; i++) node.send(b, i);
      gate.resolve();
    } finally {
      await node.stopForce();
    }
  });

  test('bad node options fail startNode with ERR_INCORRECT', async () => {
    await assert.rejects(quietNode({ mailboxHighWater: -1 }), (e) => (e as { code?: string }).code === 'ERR_INCORRECT');
    await assert.rejects(quietNode({ mailboxSize: 1.5 }), (e) => (e as { code?: string }).code === 'ERR_INCORRECT');
  });
});

/** Waits until `pid` is inside its handler (Running). */
async function waitState(node: Awaited<ReturnType<typeof quietNode>>, pid: PID): Promise<void> {
  while (node.processInfo(pid).state !== ProcessState.Running) await new Promise((r) => setImmediate(r));
}
