// StateMachine (act/statemachine.ts): one test per semantic rule. Timer rules run on the test
// kit's clock (a timeout fires when the test moves time; "it did not fire" is then a fact, not a
// wait); panics, stops, the boundary check and long replays run on a real node.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  ErrProtocolViolation,
  ErrStateMachineSpec,
  ErrStateMachineUnhandled,
  GenericTimeout,
  MessageTimeout,
  PID,
  STATEMACHINE_BATCH,
  StateMachine,
  StateMachineSpec,
  StateTimeout,
  Stop,
  TerminateReasonNormal,
  TerminateReasonPanic,
  defineProtocol,
  schema,
  startNode,
  Actor,
  MessageExitPID,
} from 'ergo-ts';
import { satisfies, spawnProbe, spawnTest, waitForTermination } from 'ergo-ts/testing';
import { eventually } from '@ergo-ts/test-support';

const P = defineProtocol('sm-rules', {
  messages: {
    go: schema.object({ go: schema.enum(['a', 'b', 'c']) }),
    note: schema.object({ note: schema.integer() }),
    tick: schema.object({ tick: schema.string() }),
    boom: schema.literal('boom'),
    quit: schema.literal('quit'),
  },
  calls: {
    ask: { request: schema.literal('ask'), reply: schema.string() },
    leave: { request: schema.literal('leave'), reply: schema.literal('bye') },
  },
});
type St = 'a' | 'b' | 'c';
interface Data {
  log: string[];
}
type Spec = StateMachineSpec<typeof P, St, Data>;

/** A machine whose handlers each test gives: `build` gets the spec (initial state `a`) and the machine. */
class M extends StateMachine.of(P)<St, Data> {
  override init(build: (spec: Spec, m: M) => Spec) {
    return build(this.spec('a', { log: [] }), this);
  }
}

/** `go` moves to the state it names, in every state. */
const goes = (s: Spec): Spec => s.stateMessageHandler(['a', 'b', 'c'], 'go', (_f, _s, _d, m) => ({ state: m.go }));
/** Ticks are logged with the state they arrive in. */
const ticks = (s: Spec): Spec =>
  s.stateMessageHandler(['a', 'b', 'c'], 'tick', (_f, state, d, m) => void d.log.push(`${m.tick}@${state}`));

const user = new PID('test@localhost', 700, 1234567890);

async function machine(build: (spec: Spec, m: M) => Spec) {
  const t = await spawnTest(M, { args: [build] });
  return {
    t,
    log: () => t.behavior.data().log,
    send: (m: unknown) => t.sendMessage(user, m),
    /** Moves the clock and delivers what fired. */
    after: async (ms: number) => {
      t.advanceTime(ms);
      await t.deliverSelfMessages();
    },
  };
}

test('state timeout: fires in its state; a state change cancels it, even one that has fired already', async () => {
  const m = await machine((s) =>
    ticks(goes(s)).stateEnterCallback('b', () => ({ actions: [new StateTimeout(100, { tick: 'state' })] })),
  );
  await m.send({ go: 'b' });
  await m.after(100);
  assert.deepEqual(m.log(), ['state@b'], 'fires in the state it was set for');

  await m.send({ go: 'a' });
  await m.send({ go: 'b' }); // a new timer
  await m.send({ go: 'c' }); // cancelled
  await m.after(1_000);
  assert.deepEqual(m.log(), ['state@b'], 'cancelled by the change to c');

  // fired (its message in the mailbox) before the state change: dropped, never handled
  await m.send({ go: 'b' });
  m.t.advanceTime(100);
  await m.send({ go: 'c' });
  assert.equal(await m.t.deliverSelfMessages(), 1);
  assert.deepEqual(m.log(), ['state@b'], 'a stale state timeout is dropped');

  // a transition to the same state keeps it; a new one in a transition replaces it
  await m.send({ go: 'b' });
  await m.send({ go: 'b' });
  await m.after(100);
  assert.deepEqual(m.log(), ['state@b', 'state@b']);
  m.t.shouldNotTerminate().assert();
});

test('state timeout: set by the handler that changes state, it belongs to the new state; Infinity cancels', async () => {
  const m = await machine((s) =>
    ticks(s)
      .stateMessageHandler('a', 'go', (_f, _s, _d, g) => ({
        state: g.go,
        actions: [new StateTimeout(50, { tick: 'x' })],
      }))
      // in b: `go c` (re)starts a state timeout without a change of state, `go a` cancels it
      .stateMessageHandler('b', 'go', (_f, _s, _d, g) => ({
        actions: [g.go === 'c' ? new StateTimeout(50, { tick: 'y' }) : StateTimeout.cancel()],
      })),
  );
  await m.send({ go: 'b' });
  await m.after(50);
  assert.deepEqual(m.log(), ['x@b']);
  await m.send({ go: 'c' });
  await m.after(50);
  assert.deepEqual(m.log(), ['x@b', 'y@b']);
  await m.send({ go: 'c' });
  await m.send({ go: 'a' });
  await m.after(1_000);
  assert.deepEqual(m.log(), ['x@b', 'y@b'], 'cancelled');
});

