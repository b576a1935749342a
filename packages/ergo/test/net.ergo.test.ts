// The network stack against a real Go Ergo 3.2 node (ergo-peer), through static routes, both
// directions: ergo-ts calls Go's calc/echo with every EDF type class and Go calls and sends to
// ergo-ts processes; important delivery; compression gzip/zlib/lzw both ways; TLS both ways; a
// wrong cookie refused both ways; a message over the peer's limit refused on both sides.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import {
  Alias,
  ErrNoConnection,
  ErrProcessUnknown,
  ErrTooLarge,
  Event,
  PID,
  ProcessID,
  Ref,
  type Node,
} from '../src/index.js';
import { defaultRegistry, Go, int32, typed, type GoTime } from '../src/net/index.js';
import { createEmbeddedRegistrar } from '../src/net/registrar/embedded.js';
import { LogCapture, Inbox, probe, within } from './helpers.js';
import { netNode, portOf, routeTo } from './net_helpers.js';
import { eventually, freeTcpUdpPort, Peer, requirePeer, type Line } from '@ergo-ts/test-support';
import { selfSigned } from '../src/net/tls/selfsigned.js';

const COOKIE = 'go-secret';

/** `#main/Point` of ergo-peer (positional: X int64, Y int64, Label string). */
class Point {
  constructor(
    public x: number | bigint = 0,
    public y: number | bigint = 0,
    public label = '',
  ) {}
}
const PointT =
  defaultRegistry.type('#main/Point') ??
  defaultRegistry.register({
    name: '#main/Point',
    class: Point,
    fields: { x: Go.int64, y: Go.int64, label: Go.string },
  });
const ColorT = defaultRegistry.type('#main/Color') ?? defaultRegistry.register({ name: '#main/Color', type: Go.int32 });
class Shape {
  name = '';
  origin = new Point();
  points: Point[] | null = null;
  tags: Map<string, string> | null = null;
  attrs: Map<string, unknown> | null = null;
  data: Uint8Array | null = null;
  ratio = 0;
  color: number | bigint = 0;
  owner: PID = new PID('' as never, 0, 0);
  created: Date | GoTime = new Date(0);
  note: unknown = null;
  err: Error | null = null;
}
defaultRegistry.type('#main/Shape') ??
  defaultRegistry.register({
    name: '#main/Shape',
    class: Shape,
    fields: {
      name: Go.string,
      origin: PointT,
      points: Go.slice(PointT),
      tags: Go.map(Go.string, Go.string),
      attrs: Go.map(Go.atom, Go.any),
      data: Go.binary,
      ratio: Go.float64,
      color: ColorT,
      owner: Go.pid,
      created: Go.time,
      note: Go.any,
      err: Go.error,
    },
  });

async function goPeer(bin: string, name: string, extra: string[] = []): Promise<Peer> {
  return Peer.start(bin, ['-name', name, '-registrar', 'none', '-cookie', COOKIE, ...extra]);
}

async function tsNode(
  t: { after(fn: () => Promise<void>): void },
  prefix: string,
  go: Peer | null,
  network: Record<string, unknown> = {},
  capture?: LogCapture,
): Promise<Node> {
  const routes =
    go === null
      ? []
      : [
          {
            match: String(go.ready.node).replace(/\./g, '\\.'),
            route: routeTo(go.ready.port as number, {}, go.ready.tls === true),
          },
        ];
  const node = await netNode(prefix, { cookie: COOKIE, insecureSkipVerify: true, routes, ...network }, capture);
  t.after(() => node.stop());
  return node;
}

