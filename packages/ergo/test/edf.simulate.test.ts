// "Simulate remote": roundTrip() pushes a local message through EDF with the default registry,
// giving exactly what a process on another node would receive, and throwing the codec's error
// for messages that could not cross the network.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { ErrTimeout } from '../src/gen/errors.js';
import { PID } from '../src/gen/pid.js';
import {
  EdfError,
  Go,
  Typed,
  asAtom,
  defaultRegistry,
  int,
  registerError,
  registerType,
  roundTrip,
} from '../src/net/index.js';

test('plain values come back as a remote receiver sees them', () => {
  const pid = new PID('a@localhost', 1001, 1);
  assert.deepStrictEqual(
    roundTrip({ to: pid, n: 1, big: 2n ** 60n, tags: ['x'] }),
    new Map<string, unknown>([
      ['to', pid],
      ['n', 1],
      ['big', 2n ** 60n],
      ['tags', ['x']],
    ]),
  );
  assert.equal(roundTrip(asAtom('name')), 'name');
  assert.equal(roundTrip(int(5)), 5);
  assert.equal(roundTrip(ErrTimeout), ErrTimeout);
  assert.deepStrictEqual(roundTrip(Buffer.from([1, 2])), new Uint8Array([1, 2]));
});

test('registered types survive; unregistered classes fail loudly with the path', () => {
  class Greeting {
    text = '';
    to: PID | null = null;
  }
  const T = registerType({
    name: '#example.com/simulate/Greeting',
    class: Greeting,
    fields: { text: Go.string, to: Go.pid },
  });
  assert.equal(defaultRegistry.typeOf(Greeting), T);
  const g = Object.assign(new Greeting(), { text: 'hi', to: new PID('a@h', 5, 1) });
  const back = roundTrip(g);
  assert.ok(back instanceof Greeting && back !== g);
  assert.deepStrictEqual(back, g);
  class Secret {}
  assert.throws(
    () => roundTrip({ nested: [new Secret()] }),
    (e: unknown) => e instanceof EdfError && e.code === 'ERR_EDF_UNREGISTERED' && e.path === 'value["nested"][0]',
  );
  assert.throws(() => roundTrip(undefined), { code: 'ERR_EDF_ENCODE' });
  const Oops = new Error('simulate: custom');
  registerError(Oops);
  assert.equal(roundTrip(new Error('simulate: custom')), Oops);
});

test('re-entrant use from a marshal callback works (fresh codec state)', () => {
  class Wrapper {
    constructor(readonly inner: unknown) {}
  }
  registerType({
    name: '#example.com/simulate/Wrapper',
    class: Wrapper,
    marshal: (w: Wrapper) => {
      // A callback that itself round-trips a value must not corrupt the outer message.
      const inner = roundTrip(w.inner);
      return new TextEncoder().encode(JSON.stringify(inner));
    },
    unmarshal: (b: Uint8Array) => new Wrapper(JSON.parse(new TextDecoder().decode(b))),
  });
  const out = roundTrip(['before', new Wrapper([1, 2]), 'after']);
  assert.deepStrictEqual(out, ['before', new Wrapper([1, 2]), 'after']);
  assert.ok(new Typed(Go.int, 1).valueOf() === 1);
});
