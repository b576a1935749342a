// Type-level tests of typed protocols, compiled by `npm run check:types` (scripts/check-types.mjs) (tsc -p test-types).
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
  type Later,
  type MessageEvent,
  type Node,
  type PID,
  type Process,
  type Ref,
} from 'ergo-ts';
import { Event } from 'ergo-ts';
import {
  childSpec,
  poolOptions,
  type AnyPoolOptions,
  type CheckedPoolOptions,
  type PoolOptions,
  type SupervisorSpec,
} from 'ergo-ts/act';
import { z } from 'zod';

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
    if (req === 'name') return this.reply(req, 'counter');
    return this.reply(req, this.count);
  }
}

// --- per-request replies ---------------------------------------------------------------------------

export class CrossReply extends Actor.of(Counter) {
  override handleMessage(): void {}
  override handleCall(_from: PID, _ref: Ref, req: { kind: 'get' } | 'name') {
    // @ts-expect-error 'name' answers a string: a number is another call's reply
    if (req === 'name') return this.reply(req, 1);
    return this.reply(req, 2);
  }
}

export class UnnarrowedReply extends Actor.of(Counter) {
  override handleMessage(): void {}
  override handleCall(_from: PID, _ref: Ref, req: { kind: 'get' } | 'name') {
    // @ts-expect-error an un-narrowed request needs a reply valid for every call it may be
    return this.reply(req, 'counter');
  }
}

// The case: a plain string returned for 'get' (whose reply is a number). The replies of
// Counter differ, so a plain value is no reply at all: each goes through reply(request, value).
export class PlainOtherReply extends Actor.of(Counter) {
  override handleMessage(): void {}
  // @ts-expect-error 'get' answered with 'name''s string reply, as a plain value
  override handleCall(_from: PID, _ref: Ref, req: { kind: 'get' } | 'name') {
    if (req === 'name') return this.reply(req, 'counter');
    return 'counter';
  }
}

// One reply type for every call: plain values are replies (valid whatever the request).
const Adder = defineProtocol('adder', {
  calls: {
    get: { request: schema.literal('get'), reply: schema.number() },
    add: { request: schema.object({ add: schema.number() }), reply: schema.number() },
  },
});
export class AdderActor extends Actor.of(Adder) {
  n = 0;
  override handleCall(_from: PID, _ref: Ref, req: 'get' | { add: number }) {
    if (req === 'get') return this.n;
    return (this.n += req.add);
  }
}

class LaterActor extends Actor.of(Counter) {
  pending: Later<number> | undefined;
  override handleMessage(): void {
    if (this.pending === undefined) return;
    this.respond(this.pending, 5);
    // @ts-expect-error the reply kept for { kind: 'get' } is a number
    this.respond(this.pending, 'five');
  }
  override handleCall(from: PID, ref: Ref, req: { kind: 'get' } | 'name') {
    if (req === 'name') return this.reply(req, 'later');
    this.pending = this.later(req, from, ref);
    return ReplyLater; // an explicit, typed "reply later"
  }
}

class StopActor extends Actor.of(Counter) {
  override handleMessage() {
    return new Stop(new Error('done'));
  }
  override handleCall(_from: PID, _ref: Ref, req: { kind: 'get' } | 'name') {
    if (req === 'name') return new Stop(new Error('done'), this.reply(req, 'last'));
    return new Stop(new Error('done'));
  }
}

export class StopWrongReply extends Actor.of(Counter) {
  override handleMessage(): void {}
  // @ts-expect-error a Stop's reply is checked like any other (a plain number is no reply here)
  override handleCall(_from: PID, _ref: Ref, _req: { kind: 'get' } | 'name') {
    return new Stop(new Error('done'), 1);
  }
}

export class WrongReply extends Actor.of(Counter) {
  override handleMessage(): void {}
  // @ts-expect-error a wrong reply type from handleCall
  override handleCall(_from: PID, _ref: Ref, _req: { kind: 'get' } | 'name') {
    return { count: 1 };
  }
}

export class ForgottenReturn extends Actor.of(Counter) {
  override handleMessage(): void {}
  // @ts-expect-error a forgotten return (undefined is not a reply; ReplyLater is the explicit way)
  override handleCall(_from: PID, _ref: Ref, req: { kind: 'get' } | 'name') {
    if (req === 'name') return this.reply(req, 'x');
  }
}