test('ergo-ts → Go: calls with every EDF type class, send/echo, important delivery', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await goPeer(bin, 'gonet1@localhost');
  t.after(() => go.stop());
  const ts = await tsNode(t, 'tsgo', go);
  const goName = go.ready.node as string;
  const calc = new ProcessID('calc' as never, goName as never);
  const remote = await ts.network().getNode(goName);
  assert.equal(remote.creation(), go.ready.creation);
  assert.equal(remote.info().poolSize, 3, "Go's pool of 3 links");

  const me = await ts.spawn(probe());
  const shape = Object.assign(new Shape(), {
    name: 'tri',
    origin: new Point(1, 2, 'o'),
    points: [new Point(3, 4, 'a')],
    tags: new Map([['k', 'v']]),
    attrs: new Map<string, unknown>([['n', 'x']]),
    data: new Uint8Array([1, 2, 3]),
    ratio: 0.5,
    color: 3,
    owner: me,
    created: new Date('2024-01-02T03:04:05.006Z'),
    note: 'any',
    err: new Error('shape error'),
  });
  const cases: [string, unknown, string][] = [
    ['string', 'hello', 'string'],
    ['integer', 42, 'int64'],
    ['int32', int32(-5), 'int32'],
    ['float', 1.5, 'float64'],
    ['bool', true, 'bool'],
    ['bigint', 2n ** 60n, 'int64'],
    ['binary', new Uint8Array([0, 1, 255]), '[]byte'],
    ['time', new Date('2024-05-06T07:08:09.010Z'), 'time.Time'],
    ['error', new Error('boom'), 'error'],
    ['pid', me, 'gen.PID'],
    ['processID', new ProcessID('calc' as never, goName as never), 'gen.ProcessID'],
    ['alias', new Alias(ts.name, ts.creation, [7, 8, 9]), 'gen.Alias'],
    ['ref', new Ref(ts.name, ts.creation, [1, 2, 3]), 'gen.Ref'],
    ['event', new Event('news' as never, ts.name), 'gen.Event'],
    ['slice any', ['a', 1], '[]any'],
    ['typed slice', typed(Go.slice(Go.string), ['x', 'y']), '[]string'],
    ['array', typed(Go.array(3, Go.int64), [1, 2, 3]), '[3]int64'],
    ['map', { a: 1 }, 'map[string]any'],
    ['point', new Point(1, -2, 'p'), 'main.Point'],
    ['shape', shape, 'main.Shape'],
  ];
  for (const [what, value, goType] of cases) {
    const got = await ts.call(calc, { op: 'typeof', a: value });
    assert.equal(got, goType, `${what}: Go decoded ${String(got)}`);
    const back = await ts.call(calc, { op: 'echo', a: value });
    const expect =
      value instanceof Object && 'value' in (value as object) && 'type' in (value as object)
        ? (value as { value: unknown }).value
        : value;
    if (expect instanceof Error) assert.equal((back as Error).message, expect.message, what);
    else if (expect instanceof Date)
      assert.equal(back instanceof Date ? back.getTime() : (back as GoTime).toDate().getTime(), expect.getTime(), what);
    else if (typeof expect === 'number' && !Number.isInteger(expect)) assert.equal(back, expect, what);
    else if (typeof expect === 'number' || typeof expect === 'bigint')
      assert.equal(BigInt(back as number), BigInt(expect), what);
    else if (what === 'map') assert.deepEqual(back, new Map([['a', 1]]), what);
    else if (expect instanceof Shape) {
      const s = back as Shape;
      assert.ok(s instanceof Shape, what);
      assert.equal(s.name, 'tri');
      assert.equal(s.err?.message, 'shape error');
      assert.ok(s.owner.equals(me));
      assert.equal(Number(s.points![0]!.y), 4);
    } else assert.deepEqual(back, expect, what);
  }
  // Go's calc answers a Point with the doubled Point (its own type, registered here).
  const doubled = (await ts.call(calc, new Point(2, 3, 'q'))) as Point;
  assert.ok(doubled instanceof Point);
  assert.deepEqual([Number(doubled.x), Number(doubled.y), doubled.label], [4, 6, 'q*2']);
  // Errors cross as error responses.
  await assert.rejects(ts.call(calc, { op: 'error', a: 'bad op' }), /bad op/);

  // Send: echo sends it back to the sender; important delivery is acknowledged or refused.
  const inbox = new Inbox();
  const sender = await ts.spawn(
    probe(async (m, from, self) => {
      if (m === 'go') {
        self.send(new ProcessID('echo' as never, goName as never), 'ping');
        await self.sendImportant(new ProcessID('echo' as never, goName as never), 'important ping');
        try {
          await self.sendImportant(new ProcessID('nobody' as never, goName as never), 'lost');
          inbox.push('delivered?', from);
        } catch (e) {
          inbox.push(ErrProcessUnknown.is(e) ? 'unknown process' : String(e), from);
        }
      } else inbox.push(m, from);
    }),
  );
  ts.send(sender, 'go');
  const got = await within(inbox.count(3), 'echo replies');
  assert.deepEqual(got.map((s) => s.message).sort(), ['important ping', 'ping', 'unknown process']);
});

