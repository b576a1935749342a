// Type-level tests of typed protocols, compiled by test/typed.types.test.ts (tsc -p test-types).
// Each `@ts-expect-error` line must be an error: tsc reports an unused one (TS2578), failing the
// test. Nothing here runs.

import {
  Actor,
  Pool,
  ReplyLater,
  Stop,
  defineProtocol,
  schema,
  type Handlers,
  type MessageEvent,
  type Node,
  type PID,
  type Process,
  type Ref,
} from 'ergo-ts';
import { Event } from 'ergo-ts';
import { childSpec, poolOptions, type PoolOptions, type SupervisorSpec } from 'ergo-ts/act';

const Counter = defineProtocol('counter', {
  messages: {
    inc: schema.object({ kind: schema.literal('inc'), by: schema.number() }),
    reset: schema.object({ kind: schema.literal('reset') }),
  },
  calls: {
    get: { request: schema.object({ kind: schema.literal('get') }), reply: schema.number() },
    name: { request: schema.literal('name'), reply: schema.string() },
  },
  events: { changed: schema.number() },
});
type CounterP = typeof Counter;

declare const node: Node;
declare const proc: Process;

// --- a typed actor -------------------------------------------------------------------------------

class CounterActor extends Actor.of(Counter) {
  count = 0;
  token: Ref<number> | undefined;
  override init(start: number): void {
    this.count = start;
    this.token = this.registerEvent(Counter.events.changed);
  }
  override handleMessage(_from: PID, msg: { kind: 'inc'; by: number } | { kind: 'reset' }) {
    if (msg.kind === 'inc') this.count += msg.by;
    else this.count = 0;
    this.sendEvent(Counter.events.changed, this.token!, this.count);
    // @ts-expect-error a wrong event payload
    this.sendEvent(Counter.events.changed, this.token!, 'many');
  }
  override handleCall(_from: PID, _ref: Ref, req: { kind: 'get' } | 'name') {
    if (req === 'name') return 'counter';
    return this.count;
  }
}

class LaterActor extends Actor.of(Counter) {
  override handleCall(from: PID, ref: Ref, _req: { kind: 'get' } | 'name') {
    this.sendAfter(from, { kind: 'inc', by: 1 }, 10);
    void ref;
    return ReplyLater; // an explicit, typed "reply later"
  }
}

class StopActor extends Actor.of(Counter) {
  override handleCall() {
    return new Stop(new Error('done'), 1);
  }
}

export class WrongReply extends Actor.of(Counter) {
  // @ts-expect-error a wrong reply type from handleCall
  override handleCall(_from: PID, _ref: Ref, _req: { kind: 'get' } | 'name') {
    return { count: 1 };
  }
}

export class ForgottenReturn extends Actor.of(Counter) {
  // @ts-expect-error a forgotten return (undefined is not a reply; ReplyLater is the explicit way)
  override handleCall(_from: PID, _ref: Ref, req: { kind: 'get' } | 'name') {
    if (req === 'name') return 'x';
  }
}

// A handler that accepts only part of the protocol: method bivariance lets the class compile,
// the Handlers interface and spawn refuse it.
class Narrow extends Actor.of(Counter) {
  override handleMessage(_from: PID, msg: { kind: 'inc'; by: number }) {
    void msg;
  }
}
export class NarrowChecked extends Actor.of(Counter) implements Handlers<CounterP> {
  // @ts-expect-error handleMessage does not accept every message (checked strictly)
  override handleMessage(_from: PID, msg: { kind: 'inc'; by: number }) {
    void msg;
  }
}