test('postpone: postponed mail is replayed in arrival order after a state change, before newer mail', async () => {
  const m = await machine((s) =>
    goes(s)
      .stateMessageHandler('a', 'note', () => ({ postpone: true }))
      .stateMessageHandler('b', 'note', (_f, _s, d, n) => void d.log.push(`note ${n.note}`))
      .stateMessageHandler('b', 'quit', (_f, _s, d) => void d.log.push('newer')),
  );
  await m.send({ note: 1 });
  await m.send({ note: 2 });
  await m.send({ go: 'a' }); // the same state: no replay
  await m.send({ note: 3 });
  assert.deepEqual(m.log(), []);
  assert.equal(m.t.behavior.postponed(), 3);
  // the change to b and newer mail queued behind it: postponed mail comes first
  await m.t.sendMessage(user, { go: 'b' });
  await m.send('quit');
  assert.deepEqual(m.log(), ['note 1', 'note 2', 'note 3', 'newer']);
  assert.equal(m.t.behavior.postponed(), 0);
});

test('postpone: a postponed call is answered by the state it is replayed in', async () => {
  const m = await machine((s) =>
    goes(s)
      .stateCallHandler('a', 'ask', () => ({ postpone: true }))
      .stateCallHandler('b', 'ask', (_f, state) => ({ reply: `answered in ${state}` })),
  );
  const r = await m.t.call(user, 'ask');
  assert.equal(r.responded, false);
  await m.send({ go: 'b' });
  assert.equal(r.response, 'answered in b');
});

test('postpone: mail postponed again in the next state waits for the change after it', async () => {
  const m = await machine((s) =>
    goes(s)
      .stateMessageHandler(['a', 'b'], 'note', () => ({ postpone: true }))
      .stateMessageHandler('c', 'note', (_f, _s, d, n) => void d.log.push(`note ${n.note}`)),
  );
  await m.send({ note: 1 });
  await m.send({ go: 'b' }); // replayed in b, postponed again
  await m.send({ note: 2 });
  assert.deepEqual(m.log(), []);
  await m.send({ go: 'c' });
  assert.deepEqual(m.log(), ['note 1', 'note 2']);
});

test('enter callbacks: on start (old = new), on every change, not on a same-state transition; they may move on', async () => {
  const m = await machine((s) =>
    goes(s)
      .stateEnterCallback((old, state, d) => void d.log.push(`${old}->${state}`))
      // entering c moves on to a at once: a is entered in turn
      .stateEnterCallback('c', (old, _state, d) => {
        d.log.push(`${old}->c (own)`);
        return { state: 'a' };
      }),
  );
  assert.deepEqual(m.log(), ['a->a']);
  await m.send({ go: 'b' });
  await m.send({ go: 'b' });
  await m.send({ go: 'c' });
  assert.deepEqual(m.log(), ['a->a', 'a->b', 'b->c (own)', 'c->a']);
  assert.equal(m.t.behavior.currentState(), 'a');
});

test('enter callbacks: postponing from one stops the machine with ERR_STATEMACHINE_RESULT', async () => {
  const m = await machine((s) =>
    goes(s).stateEnterCallback('b', () => ({ postpone: true }) as unknown as { postpone?: never }),
  );
  await m.send({ go: 'b' });
  const reason = m.t.terminationReason();
  assert.equal((reason as { code?: string }).code, 'ERR_STATEMACHINE_RESULT');
});

test('generic timeouts: survive state changes, one per name (a new one replaces it), cancel by name', async () => {
  const m = await machine((s) =>
    ticks(goes(s)).stateMessageHandler(['a', 'b', 'c'], 'note', (_f, _s, _d, n) => {
      if (n.note === 0) return { actions: [GenericTimeout.cancel('g1')] };
      return { actions: [new GenericTimeout(`g${n.note}`, 100 * n.note, { tick: `g${n.note}` })] };
    }),
  );
  await m.send({ note: 1 }); // g1 at 100
  await m.send({ note: 2 }); // g2 at 200
  await m.send({ go: 'b' });
  await m.after(100);
  assert.deepEqual(m.log(), ['g1@b'], 'g1 outlived the change to b');
  await m.send({ note: 2 }); // g2 again: now at 300, the first g2 is gone
  await m.after(100);
  assert.deepEqual(m.log(), ['g1@b']);
  await m.after(100);
  assert.deepEqual(m.log(), ['g1@b', 'g2@b']);
  await m.send({ note: 1 });
  await m.send({ note: 0 }); // cancels g1
  await m.after(1_000);
  assert.deepEqual(m.log(), ['g1@b', 'g2@b']);
});