test('Go → ergo-ts: Go calls and sends to ergo-ts processes through a static route', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await goPeer(bin, 'gonet2@localhost');
  t.after(() => go.stop());
  const ts = await tsNode(t, 'tsin', null);
  const inbox = new Inbox();
  await ts.spawnRegister(
    'svc',
    probe(
      (m, from) => inbox.push(m, from),
      (req) => (req instanceof Point ? new Point(BigInt(req.x) + 1n, req.y, `${req.label}+1`) : req),
    ),
  );
  const added = await go.cmd('route_add', {
    match: ts.name.replace(/\./g, '\\.'),
    host: '127.0.0.1',
    port: portOf(ts),
  });
  assert.equal(added.kind, 'result', JSON.stringify(added));
  const to = { name: 'svc', node: ts.name };
  const r1 = await go.cmd('call', { to, req: 'hi from go' });
  assert.deepEqual(r1.value, 'hi from go', JSON.stringify(r1));
  const r2 = await go.cmd('call', { to, req: { $: 'main.Point', v: { X: 1, Y: 2, Label: 'p' } } });
  assert.deepEqual(r2.value, { $: 'main.Point', v: { X: 2, Y: 2, Label: 'p+1' } });
  const r3 = await go.cmd('send', { to, msg: { $: '[]string', v: ['a', 'b'] }, important: true });
  assert.equal(r3.kind, 'result', JSON.stringify(r3));
  const [m] = await within(inbox.count(1), 'message from Go');
  assert.deepEqual(m!.message, ['a', 'b']);
  assert.equal(m!.from.node, go.ready.node);
  const r4 = await go.cmd('send', { to: { name: 'nobody', node: ts.name }, msg: 'x', important: true });
  assert.equal(r4.kind, 'error');
  assert.match(String(r4.error), /unknown process/);
  assert.deepEqual(ts.network().nodes(), [go.ready.node]);
  // A Go node dialling an ergo-ts acceptor gets Ergo's pool (the ergo-ts link count is only for
  // ergo-ts initiators that announce it).
  assert.equal(
    ts
      .network()
      .node(go.ready.node as never)
      .info().poolSize,
    3,
    "Go's pool of 3 links",
  );
});