// --- exhaustive: a typed actor handles every kind of mail its protocol declares ---------------------

// @ts-expect-error Counter declares calls: a typed actor without handleCall does not compile
export class MissingCall extends Actor.of(Counter) {
  override handleMessage(): void {}
}
// @ts-expect-error Counter declares messages: a typed actor without handleMessage does not compile
export class MissingMessage extends Actor.of(Counter) {
  override handleCall(_from: PID, _ref: Ref, req: { kind: 'get' } | 'name') {
    return req === 'name' ? this.reply(req, 'x') : this.reply(req, 1);
  }
}

// A handler that accepts only part of the protocol: method bivariance lets the class compile,
// the Handlers interface and spawn refuse it.
class Narrow extends Actor.of(Counter) {
  override handleMessage(_from: PID, msg: { kind: 'inc'; by: number }) {
    void msg;
  }
  override handleCall() {
    return ReplyLater;
  }
}
export class NarrowChecked extends Actor.of(Counter) implements Handlers<CounterP> {
  // @ts-expect-error handleMessage does not accept every message (checked strictly)
  override handleMessage(_from: PID, msg: { kind: 'inc'; by: number }) {
    void msg;
  }
  override handleCall() {
    return ReplyLater;
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
    // @ts-expect-error a literal child's args cannot be checked against init: written with childSpec
    { name: 'plain', factory: CounterActor, args: ['anything'] },
  ],
};

/** Annotated with the union a Pool's init returns: the workers' protocol is forgotten. */
export class Workers extends Pool {
  override init(): AnyPoolOptions {
    return poolOptions({ poolSize: 2, workerFactory: CounterActor, workerArgs: [1] });
  }
}
/** Annotated with what poolOptions returns: the workers' protocol is kept. */
export class AnnotatedWorkers extends Pool {
  override init(): CheckedPoolOptions<CounterActor> {
    return poolOptions({ poolSize: 2, workerFactory: CounterActor, workerArgs: [1] });
  }
}
export class PlainlyAnnotatedWorkers extends Pool {
  override init(): PoolOptions {
    // @ts-expect-error the plain PoolOptions names workers whose init needs no arguments (CounterActor's needs one)
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
  // A pool whose init is annotated with AnyPoolOptions stays untyped.
  const plain = await node.spawn(Workers, {});
  node.send(plain, 'anything');
  const annotated: PID<CounterP> = await node.spawn(AnnotatedWorkers, {});
  // @ts-expect-error a pool annotated with CheckedPoolOptions<CounterActor> speaks its workers' protocol
  node.send(annotated, 'not a number');
  void [typed, n, s];
}
void pools;

// --- schemas that transform: senders give the input, handlers get the output ------------------------

const Lengths = defineProtocol('lengths', {
  messages: { note: z.object({ s: z.string().transform((s) => s.length) }) },
  calls: { len: { request: z.object({ s: z.string().transform((s) => s.length) }), reply: z.number() } },
});
export class LengthActor extends Actor.of(Lengths) implements Handlers<typeof Lengths> {
  override handleMessage(_from: PID, msg: { s: number }): void {
    void msg;
  }
  override handleCall(_from: PID, _ref: Ref, req: { s: number }) {
    return req.s;
  }
}
export class LengthAsInput extends Actor.of(Lengths) implements Handlers<typeof Lengths> {
  // @ts-expect-error the handler gets the schema's output ({ s: number }), not its input
  override handleMessage(_from: PID, msg: { s: string }): void {
    void msg;
  }
  override handleCall(_from: PID, _ref: Ref, req: { s: number }) {
    return req.s;
  }
}
async function transforms(): Promise<void> {
  const pid = await node.spawn(LengthActor, {});
  node.send(pid, { s: 'abc' });
  const n: number = await node.call(pid, { s: 'abc' });
  // @ts-expect-error a sender gives the schema's input (a string), not its output
  node.send(pid, { s: 3 });
  // @ts-expect-error a caller gives the schema's input
  await node.call(pid, { s: 3 });
  void n;
}
void transforms;
