// Typed protocols on one node: the built-in schema builder, zod 4 and valibot schemas (Standard
// Schema v1), async schemas refused, Actor.of with ReplyLater and typed events, and the node
// option `validateLocal` (local traffic is trusted by default).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import * as v from 'valibot';
import { z } from 'zod';
import {
  Actor,
  Event,
  ReplyLater,
  defineProtocol,
  firstIssue,
  formatPath,
  schema,
  type Later,
  type MessageEvent,
  type PID,
  type Ref,
} from '../src/index.js';
import { LogCapture, quietNode } from './helpers.js';

test('schema builder: valid values pass, the first failing field is reported with its path', () => {
  const order = schema.object({
    id: schema.integer(),
    lines: schema.array(
      schema.object({ sku: schema.string(), qty: schema.number(), note: schema.optional(schema.string()) }),
    ),
    state: schema.enum(['open', 'closed']),
    at: schema.nullable(schema.date()),
    raw: schema.bytes(),
    big: schema.bigint(),
    either: schema.union(schema.literal(1), schema.boolean()),
  });
  const ok = {
    id: 1,
    lines: [{ sku: 'a', qty: 2 }],
    state: 'open',
    at: null,
    raw: new Uint8Array(1),
    big: 1n,
    either: true,
  };
  assert.equal(order.check(ok), undefined);
  const r = order['~standard'].validate(ok);
  assert.ok(!(r instanceof Promise) && r.issues === undefined && r.value === ok, 'the value is not copied');
  const bad = {
    ...ok,
    lines: [
      { sku: 'a', qty: 2 },
      { sku: 'b', qty: 'x' },
    ],
  };
  const found = order.check(bad)!;
  assert.deepEqual(found.path, ['lines', 1, 'qty']);
  assert.equal(formatPath(found.path), 'lines[1].qty');
  assert.match(found.message, /expected number, got string/);
  assert.equal(formatPath(order.check({ ...ok, state: 'gone' })!.path), 'state');
  assert.equal(formatPath(order.check(5)!.path), '(root)');
  assert.ok(order.check({ ...ok, either: 2 }));
});

test('Standard Schema: zod 4 and valibot schemas validate protocol traffic with their paths', () => {
  const Z = defineProtocol('zod', {
    messages: { put: z.object({ key: z.string(), value: z.number().int() }) },
    calls: { get: { request: z.object({ get: z.string() }), reply: z.number().nullable() } },
  });
  assert.equal(Z.checkMessage({ key: 'a', value: 1 }), undefined);
  assert.deepEqual(Z.checkMessage({ key: 'a', value: 1.5 })!.path, ['value']);
  assert.equal(Z.checkRequest({ get: 'a' }), undefined);
  assert.ok(Z.checkRequest({ key: 'a', value: 1 }), 'a message is not a request');

  const V = defineProtocol('valibot', {
    messages: { put: v.object({ key: v.string(), tags: v.array(v.string()) }) },
  });
  assert.equal(V.checkMessage({ key: 'a', tags: ['x'] }), undefined);
  assert.deepEqual(V.checkMessage({ key: 'a', tags: ['x', 2] })!.path, ['tags', 1]);
});

test('an asynchronous schema is refused (ordering): every check fails with a clear message', () => {
  const asyncSchema = z.string().refine(async () => true);
  const P = defineProtocol('async', { messages: { m: asyncSchema } });
  const found = P.checkMessage('x');
  assert.ok(found);
  assert.match(found.message, /asynchronous schema/);
  assert.match(firstIssue(asyncSchema, 'x')!.message, /asynchronous/);
});

const Acc = defineProtocol('account', {
  messages: { deposit: schema.object({ deposit: schema.number() }) },
  calls: {
    balance: { request: schema.literal('balance'), reply: schema.number() },
    later: { request: schema.literal('later'), reply: schema.string() },
  },
  events: { moved: schema.number() },
});

class Account extends Actor.of(Acc) {
  balance = 0;
  token!: Ref<number>;
  pending: Later<string> | undefined;
  override init(start: number): void {
    this.balance = start;
    this.token = this.registerEvent(Acc.events.moved);
  }
  override handleMessage(_from: PID, msg: { deposit: number }): void {
    this.balance += msg.deposit;
    this.sendEvent(Acc.events.moved, this.token, msg.deposit);
    if (this.pending !== undefined) this.respond(this.pending, `answered later at ${this.balance}`);
    this.pending = undefined;
  }
  override handleCall(from: PID, ref: Ref, req: 'balance' | 'later') {
    // Each reply is checked against its own request ('balance' answers a number, 'later' a string).
    if (req === 'balance') return this.reply(req, this.balance);
    this.pending = this.later(req, from, ref);
    return ReplyLater;
  }
}

