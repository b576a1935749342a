// The handshake and connection against real Erlang/OTP nodes on loopback, with the real epmd:
// we dial erl and exchange messages (and erl pings us over that connection), erl dials us
// (net_adm:ping → pong needs our net_kernel answer, then a message with a tuple map key and an
// improper list), a wrong cookie is refused in both directions, and OTP refuses a peer without
// its mandatory flags.

import { after, before, describe, test } from 'node:test';
import { strict as assert } from 'node:assert';
import { createServer, type Server, type Socket } from 'node:net';
import { randomInt } from 'node:crypto';
import {
  DEFAULT_FLAGS,
  DFLAG,
  DistConnection,
  EpmdClient,
  ErlBitString,
  ErlImproperList,
  ErlMap,
  ErlPid,
  ErlTuple,
  HandshakeError,
  acceptHandshake,
  atom,
  binaryToTerm,
  connectNode,
  isAtom,
  termEqual,
  tuple,
  type AcceptorOptions,
  type EpmdRegistration,
  type HandshakeResult,
} from '../src/index.js';
import { TestNode } from './dist_helpers.js';
import { compileErl, evalErl, missingTool, startEpmd, startErl, tempDir, type LineProcess } from './erl_helpers.js';

const code = (c: string) => (e: unknown) => e instanceof HandshakeError && e.code === c;
const creation = (): number => randomInt(1, 0x7fffffff);

