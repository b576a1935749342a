// The inspector's message tools (ergo-ts extensions another node's Observer uses): the mailbox
// peek reads a process' queues as text and takes nothing; the message trace runs beside the
// traced process, keeps at most `rate` records a second (the rest counted), sends them to the
// process `to` as MessageInspectTrace, and ends when stopped, when `to` goes, or by count; a new
// trace for the same `to` replaces the old one. Every request is on the node's record, and a
// node with `security.inspectMessages: false` refuses both. Requests and records pass the wire
// codec unchanged.

import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';

import {
  Actor,
  MessageInspectTrace,
  RequestInspectMailboxPeek,
  RequestInspectMessageTrace,
  RequestInspectMessageTraceStop,
  ResponseInspectMailboxPeek,
  type ResponseInspectMessageTrace,
  SYSTEM_INSPECT,
  type Node,
} from '../src/index.js';
import { roundTrip } from '../src/net/index.js';
import { eventually } from '@ergo-ts/test-support';
import { Capture, guardUnhandled, Hold, spawnTest, testNode, type Inbox } from './lifecycle_helpers.js';

guardUnhandled();

class Idle extends Actor {}

function viaWire<T>(m: T): T {
  const back = roundTrip(m);
  assert.equal((back as object).constructor, (m as object).constructor, 'decodes to the same class');
  return back as T;
}

/** The trace records `inbox` received (each MessageInspectTrace, in order). */
function traces(inbox: Inbox): MessageInspectTrace[] {
  return inbox.messages().filter((m): m is MessageInspectTrace => m instanceof MessageInspectTrace);
}

function traceProcesses(node: Node): number {
  return node.processList().filter((p) => {
    try {
      return node.processInfo(p).behavior === 'TraceInspector';
    } catch {
      return false;
    }
  }).length;
}

describe('inspector: mailbox peek and message trace', () => {
  let node: Node;
  let hidden: Node;
  const log = new Capture();
  before(async () => {
    node = await testNode({ systemApp: true, log: { level: 'info', defaultLogger: { output: log.output } } });
    hidden = await testNode({ systemApp: true, security: { inspectMessages: false } });
  });
  after(async () => {
    await node.stop();
    await hidden.stop();
  });

  test('mailbox peek: the waiting records as text, nothing taken, on the record', async () => {
    let release: () => void = () => undefined;
    const held = await spawnTest(node);
    node.send(held.pid, new Hold(new Promise<void>((r) => (release = r))));
    node.send(held.pid, { order: 1 });
    node.send(held.pid, 'second');
    // The Hold taken: the two others wait.
    await eventually(() => node.processInfo(held.pid).mailboxQueues.main === 2, 'two waiting', { timeoutMs: 10_000 });
    const r = viaWire(
      await node.call(SYSTEM_INSPECT, viaWire(new RequestInspectMailboxPeek({ pid: held.pid, limit: 1 }))),
    );
    assert.ok(r instanceof ResponseInspectMailboxPeek);
    assert.equal(r.error, null);
    assert.deepEqual(r.lengths, [0, 0, 2, 0]);
    assert.deepEqual(
      (r.main ?? []).map((m) => [m.kind, m.text]),
      [['message', '{ order: 1 }']],
    );
    assert.equal(node.processInfo(held.pid).mailboxQueues.main, 2, 'nothing taken');
    assert.ok(log.lines.some((l) => l.includes(`mailbox peek of ${String(held.pid)}`)));
    release();

    const refused = (await hidden.call(
      SYSTEM_INSPECT,
      new RequestInspectMailboxPeek({ pid: held.pid }),
    )) as ResponseInspectMailboxPeek;
    assert.match(refused.error?.message ?? '', /security\.inspectMessages: false/);
  });

  test('message trace: records to `to`, rate-limited, replaced, stopped, ended with `to`; refused when hidden', async () => {
    const traced = await node.spawn(Idle, {});
    const to = await spawnTest(node);
    const start = (rate: number): Promise<unknown> =>
      node.call(SYSTEM_INSPECT, viaWire(new RequestInspectMessageTrace({ pid: traced, to: to.pid, rate, count: 100 })));
    const r = (await start(3)) as ResponseInspectMessageTrace;
    assert.equal(r.error, null);
    assert.ok(log.lines.some((l) => l.includes(`message trace of ${String(traced)} for ${String(to.pid)}`)));
    for (let i = 0; i < 20; i++) node.send(traced, `m${i}`);
    await eventually(() => traces(to.inbox).some((t) => t.dropped > 0), 'drops counted', { timeoutMs: 10_000 });
    const first = viaWire(traces(to.inbox).find((t) => (t.records ?? []).length > 0)!);
    assert.deepEqual(
      (first.records ?? []).slice(0, 3).map((x) => [x.dir, x.text]),
      [
        ['in', '"m0"'],
        ['in', '"m1"'],
        ['in', '"m2"'],
      ],
    );
    // Every record is kept or counted as dropped on the traced node.
    await eventually(
      () => {
        const all = traces(to.inbox);
        const kept = all.reduce((n, t) => n + (t.records ?? []).length, 0);
        return kept >= 3 && kept + (all.at(-1)?.dropped ?? 0) === 20;
      },
      'twenty records kept or dropped',
      { timeoutMs: 10_000 },
    );

    // A new trace for the same `to` replaces it: the old one ends 'stopped'.
    assert.equal(((await start(1000)) as ResponseInspectMessageTrace).error, null);
    await eventually(() => traces(to.inbox).some((t) => t.end === 'stopped'), 'the old trace ended', {
      timeoutMs: 10_000,
    });
    await eventually(() => traceProcesses(node) === 1, 'one trace running', { timeoutMs: 10_000 });
    node.send(traced, 'after');
    await eventually(
      () => traces(to.inbox).some((t) => (t.records ?? []).some((x) => x.text === '"after"')),
      'the new trace records',
      { timeoutMs: 10_000 },
    );
    const stop = viaWire(new RequestInspectMessageTraceStop({ pid: traced, to: to.pid }));
    assert.equal(((await node.call(SYSTEM_INSPECT, stop)) as ResponseInspectMessageTrace).error, null);
    await eventually(() => traces(to.inbox).filter((t) => t.end === 'stopped').length === 2, 'stopped', {
      timeoutMs: 10_000,
    });
    await eventually(() => traceProcesses(node) === 0, 'no trace left', { timeoutMs: 10_000 });

    // `to` going ends a trace (nobody is left to send to).
    const gone = await spawnTest(node);
    await node.call(SYSTEM_INSPECT, new RequestInspectMessageTrace({ pid: traced, to: gone.pid }));
    await eventually(() => traceProcesses(node) === 1, 'a trace running', { timeoutMs: 10_000 });
    node.kill(gone.pid);
    await eventually(() => traceProcesses(node) === 0, 'the trace ended with `to`', { timeoutMs: 10_000 });

    const refused = (await hidden.call(
      SYSTEM_INSPECT,
      new RequestInspectMessageTrace({ pid: traced, to: to.pid }),
    )) as ResponseInspectMessageTrace;
    assert.match(refused.error?.message ?? '', /security\.inspectMessages: false/);
    node.kill(to.pid);
  });
});
