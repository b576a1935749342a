// The ergo-ts extensions of the inspector protocol an operator's tools use: application start
// (in a mode) and stop through system_inspect, on the node's record like kill, over the wire as
// well; and the PID cursor of the process page (`after`), which keeps a page's rows whatever
// ends or is spawned before it.

import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';

import {
  Actor,
  ApplicationMode,
  createApplication,
  MessageInspectProcessPage,
  RequestDoApplicationStart,
  RequestDoApplicationStop,
  RequestInspectProcessPage,
  ResponseDoApplicationStart,
  ResponseDoApplicationStop,
  ResponseInspectProcessPage,
  SYSTEM_APP,
  SYSTEM_INSPECT,
  type Atom,
  type Event,
  type MessageEvent,
  type Node,
  type PID,
} from '../src/index.js';
import { roundTrip } from '../src/net/index.js';
import { Capture, exec, guardUnhandled, spawnTest, testNode, type Inbox } from './lifecycle_helpers.js';

guardUnhandled();

class Idle extends Actor {}

async function subscribe(node: Node, event: Event): Promise<{ pid: PID; inbox: Inbox }> {
  const s = await spawnTest(node);
  await exec(node, s.pid, (a) => a.monitorEvent(event));
  return s;
}

function viaWire<T>(m: T): T {
  const back = roundTrip(m);
  assert.equal((back as object).constructor, (m as object).constructor, 'decodes to the same class');
  return back as T;
}

const page = (pred: (m: MessageInspectProcessPage) => boolean) => (m: MessageEvent) =>
  m.message instanceof MessageInspectProcessPage && pred(m.message);

describe('inspector: application start / stop, process page cursor', () => {
  let node: Node;
  const log = new Capture();
  before(async () => {
    node = await testNode({ systemApp: true, log: { level: 'info', defaultLogger: { output: log.output } } });
  });
  after(async () => {
    await node.stop();
  });

  test('RequestDoApplicationStart starts in the mode asked for; RequestDoApplicationStop stops; both on the record', async () => {
    await node.applicationLoad(createApplication({ name: 'dormant', group: [{ factory: Idle }] }));
    const start = viaWire(new RequestDoApplicationStart({ application: 'dormant' as Atom, mode: 'transient' }));
    const r = viaWire(await node.call(SYSTEM_INSPECT, start));
    assert.ok(r instanceof ResponseDoApplicationStart);
    assert.equal(r.error, null);
    assert.equal(node.applicationInfo('dormant').mode, ApplicationMode.Transient);
    assert.equal(node.applicationInfo('dormant').state, 2);
    assert.ok(log.lines.some((l) => /inspector action from .*: start application dormant transient/.test(l)));

    const again = (await node.call(SYSTEM_INSPECT, start)) as ResponseDoApplicationStart;
    assert.match(again.error?.message ?? '', /running/, 'already running: the node says so');

    const stop = viaWire(new RequestDoApplicationStop({ application: 'dormant' as Atom, force: true }));
    const s = viaWire(await node.call(SYSTEM_INSPECT, stop));
    assert.ok(s instanceof ResponseDoApplicationStop);
    assert.equal(s.error, null);
    assert.equal(node.applicationInfo('dormant').state, 1);
    assert.ok(log.lines.some((l) => /inspector action from .*: stop application dormant \(force\)/.test(l)));

    // Its own mode (none asked), an unknown application, a bad mode, the system application.
    const own = (await node.call(
      SYSTEM_INSPECT,
      new RequestDoApplicationStart({ application: 'dormant' as Atom }),
    )) as ResponseDoApplicationStart;
    assert.equal(own.error, null);
    assert.equal(node.applicationInfo('dormant').mode, ApplicationMode.Temporary);
    const unknown = (await node.call(
      SYSTEM_INSPECT,
      new RequestDoApplicationStart({ application: 'nowhere' as Atom }),
    )) as ResponseDoApplicationStart;
    assert.ok(unknown.error !== null);
    const bad = (await node.call(
      SYSTEM_INSPECT,
      new RequestDoApplicationStart({ application: 'dormant' as Atom, mode: 'forever' }),
    )) as ResponseDoApplicationStart;
    assert.match(bad.error?.message ?? '', /temporary, transient or permanent/);
    const sys = (await node.call(
      SYSTEM_INSPECT,
      new RequestDoApplicationStop({ application: SYSTEM_APP }),
    )) as ResponseDoApplicationStop;
    assert.ok(sys.error !== null, 'the system application cannot be stopped');
    assert.ok(node.applicationsRunning().includes(SYSTEM_APP));
  });

  test('process page cursor: the page after a PID keeps its rows whatever ends or is spawned before it', async () => {
    const probes: PID[] = [];
    for (let n = 0; n < 10; n++) probes.push((await spawnTest(node, { name: `cursor_probe_${n}` })).pid);
    const request = viaWire(new RequestInspectProcessPage({ name: 'cursor_probe', after: probes[3]!.id, limit: 3 }));
    const r = (await node.call(SYSTEM_INSPECT, request)) as ResponseInspectProcessPage;
    assert.ok(r instanceof ResponseInspectProcessPage);
    const s = await subscribe(node, r.event);
    const first = (await s.inbox.event(page(() => true))).message as MessageInspectProcessPage;
    const names = (m: MessageInspectProcessPage): string[] => (m.processes ?? []).map((p) => p.name);
    assert.deepEqual(names(first), ['cursor_probe_4', 'cursor_probe_5', 'cursor_probe_6']);
    assert.equal(first.offset, 4, 'four matches up to the cursor');
    assert.equal(first.total, 10);
    // Two before the cursor end, one is spawned after: the same rows, two fewer before them.
    node.kill(probes[0]!);
    node.kill(probes[1]!);
    probes.push((await spawnTest(node, { name: 'cursor_probe_10' })).pid);
    const later = viaWire((await s.inbox.event(page((m) => m.offset === 2))).message as MessageInspectProcessPage);
    assert.deepEqual(names(later), ['cursor_probe_4', 'cursor_probe_5', 'cursor_probe_6']);
    assert.equal(later.total, 9);
    // The cursor is for PID order only: another sort pages by offset.
    const sorted = (await node.call(
      SYSTEM_INSPECT,
      new RequestInspectProcessPage({
        name: 'cursor_probe',
        sort: 'uptime',
        after: probes[3]!.id,
        offset: 0,
        limit: 2,
      }),
    )) as ResponseInspectProcessPage;
    const s2 = await subscribe(node, sorted.event);
    const m2 = (await s2.inbox.event(page(() => true))).message as MessageInspectProcessPage;
    assert.equal(m2.offset, 0);
    assert.equal((m2.processes ?? []).length, 2);
    for (const p of probes.slice(2)) node.kill(p);
    node.kill(s.pid);
    node.kill(s2.pid);
  });
});
