// Typed protocols' newer forms through a Pool, against a real Go Ergo 3.2 node (ergo-peer): the
// pool's worker is a handler-per-message actor (`Actor.define`) whose zod schemas transform what
// they check (a Go string "deposit 12" becomes `{ deposit: 12 }`) and whose `withdraw` call
// declares an error schema. The Go peer sends and calls the pool: what breaks the protocol is
// refused at the pool's door (ERR_PROTOCOL_VIOLATION's text to a Go caller, an important send's
// delivery error, a plain send dropped) and never reaches a handler; what matches reaches the
// handlers as the schemas' output; an expected failure is answered to the Go caller as an error
// response (`call failed: <the value as JSON>`) while the worker carries on.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { z } from 'zod';
import {
  Actor,
  ErrProtocolViolation,
  Pool,
  defineProtocol,
  poolOptions,
  schema,
  tryCall,
  type PID,
} from '../src/index.js';
import { LogCapture } from './helpers.js';
import { netNode, portOf } from './net_helpers.js';
import { Peer, requirePeer } from '@ergo-ts/test-support';

const COOKIE = 'go-typed-pool';

/** `"<word> <digits>"` as the number, for the schemas below (a transform: input string, output number). */
const amount = (word: string) =>
  z
    .string()
    .regex(new RegExp(`^${word} [0-9]+$`))
    .transform((s) => Number(s.slice(word.length + 1)));

const Wallet = defineProtocol('wallet', {
  messages: { deposit: amount('deposit').transform((n) => ({ deposit: n })) },
  calls: {
    withdraw: {
      request: amount('withdraw').transform((n) => ({ withdraw: n })),
      reply: z.number(),
      errors: { insufficient: schema.object({ kind: schema.literal('insufficient'), balance: schema.number() }) },
    },
    balance: { request: z.literal('balance'), reply: z.number() },
    // A Go map[string]any arrives as a Map: `fromMap` delivers it as an object (docs/typed.md).
    take: { request: schema.object({ take: schema.integer() }, { fromMap: true }), reply: z.number() },
  },
});

/** What the handlers got, in order (as JSON), across both workers; the account they share. */
const seen: string[] = [];
const account = { balance: 0 };

const WalletWorker = Actor.define(Wallet, {
  init: () => account,
  messages: {
    deposit: (msg, self) => {
      seen.push(`deposit ${JSON.stringify(msg)}`); // msg: { deposit: number }, the schema's output
      self.data.balance += msg.deposit;
    },
  },
  calls: {
    withdraw: (req, self) => {
      seen.push(`withdraw ${JSON.stringify(req)}`);
      if (req.withdraw > self.data.balance) return self.fail(req, { kind: 'insufficient', balance: self.data.balance });
      return (self.data.balance -= req.withdraw);
    },
    balance: (_req, self) => {
      seen.push('balance');
      return self.data.balance;
    },
    take: (req, self) => {
      seen.push(`take ${JSON.stringify(req)}`);
      return (self.data.balance -= req.take);
    },
  },
});

class WalletPool extends Pool {
  override init() {
    return poolOptions({ poolSize: 2, workerFactory: WalletWorker });
  }
}

test('typed pool of an Actor.define worker with transforms and errors, addressed by a Go peer', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await Peer.start(bin, ['-name', 'gowallet@localhost', '-registrar', 'none', '-cookie', COOKIE]);
  t.after(() => go.stop());
  const capture = new LogCapture();
  const ts = await netNode('tswallet', { cookie: COOKIE }, capture);
  t.after(() => ts.stop());
  const pool = await ts.spawnRegister('wallet', WalletPool, {});
  const typed: PID<typeof Wallet> = pool; // the pool speaks its worker's protocol
  const added = await go.cmd('route_add', {
    match: ts.name.replace(/\./g, '\\.'),
    host: '127.0.0.1',
    port: portOf(ts),
  });
  assert.equal(added.kind, 'result', JSON.stringify(added));
  const to = { name: 'wallet', node: ts.name };
  // A Go call (its timeout a hang guard for a loaded machine, none of this is about time).
  const call = (req: unknown) => go.cmd('call', { to, req, timeout: 30 });

  // Messages: a good one delivered; bad ones refused at the pool's door.
  const sent = await go.cmd('send', { to, msg: 'deposit 12', important: true });
  assert.equal(sent.kind, 'result', JSON.stringify(sent));
  for (const bad of ['deposit ten', { $: 'int32', v: 5 }, 'withdraw 3']) {
    const r = await go.cmd('send', { to, msg: bad, important: true });
    assert.equal(r.kind, 'error', JSON.stringify(r));
    assert.match(String(r.error), /does not match the protocol/);
  }
  const plain = await go.cmd('send', { to, msg: 'deposit -4' }); // a plain send: dropped
  assert.equal(plain.kind, 'result', JSON.stringify(plain));
  // One call per worker: everything sent before is handled (each worker handles in order).
  for (let i = 0; i < 2; i++) assert.equal((await call('balance')).kind, 'result');

  // Calls: the transformed request is handled; a typed failure answers the Go caller.
  const ok = await call('withdraw 5');
  assert.deepEqual(ok.value, 7, JSON.stringify(ok));
  const short = await call('withdraw 1000');
  assert.equal(short.kind, 'error', JSON.stringify(short));
  assert.equal(String(short.error), 'call failed: {"kind":"insufficient","balance":7}');
  const took = await call({ take: 2 });
  assert.equal(took.value, 5, JSON.stringify(took));
  for (const bad of ['withdraw all', 'balance?', { $: 'int32', v: 1 }, { withdraw: 5 }, { take: 'x' }]) {
    const r = await call(bad);
    assert.equal(r.kind, 'error', JSON.stringify(r));
    assert.equal(String(r.error), ErrProtocolViolation.message, JSON.stringify(bad));
  }
  // The worker went on after its failure, and a typed local caller gets the failure typed.
  assert.equal((await call('balance')).value, 5);
  const local = await tryCall(ts, typed, 'withdraw 100');
  assert.deepEqual(local, { ok: false, error: { kind: 'insufficient', balance: 5 } });

  assert.deepEqual(seen, [
    'deposit {"deposit":12}',
    'balance',
    'balance',
    'withdraw {"withdraw":5}',
    'withdraw {"withdraw":1000}',
    'take {"take":2}',
    'balance',
    'withdraw {"withdraw":100}',
  ]);
  const lines = capture
    .text()
    .split('\n')
    .filter((l) => l.includes('protocol wallet: refused'));
  // One line per (Go node, type): the string, the number, the map.
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.match(lines[0]!, /refused message string from node gowallet@localhost: \(root\): .*deposit/);
});