test('message timeout: fires after inactivity; any message or call before it cancels it', async () => {
  const m = await machine((s) =>
    ticks(goes(s))
      .stateMessageHandler(['a', 'b'], 'note', () => ({ actions: [new MessageTimeout(100, { tick: 'idle' })] }))
      .stateCallHandler(['a', 'b'], 'ask', () => ({ reply: 'ok' })),
  );
  await m.send({ note: 1 });
  await m.after(100);
  assert.deepEqual(m.log(), ['idle@a'], 'nothing came: it fired');
  await m.send({ note: 1 });
  m.t.advanceTime(50);
  await m.send({ go: 'b' }); // any message cancels it
  await m.after(1_000);
  assert.deepEqual(m.log(), ['idle@a']);
  await m.send({ note: 1 });
  await m.t.call(user, 'ask'); // so does a call
  await m.after(1_000);
  assert.deepEqual(m.log(), ['idle@a']);
  // fired but not yet handled when other mail arrived: dropped
  await m.send({ note: 1 });
  m.t.advanceTime(100);
  await m.send({ go: 'a' });
  await m.t.deliverSelfMessages();
  assert.deepEqual(m.log(), ['idle@a']);
});

test('stop: an Error from a handler stops with it; Stop from a call replies first', async () => {
  const quit = new Error('enough');
  const m = await machine((s) =>
    s
      .stateMessageHandler('a', 'quit', () => quit)
      .stateCallHandler('a', 'leave', () => new Stop(TerminateReasonNormal, 'bye' as const)),
  );
  const r = await m.t.call(user, 'leave');
  assert.equal(r.response, 'bye');
  m.t.shouldTerminate().withReason(TerminateReasonNormal).once();

  const n = await machine((s) => s.stateMessageHandler('a', 'quit', () => quit));
  await n.send('quit');
  n.t.shouldTerminate().withReason(quit).once();
});

test('unhandled: mail without a handler in the current state stops the machine; a call gets the error', async () => {
  const m = await machine((s) => goes(s).stateMessageHandler('b', 'note', () => undefined));
  const r = await m.t.call(user, 'ask');
  assert.ok(ErrStateMachineUnhandled.is(r.error), `got ${r.error}`);
  assert.ok(ErrStateMachineUnhandled.is(m.t.terminationReason()));

  const n = await machine((s) => goes(s).stateMessageHandler('b', 'note', () => undefined));
  await n.send({ note: 1 }); // a handler in b, none in a
  assert.ok(ErrStateMachineUnhandled.is(n.t.terminationReason()));

  // a subclass may ignore such mail instead
  class Lenient extends M {
    override handleMessage() {}
  }
  const l = await spawnTest(Lenient, { args: [(s: Spec) => s] });
  await l.sendMessage(user, { note: 1 });
  await l.sendMessage(user, 'not in the protocol');
  l.shouldNotTerminate().assert();
});

test('spec: a type the protocol lacks or a second handler for a (state, type) fails the spawn', async () => {
  await assert.rejects(
    spawnTest(M, { args: [(s: Spec) => s.stateMessageHandler('a', 'nope' as 'note', () => undefined)] }),
    (e: Error) => ErrStateMachineSpec.is(e) && /no message named 'nope'/.test(e.message),
  );
  await assert.rejects(
    spawnTest(M, {
      args: [
        (s: Spec) =>
          s
            .stateCallHandler('a', 'ask', () => ({ reply: '1' }))
            .stateCallHandler(['b', 'a'], 'ask', () => ({ reply: '2' })),
      ],
    }),
    (e: Error) => ErrStateMachineSpec.is(e) && /state 'a' has a call handler for 'ask'/.test(e.message),
  );
});

test('on a node: a panic in a state handler ends the machine as in any actor (sync and async)', async () => {
  const node = await startNode('smpanic@localhost', { log: { defaultLogger: { disable: true } } });
  try {
    for (const build of [
      (s: Spec) =>
        s.stateMessageHandler('a', 'boom', () => {
          throw new Error('sync boom');
        }),
      (s: Spec) => s.stateMessageHandler('a', 'boom', () => Promise.reject(new Error('async boom'))),
    ]) {
      const pid = await node.spawn(M, {}, build);
      const ended = waitForTermination(node, pid, { timeout: 20_000 });
      node.send(pid, 'boom');
      assert.equal(await ended, TerminateReasonPanic);
    }
  } finally {
    await node.stop();
  }
});

