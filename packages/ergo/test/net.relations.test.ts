// Relations, exits and important delivery across two nodes in one OS process over loopback:
// a monitor and a link on a remote process fire when it ends (terminate packets), and with
// ErrNoConnection when the connection goes; an exit signal crosses; important delivery reports
// the remote mailbox's verdict; events published on one node reach subscribers on the other.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { eventually } from '@ergo-ts/test-support';
import {
  ErrNoConnection,
  ErrProcessUnknown,
  MessageDownNode,
  MessageDownProcessID,
  MessageDownPID,
  MessageExitPID,
  MessageEvent,
  ProcessID,
  Event,
  type PID,
} from '../src/index.js';
import { Inbox, Probe, probe, within } from './helpers.js';
import { netNode, netPair } from './net_helpers.js';

test('a remote monitor fires when the process ends, a link and a node monitor when the connection goes', async (t) => {
  const { a, b } = await netPair(t);
  const target = await b.spawnRegister(
    'target',
    probe((m) => (m === 'stop' ? Promise.reject(new Error('asked to stop')) : undefined)),
  );
  const other = await b.spawn(probe());
  const inbox = new Inbox();
  const watcher = await a.spawn(
    probe((m, _from, self) => {
      if (m === 'go') {
        self.monitor(new ProcessID('target' as never, b.name));
        self.monitorPID(other);
        self.monitorNode(b.name);
        return;
      }
      inbox.push(m, self.pid);
    }),
  );
  a.send(watcher, 'go');
  // Wait until b recorded the remote watchers (the requests crossed).
  await eventually(() => a.network().nodes().length > 0 && b.network().nodes().length > 0, 'connected');
  assert.equal(await within(a.call(new ProcessID('target' as never, b.name), 'sync'), 'the sync call'), 'sync');
  b.send(target, 'stop');
  const [first] = await within(inbox.count(1), 'down of target');
  assert.ok(first!.message instanceof MessageDownProcessID);
  assert.equal((first!.message as MessageDownProcessID).processID.name, 'target');
  // The connection goes: the PID monitor and the node monitor fire with ErrNoConnection.
  a.network().node(b.name).disconnect();
  const all = await within(inbox.count(3), 'down on disconnect');
  const pidDown = all.find((s) => s.message instanceof MessageDownPID)!.message as MessageDownPID;
  assert.ok((pidDown.pid as PID).equals(other));
  assert.ok(ErrNoConnection.is(pidDown.reason));
  assert.ok(all.some((s) => s.message instanceof MessageDownNode));
});

test('exit signal and important delivery cross; an unknown target is reported', async (t) => {
  const { a, b } = await pair2(t);
  const inbox = new Inbox();
  const victim = await b.spawn(probe((m, from) => inbox.push(m, from)));
  const sender = await a.spawn(
    probe(async (m, _from, self) => {
      if (m === 'important') {
        await self.sendImportant(victim, 'hello');
        try {
          await self.sendImportant(new ProcessID('nobody' as never, b.name), 'lost');
          inbox.push('no error', self.pid);
        } catch (e) {
          inbox.push(ErrProcessUnknown.is(e) ? 'unknown' : String(e), self.pid);
        }
      }
    }),
  );
  a.send(sender, 'important');
  const got = await within(inbox.count(2), 'important results');
  assert.deepEqual(
    got.map((s) => s.message),
    ['hello', 'unknown'],
  );
  // An exit signal from a's node to b's process ends it.
  a.sendExit(victim, new Error('go away'));
  await eventually(() => {
    try {
      b.processInfo(victim);
      return false;
    } catch {
      return true;
    }
  }, 'victim ended');
});

