// Golden bytes of Saturn's messages, and the two things the real Saturn server cannot show
// (its resolve always answers "no route", its registration result carries no config) tested
// against a TEST DOUBLE: a small TLS server in this file that speaks Saturn's protocol from the
// golden frames. The double stands in for those two answers only (plus the refusals a real
// server gives racily or never: an ErrTaken reply read before the close, a server that proves a
// different token); everything the real server does is tested against it in server.test.ts.
//
// The bytes below are written out from EDF's rules (WIRE.md §1: a registered struct is 0x83, a
// uint16 name length and the name, then its fields without tags; strings and atoms are a uint16
// length and UTF-8; a nil error or slice is 0xff; a slice is 0x9d and a uint32 count; a
// map is 0x9f and a uint32 count; an `any` value carries its tag, 0x96 for int). When the Go Ergo
// node of test/go-node is built, Go's own EDF encoding of each message is checked against them too.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { generateCertificate } from 'ergo-ts/net';
import { startNode, type Atom, type Node } from 'ergo-ts';
import {
  createSaturnRegistrar,
  decodePayload,
  encodeFrame,
  FrameReader,
  MessageConfigUpdate,
  MessageHandshake,
  MessageHandshakeResult,
  MessageNodeLeft,
  MessageRegister,
  MessageRegisterApplicationRoute,
  MessageRegisterResult,
  MessageResolve,
  MessageResolveResult,
  SATURN_REGISTER_WINDOW,
  tokenDigest,
  WireApplicationRoute,
  WireRegisterRoutes,
  type SaturnMessage,
  type SaturnRegistrar,
} from '../src/index.js';
import { int, Route as WireRoute, Typed, WireVersion } from 'ergo-ts/net';
import { GO_NODE, goNodeMissing } from './saturn_server.js';

const hex = (...parts: string[]): string => parts.join('').replace(/\s+/g, '');
const str = (s: string): string => Buffer.byteLength(s).toString(16).padStart(4, '0') + Buffer.from(s).toString('hex');
const name = (t: string): string => `83${str(`#ergo.services/registrar/saturn/${t}`)}`;

// gen.Route{127.0.0.1, port uint16 15000, TLS true, gen.Version{EHS, R1, commit "", MIT},
// gen.Version{ENP, R1, "", MIT}}: fields in order, no tags.
const ROUTE = hex(
  str('127.0.0.1'),
  '3a98',
  '01',
  ...[str('EHS'), str('R1'), str(''), str('MIT')],
  ...[str('ENP'), str('R1'), str(''), str('MIT')],
);
// gen.ApplicationRoute{b@127.0.0.1, web, weight int 10, mode int 3 (permanent), state int32 2 (running)}.
const APP = hex(str('b@127.0.0.1'), str('web'), '000000000000000a', '0000000000000003', '00000002');

