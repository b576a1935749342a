// The framework's wire types are queued at import and registered on the default registry's first
// use (EdfRegistry.defer, issue 64: a node that never encodes skips them): queued batches run
// before any read or registration, in order, once, and a batch's own reads do not run the queue
// again.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { EdfError, Go, defaultRegistry, encode, decode } from '../src/net/edf/index.js';
import { FrameworkTypeName } from '../src/net/edf/framework.js';
import { EdfRegistry } from '../src/net/edf/registry.js';
import { leaderWireTypes, MessageLeaderVote } from '../src/act/leader/messages.js';
import { PID } from '../src/gen/pid.js';
import { HandshakeTypeName } from '../src/net/handshake/messages.js';
import { protoTypeName } from '../src/net/proto/messages.js';
import { RegistrarTypeName } from '../src/net/registrar/messages.js';

test('the default registry holds the framework, handshake, ENP, registrar and Leader types when first read', () => {
  assert.ok(defaultRegistry.type(FrameworkTypeName.MessageEvent) !== undefined);
  for (const name of [
    HandshakeTypeName.MessageHello,
    protoTypeName('MessageResult'),
    RegistrarTypeName.MessageResolveReply,
  ])
    assert.ok(defaultRegistry.type(name) !== undefined, name);
  assert.equal(leaderWireTypes.vote, defaultRegistry.typeOf(MessageLeaderVote));
  const vote = new MessageLeaderVote('c', 3, new PID('n@h', 1001, 1));
  const back = decode(encode(vote)) as MessageLeaderVote;
  assert.ok(back instanceof MessageLeaderVote);
  assert.equal(back.term, 3);
});

test('a registration that takes a framework type name fails at once, as before the deferral', () => {
  assert.throws(
    () => defaultRegistry.register({ name: FrameworkTypeName.MessageEvent, fields: { a: Go.int } }),
    (e: unknown) => e instanceof EdfError && e.code === 'ERR_EDF_REGISTER',
  );
});

test('queued batches run in order before the first read, once, and their own reads do not recurse', () => {
  const r = new EdfRegistry();
  const ran: string[] = [];
  r.defer((reg) => {
    ran.push('a');
    assert.equal(reg.type('#x/B'), undefined); // a read inside a batch: no recursion into b
    reg.register({ name: '#x/A', fields: { n: Go.int } });
  });
  r.defer((reg) => {
    ran.push('b');
    reg.register({ name: '#x/B', fields: { a: reg.type('#x/A')! } });
  });
  assert.deepEqual(ran, []);
  assert.ok(r.type('#x/B') !== undefined);
  assert.deepEqual(ran, ['a', 'b']);
  assert.deepEqual(
    r.types().map((t) => t.regName),
    ['#x/A', '#x/B'],
  );
  r.type('#x/A');
  assert.deepEqual(ran, ['a', 'b']);
});

test('a batch that throws is not run again; the next read runs the rest', () => {
  const r = new EdfRegistry();
  let failing = 0;
  r.defer(() => {
    failing++;
    throw new Error('bad batch');
  });
  r.defer((reg) => reg.register({ name: '#x/C', fields: {} }));
  assert.throws(() => r.types(), /bad batch/);
  assert.ok(r.type('#x/C') !== undefined);
  assert.equal(failing, 1);
});
