// schema.record and schema.map (issue 48): a dictionary object and a Map checked entry by entry,
// with the failing entry's key in the issue's path. A Go `map[string]T` (as Go Ergo encodes it:
// the golden vectors) arrives as a Map, which a record accepts and delivers as a plain object; a
// Go peer's bad map is refused at the wire with ERR_PROTOCOL_VIOLATION (a real Go Ergo node).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { Peer, requirePeer } from '@ergo-ts/test-support';
import {
  Actor,
  defineProtocol,
  ErrProtocolViolation,
  firstIssue,
  parseValue,
  schema,
  type PID,
  type Ref,
} from '../src/index.js';
import { EdfDecoder } from '../src/net/index.js';
import { loadVectors, unhex } from './edf.fixtures.js';
import { LogCapture } from './helpers.js';
import { netNode, portOf } from './net_helpers.js';

const counts = schema.record(schema.integer());

/** The value `schema` delivers for `v` (fails the test when `v` is refused). */
function delivered(s: Parameters<typeof parseValue>[0], v: unknown): unknown {
  const parsed = parseValue(s, v);
  if (parsed.issue !== undefined) assert.fail(`refused: ${JSON.stringify(parsed.issue)}`);
  return parsed.value;
}

test('schema.record: a dictionary of valid values passes; a bad value is refused at its key', () => {
  assert.equal(counts.check({ a: 1, b: 2 }), undefined);
  assert.equal(counts.check({}), undefined);
  assert.deepEqual(counts.check({ a: 1, b: 'two' }), { path: ['b'], message: 'expected integer, got string' });
  for (const bad of [null, 3, 'x', [1], new Set([1]), new Uint8Array(1)])
    assert.match(counts.check(bad)!.message, /^expected object, got /, String(bad));
  // A key schema restricts the keys.
  const sizes = schema.record(schema.enum(['s', 'm']), schema.integer());
  assert.equal(sizes.check({ s: 1, m: 2 }), undefined);
  assert.deepEqual(sizes.check({ s: 1, xl: 2 })!.path, ['xl']);
  // Nested: the path runs through the record's key.
  const nested = schema.object({ stock: schema.record(schema.object({ qty: schema.integer() })) });
  assert.deepEqual(firstIssue(nested, { stock: { apple: { qty: 1 }, pear: { qty: 0.5 } } })!.path, [
    'stock',
    'pear',
    'qty',
  ]);
});

test('schema.record: a Map with string keys (a Go map[string]T) is delivered as a plain object', () => {
  const parsed = delivered(counts, new Map([['a', 1]]));
  assert.deepEqual(parsed, { a: 1 });
  assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
  // A "__proto__" key stays an own key: it does not set the object's prototype.
  const proto = delivered(counts, new Map([['__proto__', 7]])) as Record<string, number>;
  assert.deepEqual(Object.keys(proto), ['__proto__']);
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  // A Map with a key that is not a string, or a bad value, is refused.
  assert.match(counts.check(new Map([[1, 1]]))!.message, /string keys, got a number key/);
  assert.deepEqual(counts.check(new Map([['a', 'x']]))!.path, ['a']);
  // Nested in an array, each Map becomes an object.
  assert.deepEqual(delivered(schema.array(counts), [new Map([['x', 2]]), { y: 3 }]), [{ x: 2 }, { y: 3 }]);
});

test('schema.map: a Map of matching keys and values; the failing entry named by its key', () => {
  const names = schema.map(schema.integer(), schema.string());
  assert.equal(names.check(new Map([[1, 'one']])), undefined);
  assert.deepEqual(
    names.check(
      new Map<unknown, unknown>([
        [1, 'one'],
        [2, 2],
      ]),
    ),
    {
      path: [2],
      message: 'expected string, got number',
    },
  );
  assert.deepEqual(names.check(new Map([['1', 'one']]))!.path, ['1']);
  assert.match(names.check({ 1: 'one' })!.message, /^expected Map, got Object/);
  // Values that convert (a record inside) are converted; the Map stays a Map.
  const inner = delivered(schema.map(schema.string(), counts), new Map([['k', new Map([['a', 1]])]]));
  assert.deepEqual(inner, new Map([['k', { a: 1 }]]));
});