test('compression gzip/zlib/lzw both ways with Go', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await goPeer(bin, 'gonet3@localhost');
  t.after(() => go.stop());
  const ts = await tsNode(t, 'tszip', go);
  const goName = go.ready.node as string;
  const inbox = new Inbox();
  await ts.spawnRegister(
    'sink',
    probe((m, from) => inbox.push(m, from)),
  );
  await ts.network().getNode(goName);
  let n = 0;
  for (const type of ['gzip', 'zlib', 'lzw'] as const) {
    const text = `${type} `.repeat(800);
    // ergo-ts compresses: a caller with compression on.
    const caller = await ts.spawn(
      probe(undefined, (req, _f, _r, self) => {
        self.setCompression(true);
        self.setCompressionType(type);
        return self.call(new ProcessID('calc' as never, goName as never), { op: 'echo', a: req });
      }),
    );
    const before = ts.network().node(goName).info().bytesOut;
    assert.equal(await ts.call(caller, text), text);
    assert.ok(
      ts.network().node(goName).info().bytesOut - before < text.length / 4,
      `${type} compressed on the way out`,
    );
    // Go compresses: ctl sends with the same algorithm.
    assert.equal((await go.cmd('compression', { enable: true, type, threshold: 1024 })).kind, 'result');
    const bytesIn = ts.network().node(goName).info().bytesIn;
    assert.equal((await go.cmd('send', { to: { name: 'sink', node: ts.name }, msg: text })).kind, 'result');
    const got = await within(inbox.count(++n), `${type} from Go`);
    assert.equal(got[n - 1]!.message, text);
    assert.ok(ts.network().node(goName).info().bytesIn - bytesIn < text.length / 4, `${type} compressed by Go`);
  }
});

test('TLS both ways with Go', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await goPeer(bin, 'gonet4@localhost', ['-tls']);
  t.after(() => go.stop());
  const cert = selfSigned('localhost');
  const ts = await tsNode(t, 'tstls', go, { acceptors: [{ port: 0, certManager: { certificate: () => cert } }] });
  const goName = go.ready.node as string;
  assert.equal(await ts.call(new ProcessID('calc' as never, goName as never), 'ping'), 'pong');
  ts.network().node(goName).disconnect();
  // Go dials our TLS acceptor (it skips verification of self-signed peers by default).
  await ts.spawnRegister(
    'svc',
    probe(undefined, (req) => `tls:${String(req)}`),
  );
  await eventually(() => ts.network().nodes().length === 0, 'disconnected');
  const added = await go.cmd('route_add', {
    match: ts.name.replace(/\./g, '\\.'),
    host: '127.0.0.1',
    port: portOf(ts),
    tls: true,
  });
  assert.equal(added.kind, 'result');
  // Go may still hold the old connection for a moment: retry until the new one is made.
  const r = await goCallsSvc(go, ts.name, 'Go to call svc over TLS');
  assert.deepEqual(r.value, 'tls:x', JSON.stringify(r));
});

test('a wrong cookie is refused both ways; a message over the limit is refused both ways', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await goPeer(bin, 'gonet5@localhost', ['-max-message-size', '4096']);
  t.after(() => go.stop());
  const capture = new LogCapture();
  const wrong = await tsNode(t, 'tswrong', go, { cookie: 'not-the-cookie' }, capture);
  await assert.rejects(wrong.call(new ProcessID('calc' as never, go.ready.node as never), 'ping'), (e: Error) =>
    ErrNoConnection.is(e),
  );
  const added = await go.cmd('route_add', {
    match: wrong.name.replace(/\./g, '\\.'),
    host: '127.0.0.1',
    port: portOf(wrong),
  });
  assert.equal(added.kind, 'result');
  const r = await go.cmd('call', { to: { name: 'x', node: wrong.name }, req: 'x' });
  assert.equal(r.kind, 'error', 'Go cannot connect with the wrong cookie');
  assert.match(capture.text(), /handshake from .* failed: incorrect digest/);

  // Size limits: Go announces 4096 bytes; ergo-ts refuses to send more. ergo-ts announces 4096; Go refuses.
  const ts = await tsNode(t, 'tssize', go, { maxMessageSize: 4096 });
  const goName = go.ready.node as string;
  const calc = new ProcessID('calc' as never, goName as never);
  assert.equal(await ts.call(calc, 'small'), 'SMALL');
  await assert.rejects(ts.call(calc, 'x'.repeat(10_000)), (e: Error) => ErrTooLarge.is(e));
  await ts.spawnRegister('sink', probe());
  const big = await go.cmd('send', { to: { name: 'sink', node: ts.name }, msg: 'y'.repeat(10_000) });
  assert.equal(big.kind, 'error');
  assert.match(String(big.error), /too large/);
});