test('on a node: timeouts pass the validateLocal boundary check; mail outside the protocol does not', async () => {
  const node = await startNode('smguard@localhost', { log: { defaultLogger: { disable: true } }, validateLocal: true });
  try {
    const pid = await node.spawn(M, {}, (s: Spec) =>
      goes(s)
        .stateEnterCallback('b', () => ({ actions: [new StateTimeout(1, { tick: 't' })] }))
        .stateMessageHandler('b', 'tick', () => ({ state: 'c' }))
        .stateCallHandler(['a', 'b', 'c'], 'ask', (_f, state) => ({ reply: state })),
    );
    node.send(pid, { go: 'b' });
    await eventually(async () => (await node.call(pid, 'ask')) === 'c', 'the state timeout moved it to c');
    assert.throws(
      () => node.send(pid, { go: 'z' } as never),
      (e: Error) => ErrProtocolViolation.is(e),
    );
  } finally {
    await node.stop();
  }
});

test('on a node: more postponed mail than one batch is all replayed, in order, with nothing else arriving', async () => {
  const node = await startNode('smreplay@localhost', { log: { defaultLogger: { disable: true } } });
  try {
    const n = STATEMACHINE_BATCH * 3 + 5;
    const probe = await spawnProbe(node);
    const pid = await node.spawn(M, {}, (s: Spec, m: M) =>
      goes(s)
        .stateMessageHandler('a', 'note', () => ({ postpone: true }))
        .stateMessageHandler('b', 'note', (_f, _s, d, x) => {
          d.log.push(String(x.note));
          if (x.note === n - 1) m.send(probe.pid, d.log.join(','));
        }),
    );
    for (let i = 0; i < n; i++) node.send(pid, { note: i });
    // the last mail: the replays past the first batch must wake the machine themselves
    node.send(pid, { go: 'b' });
    const want = Array.from({ length: n }, (_, i) => String(i)).join(',');
    await probe.waitForMessage(want, { timeout: 20_000 });
  } finally {
    await node.stop();
  }
});

/** Spawns a machine linked to it, trapping exits: the machine's exit reason goes to `report`. */
class Watcher extends Actor {
  #report!: PID;
  override async init(report: PID, build: (spec: Spec, m: M) => Spec): Promise<void> {
    this.#report = report;
    this.setTrapExit(true);
    await this.spawn(M, { linkChild: true }, build);
  }
  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof MessageExitPID) this.send(this.#report, `exit: ${message.reason.message}`);
  }
}

test('on a node: event handlers — the machine monitors its events once started, handles what they buffered first, changes state on them', async () => {
  const node = await startNode('smevents@localhost', { log: { defaultLogger: { disable: true } } });
  try {
    const token = node.registerEvent('temps', { buffer: 2 });
    node.sendEvent('temps', token, 10);
    node.sendEvent('temps', token, 40);
    const probe = await spawnProbe(node);
    const pid = await node.spawn(M, {}, (s: Spec, m: M) =>
      s
        .eventHandler<number>('temps', (ev, state, d) => {
          d.log.push(`${ev.message}@${state}`);
          return { state: ev.message > 30 ? 'b' : 'a' };
        })
        .stateEnterCallback('b', (_old, _state, d) => void m.send(probe.pid, `hot ${d.log.join(',')}`))
        .stateCallHandler(['a', 'b', 'c'], 'ask', (_f, state, d) => ({ reply: `${state} ${d.log.join(',')}` })),
    );
    // the two buffered messages, in order, as soon as it started
    await probe.waitForMessage('hot 10@a,40@a', { timeout: 20_000 });
    node.sendEvent('temps', token, 5);
    await eventually(async () => (await node.call(pid, 'ask')) === 'a 10@a,40@a,5@b', 'the new message handled in b');
  } finally {
    await node.stop();
  }
});

test('on a node: an event handler for an event that does not exist ends the machine with an error naming it', async () => {
  const node = await startNode('smnoevent@localhost', { log: { defaultLogger: { disable: true } } });
  try {
    const probe = await spawnProbe(node);
    await node.spawn(Watcher, {}, probe.pid, (s: Spec) => s.eventHandler('no_such_event', () => undefined));
    const exit = await probe.waitForMessage(
      satisfies((m: unknown) => typeof m === 'string' && m.startsWith('exit: ')),
      {
        timeout: 20_000,
      },
    );
    assert.match(String(exit.message), /monitoring event no_such_event of smnoevent@localhost/);
  } finally {
    await node.stop();
  }
});

test('spec: an event handler needs an event and a function, once per event', () => {
  const spec = (): Spec => new StateMachineSpec(P, 'a' as St, { log: [] });
  assert.throws(
    () => spec().eventHandler('', () => undefined),
    (e: Error) => ErrStateMachineSpec.is(e),
  );
  assert.throws(
    () =>
      spec()
        .eventHandler('x', () => undefined)
        .eventHandler('x', () => undefined),
    (e: Error) => ErrStateMachineSpec.is(e) && /event 'x' has a handler/.test(e.message),
  );
});