class Listener extends Actor {
  seen: number[] = [];
  override async init(producer: PID): Promise<void> {
    await this.linkEvent(new Event(Acc.events.moved, producer.node));
  }
  override handleEvent(m: MessageEvent): void {
    this.seen.push(m.message as number);
  }
  override handleCall(): unknown {
    return this.seen;
  }
}

test('Actor.of: typed spawn, calls, ReplyLater and typed events on one node', async (t) => {
  const node = await quietNode();
  t.after(() => node.stop());
  const pid = await node.spawn(Account, {}, 10);
  const listener = await node.spawn(Listener, {}, pid);
  node.send(pid, { deposit: 5 });
  const balance: number = await node.call(pid, 'balance');
  assert.equal(balance, 15);
  const later: Promise<string> = node.call(pid, 'later');
  node.send(pid, { deposit: 1 });
  assert.equal(await later, 'answered later at 16');
  assert.deepEqual(await node.call(listener, 'seen'), [5, 1]);
  // Local traffic is trusted by default: an off-protocol message is delivered (and here ignored
  // by the handler's arithmetic), it is not checked.
  node.send(pid as PID, { deposit: 'x' });
  assert.equal(await node.call(pid, 'balance'), '16x');
});

test('validateLocal: local sends and calls to a typed process are checked too', async (t) => {
  const capture = new LogCapture();
  const node = await quietNode({ validateLocal: true }, capture);
  t.after(() => node.stop());
  const pid = await node.spawn(Account, {}, 1);
  const untyped: PID = pid;
  assert.throws(() => node.send(untyped, { deposit: 'x' }), { code: 'ERR_PROTOCOL_VIOLATION' });
  await assert.rejects(node.call(untyped, 'size'), { code: 'ERR_PROTOCOL_VIOLATION' });
  node.send(pid, { deposit: 2 });
  assert.equal(await node.call(pid, 'balance'), 3);
  assert.match(capture.text(), /protocol account: refused message Object from node .*: deposit: expected number/);
  // Untyped processes are not affected.
  const plain = await node.spawn(Listener, {}, pid);
  assert.deepEqual(await node.call(plain, 'anything'), []);
});

/** Zod and valibot schemas that transform: senders give strings, handlers get their lengths. */
const Transforming = defineProtocol('transforming', {
  messages: {
    note: v.object({
      s: v.pipe(
        v.string(),
        v.transform((s) => s.length),
      ),
    }),
  },
  calls: {
    len: { request: z.object({ s: z.string().transform((s) => s.length) }), reply: z.number() },
    last: { request: z.literal('last'), reply: z.unknown() },
  },
});

class Lengths extends Actor.of(Transforming) {
  last: unknown;
  override handleMessage(_from: PID, msg: { s: number }): void {
    this.last = msg.s;
  }
  override handleCall(_from: PID, _ref: Ref, req: { s: number } | 'last') {
    if (req === 'last') return this.reply(req, this.last);
    return this.reply(req, req.s);
  }
}

test('validateLocal: a transforming schema delivers its output (zod and valibot)', async (t) => {
  const node = await quietNode({ validateLocal: true });
  t.after(() => node.stop());
  const pid = await node.spawn(Lengths, {});
  const n: number = await node.call(pid, { s: 'abcde' });
  assert.equal(n, 5);
  node.send(pid, { s: 'ab' });
  assert.equal(await node.call(pid, 'last'), 2);
  const untyped: PID = pid;
  await assert.rejects(node.call(untyped, { s: 5 }), { code: 'ERR_PROTOCOL_VIOLATION' });
});

test('without validateLocal a local send is not checked: a transforming schema is not applied', async (t) => {
  const node = await quietNode();
  t.after(() => node.stop());
  const pid = await node.spawn(Lengths, {});
  node.send(pid, { s: 'ab' });
  // What docs/typed.md says: local traffic is trusted and delivered as sent.
  assert.equal(await node.call(pid, 'last'), 'ab');
});