test('through the embedded registrar shared with Go: each side finds the other by name', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  // A registrar port of its own (free for TCP and UDP now), so registrars on 4499 do not matter.
  const port = await freeTcpUdpPort();
  const ts = await netNode('tsreg', { cookie: COOKIE, registrar: createEmbeddedRegistrar({ port }) });
  t.after(() => ts.stop());
  const go = await goPeer(bin, 'gonet6@localhost', ['-registrar', 'embedded', '-registrar-port', String(port)]);
  t.after(() => go.stop());
  assert.equal(
    (go.ready.registrar as { embedded_server: boolean }).embedded_server,
    false,
    'Go registered with the ergo-ts server',
  );
  await ts.spawnRegister(
    'svc',
    probe(undefined, (req) => `ts:${String(req)}`),
  );
  // ergo-ts resolves Go by name (no static route) and calls it.
  assert.equal(await ts.call(new ProcessID('calc' as never, go.ready.node as never), 'ping'), 'pong');
  ts.network()
    .node(go.ready.node as string)
    .disconnect();
  await eventually(() => ts.network().nodes().length === 0, 'disconnected');
  // Go resolves ergo-ts through the registrar (UDP) and calls it.
  const r = await goCallsSvc(go, ts.name, 'Go to resolve ergo-ts and call svc');
  assert.deepEqual(r.value, 'ts:x', JSON.stringify(r));
});

test('remote spawn both ways and remote application start on Go', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await goPeer(bin, 'gonet7@localhost');
  t.after(() => go.stop());
  const ts = await tsNode(t, 'tsspawn', go);
  const goName = go.ready.node as string;
  const remote = await ts.network().getNode(goName);
  // ergo-ts spawns Go's peer_worker with args; Go reports the parent (our core) and the args.
  const since = go.mark();
  const pid = await remote.spawnRegister('w1', 'peer_worker', {}, 7, 'seven');
  assert.equal(pid.node, goName);
  const spawned = await go.waitFor((l) => l.kind === 'spawned' && l.name === 'w1', { since });
  assert.deepEqual(spawned.args, [7, 'seven']);
  assert.equal(await ts.call(pid, 'ping'), 'pong');
  await assert.rejects(remote.spawn('no_such_factory'), /unknown|not allowed/);
  // Application start on Go.
  const appSince = go.mark();
  await remote.applicationStartTemporary('peer_app');
  await go.waitFor((l) => l.kind === 'app_started' && l.app === 'peer_app', { since: appSince });
  // Go spawns a factory ergo-ts enabled for it.
  ts.network().enableSpawn(
    'tsworker',
    probe(undefined, (req) => `worker:${String(req)}`),
  );
  const r = await go.cmd('spawn_remote', { node: ts.name, factory: 'tsworker', register: 'tsw' });
  assert.equal(r.kind, 'result', JSON.stringify(r));
  const wpid = ts.processPID('tsw');
  assert.equal((r.value as { v: { id: number } }).v.id, wpid.id);
  assert.equal(await ts.call(new ProcessID('tsw' as never), 'hi'), 'worker:hi');
  ts.network().disableSpawn('tsworker');
  const refused = await go.cmd('spawn_remote', { node: ts.name, factory: 'tsworker' });
  assert.equal(refused.kind, 'error');
});

/**
 * Go's `call` of `svc` on `node` until it gives a result (an error reply is retried and named in
 * the failure). The bound covers the retries and the Go commands themselves: a loaded machine may
 * take several seconds to connect.
 */
function goCallsSvc(go: Peer, node: string, what: string): Promise<Line> {
  return eventually(
    async () => {
      const r = await go.cmd('call', { to: { name: 'svc', node }, req: 'x' });
      if (r.kind !== 'result') throw new Error(JSON.stringify(r));
      return r;
    },
    what,
    { timeoutMs: 30_000, intervalMs: 50 },
  );
}
