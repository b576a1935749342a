// Typed protocols against a real Go Ergo 3.2 node (ergo-peer): a Go process calls and sends to
// an ergo-ts process with a protocol. The protocol registers `#main/Point` for Go (its `types`);
// what matches is delivered and answered as usual, what does not is refused before delivery: the
// Go caller gets the error text of ERR_PROTOCOL_VIOLATION, an important send its delivery error,
// and the ergo-ts node logs one line per (Go node, type) with the failing field's path.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import {
  Actor,
  defineProtocol,
  ErrProtocolViolation,
  Pool,
  poolOptions,
  schema,
  type PID,
  type Ref,
} from '../src/index.js';
import { Go } from '../src/net/index.js';
import { LogCapture } from './helpers.js';
import { netNode, portOf } from './net_helpers.js';
import { Peer, requirePeer } from '@ergo-ts/test-support';

const COOKIE = 'go-typed';

/** `#main/Point` of ergo-peer (X int64, Y int64, Label string), declared by the protocol. */
class Point {
  x: number | bigint = 0;
  y: number | bigint = 0;
  label = '';
}

const Shapes = defineProtocol('shapes', {
  messages: { tags: schema.array(schema.string()) },
  calls: {
    mirror: {
      request: schema.instance(Point, {
        x: schema.union(schema.number(), schema.bigint()),
        label: schema.enum(['p', 'q']),
      }),
      reply: schema.instance(Point),
    },
  },
  types: [{ name: '#main/Point', class: Point, fields: { x: Go.int64, y: Go.int64, label: Go.string } }],
});

class ShapeActor extends Actor.of(Shapes) {
  tags: string[] = [];
  override handleMessage(_from: PID, msg: string[]): void {
    this.tags.push(...msg);
  }
  override handleCall(_from: PID, _ref: Ref, req: Point): Point {
    return Object.assign(new Point(), { x: req.y, y: req.x, label: `${req.label}'` });
  }
}

test('typed protocols with Go: valid calls answered, invalid ones refused with the code text and one log line', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await Peer.start(bin, ['-name', 'gotyped@localhost', '-registrar', 'none', '-cookie', COOKIE]);
  t.after(() => go.stop());
  const capture = new LogCapture();
  const ts = await netNode('tstyped', { cookie: COOKIE }, capture);
  t.after(() => ts.stop());
  await ts.spawnRegister('shapes', ShapeActor, {});
  const added = await go.cmd('route_add', {
    match: ts.name.replace(/\./g, '\\.'),
    host: '127.0.0.1',
    port: portOf(ts),
  });
  assert.equal(added.kind, 'result', JSON.stringify(added));
  const to = { name: 'shapes', node: ts.name };

  const ok = await go.cmd('call', { to, req: { $: 'main.Point', v: { X: 1, Y: 2, Label: 'p' } } });
  assert.deepEqual(ok.value, { $: 'main.Point', v: { X: 2, Y: 1, Label: "p'" } }, JSON.stringify(ok));

  const badField = await go.cmd('call', { to, req: { $: 'main.Point', v: { X: 1, Y: 2, Label: 'zzz' } } });
  assert.equal(badField.kind, 'error', JSON.stringify(badField));
  assert.equal(String(badField.error), ErrProtocolViolation.message);
  const badType = await go.cmd('call', { to, req: 'hello' });
  assert.equal(badType.kind, 'error', JSON.stringify(badType));
  assert.equal(String(badType.error), ErrProtocolViolation.message);

  const sent = await go.cmd('send', { to, msg: { $: '[]string', v: ['a', 'b'] }, important: true });
  assert.equal(sent.kind, 'result', JSON.stringify(sent));
  const refused = await go.cmd('send', { to, msg: { $: 'int32', v: 5 }, important: true });
  assert.equal(refused.kind, 'error', JSON.stringify(refused));
  assert.match(String(refused.error), /does not match the protocol/);
  // A second bad Point: counted, not logged again.
  await go.cmd('call', { to, req: { $: 'main.Point', v: { X: 1, Y: 2, Label: 'again' } } });

  const lines = capture
    .text()
    .split('\n')
    .filter((l) => l.includes('protocol shapes: refused'));
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.match(lines[0]!, /refused request Point from node gotyped@localhost: label: expected one of/);
  assert.match(lines[1]!, /refused request string from node gotyped@localhost: \(root\)/);
  assert.match(lines[2]!, /refused message number from node gotyped@localhost/);
  // Local calls are trusted (no validateLocal): an off-protocol label reaches the handler.
  const local = await ts.call(Shapes.processID('shapes'), Object.assign(new Point(), { label: 'local' }));
  assert.equal(local.label, "local'");
});