/** Each message, the bytes of its EDF payload, and what they decode to. */
const GOLDEN: Record<string, { bytes: string; message: SaturnMessage }> = {
  handshake: {
    bytes: hex(name('MessageHandshake'), str('salt'), str('d1')),
    message: new MessageHandshake({ salt: 'salt', digest: 'd1' }),
  },
  resolve: {
    bytes: hex(name('MessageResolve'), '00000007', str('b@127.0.0.1')),
    message: new MessageResolve({ id: 7, name: 'b@127.0.0.1' }),
  },
  resolveResult: {
    // ID 7, error nil (ffff), routes: a slice of one gen.Route.
    bytes: hex(name('MessageResolveResult'), '00000007', 'ffff', '9d', '00000001', ROUTE),
    message: new MessageResolveResult({ id: 7, error: null, routes: [wireRoute()] }),
  },
  resolveNoRoute: {
    // ID 8, error "no route", routes nil (ff).
    bytes: hex(name('MessageResolveResult'), '00000008', str('no route'), 'ff'),
    message: new MessageResolveResult({ id: 8, error: new Error('no route'), routes: null }),
  },
  register: {
    // Cluster c1, Hidden false, Node, RegisterRoutes{[route], [app], nil proxies}.
    bytes: hex(
      name('MessageRegister'),
      str('c1'),
      '00',
      str('a@127.0.0.1'),
      '9d00000001',
      ROUTE,
      '9d00000001',
      APP,
      'ff',
    ),
    message: new MessageRegister({
      cluster: 'c1',
      hidden: false,
      node: 'a@127.0.0.1',
      registerRoutes: new WireRegisterRoutes({
        routes: [wireRoute()],
        applicationRoutes: [wireApp()],
        proxyRoutes: null,
      }),
    }),
  },
  registerResult: {
    // Error nil, Config {"c1:*:pool": int 8}, Nodes [b@127.0.0.1], Applications [app].
    bytes: hex(
      name('MessageRegisterResult'),
      'ffff',
      '9f00000001',
      str('c1:*:pool'),
      '96',
      '0000000000000008',
      '9d00000001',
      str('b@127.0.0.1'),
      '9d00000001',
      APP,
    ),
    message: new MessageRegisterResult({
      error: null,
      config: new Map([['c1:*:pool', int(8)]]), // a Go int (a plain number would go as int64)
      nodes: ['b@127.0.0.1'],
      applications: [wireApp()],
    }),
  },
  registerTaken: {
    bytes: hex(name('MessageRegisterResult'), str('resource is taken'), 'ff', 'ff', 'ff'),
    message: new MessageRegisterResult({
      error: new Error('resource is taken'),
      config: null,
      nodes: null,
      applications: null,
    }),
  },
  configUpdate: {
    // Value "alpha" as `any`: the string tag 0x8d, then the string.
    bytes: hex(name('MessageConfigUpdate'), str('*:name'), '8d', str('alpha')),
    message: new MessageConfigUpdate({ item: '*:name', value: 'alpha' }),
  },
  appRoute: {
    bytes: hex(name('MessageRegisterApplicationRoute'), APP),
    message: new MessageRegisterApplicationRoute({ route: wireApp() }),
  },
  nodeLeft: {
    bytes: hex(name('MessageNodeLeft'), str('b@127.0.0.1')),
    message: new MessageNodeLeft({ node: 'b@127.0.0.1' }),
  },
};

function wireRoute(): WireRoute {
  return new WireRoute({
    host: '127.0.0.1',
    port: 15000,
    tls: true,
    handshakeVersion: new WireVersion({ name: 'EHS', release: 'R1', license: 'MIT' }),
    protoVersion: new WireVersion({ name: 'ENP', release: 'R1', license: 'MIT' }),
  });
}
function wireApp(): WireApplicationRoute {
  return new WireApplicationRoute({ node: 'b@127.0.0.1', name: 'web', weight: 10, mode: 3, state: 2 });
}

/** Comparable form of a decoded message: numbers for Go ints, error text for errors, maps as entries. */
function plain(v: unknown): unknown {
  if (v instanceof Typed) return plain(v.value);
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Error) return { error: v.message };
  if (v instanceof Map) return [...v.entries()].map(([k, x]) => [k, plain(x)]);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object')
    return { type: v.constructor.name, ...Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) };
  return v;
}

