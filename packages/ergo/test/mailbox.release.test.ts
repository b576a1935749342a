// An idle process keeps no mailbox storage (issue 35 item 7, scale): a main queue hands itself
// back when it drains and the next record takes one from a shared free list, and a request's Ref
// is let go once the handler returned (unless the process still holds the call). What this must
// never break: FIFO within a queue, urgent → system → main → log across them, and one mailbox's
// records never showing up in another's through a reused queue.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { MailboxKind, MessagePriority, ProcessState, type PID, type Ref } from '../src/index.js';
import { Mailbox, Q_LOG, Q_MAIN, Q_SYSTEM, Q_URGENT } from '../src/node/mailbox.js';
import { engineOf } from '../src/node/internals.js';
import { eventually } from '@ergo-ts/test-support';
import { deferred, noUnhandled, probe, withNode } from './helpers.js';
import { rng } from './seeded_rng.js';

noUnhandled();

const QUEUE_NAMES = ['urgent', 'system', 'main', 'log'] as const;
const FROM = { s: 'sender' } as unknown as PID;
const refOf = (n: number): Ref => ({ id: [n, 0, 0] }) as unknown as Ref;

/** Takes everything left, as [queue, message] pairs. */
function drain(mb: Mailbox): [string, unknown][] {
  const out: [string, unknown][] = [];
  while (mb.take()) {
    out.push([mb.queue, mb.message]);
    mb.release();
  }
  return out;
}