async function spawning(): Promise<void> {
  const pid = await node.spawn(CounterActor, {}, 5);
  const typed: PID<CounterP> = pid;
  // @ts-expect-error wrong init args
  await node.spawn(CounterActor, {}, 'five');
  // @ts-expect-error a behaviour whose handler accepts only part of its protocol
  await node.spawn(Narrow, {});
  await node.spawn(LaterActor, {});
  await node.spawn(StopActor, {});

  node.send(typed, { kind: 'inc', by: 2 });
  node.send(typed, { kind: 'reset' });
  // @ts-expect-error a wrong message to a typed PID
  node.send(typed, { kind: 'inc', by: 'two' });
  // @ts-expect-error a message outside the protocol
  node.send(typed, 'inc');
  // @ts-expect-error a call request is not a message
  proc.send(typed, { kind: 'get' });

  const n: number = await node.call(typed, { kind: 'get' });
  const nm: string = await proc.call(typed, 'name');
  // @ts-expect-error a wrong type read from a call
  const wrong: string = await node.call(typed, { kind: 'get' });
  // @ts-expect-error a request outside the protocol
  await node.call(typed, { kind: 'size' });
  void [n, nm, wrong];

  // Untyped targets keep today's API.
  const untyped: PID = typed;
  node.send(untyped, 'anything');
  const u: unknown = await node.call(untyped, 42);
  node.send('by-name', { any: 'thing' });
  void u;
  // @ts-expect-error an untyped PID does not become typed silently
  const back: PID<CounterP> = untyped;
  void back;
  const looked: PID<CounterP> = Counter.lookup(node, 'counter');
  node.send(Counter.processID('counter', 'other@host'), { kind: 'reset' });
  // @ts-expect-error typed ProcessID
  node.send(Counter.processID('counter'), { kind: 'nope' });
  void looked;
}

// --- events ----------------------------------------------------------------------------------------

async function events(): Promise<void> {
  const token = node.registerEvent(Counter.events.changed);
  node.sendEvent(Counter.events.changed, token, 3);
  // @ts-expect-error a wrong event payload
  node.sendEvent(Counter.events.changed, token, '3');
  const untypedToken = node.registerEvent('free');
  node.sendEvent('free', untypedToken, { any: 1 });
  const ev = new Event(Counter.events.changed, node.name);
  const buffered: MessageEvent<number>[] = await proc.linkEvent(ev);
  const first: number | undefined = buffered[0]?.message;
  // @ts-expect-error a wrong payload type read from a typed event
  const wrongPayload: string | undefined = buffered[0]?.message;
  void [first, wrongPayload];
}

// --- supervisors and pools carry their args' types -------------------------------------------------

export const spec: SupervisorSpec = {
  children: [
    childSpec({ name: 'counter', factory: CounterActor, args: [5] }),
    // @ts-expect-error wrong child args
    childSpec({ name: 'counter2', factory: CounterActor, args: ['five'] }),
    // @ts-expect-error a child whose handlers accept only part of its protocol
    childSpec({ name: 'narrow', factory: Narrow }),
    // Untyped specs keep working.
    { name: 'plain', factory: CounterActor, args: ['anything'] },
  ],
};

export class Workers extends Pool {
  override init(): PoolOptions {
    return poolOptions({ poolSize: 2, workerFactory: CounterActor, workerArgs: [1] });
  }
}
// @ts-expect-error wrong worker args
poolOptions({ workerFactory: CounterActor, workerArgs: [true] });

void [spawning, events];

// --- a pool's address speaks its workers' protocol --------------------------------------------------

export class TypedWorkers extends Pool {
  override init() {
    return poolOptions({ poolSize: 2, workerFactory: CounterActor, workerArgs: [1] });
  }
}

async function pools(): Promise<void> {
  const pool = await node.spawn(TypedWorkers, {});
  const typed: PID<CounterP> = pool;
  node.send(pool, { kind: 'inc', by: 1 });
  const n: number = await node.call(pool, { kind: 'get' });
  // @ts-expect-error a message outside the workers' protocol, to the pool
  node.send(pool, 'not a number');
  // @ts-expect-error a request outside the workers' protocol, to the pool
  await node.call(pool, { evil: true });
  // @ts-expect-error the reply type of the workers' call
  const s: string = await node.call(pool, { kind: 'get' });
  // A pool whose init is annotated with the plain PoolOptions stays untyped.
  const plain = await node.spawn(Workers, {});
  node.send(plain, 'anything');
  void [typed, n, s];
}
void pools;