test("schema.record and schema.map accept Go Ergo's map[string]T and map[int]T as decoded (golden vectors)", () => {
  const byName = new Map(loadVectors('edf.json').map((v) => [v.name, v]));
  const decode = (name: string): unknown => new EdfDecoder({}).decode(unhex(byName.get(name)!.hex));
  // map[string]int{"a":1}
  assert.deepEqual(delivered(counts, decode('map_string_int')), { a: 1 });
  // map[string]map[string]int{"o":{"i":7}}
  assert.deepEqual(delivered(schema.record(counts), decode('map_nested')), { o: { i: 7 } });
  // map[int][]string{5: {"x"}}: not a record (its keys are numbers), a map of int → []string.
  assert.match(counts.check(decode('map_int_slice'))!.message, /string keys/);
  assert.equal(schema.map(schema.integer(), schema.array(schema.string())).check(decode('map_int_slice')), undefined);
  // map[string]int{}: an empty record.
  assert.deepEqual(delivered(counts, decode('map_empty')), {});
});

const Tally = defineProtocol('tally', {
  messages: { names: schema.map(schema.integer(), schema.string()) },
  calls: { sum: { request: counts, reply: schema.integer() } },
});

class TallyActor extends Actor.of(Tally) {
  seen: Map<number, string>[] = [];
  override handleMessage(_from: PID, msg: Map<number, string>): void {
    this.seen.push(msg);
  }
  override handleCall(_from: PID, _ref: Ref, req: Record<string, number>): number {
    // A plain object (a Map from Go was converted): Object.values works on it.
    return Object.values(req).reduce((a, b) => a + b, 0);
  }
}

test('schema.record / schema.map with a real Go Ergo node: its maps are checked at the wire', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const cookie = 'go-record';
  const go = await Peer.start(bin, ['-name', 'gorecord@localhost', '-registrar', 'none', '-cookie', cookie]);
  t.after(() => go.stop());
  const capture = new LogCapture();
  const ts = await netNode('tsrecord', { cookie }, capture);
  t.after(() => ts.stop());
  await ts.spawnRegister('tally', TallyActor, {});
  const added = await go.cmd('route_add', {
    match: ts.name.replace(/\./g, '\\.'),
    host: '127.0.0.1',
    port: portOf(ts),
  });
  assert.equal(added.kind, 'result', JSON.stringify(added));
  const to = { name: 'tally', node: ts.name };

  const ok = await go.cmd('call', { to, req: { $: 'map[string]int', v: { a: 1, b: 2 } } });
  assert.equal(ok.kind, 'result', JSON.stringify(ok));
  assert.equal(Number(ok.value), 3);
  for (const req of [
    { $: 'map[string]string', v: { a: 'x' } }, // a value of the wrong type
    { $: 'map[int]int', v: [[1, 2]] }, // keys that are not strings
  ]) {
    const refused = await go.cmd('call', { to, req });
    assert.equal(refused.kind, 'error', JSON.stringify(refused));
    assert.equal(String(refused.error), ErrProtocolViolation.message);
  }
  const sent = await go.cmd('send', { to, msg: { $: 'map[int]string', v: [[1, 'one']] }, important: true });
  assert.equal(sent.kind, 'result', JSON.stringify(sent));
  const badSend = await go.cmd('send', { to, msg: { $: 'map[int]int', v: [[1, 1]] }, important: true });
  assert.equal(badSend.kind, 'error', JSON.stringify(badSend));
  assert.match(String(badSend.error), /does not match the protocol/);
  const lines = capture
    .text()
    .split('\n')
    .filter((l) => l.includes('protocol tally: refused'));
  assert.ok(
    lines.some((l) => /refused request .* from node gorecord@localhost: a: expected integer/.test(l)),
    lines.join('\n'),
  );
});