describe('mailbox storage of an idle process', () => {
  test('a drained main queue is handed back; the next records keep FIFO and queue priority', () => {
    const mb = new Mailbox(0);
    mb.push(Q_MAIN, MailboxKind.Regular, FROM, 'a', undefined);
    mb.push(Q_MAIN, MailboxKind.Request, FROM, 'req', refOf(1));
    assert.deepEqual(drain(mb), [
      ['main', 'a'],
      ['main', 'req'],
    ]);
    assert.equal(mb.segmentCount(), 0, 'the drained mailbox holds no segment');
    // mail again, every queue and both record layouts, main pushed first
    mb.push(Q_MAIN, MailboxKind.Regular, FROM, 'm1', undefined);
    mb.push(Q_LOG, MailboxKind.Regular, FROM, 'l1', undefined);
    mb.push(Q_MAIN, MailboxKind.Request, FROM, 'm2', refOf(2));
    mb.push(Q_SYSTEM, MailboxKind.Regular, FROM, 's1', undefined);
    mb.push(Q_MAIN, MailboxKind.Regular, FROM, 'm3', 'via-name');
    mb.push(Q_URGENT, MailboxKind.Exit, FROM, 'u1', undefined);
    mb.push(Q_MAIN, MailboxKind.Regular, FROM, 'm4', undefined);
    assert.deepEqual(drain(mb), [
      ['urgent', 'u1'],
      ['system', 's1'],
      ['main', 'm1'],
      ['main', 'm2'],
      ['main', 'm3'],
      ['main', 'm4'],
      ['log', 'l1'],
    ]);
    // the fast path (peekSender/takeMessage) hands the queue back too
    mb.push(Q_MAIN, MailboxKind.Regular, FROM, 'fast', undefined);
    assert.equal(mb.peekSender(), FROM);
    assert.equal(mb.takeMessage(), 'fast');
    // main went back again; the urgent, system and log queues, once made, stay (rarely used)
    assert.equal(mb.segmentCount(), 3);
    assert.equal(mb.take(), false);
  });

  test('a main queue grown past 64 slots (a steady flow) stays with its process when it drains', () => {
    const mb = new Mailbox(0);
    for (let i = 0; i < 100; i++) mb.push(Q_MAIN, MailboxKind.Regular, FROM, i, undefined);
    assert.deepEqual(
      drain(mb).map(([, m]) => m),
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.equal(mb.segmentCount(), 1, 'the grown ring is kept');
    mb.push(Q_MAIN, MailboxKind.Regular, FROM, 'again', undefined);
    assert.deepEqual(drain(mb), [['main', 'again']]);
  });

  test('queues reused across 300 mailboxes never carry one mailbox’s records into another (seeded)', () => {
    const rand = rng(357);
    const boxes = Array.from({ length: 300 }, () => new Mailbox(0));
    // per mailbox and queue: the messages still expected, oldest first
    const want = boxes.map(() => [[], [], [], []] as unknown[][]);
    let n = 0;
    let drains = 0;
    for (let op = 0; op < 200_000; op++) {
      const i = Math.floor(rand() * boxes.length);
      const mb = boxes[i]!;
      const w = want[i]!;
      if (rand() < 0.5) {
        const r = rand();
        const q = r < 0.85 ? Q_MAIN : r < 0.9 ? Q_URGENT : r < 0.95 ? Q_SYSTEM : Q_LOG;
        const id = `${i}:${n++}`;
        if (rand() < 0.5) mb.push(q, MailboxKind.Regular, FROM, id, undefined);
        else mb.push(q, MailboxKind.Request, FROM, id, refOf(n));
        w[q]!.push(id);
        continue;
      }
      const q = w.findIndex((xs) => xs.length > 0);
      if (q < 0) {
        assert.equal(mb.take(), false, `op ${op}: mailbox ${i} should be empty`);
        continue;
      }
      const sender = mb.peekSender();
      const message = sender !== undefined ? mb.takeMessage() : mb.take() ? mb.message : 'nothing';
      if (sender === undefined) {
        assert.equal(mb.queue, QUEUE_NAMES[q], `op ${op}: mailbox ${i} served the wrong queue`);
        mb.release();
      }
      assert.equal(message, w[q]!.shift(), `op ${op}: mailbox ${i}, queue ${QUEUE_NAMES[q]}`);
      if (mb.size === 0) {
        drains++;
        assert.equal(mb.lengths().main, 0);
      }
    }
    assert.ok(drains > 2_000, `only ${drains} drains: the queues were not handed back often`);
    for (let i = 0; i < boxes.length; i++) {
      const rest = drain(boxes[i]!).map(([, m]) => m);
      const w = want[i]!;
      assert.deepEqual(
        rest,
        [...w[Q_URGENT]!, ...w[Q_SYSTEM]!, ...w[Q_MAIN]!, ...w[Q_LOG]!],
        `mailbox ${i} at the end`,
      );
    }
  });

  test('call targets keep no queue and no Ref once idle; later mail keeps its priority order', () =>
    withNode(async (node) => {
      const engine = engineOf(node);
      const seen: unknown[] = [];
      const gate = deferred();
      const targets: PID[] = [];
      for (let i = 0; i < 50; i++)
        targets.push(
          await node.spawn(
            probe(
              (m) => {
                seen.push(m);
                // 'block' suspends the process, so that what comes next queues up behind it
                return m === 'block' ? gate.promise : undefined;
              },
              (req) => req,
            ),
          ),
        );
      for (const [i, t] of targets.entries()) assert.equal(await node.call(t, i), i);
      for (const t of targets) {
        const mb = engine.processes.get(t.id)!.mb;
        assert.equal(mb.segmentCount(), 0, `${t} keeps its queue`);
        assert.equal(mb.currentRef, null, `${t} keeps the Ref of the call it answered`);
      }
      const p = targets[0]!;
      node.send(p, 'block');
      await eventually(() => seen.includes('block'), 'the target is in its blocking handler');
      node.send(p, 'm1');
      node.send(p, 'h1', { priority: MessagePriority.High });
      const answered = node.call(p, 'c1');
      node.send(p, 'm2');
      node.send(p, 'x1', { priority: MessagePriority.Max });
      gate.resolve();
      assert.equal(await answered, 'c1');
      await eventually(() => seen.length >= 5, 'the queued messages are handled');
      assert.deepEqual(seen, ['block', 'x1', 'h1', 'm1', 'm2']);
      // main went back; the urgent and system queues, once made, stay (rarely used)
      await eventually(() => engine.processes.get(p.id)!.state() === ProcessState.Sleep, 'the target idles');
      assert.equal(engine.processes.get(p.id)!.mb.segmentCount(), 2);
    }));

  test('a target that holds a deferred call keeps its Ref (termination fails that call at once)', () =>
    withNode(async (node) => {
      const held = deferred<void>();
      let ref: Ref | null = null;
      const p = await node.spawn(
        probe(
          () => undefined,
          (_req, _from, r) => {
            ref = r;
            held.resolve();
            return undefined; // reply later
          },
        ),
      );
      const call = node.call(p, 'later', { timeout: 30_000 });
      await held.promise;
      const proc = engineOf(node).processes.get(p.id)!;
      await eventually(() => proc.state() === ProcessState.Sleep, 'the target idles');
      assert.equal(proc.mb.currentRef, ref, 'the Ref of the deferred request is kept');
      node.kill(p);
      await assert.rejects(call, { code: 'ERR_PROCESS_TERMINATED' });
    }));
});