/** What reached a ShapeActor of the pool below although the protocol refuses it. */
let offShapes = 0;
class PooledShape extends ShapeActor {
  override handleMessage(from: PID, msg: string[]): void {
    if (Shapes.checkMessage(msg) !== undefined) offShapes++;
    else super.handleMessage(from, msg);
  }
  override handleCall(from: PID, ref: Ref, req: Point): Point {
    if (Shapes.checkRequest(req) !== undefined) offShapes++;
    return super.handleCall(from, ref, req);
  }
}
class ShapePool extends Pool {
  override init() {
    return poolOptions({ poolSize: 2, workerFactory: PooledShape });
  }
}

test('typed protocols with Go: bad mail of a Go peer to a Pool of typed workers is refused as at a worker', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await Peer.start(bin, ['-name', 'gotypedpool@localhost', '-registrar', 'none', '-cookie', COOKIE]);
  t.after(() => go.stop());
  const capture = new LogCapture();
  const ts = await netNode('tstypedpool', { cookie: COOKIE }, capture);
  t.after(() => ts.stop());
  const pool = await ts.spawnRegister('shapes', ShapePool, {});
  const typed: PID<typeof Shapes> = pool; // the pool's address speaks its workers' protocol
  void typed;
  const added = await go.cmd('route_add', {
    match: ts.name.replace(/\./g, '\\.'),
    host: '127.0.0.1',
    port: portOf(ts),
  });
  assert.equal(added.kind, 'result', JSON.stringify(added));
  const to = { name: 'shapes', node: ts.name };

  const ok = await go.cmd('call', { to, req: { $: 'main.Point', v: { X: 1, Y: 2, Label: 'q' } } });
  assert.deepEqual(ok.value, { $: 'main.Point', v: { X: 2, Y: 1, Label: "q'" } }, JSON.stringify(ok));
  const badField = await go.cmd('call', { to, req: { $: 'main.Point', v: { X: 1, Y: 2, Label: 'zzz' } } });
  assert.equal(badField.kind, 'error', JSON.stringify(badField));
  assert.equal(String(badField.error), ErrProtocolViolation.message);
  const badType = await go.cmd('call', { to, req: 'hello' });
  assert.equal(String(badType.error), ErrProtocolViolation.message, JSON.stringify(badType));
  const refused = await go.cmd('send', { to, msg: { $: 'int32', v: 5 }, important: true });
  assert.equal(refused.kind, 'error', JSON.stringify(refused));
  assert.match(String(refused.error), /does not match the protocol/);
  const sent = await go.cmd('send', { to, msg: { $: '[]string', v: ['a'] }, important: true });
  assert.equal(sent.kind, 'result', JSON.stringify(sent));
  // Two more valid calls: one to each worker, after everything above in their mailboxes.
  for (let i = 0; i < 2; i++) {
    const again = await go.cmd('call', { to, req: { $: 'main.Point', v: { X: 3, Y: 4, Label: 'p' } } });
    assert.equal(again.kind, 'result', JSON.stringify(again));
  }
  assert.equal(offShapes, 0, 'nothing off the protocol reached a worker');
  const lines = capture
    .text()
    .split('\n')
    .filter((l) => l.includes('protocol shapes: refused'));
  assert.equal(lines.length, 3, lines.join('\n'));
});
