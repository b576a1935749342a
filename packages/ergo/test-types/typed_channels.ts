// Type-level tests of the typed error channel, scoped event names, the handler-per-message form
// (Actor.define) and the readable error for a protocol without messages. Compiled by
// `npm run check:types` (scripts/check-types.mjs) with the rest of test-types/; nothing here runs.

import {
  Actor,
  CallFailure,
  ReplyLater,
  defineProtocol,
  schema,
  tryCall,
  type Later,
  type Node,
  type PID,
  type Ref,
} from 'ergo-ts';

declare const node: Node;

// --- the typed error channel ---------------------------------------------------------------------

const Bank = defineProtocol('bank', {
  calls: {
    withdraw: {
      request: schema.object({ withdraw: schema.number() }),
      reply: schema.number(),
      errors: {
        insufficient: schema.object({ kind: schema.literal('insufficient'), balance: schema.number() }),
        frozen: schema.literal('frozen'),
      },
    },
    balance: { request: schema.literal('balance'), reply: schema.number() },
  },
});

export class BankActor extends Actor.of(Bank) {
  balance = 10;
  pending: Later<number, { kind: 'insufficient'; balance: number } | 'frozen'> | undefined;
  override handleCall(from: PID, ref: Ref, req: { withdraw: number } | 'balance') {
    if (req === 'balance') return this.balance;
    if (req.withdraw > this.balance) return this.fail(req, { kind: 'insufficient', balance: this.balance });
    if (req.withdraw === 0) return this.fail(req, 'frozen');
    if (req.withdraw < 0) {
      this.pending = this.later(req, from, ref);
      this.failLater(this.pending, 'frozen');
      // @ts-expect-error a failure outside the call's errors, answered later
      this.failLater(this.pending, 'closed');
      return ReplyLater;
    }
    return (this.balance -= req.withdraw);
  }
}

export class WrongFailure extends Actor.of(Bank) {
  override handleCall(_from: PID, _ref: Ref, req: { withdraw: number } | 'balance') {
    if (req === 'balance') {
      // @ts-expect-error 'balance' declares no errors: it cannot fail with one
      return this.fail(req, 'frozen');
    }
    // @ts-expect-error a failure value outside withdraw's errors
    return this.fail(req, { kind: 'insufficient', balance: 'none' });
  }
}

async function callers(): Promise<void> {
  const bank = Bank.processID('bank', 'b@localhost');
  const r = await tryCall(node, bank, { withdraw: 5 });
  if (r.ok) {
    const n: number = r.value;
    void n;
  } else {
    const e: { kind: 'insufficient'; balance: number } | 'frozen' = r.error;
    if (r.error !== 'frozen') {
      const b: number = r.error.balance;
      void b;
    }
    // @ts-expect-error the failure is typed: no such member
    void r.error.code;
    void e;
  }
  const plain = await tryCall(node, bank, 'balance');
  if (!plain.ok) {
    // 'balance' declares no errors: its failure type is never
    const never: never = plain.error;
    void never;
  }
  // @ts-expect-error tryCall checks the request like call does
  await tryCall(node, bank, { withdraw: 'all' });
  try {
    await node.call(bank, { withdraw: 5 });
  } catch (e) {
    if (e instanceof CallFailure) void e.error;
  }
}
void callers;

// --- scoped event names ----------------------------------------------------------------------------

const Temp = defineProtocol('temp', {
  messages: { set: schema.number() },
  events: { changed: schema.number() },
});
export class TempActor extends Actor.of(Temp) {
  token: Ref<number> | undefined;
  override init(id: string): void {
    this.token = this.registerEvent(Temp.event('changed', id));
  }
  override handleMessage(_from: PID, t: number): void {
    this.sendEvent(Temp.event('changed', 'x'), this.token!, t);
    // @ts-expect-error a scoped event keeps its payload type
    this.sendEvent(Temp.event('changed', 'x'), this.token!, 'hot');
  }
}
// @ts-expect-error an event the protocol does not declare
Temp.event('moved', 'x');

// --- the handler-per-message form ------------------------------------------------------------------

const Counter = defineProtocol('counter2', {
  messages: {
    inc: schema.object({ kind: schema.literal('inc'), by: schema.number() }),
    reset: schema.literal('reset'),
  },
  calls: {
    get: { request: schema.literal('get'), reply: schema.number() },
    name: { request: schema.literal('name'), reply: schema.string() },
    take: {
      request: schema.object({ take: schema.number() }),
      reply: schema.number(),
      errors: { short: schema.object({ short: schema.number() }) },
    },
  },
});

export const CounterDefined = Actor.define(Counter, {
  init: (start: number) => ({ count: start }),
  messages: {
    inc: (msg, self) => {
      self.data.count += msg.by; // msg: { kind: 'inc'; by: number }, inferred
    },
    reset: (_msg, self) => {
      self.data.count = 0;
    },
  },
  calls: {
    get: (_req, self) => self.data.count,
    name: () => 'counter',
    take: (req, self) => {
      if (req.take > self.data.count) return self.fail(req, { short: req.take - self.data.count });
      return (self.data.count -= req.take);
    },
  },
});

async function defined(): Promise<void> {
  const pid = await node.spawn(CounterDefined, {}, 5);
  node.send(pid, { kind: 'inc', by: 1 });
  const n: number = await node.call(pid, 'get');
  const s: string = await node.call(pid, 'name');
  // @ts-expect-error the init arguments are inferred from init
  await node.spawn(CounterDefined, {}, 'five');
  // @ts-expect-error a message outside the protocol
  node.send(pid, { kind: 'dec' });
  void [n, s];
}
void defined;

Actor.define(Counter, {
  init: () => ({ count: 0 }),
  messages: {
    inc: (msg) => {
      // @ts-expect-error a message handler's parameter is its own message, inferred
      const k: 'reset' = msg;
      void k;
    },
    reset: () => undefined,
  },
  calls: {
    // @ts-expect-error a call's handler answers with its own reply (get answers a number)
    get: () => 'not a number',
    name: () => 'x',
    take: () => 1,
  },
});

Actor.define(Counter, {
  messages: {
    inc: () => undefined,
    reset: () => undefined,
  },
  // @ts-expect-error exhaustive: a call without a handler does not compile
  calls: {
    get: () => 1,
    name: () => 'x',
  },
});

// @ts-expect-error exhaustive: the messages' handlers are required when the protocol declares messages
Actor.define(Counter, {
  calls: { get: () => 1, name: () => 'x', take: () => 1 },
});

// --- a protocol without messages: a readable compile error ------------------------------------------

export const OnlyCalls = defineProtocol('only-calls', {
  calls: { get: { request: schema.literal('get'), reply: schema.number() } },
});
declare const onlyCalls: PID<typeof OnlyCalls>;
// @ts-expect-error ProtocolDeclaresNoMessages: this protocol has no messages
node.send(onlyCalls, 'get');
export const OnlyMessages = defineProtocol('only-messages', { messages: { ping: schema.literal('ping') } });
declare const onlyMessages: PID<typeof OnlyMessages>;
// @ts-expect-error ProtocolDeclaresNoCalls: this protocol has no calls
void node.call(onlyMessages, 'ping');
