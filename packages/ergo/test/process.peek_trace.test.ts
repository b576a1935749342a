// Node.processMailbox and Node.traceProcess (the Observer's mailbox peek and message trace): a
// peek shows the first records of every queue in service order and leaves the mailbox exactly as
// it was; a tracer sees what the process receives and sends until it is removed or the process
// ends; a tracer that throws hurts nobody.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';

import {
  Actor,
  MailboxKind,
  MessagePriority,
  startNode,
  type Atom,
  type MailboxQueue,
  type Node,
  type PID,
  type ProcessTracer,
  type Ref,
  type SendTarget,
  type TracedSend,
} from '../src/index.js';

let seq = 0;
async function node(): Promise<Node> {
  return startNode(`peek${process.pid}x${++seq}@localhost` as Atom, {
    log: { level: 'warning', defaultLogger: { disable: true } },
  });
}

/** Holds its mailbox until released: handles one message per `go`, so records stay queued. */
class Holder extends Actor {
  #gate: Promise<void> | null = null;
  #open: (() => void) | null = null;
  readonly seen: unknown[] = [];
  override init(): void {
    this.#gate = new Promise((r) => (this.#open = r));
    holders.set(this.pid.id, this);
  }
  release(): void {
    this.#open?.();
  }
  override async handleMessage(_from: PID, message: unknown): Promise<void> {
    await this.#gate;
    this.seen.push(message);
  }
}
const holders = new Map<number, Holder>();

/** Echoes a request back and forwards `{to, m}` messages. */
class Echo extends Actor {
  override handleMessage(_from: PID, message: unknown): void {
    const m = message as { to?: PID; m?: unknown; later?: boolean };
    if (m.to === undefined) return;
    if (m.later === true) this.sendAfter(m.to, m.m, 1);
    else this.send(m.to, m.m);
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return { echo: request };
  }
}

interface Rec {
  dir: 'in' | 'out';
  queue?: MailboxQueue;
  kind: MailboxKind | TracedSend;
  peer: string;
  message: unknown;
}

function recorder(): ProcessTracer & { recs: Rec[]; endedWith: Error | null } {
  const recs: Rec[] = [];
  const t = {
    recs,
    endedWith: null as Error | null,
    received(queue: MailboxQueue, kind: MailboxKind, from: PID, message: unknown) {
      recs.push({ dir: 'in', queue, kind, peer: String(from), message });
    },
    sent(kind: TracedSend, to: SendTarget, message: unknown) {
      recs.push({ dir: 'out', kind, peer: String(to), message });
    },
    ended(reason: Error) {
      t.endedWith = reason;
    },
  };
  return t;
}

test('processMailbox shows the first records of each queue in service order and disturbs nothing', async () => {
  const n = await node();
  try {
    const pid = await n.spawn(Holder, {});
    // The first message occupies the handler (it waits at the gate); the rest stay queued.
    n.send(pid, 'first');
    await eventually(
      () => n.processInfo(pid).messagesIn === 1 && n.processInfo(pid).mailboxQueues.main === 0,
      'the first message taken',
    );
    for (let i = 0; i < 12; i++) n.send(pid, { n: i });
    n.send(pid, 'hurry', { priority: MessagePriority.High });
    n.send(pid, 'now', { priority: MessagePriority.Max });
    const before = n.processInfo(pid);
    assert.deepEqual(before.mailboxQueues, { urgent: 1, system: 1, main: 12, log: 0 });

    const peek = n.processMailbox(pid, 5);
    assert.deepEqual(
      peek.main.map((r) => r.message),
      [0, 1, 2, 3, 4].map((i) => ({ n: i })),
    );
    assert.deepEqual(
      peek.system.map((r) => r.message),
      ['hurry'],
    );
    assert.deepEqual(
      peek.urgent.map((r) => r.message),
      ['now'],
    );
    assert.deepEqual(peek.log, []);
    assert.deepEqual(peek.lengths, { urgent: 1, system: 1, main: 12, log: 0 });
    assert.ok(peek.main.every((r) => r.kind === MailboxKind.Regular && r.queue === 'main' && r.from.equals(n.pid)));
    // A larger peek than the queue: every record, once.
    assert.equal(n.processMailbox(pid, 100).main.length, 12);

    // Nothing taken, nothing counted, nothing reordered.
    const after = n.processInfo(pid);
    assert.equal(after.messagesIn, before.messagesIn);
    assert.deepEqual(after.mailboxQueues, before.mailboxQueues);
    const h = holders.get(pid.id)!;
    h.release();
    await eventually(() => h.seen.length === 15, 'every message handled');
    assert.deepEqual(h.seen, ['first', 'now', 'hurry', ...Array.from({ length: 12 }, (_, i) => ({ n: i }))]);

    assert.throws(() => n.processMailbox(pid, 0), /limit/);
    assert.throws(() => n.processMailbox('x' as unknown as PID, 1), /not a PID/);
  } finally {
    for (const h of holders.values()) h.release();
    await n.stopForce();
  }
});

test('traceProcess sees what a process receives and sends, stops when removed, and ends with the process', async () => {
  const n = await node();
  try {
    const echo = await n.spawn(Echo, {});
    const other = await n.spawn(Echo, {});
    const t = recorder();
    const stop = n.traceProcess(echo, t);

    n.send(echo, { to: other, m: 'relay' });
    n.send(echo, { to: other, m: 'timer', later: true });
    assert.deepEqual(await n.call(echo, 'ping'), { echo: 'ping' });
    await eventually(() => t.recs.length >= 6, 'six records traced');
    const seen = t.recs.map((r) => `${r.dir} ${String(r.kind)} ${r.peer}`);
    assert.ok(seen.includes(`in ${MailboxKind.Regular} ${String(n.pid)}`), seen.join(', '));
    assert.ok(seen.includes(`out send ${String(other)}`), seen.join(', '));
    assert.ok(seen.includes(`in ${MailboxKind.Request} ${String(n.pid)}`), seen.join(', '));
    assert.ok(seen.includes(`out response ${String(n.pid)}`), seen.join(', '));
    assert.deepEqual(
      t.recs.filter((r) => r.dir === 'out' && r.kind === 'send').map((r) => r.message),
      ['relay', 'timer'],
    );

    // Removed: nothing more, even with the other process still traced.
    const t2 = recorder();
    const stop2 = n.traceProcess(other, t2);
    stop();
    stop(); // twice is harmless
    const count = t.recs.length;
    n.send(echo, 'unseen');
    n.send(other, 'seen');
    await eventually(() => t2.recs.some((r) => r.message === 'seen'), 'the other process traced');
    assert.equal(t.recs.length, count);
    stop2();

    // A tracer that throws: the traced process goes on; the process ends, the tracer hears it.
    const t3 = recorder();
    n.traceProcess(echo, {
      received() {
        throw new Error('tracer fault');
      },
      sent() {
        throw new Error('tracer fault');
      },
      ended(r) {
        t3.ended(r);
      },
    });
    assert.deepEqual(await n.call(echo, 'still'), { echo: 'still' });
    n.kill(echo);
    await eventually(() => t3.endedWith !== null, 'the tracer told of the end');
    assert.match(String(t3.endedWith?.message), /kill/);

    assert.throws(() => n.traceProcess(echo, recorder()), /unknown|terminated/i);
    assert.throws(() => n.traceProcess(other, {} as ProcessTracer), /tracer must have/);
  } finally {
    await n.stop();
  }
});