test('events published on one node reach a subscriber on the other', async (t) => {
  const { a, b } = await pair2(t);
  const inbox = new Inbox();
  let token: unknown;
  await b.spawnRegister(
    'producer',
    probe((m, _f, self) => {
      if (m === 'register') token = self.registerEvent('news', {});
      else if (m === 'publish') self.sendEvent('news', token as never, 'extra!');
    }),
  );
  await a.call(new ProcessID('producer' as never, b.name), 'sync').catch(() => undefined);
  b.send(new ProcessID('producer' as never), 'register');
  class Subscriber extends Probe {
    override handleEvent(message: MessageEvent): void {
      inbox.push(message, this.pid);
    }
  }
  const sub = await a.spawn(
    () =>
      new Subscriber(async (m, _f, self) => {
        if (m === 'subscribe') inbox.push(await self.monitorEvent(new Event('news' as never, b.name)), self.pid);
      }),
  );
  a.send(sub, 'subscribe');
  await within(inbox.count(1), 'subscribed');
  b.send(new ProcessID('producer' as never), 'publish');
  const got = await within(inbox.count(2), 'event');
  const ev = got[1]!.message as MessageEvent;
  assert.ok(ev instanceof MessageEvent);
  assert.equal(ev.message, 'extra!');
  assert.equal(ev.event.node, b.name);
  void MessageExitPID;
});

function pair2(t: { after(fn: () => Promise<void>): void }) {
  return netPair(t);
}

test('an important response is acked by the caller node; a late one reports ErrResponseIgnored', async (t) => {
  const { a, b } = await netPair(t);
  const results = new Inbox();
  let pending: { from: PID; ref: unknown } | null = null;
  const callee = await b.spawnRegister(
    'slow',
    probe(
      async (m, _f, self) => {
        if (m !== 'answer' || pending === null) return;
        const p = pending;
        pending = null;
        try {
          await self.sendResponseImportant(p.from, p.ref as never, 'late or not');
          results.push('acked', self.pid);
        } catch (e) {
          results.push((e as { code?: string }).code, self.pid);
        }
      },
      (_req, from, ref) => {
        pending = { from, ref };
        return undefined;
      },
    ),
  );
  // Timeouts are not the subject here: a generous one (a loaded machine may take seconds to
  // connect and handshake).
  const reply = a.call(new ProcessID('slow' as never, b.name), 'q', { timeout: 20_000 });
  const requestArrived = (what: string): Promise<unknown> => eventually(() => pending !== null, what);
  await requestArrived('request arrived');
  b.send(callee, 'answer');
  assert.equal(await reply, 'late or not');
  assert.equal((await within(results.count(1), 'ack'))[0]!.message, 'acked');
  // The caller gives up first: the important response comes back as ignored.
  await assert.rejects(a.call(new ProcessID('slow' as never, b.name), 'q2', { timeout: 100 }), /timed out|timeout/i);
  // On a loaded machine the 100 ms may pass before b has even taken q2: answer once it has.
  await requestArrived('q2 arrived');
  b.send(callee, 'answer');
  assert.equal((await within(results.count(2), 'ignored'))[1]!.message, 'ERR_RESPONSE_IGNORED');
});

test('monitorEvent and linkEvent on an unreachable node reject, and deliver no down or exit message', async (t) => {
  const a = await netNode('unreach');
  t.after(() => a.stopForce());
  const inbox = new Inbox();
  const outcomes: string[] = [];
  const watcher = await a.spawn(
    probe((m, _from, self) => {
      if (m === 'go') {
        self.setTrapExit(true);
        const nowhere = 'nowhere_19@localhost' as never;
        return Promise.all([
          self.monitorEvent(new Event('ev' as never, nowhere)).then(
            () => outcomes.push('monitor resolved'),
            (e: { code?: string }) => outcomes.push(`monitor ${e.code}`),
          ),
          self.linkEvent(new Event('ev' as never, nowhere)).then(
            () => outcomes.push('link resolved'),
            (e: { code?: string }) => outcomes.push(`link ${e.code}`),
          ),
        ]).then(() => self.send(self.pid, 'marker'));
      }
      inbox.push(m, self.pid);
    }),
  );
  a.send(watcher, 'go');
  const [first] = await within(inbox.count(1), 'the marker');
  assert.equal(first!.message, 'marker', `got ${String(first!.message)} before the marker`);
  assert.equal(outcomes.length, 2);
  assert.ok(
    outcomes.every((o) => o.endsWith('ERR_NO_CONNECTION') || o.endsWith('ERR_NO_ROUTE')),
    outcomes.join(', '),
  );
});