describe('saturn golden bytes', () => {
  for (const [what, g] of Object.entries(GOLDEN)) {
    test(`${what}: encodes to the golden bytes, which decode back`, () => {
      const frame = encodeFrame(g.message);
      assert.deepEqual([frame[0], frame[1], frame.readUInt16BE(2)], [99, 1, frame.length - 4]);
      assert.equal(frame.subarray(4).toString('hex'), g.bytes);
      assert.deepEqual(plain(decodePayload(Buffer.from(g.bytes, 'hex'))), plain(g.message));
    });
  }

  test("Go's EDF encodes every message to the same bytes (the Go Ergo node, when built)", (t) => {
    const missing = goNodeMissing();
    if (missing !== null) return t.skip(missing);
    const r = spawnSync(GO_NODE, ['-golden'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const go = JSON.parse(r.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(go).sort(), Object.keys(GOLDEN).sort());
    for (const [what, g] of Object.entries(GOLDEN)) assert.equal(go[what], g.bytes, what);
  });

  test('frames: split anywhere or several in one read; a wrong header or trailing bytes are malformed', () => {
    const frames = [GOLDEN.nodeLeft!, GOLDEN.configUpdate!].map((g) => encodeFrame(g.message));
    const all = Buffer.concat(frames);
    const r = new FrameReader();
    const got: unknown[] = [];
    for (const b of all) got.push(...r.push(Buffer.from([b])));
    assert.deepEqual(got.map(plain), [plain(GOLDEN.nodeLeft!.message), plain(GOLDEN.configUpdate!.message)]);
    assert.equal(new FrameReader().push(all).length, 2);
    assert.throws(() => new FrameReader().push(Buffer.from([98, 1, 0, 0])), { code: 'ERR_MALFORMED' });
    assert.throws(() => new FrameReader().push(Buffer.from([99, 2, 0, 0])), { code: 'ERR_MALFORMED' });
    const extra = Buffer.concat([frames[0]!, Buffer.from([0])]);
    extra.writeUInt16BE(extra.length - 4, 2);
    assert.throws(() => new FrameReader().push(extra), { code: 'ERR_MALFORMED' });
    assert.throws(() => encodeFrame(new MessageConfigUpdate({ item: 'x'.repeat(40_000), value: 'y'.repeat(40_000) })), {
      code: 'ERR_TOO_LARGE',
    });
  });

  test('the handshake digests: hex sha256 of "salt:token", then of "digest:token"', () => {
    // sha256("salt:tok") and sha256(<that>:tok), computed independently (sha256sum).
    assert.equal(tokenDigest('salt', 'tok'), '9c43f3406303f97295d6047089f631f8e34940c119d196afa1ed43b466114d40');
    assert.equal(
      tokenDigest('9c43f3406303f97295d6047089f631f8e34940c119d196afa1ed43b466114d40', 'tok'),
      '6681fa082373c0a8800bdfb04a6d39ef14515d8d08a0796581158ecb5dff239f',
    );
  });
});

// --- the test double ---------------------------------------------------------------------------

/** What the TEST DOUBLE answers; it records what it got. */
interface Script {
  token: string;
  /** The registration reply (golden bytes), or 'close' to hang up. */
  register: string;
  /** Proves a different token. */
  wrongProof?: boolean;
  /** Answers each resolve with these payload bytes (the id patched in). */
  resolve?: string;
  /** Frames pushed right after the registration reply, in the same write. */
  push?: string[];
  /** Leaves this many registrations unanswered first (a server too busy to answer in time). */
  silentRegisters?: number;
  /** Closes a connection not registered this long after it was accepted, as Saturn does after 3 s. */
  registerWindowMs?: number;
}

class SaturnDouble {
  readonly server: Server;
  readonly got: unknown[] = [];
  /** Connections it closed at the end of `registerWindowMs`. */
  dropped = 0;
  readonly sockets = new Set<TLSSocket>();
  constructor(readonly script: Script) {
    const { cert, key } = generateCertificate({ hosts: ['127.0.0.1'] });
    this.server = createServer({ cert, key }, (s) => this.#serve(s));
  }
  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
  #serve(s: TLSSocket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
    const reader = new FrameReader();
    let registered = false;
    if (this.script.registerWindowMs !== undefined) {
      const window = setTimeout(() => {
        if (registered) return;
        this.dropped++;
        s.destroy();
      }, this.script.registerWindowMs);
      s.on('close', () => clearTimeout(window));
    }
    const frame = (payload: string): Buffer => {
      const p = Buffer.from(payload, 'hex');
      return Buffer.concat([Buffer.from([99, 1, p.length >> 8, p.length & 0xff]), p]);
    };
    s.on('data', (chunk: Buffer) => {
      for (const m of reader.push(chunk)) {
        this.got.push(m);
        if (m instanceof MessageHandshake) {
          assert.equal(m.salt.length, 64);
          if (m.digest !== tokenDigest(m.salt, this.script.token)) return void s.destroy();
          const proof = tokenDigest(m.digest, this.script.wrongProof === true ? 'other' : this.script.token);
          s.write(encodeFrame(new MessageHandshakeResult({ digest: proof })));
        } else if (m instanceof MessageRegister) {
          if (this.script.register === 'close') return void s.destroy();
          if ((this.script.silentRegisters ?? 0) > 0) return void this.script.silentRegisters!--;
          registered = true;
          s.write(Buffer.concat([frame(this.script.register), ...(this.script.push ?? []).map(frame)]));
        } else if (m instanceof MessageResolve && this.script.resolve !== undefined) {
          const p = Buffer.from(this.script.resolve, 'hex');
          const at = p.indexOf(Buffer.from('MessageResolveResult')) + 'MessageResolveResult'.length;
          p.writeUInt32BE(Number(m.id), at);
          s.write(frame(p.toString('hex')));
        }
      }
    });
  }
}

describe('saturn registrar against a TEST DOUBLE of the server (resolve and the registration config)', () => {
  const nodes: Node[] = [];
  const doubles: SaturnDouble[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await Promise.all(doubles.map((d) => d.close()));
  });

  async function start(
    script: Script,
    node = 'a@127.0.0.1',
    cluster = 'c1',
    options: { connectTimeout?: number; registerAttempts?: number; reconnectInterval?: number } = {},
  ): Promise<{ node: Node; double: SaturnDouble }> {
    const double = new SaturnDouble(script);
    doubles.push(double);
    const port = await double.listen();
    const n = await startNode(node, {
      log: { level: 'warning' as never },
      network: {
        cookie: 'x',
        acceptors: [{ host: '127.0.0.1', port: 0 }],
        registrar: createSaturnRegistrar({
          host: '127.0.0.1',
          port,
          token: script.token,
          cluster,
          insecureSkipVerify: true,
          ...options,
        }),
      },
    });
    nodes.push(n);
    return { node: n, double };
  }

  test('resolve: the routes of the answer with the request id; an error answer is ERR_NO_ROUTE', async () => {
    const { node, double } = await start({
      token: 'tok',
      register: GOLDEN.registerResult!.bytes,
      resolve: GOLDEN.resolveResult!.bytes,
    });
    const reg = node.network().registrar();
    const routes = await reg.resolver().resolve('b@127.0.0.1' as Atom);
    assert.deepEqual(routes, [
      {
        host: '127.0.0.1',
        port: 15000,
        tls: true,
        handshakeVersion: { name: 'EHS', release: 'R1', commit: '', license: 'MIT' },
        protoVersion: { name: 'ENP', release: 'R1', commit: '', license: 'MIT' },
      },
    ]);
    const sent = double.got.filter((m) => m instanceof MessageResolve);
    assert.deepEqual(plain(sent), [plain(new MessageResolve({ id: 1, name: 'b@127.0.0.1' }))]);
    double.script.resolve = GOLDEN.resolveNoRoute!.bytes;
    await assert.rejects(reg.resolver().resolve('c@127.0.0.1' as Atom), { code: 'ERR_NO_ROUTE' });
  });

  test('registration: config, nodes and application routes of the reply; frames pushed with it', async () => {
    const { node, double } = await start(
      { token: 'tok', register: GOLDEN.registerResult!.bytes, push: [GOLDEN.configUpdate!.bytes] },
      'cfg@127.0.0.1',
    );
    const reg = node.network().registrar() as SaturnRegistrar;
    assert.equal(await reg.configItem('pool'), 8);
    assert.equal(await reg.configItem('name'), 'alpha'); // the push that came in the reply's write
    assert.deepEqual(await reg.nodes(), ['b@127.0.0.1']);
    assert.deepEqual(await reg.resolver().resolveApplication('web' as Atom), [
      { node: 'b@127.0.0.1', name: 'web', weight: 10, mode: 3, state: 2 },
    ]);
    const r = double.got.find((m) => m instanceof MessageRegister)!;
    assert.equal(r.cluster, 'c1');
    assert.equal(r.hidden, false);
    assert.equal(r.node, 'cfg@127.0.0.1');
    assert.equal(r.registerRoutes.routes?.length, 1);
  });

  test('refusals: an ErrTaken reply, a server that proves another token, a wrong token (the double hangs up)', async () => {
    await assert.rejects(start({ token: 'tok', register: GOLDEN.registerTaken!.bytes }, 't1@127.0.0.1'), {
      code: 'ERR_TAKEN',
    });
    await assert.rejects(
      start({ token: 'tok', register: GOLDEN.registerResult!.bytes, wrongProof: true }, 't2@127.0.0.1'),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_MALFORMED');
        assert.match(e.message, /does not know the token/);
        return true;
      },
    );
    assert.throws(() => createSaturnRegistrar({ token: '' }), { code: 'ERR_INCORRECT' });
    assert.throws(() => createSaturnRegistrar({ token: 't', port: 70000 }), { code: 'ERR_INCORRECT' });
    assert.throws(() => createSaturnRegistrar({ token: 't', cluster: 'a:b' }), { code: 'ERR_INCORRECT' });
  });

  test('a first registration left unanswered past connectTimeout is tried again (registerAttempts); the last timeout fails the start', async () => {
    const fast = { connectTimeout: 300, reconnectInterval: 1 };
    const { node, double } = await start(
      { token: 'tok', register: GOLDEN.registerResult!.bytes, silentRegisters: 2 },
      'slow@127.0.0.1',
      'c1',
      fast,
    );
    assert.equal(
      double.got.filter((m) => m instanceof MessageRegister).length,
      3,
      'two unanswered, the third answered',
    );
    assert.deepEqual(await (node.network().registrar() as SaturnRegistrar).nodes(), ['b@127.0.0.1']);
    await assert.rejects(
      start({ token: 'tok', register: GOLDEN.registerResult!.bytes, silentRegisters: 2 }, 'slow2@127.0.0.1', 'c1', {
        ...fast,
        registerAttempts: 2,
      }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_TIMEOUT');
        assert.match(e.message, /no register within 300 ms/);
        return true;
      },
    );
    // A refusal is not tried again.
    const taken = new SaturnDouble({ token: 'tok', register: GOLDEN.registerTaken!.bytes });
    doubles.push(taken);
    await assert.rejects(
      startNode('t3@127.0.0.1', {
        log: { level: 'warning' as never },
        network: {
          cookie: 'x',
          acceptors: [{ host: '127.0.0.1', port: 0 }],
          registrar: createSaturnRegistrar({
            host: '127.0.0.1',
            port: await taken.listen(),
            token: 'tok',
            insecureSkipVerify: true,
          }),
        },
      }),
      { code: 'ERR_TAKEN' },
    );
    assert.equal(taken.got.filter((m) => m instanceof MessageRegister).length, 1);
    assert.throws(() => createSaturnRegistrar({ token: 't', registerAttempts: 0 }), { code: 'ERR_INCORRECT' });
  });

  test("a registration not answered is given up before the server's 3 s window ends (the client closes, the server never drops it) and tried again", async () => {
    // As Saturn under load: the first registration is not answered, and the server would close
    // the connection at the end of its window. connectTimeout is longer (a hang guard).
    const { node, double } = await start(
      {
        token: 'tok',
        register: GOLDEN.registerResult!.bytes,
        silentRegisters: 1,
        registerWindowMs: SATURN_REGISTER_WINDOW,
      },
      'busy@127.0.0.1',
      'c1',
      { connectTimeout: 15_000, reconnectInterval: 1 },
    );
    assert.equal(double.got.filter((m) => m instanceof MessageRegister).length, 2);
    assert.equal(double.dropped, 0, 'the client closed the first connection before the window ended');
    assert.deepEqual(await (node.network().registrar() as SaturnRegistrar).nodes(), ['b@127.0.0.1']);
  });
});
