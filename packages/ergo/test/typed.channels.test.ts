// The typed channels on one node: a declared failure answers the caller without stopping the
// callee; two protocols and two instances of one typed actor each publish their own `changed`;
// Actor.define dispatches per message with each schema's output (local mail too); a throwing
// schema is a refusal; `schema.object({ fromMap })` delivers a Go map as an object. (That the
// compiler names a protocol without messages is checked by `npm run check:types`, with the
// fixture in test-types-errors/.)

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { z } from 'zod';
import {
  Actor,
  CallFailure,
  ErrProtocolViolation,
  Event,
  defineProtocol,
  schema,
  tryCall,
  type MessageEvent,
  type PID,
  type Ref,
} from '../src/index.js';
import { quietNode, within } from './helpers.js';
import { Bank } from './typed_channels_protocol.js';

class BankActor extends Actor.of(Bank) {
  balance = 10;
  override handleCall(_from: PID, _ref: Ref, req: { withdraw: number } | 'balance') {
    if (req === 'balance') return this.balance;
    if (req.withdraw > this.balance) return this.fail(req, { kind: 'insufficient', balance: this.balance });
    return (this.balance -= req.withdraw);
  }
}

test('typed errors locally: the caller gets the failure, the callee goes on', async (t) => {
  const node = await quietNode();
  t.after(() => node.stop());
  const bank = await node.spawn(BankActor, {});
  assert.deepEqual(await tryCall(node, bank, { withdraw: 20 }), {
    ok: false,
    error: { kind: 'insufficient', balance: 10 },
  });
  await assert.rejects(node.call(bank, { withdraw: 20 }), (e: unknown) => e instanceof CallFailure);
  assert.deepEqual(await tryCall(node, bank, { withdraw: 3 }), { ok: true, value: 7 });
  assert.equal(node.processInfo(bank).pid.equals(bank), true);
});

const Temp = defineProtocol('temp', { messages: { set: schema.number() }, events: { changed: schema.number() } });
const Level = defineProtocol('level', { messages: { set: schema.number() }, events: { changed: schema.number() } });

class Sensor extends Actor.of(Temp) {
  id = '';
  token: Ref<number> | undefined;
  override init(id: string): void {
    this.id = id;
    this.token = this.registerEvent(Temp.event('changed', id));
  }
  override handleMessage(_from: PID, t: number): void {
    this.sendEvent(Temp.event('changed', this.id), this.token!, t);
  }
}
class LevelActor extends Actor.of(Level) {
  override init(): void {
    this.registerEvent(Level.events.changed);
  }
  override handleMessage(): void {}
}
class TempActor extends Actor.of(Temp) {
  override init(): void {
    this.registerEvent(Temp.events.changed);
  }
  override handleMessage(): void {}
}

test('scoped events: two protocols and two instances each declare changed on one node', async (t) => {
  const node = await quietNode();
  t.after(() => node.stop());
  assert.equal(Temp.events.changed, 'temp.changed');
  await node.spawn(TempActor, {});
  await node.spawn(LevelActor, {}); // was ERR_TAKEN: both named their event `changed`
  const a = await node.spawn(Sensor, {}, 'a');
  await node.spawn(Sensor, {}, 'b'); // a second instance of one typed actor
  const got: number[] = [];
  let arrived!: () => void;
  const first = new Promise<void>((r) => (arrived = r));
  class Listener extends Actor {
    override async init(): Promise<void> {
      await this.linkEvent(new Event(Temp.event('changed', 'a'), this.node.name));
    }
    override handleEvent(m: MessageEvent): void {
      got.push(m.message as number);
      arrived();
    }
  }
  await node.spawn(Listener, {});
  node.send(a, 21);
  await within(first, 'the scoped event', 30_000);
  assert.deepEqual(got, [21]);
  assert.throws(() => Temp.event('moved' as never, 'x'), { code: 'ERR_INCORRECT' });
});

const Lengths = defineProtocol('lengths', {
  messages: { note: z.object({ s: z.string().transform((s) => s.length) }) },
  calls: {
    len: { request: z.object({ len: z.string().transform((s) => s.length) }), reply: z.number() },
    last: { request: schema.literal('last'), reply: z.number() },
  },
});

test('Actor.define: each handler gets its own schema output, local mail too', async (t) => {
  const node = await quietNode();
  t.after(() => node.stop());
  const Def = Actor.define(Lengths, {
    init: (start: number) => ({ last: start }),
    messages: {
      note: (m, self) => {
        self.data.last = m.s;
      },
    },
    calls: { len: (req) => req.len, last: (_r, self) => self.data.last },
  });
  const pid = await node.spawn(Def, {}, 7);
  assert.equal(await node.call(pid, 'last'), 7);
  node.send(pid, { s: 'abcd' });
  assert.equal(await node.call(pid, 'last'), 4);
  assert.equal(await node.call(pid, { len: 'abc' }), 3);
  // Local mail that matches no call: refused, as from another node.
  await assert.rejects(node.call(pid as PID, 'nope'), { code: ErrProtocolViolation.code });
});

test('a throwing schema refuses with the code; schema.object fromMap delivers an object', async (t) => {
  const node = await quietNode({ validateLocal: true });
  t.after(() => node.stop());
  const Boom = defineProtocol('boom', {
    calls: {
      go: {
        request: {
          '~standard': {
            version: 1,
            vendor: 'test',
            validate: (): never => {
              throw new Error('schema blew up');
            },
          },
        },
        reply: schema.string(),
      },
    },
  });
  class BoomActor extends Actor.of(Boom) {
    override handleCall() {
      return 'reached';
    }
  }
  const boom = await node.spawn(BoomActor, {});
  await assert.rejects(node.call(boom as PID, 1), (e: Error & { code?: string }) => {
    assert.equal(e.code, ErrProtocolViolation.code);
    assert.doesNotMatch(e.message, /blew up/);
    return true;
  });

  const Go = defineProtocol('gomap', {
    calls: {
      hi: {
        request: schema.object(
          { name: schema.string(), tags: schema.array(schema.object({ t: schema.string() }, { fromMap: true })) },
          { fromMap: true },
        ),
        reply: schema.string(),
      },
    },
  });
  const seen: unknown[] = [];
  class GoActor extends Actor.of(Go) {
    override handleCall(_f: PID, _r: Ref, req: { name: string; tags: { t: string }[] }) {
      seen.push(req);
      return `${req.name}:${req.tags.map((x) => x.t).join(',')}`;
    }
  }
  const pid = await node.spawn(GoActor, {});
  const goMap = new Map<string, unknown>([
    ['name', 'ada'],
    ['tags', [new Map([['t', 'x']])]],
  ]);
  assert.equal(await node.call(pid as PID, goMap), 'ada:x');
  assert.deepEqual(seen[0], { name: 'ada', tags: [{ t: 'x' }] });
  assert.equal(Object.getPrototypeOf(seen[0]), Object.prototype);
  await assert.rejects(node.call(pid as PID, new Map([[1, 'x']])), { code: ErrProtocolViolation.code });
  const plain = schema.object({ name: schema.string() });
  // Without the option a Map is refused (its entries are no properties).
  assert.deepEqual(plain.check(new Map([['name', 'x']]))?.path, ['name']);
});