describe('distribution with a real erl', () => {
  let epmd: { port: number; proc: LineProcess } | undefined;
  let env: NodeJS.ProcessEnv = {};
  let client: EpmdClient;
  const erls: LineProcess[] = [];
  const skip = missingTool('erl', 'epmd');

  before(async () => {
    if (skip !== undefined) return;
    epmd = await startEpmd();
    env = { ERL_EPMD_PORT: String(epmd.port) };
    client = new EpmdClient({ port: epmd.port });
  });
  after(async () => {
    for (const e of erls) await e.kill();
    await epmd?.proc.kill();
  });

  async function erl(name: string, cookie: string, evalExpr: string): Promise<LineProcess> {
    const p = await startErl(
      ['-name', name, '-setcookie', cookie, '-start_epmd', 'false', '-kernel', 'net_setuptime', '5'],
      evalExpr,
      env,
    );
    erls.push(p);
    return p;
  }

  test('we dial erl: handshake, REG_SEND to a registered process, its reply, and erl pings us back', async (t) => {
    if (skip !== undefined) return t.skip(skip);
    const e1 = await erl(
      'e1@127.0.0.1',
      'abc',
      `Echo = fun Loop() -> receive {From, T} -> From ! {echo, T}, Loop() end end,
       register(echo, spawn(Echo)),
       register(probe, self()), io:format("ready~n"),
       receive {From, hello, T} -> From ! {echo, T, node()} end,
       io:format("PING ~p~n", [net_adm:ping('ts@127.0.0.1')]),
       receive stop -> ok end.`,
    );
    const me = creation();
    const hs = await connectNode('e1@127.0.0.1', { name: 'ts@127.0.0.1', cookie: 'abc', creation: me, epmd: client });
    assert.equal(hs.peerName, 'e1@127.0.0.1');
    assert.ok(hs.peerCreation > 0);
    assert.equal(hs.flags & DFLAG.HANDSHAKE_23, DFLAG.HANDSHAKE_23);
    const conn = new DistConnection(hs);
    const node = new TestNode(conn, 'ts@127.0.0.1', me);
    try {
      const sent = tuple(atom('ok'), 'x', new ErlImproperList([1, 2], 3), new ErlMap([[tuple(atom('k')), 2n ** 70n]]));
      conn.send(tuple(6, node.pid, atom(''), atom('probe')), tuple(node.pid, atom('hello'), sent));
      const m = await node.waitFor((r) => r.op === 2);
      assert.ok(termEqual(m.control.get(2)!, node.pid), 'SEND to our pid');
      assert.ok(termEqual(m.payload!, tuple(atom('echo'), sent, atom('e1@127.0.0.1'))), 'erl echoed the term exactly');
      assert.equal(await e1.waitFor(/^PING /), 'PING pong');
      assert.equal(node.isAuthCalls, 1);

      // 200 KB each way: we send fragments, OTP answers with fragments ('E' + 'F'...)
      const big = Buffer.alloc(200_000);
      for (let i = 0; i < big.length; i++) big[i] = i % 251;
      for (const payload of [
        big,
        tuple(atom('привет_λ'), atom('a'.repeat(255)), -(2n ** 70n), new ErlBitString(Buffer.from([0xa0]), 3)),
      ]) {
        conn.send(tuple(6, node.pid, atom(''), atom('echo')), tuple(node.pid, payload));
        const back = await node.waitFor((r) => r.op === 2);
        assert.ok(termEqual(back.payload!, tuple(atom('echo'), payload)), 'echoed exactly');
      }
      assert.ok(conn.fragmentsOut >= 4, `we fragmented (${conn.fragmentsOut})`);
      assert.ok(conn.fragmentsIn >= 4, `OTP fragmented (${conn.fragmentsIn})`);
      // a term we cannot encode is refused locally and the connection stays up
      assert.throws(
        () => conn.send(tuple(6, node.pid, atom(''), atom('echo')), tuple(node.pid, atom('x'.repeat(256)))),
        { code: 'ERR_ETF_ATOM_TOO_LONG' },
      );
      conn.send(tuple(6, node.pid, atom(''), atom('echo')), tuple(node.pid, 1));
      assert.equal((await node.waitFor((r) => r.op === 2)).payload instanceof ErlTuple, true);
      assert.ok(conn.open);

      // OTP answers 'alive' to a second connection under the same name; we keep the first
      await assert.rejects(
        connectNode('e1@127.0.0.1', {
          name: 'ts@127.0.0.1',
          cookie: 'abc',
          creation: creation(),
          epmd: client,
          onAlive: () => false,
        }),
        code('ERR_HANDSHAKE_ALIVE'),
      );
      assert.ok(conn.open);
    } finally {
      conn.close();
    }

    // wrong cookie: OTP closes without an ack
    await assert.rejects(
      connectNode('e1@127.0.0.1', { name: 'tsbad@127.0.0.1', cookie: 'zzz', creation: creation(), epmd: client }),
      code('ERR_HANDSHAKE_COOKIE'),
    );
    await e1.waitFor(/Invalid challenge reply/);
    // without HANDSHAKE_23 (a mandatory flag) OTP answers not_allowed and names the flag
    await assert.rejects(
      connectNode('e1@127.0.0.1', {
        name: 'tsold@127.0.0.1',
        cookie: 'abc',
        creation: creation(),
        epmd: client,
        flags: DEFAULT_FLAGS & ~(DFLAG.HANDSHAKE_23 | DFLAG.MANDATORY_25_DIGEST),
      }),
      code('ERR_HANDSHAKE_NOT_ALLOWED'),
    );
    await e1.waitFor(/HANDSHAKE_23/);
    // the name must be the one we dialled: OTP presents e1@127.0.0.1, not e1@localhost
    const { port } = await client.resolve('e1@127.0.0.1');
    assert.ok(port > 0);
  });

  test('ticks: a peer with net_ticktime 2 keeps the connection while idle because we answer its ticks', async (t) => {
    if (skip !== undefined) return t.skip(skip);
    const e4 = await startErl(
      ['-name', 'e4@127.0.0.1', '-setcookie', 'abc', '-start_epmd', 'false', '-kernel', 'net_ticktime', '2'],
      `Echo = fun Loop() -> receive {From, T} -> From ! {echo, T}, Loop() end end,
       register(echo, spawn(Echo)), io:format("ready~n").`,
      env,
    );
    erls.push(e4);
    const me = creation();
    const hs = await connectNode('e4@127.0.0.1', { name: 'ts4@127.0.0.1', cookie: 'abc', creation: me, epmd: client });
    // our own interval is far longer than the peer's ticktime: only answering its ticks keeps us
    const conn = new DistConnection(hs, { tickInterval: 60000, peerTimeout: 60000 });
    const node = new TestNode(conn, 'ts4@127.0.0.1', me);
    try {
      let closedEarly: Error | undefined | null = null;
      conn.once('close', (r) => (closedEarly = r));
      // net_ticktime 2 ticks every 500 ms and drops a silent peer after about 2 s: wait 8 ticks
      await new Promise<void>((resolve) => {
        const onTick = (): void => {
          if (conn.ticksIn >= 8) {
            conn.off('tick', onTick);
            resolve();
          }
        };
        conn.on('tick', onTick);
        conn.once('close', () => resolve());
      });
      assert.equal(closedEarly, null, 'still connected');
      assert.ok(conn.ticksOut >= 4, `we answered ticks (${conn.ticksOut})`);
      conn.send(tuple(6, node.pid, atom(''), atom('echo')), tuple(node.pid, atom('still_here')));
      const back = await node.waitFor((r) => r.op === 2);
      assert.ok(termEqual(back.payload!, tuple(atom('echo'), atom('still_here'))));
    } finally {
      conn.close();
    }
  });

  test('the term corpus crosses the connection both ways exactly (echo on erl, mirror on our side)', async (t) => {
    if (skip !== undefined) return t.skip(skip);
    const tmp = tempDir('dist-corpus-');
    try {
      compileErl(tmp.dir, 'etf_corpus');
      const dump = await evalErl('etf_corpus:dump(), halt().', { pa: [tmp.dir] });
      const corpus = dump
        .split('\n')
        .filter((l) => l.startsWith('T '))
        .map((l) => binaryToTerm(Buffer.from(l.split(' ')[2]!, 'hex')));
      assert.equal(corpus.length, 60);
      const e5 = await startErl(
        ['-name', 'e5@127.0.0.1', '-setcookie', 'abc', '-start_epmd', 'false'],
        `register(echo, spawn(fun etf_corpus:echo/0)), register(starter, self()), io:format("ready~n"),
         receive {go, Node} -> etf_corpus:mirror(Node) end, receive stop -> ok end.`,
        env,
        [tmp.dir],
      );
      erls.push(e5);
      const me = creation();
      const hs = await connectNode('e5@127.0.0.1', {
        name: 'ts5@127.0.0.1',
        cookie: 'abc',
        creation: me,
        epmd: client,
      });
      const conn = new DistConnection(hs);
      const node = new TestNode(conn, 'ts5@127.0.0.1', me, new Set(['net_kernel', 'mirror']));
      try {
        // ours → erl → ours
        for (const [i, term] of corpus.entries()) {
          conn.send(tuple(6, node.pid, atom(''), atom('echo')), tuple(node.pid, term));
          const back = await node.waitFor((r) => r.op === 2);
          assert.ok(termEqual(back.payload!, tuple(atom('echo'), term)), `corpus #${i} came back from erl unchanged`);
        }
        // erl → ours → erl: the mirror answers {From, T} with {mirror, T}
        let mirrored = 0;
        const mirror = (): void => {
          void node
            .waitFor((r) => r.op === 6 && isAtom(r.control.get(3), 'mirror'))
            .then((m) => {
              const [from, term] = (m.payload as ErlTuple).elements;
              conn.send(tuple(2, atom(''), from!), tuple(atom('mirror'), term!));
              mirrored++;
              if (conn.open) mirror();
            });
        };
        mirror();
        conn.send(tuple(6, node.pid, atom(''), atom('starter')), tuple(atom('go'), atom('ts5@127.0.0.1')));
        assert.equal(await e5.waitFor(/^SUMMARY/), 'SUMMARY 60/60 round-trips ok []');
        assert.equal(mirrored, 60);
      } finally {
        conn.close();
      }
    } finally {
      tmp.remove();
    }
  });

  test('erl dials us: ping answered by our net_kernel, then a message; a wrong cookie is refused', async (t) => {
    if (skip !== undefined) return t.skip(skip);
    const me = creation();
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const reg: EpmdRegistration = await client.register({
      name: 'ts2',
      port: (server.address() as { port: number }).port,
    });
    const opts: AcceptorOptions = { name: 'ts2@127.0.0.1', cookie: 'abc', creation: me };
    const results: (HandshakeResult | Error)[] = [];
    const waiting: ((r: HandshakeResult | Error) => void)[] = [];
    const deliver = (r: HandshakeResult | Error): void => {
      const w = waiting.shift();
      if (w !== undefined) w(r);
      else results.push(r);
    };
    server.on('connection', (s: Socket) => {
      acceptHandshake(s, opts).then(deliver, deliver);
    });
    const nextAccept = (): Promise<HandshakeResult | Error> =>
      results.length > 0 ? Promise.resolve(results.shift()!) : new Promise((r) => waiting.push(r));
    const conns: DistConnection[] = [];
    try {
      const accepted = nextAccept();
      const e2 = await erl(
        'e2@127.0.0.1',
        'abc',
        `io:format("ready~n"),
         io:format("PING ~p~n", [net_adm:ping('ts2@127.0.0.1')]),
         {tsproc, 'ts2@127.0.0.1'} ! {self(), hi, <<"bin">>, #{{x, y} => [1, 2 | 3]}, <<5:3>>},
         receive {reply, R} -> io:format("REPLY ~p~n", [R]) after 15000 -> io:format("NOREPLY~n") end,
         receive stop -> ok end.`,
      );
      const hs = await accepted;
      assert.ok(!(hs instanceof Error), String(hs));
      assert.equal(hs.peerName, 'e2@127.0.0.1');
      assert.equal(hs.status, 'ok');
      const conn = new DistConnection(hs);
      conns.push(conn);
      const node = new TestNode(conn, 'ts2@127.0.0.1', me, new Set(['net_kernel', 'tsproc']));
      assert.equal(await e2.waitFor(/^PING /), 'PING pong');
      const m = await node.waitFor((r) => r.op === 6 && isAtom(r.control.get(3), 'tsproc'));
      const [from, hi, bin, map, bits] = (m.payload as ErlTuple).elements;
      assert.ok(from instanceof ErlPid && from.node === 'e2@127.0.0.1');
      assert.ok(isAtom(hi, 'hi'));
      assert.deepEqual(bin, Buffer.from('bin'));
      assert.ok(
        map instanceof ErlMap && termEqual(map.get(tuple(atom('x'), atom('y')))!, new ErlImproperList([1, 2], 3)),
        'tuple key and improper list kept',
      );
      assert.ok(bits instanceof ErlBitString && bits.bits === 3 && bits.bytes[0] === 0xa0, 'bit count kept');
      conn.send(tuple(2, atom(''), from), tuple(atom('reply'), atom('ok')));
      assert.equal(await e2.waitFor(/^(REPLY|NOREPLY)/), 'REPLY ok');

      // an erl with another cookie: its ping fails, our acceptor saw a wrong digest
      const refused = nextAccept();
      const e3 = await erl(
        'e3@127.0.0.1',
        'WRONG',
        `io:format("ready~n"), io:format("PING ~p~n", [net_adm:ping('ts2@127.0.0.1')]).`,
      );
      const bad = await refused;
      assert.ok(bad instanceof HandshakeError && bad.code === 'ERR_HANDSHAKE_COOKIE', String(bad));
      assert.equal(await e3.waitFor(/^PING /), 'PING pang');
    } finally {
      for (const c of conns) c.close();
      await reg.close();
      server.close();
    }
  });
});
