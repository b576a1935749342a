// The durable state machine (durable_state_machine.ts) on one node with a SQLite store: the
// initial enter callback runs once, a message timeout (inactivity) is cancelled by mail, a generic
// timeout is replaced and cancelled by name, a fire of a cancelled timeout is ignored, postponed
// messages survive a restart and are replayed after the next state change, a Stop ends the machine
// for good, a call in a state without its handler is refused, a spec with event handlers is
// refused. The order lifecycle with kill -9 at each step is examples/src/durable_order.test.ts.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { UnhandledWatch, eventually } from '@ergo-ts/test-support';
import {
  GenericTimeout,
  MessageTimeout,
  Stop,
  TerminateReasonNormal,
  defineProtocol,
  schema,
  startNode,
} from 'ergo-ts';

import {
  SqliteStore,
  defineDurableStateMachine,
  durableSpec,
  entity,
  startEntities,
  type DurableMachineRecord,
} from '../src/index.js';
import { counterKind } from './counter.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-dsm-'));
const watch = new UnhandledWatch('@ergo-ts/entities durable state machine');
let n = 0;
before(() => watch.start());
after(() => {
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

const P = defineProtocol('machine', {
  messages: {
    go: schema.literal('go'),
    idle: schema.literal('idle'),
    tick: schema.object({ tick: schema.integer() }),
    arm: schema.object({ arm: schema.integer() }),
    disarm: schema.literal('disarm'),
    later: schema.object({ later: schema.string() }),
    finish: schema.literal('finish'),
  },
  calls: {
    get: { request: schema.literal('get'), reply: schema.unknown() },
    onlyIdle: { request: schema.literal('only-idle'), reply: schema.string() },
  },
});

type S = 'idle' | 'busy' | 'done';
interface D {
  enters: number;
  idles: number;
  ticks: number[];
  later: string[];
}

const Machine = defineDurableStateMachine('machine', {
  protocol: P,
  passivateAfterMs: 0,
  spec: () =>
    durableSpec<typeof P, S, D>(P, 'idle', { enters: 0, idles: 0, ticks: [], later: [] })
      .stateEnterCallback('idle', (_old, _state, data) => ({ data: { ...data, enters: data.enters + 1 } }))
      .stateMessageHandler('idle', 'go', () => ({ state: 'busy', actions: [new MessageTimeout(300, 'idle' as const)] }))
      // Any mail cancels the message timeout: a tick restarts it.
      .stateMessageHandler('busy', 'tick', (_f, _s, data, m) => ({
        data: { ...data, ticks: [...data.ticks, m.tick] },
        actions: [new MessageTimeout(300, 'idle' as const)],
      }))
      .stateMessageHandler('busy', 'idle', (_f, _s, data) => ({
        state: 'idle',
        data: { ...data, idles: data.idles + 1 },
      }))
      .stateMessageHandler(['idle', 'busy'], 'arm', (_f, _s, _d, m) => ({
        actions: [new GenericTimeout('alarm', m.arm, { tick: -1 })],
      }))
      .stateMessageHandler(['idle', 'busy'], 'disarm', () => ({ actions: [GenericTimeout.cancel('alarm')] }))
      .stateMessageHandler('idle', 'tick', (_f, _s, data, m) => ({ data: { ...data, ticks: [...data.ticks, m.tick] } }))
      // Kept until the machine is busy.
      .stateMessageHandler('idle', 'later', () => ({ postpone: true }))
      .stateMessageHandler('busy', 'later', (_f, _s, data, m) => ({
        data: { ...data, later: [...data.later, m.later] },
      }))
      .stateMessageHandler(['idle', 'busy'], 'finish', () => new Stop(TerminateReasonNormal))
      .stateCallHandler(['idle', 'busy', 'done'], 'get', (_f, state, data) => ({ reply: { state, data } }))
      .stateCallHandler('idle', 'onlyIdle', () => ({ reply: 'idle' })),
});

async function setup(t: { after(fn: () => Promise<void>): void }, path = join(dir, `m${++n}.db`)) {
  const store = SqliteStore.open(path, { synchronous: 'normal' });
  const node = await startNode(`dsm${++n}_${process.pid}@localhost`, { log: { level: 'error' } });
  const entities = await startEntities(node, { store, kinds: [Machine], reminders: { pollMs: 100 } });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await entities.stop();
    await node.stop();
    await store.close();
  };
  t.after(stop);
  const to = (key: string) => entity(Machine, key);
  const get = async (key: string) => (await entities.call(to(key), 'get')) as { state: S; data: D };
  return { store, entities, to, get, stop, path };
}

test('enter once; a message timeout fires after inactivity and is cancelled by mail', async (t) => {
  const m = await setup(t);
  assert.deepEqual(await m.get('a'), { state: 'idle', data: { enters: 1, idles: 0, ticks: [], later: [] } });
  await m.entities.send(m.to('a'), 'go');
  await m.entities.send(m.to('a'), { tick: 1 });
  // Polled in the store: a call is mail too, and would cancel the inactivity timer.
  const back = await eventually(async () => {
    const r = (await m.store.load({ kind: 'machine', key: 'a' })).state as DurableMachineRecord<S, D>;
    return r.state === 'idle' && r.data.idles === 1 ? r : undefined;
  }, 'idle again after the inactivity timeout');
  assert.equal(back.data.idles, 1);
  assert.equal(back.data.enters, 2);
  assert.deepEqual(back.data.ticks, [1]);
  const rec = (await m.store.load({ kind: 'machine', key: 'a' })).state as DurableMachineRecord;
  assert.deepEqual(rec.timers, {});
  await eventually(
    async () => (await m.store.reminders({ kind: 'machine', key: 'a' })).length === 0,
    'no reminder left',
  );
});

test('a generic timeout is replaced and cancelled by name; a fire of a cancelled one is ignored', async (t) => {
  const m = await setup(t);
  await m.entities.send(m.to('g'), { arm: 60_000 });
  await m.entities.send(m.to('g'), { arm: 200 }); // replaces it
  const fired = await eventually(async () => {
    const x = await m.get('g');
    return x.data.ticks.includes(-1) ? x : undefined;
  }, 'the alarm fired');
  assert.deepEqual(fired.data.ticks, [-1], 'once: the replaced one never fires');
  await m.entities.send(m.to('g'), { arm: 60_000 });
  await m.get('g'); // queued behind it
  const armed = (await m.store.load({ kind: 'machine', key: 'g' })).state as DurableMachineRecord;
  const gen = armed.timers['generic:alarm']!.gen;
  await m.entities.send(m.to('g'), 'disarm');
  // Queued behind it: the disarm was handled and saved, its reminder cancelled with the save.
  await m.get('g');
  assert.deepEqual(await m.store.reminders({ kind: 'machine', key: 'g' }), []);
  // A fire of the cancelled timer delivered anyway (sent before the cancel): ignored.
  const stale = {
    '~entity': 'reminder',
    name: 'timeout/generic:alarm',
    payload: { slot: 'generic:alarm', gen, message: { tick: -1 } },
    fireId: 'stale-1',
    scheduledAt: 1,
  };
  assert.equal(await m.entities.sendDurable(m.to('g'), stale as never, stale.fireId), 'accepted');
  assert.deepEqual((await m.get('g')).data.ticks, [-1]);
});

test('postponed messages survive a restart and are replayed after the next state change', async (t) => {
  const m = await setup(t);
  await m.entities.sendDurable(m.to('p'), { later: 'x' }, 'l1');
  await m.entities.sendDurable(m.to('p'), { later: 'y' }, 'l2');
  await m.get('p'); // queued behind both: by then each was handled
  const rec = (await m.store.load({ kind: 'machine', key: 'p' })).state as DurableMachineRecord;
  assert.deepEqual(rec.postponed, [{ later: 'x' }, { later: 'y' }]);
  await m.stop();
  const again = await setup(t, m.path);
  await again.entities.send(again.to('p'), 'go');
  const x = await again.get('p');
  assert.equal(x.state, 'busy');
  assert.deepEqual(x.data.later, ['x', 'y']);
});

test('a Stop ends the machine for good; a call without a handler in the state is refused', async (t) => {
  const m = await setup(t);
  assert.equal(await m.entities.call(m.to('s'), 'only-idle'), 'idle');
  await m.entities.send(m.to('s'), 'go');
  await assert.rejects(m.entities.call(m.to('s'), 'only-idle', { timeout: 2000 }), (e: Error & { code?: string }) =>
    /no handler/.test(e.message),
  );
  await m.entities.send(m.to('s'), 'finish');
  const rec = await eventually(async () => {
    const r = (await m.store.load({ kind: 'machine', key: 's' })).state as DurableMachineRecord;
    return r.stopped !== undefined ? r : undefined;
  }, 'stopped');
  assert.equal(rec.state, 'busy');
  assert.deepEqual(rec.timers, {});
  await assert.rejects(m.entities.call(m.to('s'), 'get', { timeout: 2000 }), /stopped/);
});

test('a spec with an event handler or not made by durableSpec is refused with ERR_ENTITY_INCORRECT', () => {
  assert.throws(() => defineDurableStateMachine('bad', { protocol: P, spec: 5 as never }), {
    code: 'ERR_ENTITY_INCORRECT',
  });
  assert.throws(() => defineDurableStateMachine('bad', { protocol: P, spec: () => ({}) as never }), {
    code: 'ERR_ENTITY_INCORRECT',
  });
  assert.throws(
    () =>
      defineDurableStateMachine('bad', {
        protocol: P,
        spec: () => durableSpec<typeof P, S, number>(P, 'idle', 0).eventHandler('some-event', () => undefined),
      }),
    { code: 'ERR_ENTITY_INCORRECT' },
  );
});

test('a handler reaches the entities runtime through the spec’s `entities` (no module global): a durable send to another entity', async (t) => {
  const store = SqliteStore.open(join(dir, `r${++n}.db`));
  const node = await startNode(`dsmr${n}_${process.pid}@localhost`, { log: { level: 'warning' } });
  const Relay = defineProtocol('relay', { messages: { pass: schema.object({ pass: schema.string() }) } });
  const counter = counterKind(0);
  const RelayMachine = defineDurableStateMachine('relay', {
    protocol: Relay,
    passivateAfterMs: 0,
    spec: (key, entities) =>
      durableSpec(Relay, 'on' as const, 0).stateMessageHandler('on', 'pass', async (_from, _state, sent, m) => {
        await entities.sendDurable(entity(counter, m.pass), { add: 1 }, `${key}/${sent}`);
        return { data: sent + 1 };
      }),
  });
  const entities = await startEntities(node, { leaseScope: 'key', store, kinds: [RelayMachine, counter] });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  await entities.sendDurable(entity(RelayMachine, 'r1'), { pass: 'c9' }, 'm1');
  await eventually(async () => (await entities.call(entity(counter, 'c9'), 'get')) === 1, 'the relay added to c9');
  // Outside an activation (the spec's check when defined), `entities` refuses to be used.
  assert.throws(
    () =>
      defineDurableStateMachine('bad', {
        protocol: Relay,
        spec: (_key, e) => {
          void e.node;
          return durableSpec(Relay, 'on' as const, 0);
        },
      }),
    { code: 'ERR_ENTITY_INCORRECT' },
  );
});
