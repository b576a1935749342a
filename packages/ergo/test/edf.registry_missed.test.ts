// The inspector's ~100 wire types wait in the default registry until a lookup misses
// (EdfRegistry.deferUntilMissed, issue 64: a connection set-up should not pay for them): a name
// read from the wire, a value of one of their classes encoded, a name or class asked for, every
// type listed or another type registered runs them; a lookup the other types answer does not.
// This file's first test is its process's first use of the default registry.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { EdfError, Go, createRegistry, defaultRegistry, encode, decode } from '../src/net/edf/index.js';
import { EdfRegistry } from '../src/net/edf/registry.js';
import { FrameworkTypeName } from '../src/net/edf/framework.js';
import { HandshakeTypeName } from '../src/net/handshake/messages.js';
import * as I from '../src/gen/inspect.js';

test('an inspection message from the wire decodes on the default registry first used by it', () => {
  // Bytes a peer would send: encoded with a registry that holds the inspector's types.
  const bytes = encode(new I.RequestInspectProcessList({ start: 5, limit: 10 }), { registry: createRegistry() });
  const back = decode(bytes) as I.RequestInspectProcessList;
  assert.ok(back instanceof I.RequestInspectProcessList);
  assert.equal(back.start, 5);
  assert.equal(back.limit, 10);
});

test('batches waiting for a miss run on a miss, not on a lookup the others answer', () => {
  class Owned {
    n = 0;
  }
  class Other {}
  const r = new EdfRegistry();
  const ran: string[] = [];
  r.defer((reg) => {
    ran.push('eager');
    assert.equal(reg.type('#x/Late'), undefined); // a miss inside a batch runs nothing more
    reg.register({ name: '#x/Early', fields: { n: Go.int } });
  });
  r.deferUntilMissed(
    (reg) => {
      ran.push('missed');
      reg.register({ name: '#x/Late', class: Owned, fields: { n: reg.type('#x/Early')! } });
    },
    (ctor) => ctor === Owned,
  );
  assert.ok(r.type('#x/Early') !== undefined);
  assert.equal(r.ctorType(Other), undefined); // a class the batch does not claim
  assert.deepEqual(ran, ['eager']);
  assert.ok(r.ctorType(Owned) !== undefined); // a value of a claimed class
  assert.deepEqual(ran, ['eager', 'missed']);
  assert.equal(r.type('#x/None'), undefined);
  assert.deepEqual(ran, ['eager', 'missed']);
});

test('every kind of miss, a listing and a registration run the waiting batches', () => {
  class Owned {}
  const make = (): { r: EdfRegistry; ran: () => number } => {
    const r = new EdfRegistry();
    let n = 0;
    r.deferUntilMissed(
      (reg) => {
        n++;
        reg.register({ name: '#x/Late', class: Owned, fields: {} });
      },
      (ctor) => ctor === Owned,
    );
    return { r, ran: () => n };
  };
  const byName = make();
  assert.ok(byName.r.type('#x/Late') !== undefined);
  const byClass = make();
  assert.ok(byClass.r.typeOf(Owned) !== undefined);
  const byEncode = make();
  const bytes = encode(new Owned(), { registry: byEncode.r });
  const byBytes = make();
  assert.ok(decode(bytes, { registry: byBytes.r }) instanceof Owned);
  const listed = make();
  assert.deepEqual(
    listed.r.types().map((t) => t.regName),
    ['#x/Late'],
  );
  const taken = make();
  assert.throws(
    () => taken.r.register({ name: '#x/Late', fields: {} }),
    (e: unknown) => e instanceof EdfError && e.code === 'ERR_EDF_REGISTER',
  );
  for (const m of [byName, byClass, byEncode, byBytes, listed, taken]) assert.equal(m.ran(), 1);
});

test('the default registry holds every framework type once asked', () => {
  assert.ok(defaultRegistry.type(HandshakeTypeName.MessageHello) !== undefined);
  assert.ok(defaultRegistry.type(FrameworkTypeName.MessageEvent) !== undefined);
  const names = new Set(defaultRegistry.types().map((t) => t.regName));
  for (const t of createRegistry().types()) assert.ok(names.has(t.regName), t.regName);
});
