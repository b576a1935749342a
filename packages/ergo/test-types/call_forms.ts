// Type-level tests of every call and send form against a typed address, compiled by
// `npm run check:types` (scripts/check-types.mjs). The forms are defined once on a prototype
// (gen/variants.ts) and take their types from the Node and Process contracts: each form here is
// checked by the protocol as `call` and `send` are — the request or message must be one of the
// protocol's, and the reply is the one of that call — on a Node, a Process, an actor (`this`),
// the test kit's TestNode and TestProcess, and a meta process. Each `@ts-expect-error` line must
// be an error (an unused one is TS2578). Nothing here runs.

import {
  Actor,
  MessagePriority,
  defineProtocol,
  schema,
  type Alias,
  type MetaProcess,
  type Node,
  type PID,
  type Process,
  type ProcessID,
  type Ref,
} from 'ergo-ts';
import { MetaBase } from 'ergo-ts/meta';
import type { TestNode, TestProcess } from 'ergo-ts/testing';

const Counter = defineProtocol('counter', {
  messages: { inc: schema.object({ by: schema.number() }) },
  calls: {
    get: { request: schema.literal('get'), reply: schema.number() },
    name: { request: schema.object({ name: schema.literal(true) }), reply: schema.string() },
  },
});
type CounterP = typeof Counter;

declare const pid: PID<CounterP>;
const id: ProcessID<CounterP> = Counter.processID('counter', 'b@localhost');
declare const alias: Alias<CounterP>;
declare const untyped: PID;

/** Anything with the call forms: a Node, a Process, an actor, the test kit's node and process. */
async function callForms(c: Node | Process | TestNode | TestProcess): Promise<void> {
  // callWithTimeout (typed before: the reference for the others)
  const t: number = await c.callWithTimeout(pid, 'get', 100);
  // @ts-expect-error a request outside the protocol
  await c.callWithTimeout(pid, 'bogus', 100);

  // callWithPriority
  const p: number = await c.callWithPriority(pid, 'get', MessagePriority.High);
  const pn: string = await c.callWithPriority(id, { name: true }, MessagePriority.Normal);
  // @ts-expect-error a request outside the protocol
  await c.callWithPriority(pid, 'bogus', MessagePriority.High);
  // @ts-expect-error 'get' answers a number
  const pw: string = await c.callWithPriority(pid, 'get', MessagePriority.High);

  // callImportant (the case)
  const i: number = await c.callImportant(pid, 'get');
  const ia: string = await c.callImportant(alias, { name: true });
  // @ts-expect-error a request outside the protocol
  await c.callImportant(pid, 'bogus');
  // @ts-expect-error a request outside the protocol, to a typed name
  await c.callImportant(id, { name: false });
  // @ts-expect-error 'get' answers a number
  const iw: string = await c.callImportant(pid, 'get');

  // callPID
  const d: number = await c.callPID(pid, 'get');
  const dt: string = await c.callPID(pid, { name: true }, 100);
  // @ts-expect-error a request outside the protocol
  await c.callPID(pid, 'bogus');
  // @ts-expect-error a request outside the protocol, with a timeout
  await c.callPID(pid, { kind: 'get' }, 100);
  // @ts-expect-error 'get' answers a number
  const dw: string = await c.callPID(pid, 'get');
  // @ts-expect-error callPID takes a PID only
  await c.callPID(id, 'get');

  // callProcessID
  const n: number = await c.callProcessID(id, 'get', 100);
  // @ts-expect-error a request outside the protocol
  await c.callProcessID(id, 'bogus');
  // @ts-expect-error 'get' answers a number
  const nw: string = await c.callProcessID(id, 'get');
  // @ts-expect-error callProcessID takes a ProcessID only
  await c.callProcessID(pid, 'get');

  // callAlias
  const a: number = await c.callAlias(alias, 'get');
  // @ts-expect-error a request outside the protocol
  await c.callAlias(alias, 'bogus', 100);
  // @ts-expect-error 'get' answers a number
  const aw: string = await c.callAlias(alias, 'get');
  // @ts-expect-error callAlias takes an Alias only
  await c.callAlias(pid, 'get');

  // An untyped target keeps the untyped API.
  const u: unknown = await c.callImportant(untyped, { anything: 1 });
  await c.callPID(untyped, 42);
  await c.callWithPriority('by-name', 'anything', MessagePriority.Max);
  void [t, p, pn, pw, i, ia, iw, d, dt, dw, n, nw, a, aw, u];
}

/** The send forms with a priority (a Process, an actor, the test kit's TestProcess). */
function sendForms(s: Process | TestProcess): void {
  s.sendWithPriority(pid, { by: 1 }, MessagePriority.High);
  s.sendWithPriority(id, { by: 1 }, MessagePriority.Normal);
  // @ts-expect-error a message outside the protocol
  s.sendWithPriority(pid, 'bogus', MessagePriority.High);
  // @ts-expect-error a call request is not a message
  s.sendWithPriority(alias, 'get', MessagePriority.High);
  s.sendWithPriorityAfter(pid, { by: 2 }, MessagePriority.High, 10);
  // @ts-expect-error a message outside the protocol
  s.sendWithPriorityAfter(pid, { by: 'two' }, MessagePriority.High, 10);
  s.sendWithPriority(untyped, 'anything', MessagePriority.Max);
}

/** An actor's own forms (`this.callImportant`...), forwarding to its process. */
export class Caller extends Actor {
  override async handleMessage(): Promise<void> {
    const i: number = await this.callImportant(pid, 'get');
    // @ts-expect-error a request outside the protocol
    await this.callImportant(pid, 'bogus');
    const p: string = await this.callWithPriority(pid, { name: true }, MessagePriority.High);
    // @ts-expect-error a request outside the protocol
    await this.callWithPriority(pid, 'bogus', MessagePriority.High);
    const d: number = await this.callPID(pid, 'get', 100);
    // @ts-expect-error a request outside the protocol
    await this.callPID(pid, 'bogus');
    // @ts-expect-error 'get' answers a number
    const dw: string = await this.callPID(pid, 'get');
    const n: number = await this.callProcessID(id, 'get');
    // @ts-expect-error a request outside the protocol
    await this.callProcessID(id, 'bogus');
    const a: number = await this.callAlias(alias, 'get');
    // @ts-expect-error a request outside the protocol
    await this.callAlias(alias, 'bogus');
    this.sendWithPriority(pid, { by: 1 }, MessagePriority.High);
    // @ts-expect-error a message outside the protocol
    this.sendWithPriority(pid, 'bogus', MessagePriority.High);
    this.sendWithPriorityAfter(pid, { by: 1 }, MessagePriority.High, 10);
    // @ts-expect-error a message outside the protocol
    this.sendWithPriorityAfter(pid, 'bogus', MessagePriority.High, 10);
    void [i, p, d, dw, n, a];
  }
  override handleCall(_from: PID, _ref: Ref, _request: unknown): unknown {
    return undefined;
  }
}

/** A meta process sends as a process does. */
function metaSends(meta: MetaProcess): void {
  meta.send(pid, { by: 1 });
  // @ts-expect-error a message outside the protocol
  meta.send(pid, 'bogus');
  meta.sendWithPriority(id, { by: 1 }, MessagePriority.High);
  // @ts-expect-error a message outside the protocol
  meta.sendWithPriority(id, { by: '1' }, MessagePriority.High);
  meta.send(untyped, 'anything');
}

export class Reader extends MetaBase {
  override start(): void {
    this.send(pid, { by: 1 });
    // @ts-expect-error a message outside the protocol
    this.send(pid, 'bogus');
  }
}

void [callForms, sendForms, metaSends];
