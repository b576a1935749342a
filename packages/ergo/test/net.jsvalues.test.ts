// Plain data between ergo-ts nodes in separate OS processes arrives as it was sent: fast-check
// generates nested values of every kind (plain and null-prototype objects, arrays, Map, Set,
// Date, bigint, Uint8Array, undefined, -0/NaN/±Infinity, long strings, registered classes) that
// cross to a node in a child process and are echoed back (calls and sends), and values the child
// holds cross to the parent and back. The same connection code talks Go's mapping to a Go node:
// generated values echoed by ergo-peer come back exactly as the local Go-mapping round trip
// gives them (the JS-value extension is used only when the peer announced it).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Actor, ProcessID, type Node, type PID, type Ref } from '../src/index.js';
import { NetworkFlags, encode, roundTrip } from '../src/net/index.js';
import { Inbox, probe, within } from './helpers.js';
import { netNode, netPair, portOf, routeTo } from './net_helpers.js';
import { Peer, requirePeer } from '@ergo-ts/test-support';
import { goValue, jsMessage } from './jsvalues_types.js';

/** Stands for an invalid Date, which deepStrictEqual never finds equal to another. */
class InvalidDate {}

/** A copy of `v` with invalid Dates replaced (prototypes, key order and Map/Set kept). */
function comparable(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? new InvalidDate() : v;
  if (Array.isArray(v)) return v.map(comparable);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [comparable(k), comparable(x)]));
  if (v instanceof Set) return new Set([...v].map(comparable));
  if (ArrayBuffer.isView(v)) return v;
  const out = Object.create(Object.getPrototypeOf(v) as object | null) as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    Object.defineProperty(out, k, {
      value: comparable((v as Record<string, unknown>)[k]),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * Deep strict equality (invalid Dates equal each other), failing with a plain Error: node:test's
 * TAP reporter cannot print an AssertionError's actual/expected holding an invalid Date.
 */
function same(actual: unknown, expected: unknown): void {
  try {
    assert.deepStrictEqual(comparable(actual), comparable(expected));
  } catch (e) {
    throw new Error(String((e as Error).message));
  }
}

const FIXTURE = fileURLToPath(new URL('./jsvalues_fixture.js', import.meta.url));
const COOKIE = 'jsv-secret';
const RUNS = 150;

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

/** A local message asking the relay to send `value` (never crosses the network). */
class Outgoing {
  constructor(readonly value: unknown) {}
}

interface Child {
  proc: ChildProcess;
  name: string;
  port: number;
  request(m: Record<string, unknown>): Promise<Record<string, unknown>>;
}

async function startChild(name: string): Promise<Child> {
  const proc = fork(FIXTURE, [], {
    env: { ...process.env, JSV_FIXTURE_NAME: name, JSV_FIXTURE_COOKIE: COOKIE },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const [ready] = (await within(once(proc, 'message'), 'fixture ready', 10_000)) as [{ name: string; port: number }];
  let next = 0;
  const waiting = new Map<number, (m: Record<string, unknown>) => void>();
  proc.on('message', (m: Record<string, unknown>) => {
    if (typeof m.id === 'number') waiting.get(m.id)?.(m);
    else if (m.kind === 'routed') waiting.get(-1)?.(m);
  });
  return {
    proc,
    name: ready.name,
    port: ready.port,
    request(m) {
      const id = m.cmd === 'route' ? -1 : next++;
      const p = new Promise<Record<string, unknown>>((resolve) => waiting.set(id, resolve));
      proc.send({ ...m, id });
      return within(p, String(m.cmd), 10_000);
    },
  };
}

async function pairWithChild(t: { after(fn: () => unknown): void }): Promise<{ a: Node; child: Child }> {
  const child = await startChild(`jsvchild${process.pid}@localhost`);
  t.after(() => child.proc.kill('SIGKILL'));
  const a = await netNode('jsvparent', { cookie: COOKIE });
  t.after(() => a.stop());
  a.network().addRoute(child.name, routeTo(child.port), 0);
  await child.request({ cmd: 'route', match: a.name.replace(/\./g, '\\.'), port: portOf(a) });
  return { a, child };
}

test('JS values cross to a node in another OS process and back as they were sent', async (t) => {
  const { a, child } = await pairWithChild(t);
  const echo = new ProcessID('echo' as never, child.name as never);
  // Fixed cases first (each kind once), then generated ones.
  const fixed: unknown[] = [
    { plain: { nested: { deep: [1, 'two', null, undefined] } }, empty: {} },
    [undefined, null, -0, NaN, Infinity, -Infinity, 0.1, 2 ** 53 + 2],
    { big: [0n, 5n, -(2n ** 64n), 2n ** 300n], date: new Date(1_700_000_000_123), bad: new Date(NaN) },
    new Map<unknown, unknown>([
      ['k', { v: 1 }],
      [2, [new Set([1, 'a'])]],
    ]),
    { bytes: new Uint8Array([0, 1, 255]), long: 'x'.repeat(70_000) },
    Object.assign(Object.create(null) as object, { proto: 'none' }),
    JSON.parse('{"__proto__": {"polluted": true}}') as unknown,
  ];
  for (const v of fixed) same(await a.call(echo, v), v);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);

  await fc.assert(
    fc.asyncProperty(jsMessage(), async (v) => {
      same(await a.call(echo, v), v);
    }),
    { numRuns: RUNS },
  );
});

test('JS values sent by a process and echoed back by a send arrive as sent', async (t) => {
  const { a, child } = await pairWithChild(t);
  const echo = new ProcessID('echo' as never, child.name as never);
  const inbox = new Inbox();
  // The relay sends what the test hands it (locally, a wrapper) to the remote echo and collects
  // what comes back.
  const relay = await a.spawn(
    probe((m, from, self) => {
      if (m instanceof Outgoing) self.send(echo, m.value);
      else inbox.push(m, from);
    }),
  );
  let n = 0;
  await fc.assert(
    fc.asyncProperty(jsMessage(), async (v) => {
      a.send(relay, new Outgoing(v));
      const got = await within(inbox.count(++n), 'echoed message', 10_000);
      same(got[n - 1]!.message, v);
    }),
    { numRuns: RUNS },
  );
});

test('JS values held by the other process cross to this node and back', async (t) => {
  const { a, child } = await pairWithChild(t);
  await a.spawnRegister('echo', () => new Echo());
  // Structured clone (IPC) keeps no class identity: class instances are covered by the tests above.
  await fc.assert(
    fc.asyncProperty(jsMessage({ classes: false }), async (v) => {
      const r = await child.request({ cmd: 'call', node: a.name, name: 'echo', value: v });
      assert.equal(r.kind, 'reply', String(r.message));
      assert.equal(r.diff, '');
    }),
    { numRuns: RUNS },
  );
});

test('a Go node gets the Go mapping: generated values echoed by ergo-peer decode as before', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await Peer.start(bin, ['-name', 'gojsv@localhost', '-registrar', 'none', '-cookie', COOKIE]);
  t.after(() => go.stop());
  const goName = go.ready.node as string;
  const ts = await netNode('tsjsv', {
    cookie: COOKIE,
    routes: [{ match: goName.replace(/\./g, '\\.'), route: routeTo(go.ready.port as number) }],
  });
  t.after(() => ts.stop());
  const calc = new ProcessID('calc' as never, goName as never);
  // The request itself is a plain object: Go decodes it as map[string]any, as before.
  assert.equal(await ts.call(calc, { op: 'typeof', a: { k: 1 } }), 'map[string]any');
  assert.equal(await ts.call(calc, { op: 'typeof', a: [undefined] }), '[]any');
  await fc.assert(
    fc.asyncProperty(goValue(), async (v) => {
      // Go encodes what it decoded: the reply is what the Go mapping gives locally.
      same(await ts.call(calc, { op: 'echo', a: v }), roundTrip(v));
    }),
    { numRuns: RUNS },
  );
  // What Go's mapping cannot carry is refused locally, as before (nothing reaches the peer).
  await assert.rejects(ts.call(calc, { op: 'echo', a: new Set([1]) }), /Set/);
  await assert.rejects(ts.call(calc, { op: 'echo', a: 2n ** 70n }), /outside int64/);
  assert.throws(() => encode({ a: new Set() }), /Set/);
});

test('a node whose flags say jsValues: false gets the Go mapping from ergo-ts peers', async (t) => {
  const { a, b } = await netPair(t, {}, { flags: { ...NetworkFlags.defaults(), jsValues: false } });
  await b.spawnRegister('echo', () => new Echo());
  const echo = new ProcessID('echo' as never, b.name);
  // a → b in Go's form (b did not announce the bit); b → a as JS values (a did).
  const back = await a.call(echo, { k: [undefined, 5n] });
  same(back, new Map([['k', [null, 5]]]));
  assert.equal(a.network().node(b.name).info().networkFlags.jsValues, undefined);
  assert.equal(b.network().node(a.name).info().networkFlags.jsValues, true);
});
