// Operations of a process after its handler has returned (issue 34): the common JavaScript trap
// `handleMessage() { fetch().then((r) => this.send(to, r)); }` runs the send while the process
// sleeps. The refusal says so (ErrNotAllowed, its code unchanged): the handler already returned,
// await the work inside it or bring the result back as a message. The messaging operations that
// return nothing (send, sendWithPriority, sendExit, sendEvent, sendResponse, sendResponseError)
// log that at error on the process's logger and drop the message instead of throwing, so a
// detached `.then` or `.catch` can never end the OS process (this file runs strict: an unhandled
// rejection fails it); operations that return something still throw, or reject.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  Actor,
  LogLevel,
  MessagePriority,
  ProcessState,
  type MessageLog,
  type Node,
  type PID,
  type Ref,
} from '../src/index.js';
import { deferred, Inbox, noUnhandled, probe, quietNode, within, type Deferred } from './helpers.js';
import { eventually } from '@ergo-ts/test-support';

noUnhandled();

const AFTER_RETURN = /after its handler returned \(the process is sleeping\)/;

/** Leaves callbacks behind on `gate`: they run once the test opens it, after the handler returned. */
class Trap extends Actor {
  static gate: Deferred<void>;
  static failing: Deferred<void>;
  static self: Trap;
  event: Ref | null = null;

  override init(): void {
    Trap.self = this;
    this.event = this.registerEvent('trap_event');
  }

  override handleMessage(_from: PID, msg: unknown): void {
    const sink = msg as PID;
    // Both callbacks outlive the handler: the trap.
    void Trap.gate.promise.then(() => this.send(sink, 'late from then'));
    void Trap.failing.promise.catch(() => this.sendWithPriority(sink, 'late from catch', MessagePriority.High));
  }
}

class Marker extends Actor {
  override handleMessage(_from: PID, msg: unknown): void {
    const { sink } = msg as { sink: PID };
    this.send(sink, 'marker');
  }
}

async function setup(): Promise<{ node: Node; records: MessageLog[]; inbox: Inbox; sink: PID; trap: PID }> {
  const node = await quietNode();
  const records: MessageLog[] = [];
  node.loggerAdd('records', { log: (m) => void records.push(m) });
  const inbox = new Inbox();
  const sink = await node.spawn(probe(inbox.push));
  Trap.gate = deferred();
  Trap.failing = deferred();
  const trap = await node.spawn(Trap);
  return { node, records, inbox, sink, trap };
}

const sleeping = (node: Node, pid: PID) => () => node.processState(pid) === ProcessState.Sleep;

test('a send from a .then or .catch left behind by a handler is logged at error and dropped; nothing throws', async (t) => {
  const { node, records, inbox, sink, trap } = await setup();
  t.after(() => node.stop());
  node.send(trap, sink);
  await eventually(sleeping(node, trap), 'the trap handler returned');
  Trap.gate.resolve();
  Trap.failing.reject(new Error('fetch failed'));
  const refusals = (): MessageLog[] => records.filter((m) => AFTER_RETURN.test(String(m.args[0])));
  await eventually(() => refusals().length === 2, 'both late sends refused in the log');
  for (const m of refusals()) {
    assert.equal(m.level, LogLevel.Error);
    assert.match(String(m.args[0]), /^not allowed: send by <[^>]+> after its handler returned/);
    assert.match(String(m.args[0]), /Await the work inside the handler/);
    assert.match(String(m.args[0]), /this\.node\.send\(this\.pid, result\)/);
    assert.equal(m.format, '%s; nothing was sent');
  }
  // Nothing reached the sink: a message sent to it afterwards is the first it gets.
  const marker = await node.spawn(Marker);
  node.send(marker, { sink });
  const [first] = await within(inbox.count(1), 'the marker');
  assert.equal(first!.message, 'marker');
  assert.equal(node.processState(trap), ProcessState.Sleep, 'the process lives on');
});

test('every message operation of a sleeping process logs and drops; the others throw or reject with the same words', async (t) => {
  const { node, records, sink, trap } = await setup();
  t.after(() => node.stop());
  await eventually(sleeping(node, trap), 'the trap is idle');
  const self = Trap.self;
  const before = records.length;
  // From outside any handler, as a detached callback runs: none of these throws.
  self.send(sink, 'x');
  self.send(sink, 'x', { priority: MessagePriority.High });
  self.sendWithPriority(sink, 'x', MessagePriority.Max);
  self.sendExit(sink, new Error('x'));
  self.sendEvent('trap_event', self.event!, 'x');
  self.sendResponse(sink, node.makeRef(), 'x');
  self.sendResponseError(sink, node.makeRef(), new Error('x'));
  const ops = records
    .slice(before)
    .map((m) => /^not allowed: (\w+) by /.exec(String(m.args[0]))?.[1])
    .filter((op) => op !== undefined);
  assert.deepEqual(ops, ['send', 'send', 'send', 'sendExit', 'sendEvent', 'sendResponse', 'sendResponseError']);

  // The rest keeps throwing (synchronous operations) or rejecting (Promise ones), same message.
  const refused = (e: unknown): boolean =>
    (e as { code?: string }).code === 'ERR_NOT_ALLOWED' && AFTER_RETURN.test((e as Error).message);
  assert.throws(() => self.sendAfter(sink, 'x', 10), refused);
  assert.throws(() => self.link(sink), refused);
  assert.throws(() => self.registerName('late_name'), refused);
  await assert.rejects(self.call(sink, 'x'), refused);
  await assert.rejects(self.callImportant(sink, 'x'), refused);
  await assert.rejects(self.sendImportant(sink, 'x'), refused);
  assert.equal(node.processState(trap), ProcessState.Sleep);
});
