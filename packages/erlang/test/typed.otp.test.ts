// A typed GenServer (GenServer.of with erlangSchema) against a real `erl`: an Erlang node calls,
// casts and sends well-formed and malformed terms. The well-formed ones reach the handlers as the
// protocol types them; a malformed gen_server:call is answered at once with
// {error, {protocol_violation, Why}} (the text of ERR_PROTOCOL_VIOLATION), a malformed cast or
// message is dropped, and no handler ever sees one. One ergo-ts node (tstyped@127.0.0.1, this
// process) and one Erlang node (etyped@127.0.0.1, ctl.erl).

import { after, before, describe, test } from 'node:test';
import { strict as assert } from 'node:assert';
import {
  ErrProtocolViolation,
  defineProtocol,
  schema,
  startNode,
  type Atom,
  type Node,
  type PID,
  type Ref,
} from 'ergo-ts';
import {
  type ErlTuple,
  GenServer,
  atom,
  attachErlang,
  erlangSchema as erl,
  formatTerm,
  isTagged,
  tuple,
  type AnyAtom,
  type ErlAtom,
  type ErlangNode,
  type Term,
} from '../src/index.js';
import { compileErl, missingTool, startEpmd, startErl, tempDir, type LineProcess } from './erl_helpers.js';
import { erlEval } from './node_helpers.js';

const why = missingTool('erl', 'erlc', 'epmd');
const TS = 'tstyped@127.0.0.1' as Atom;
const E1 = 'etyped@127.0.0.1' as Atom;

const Kv = defineProtocol('kv', {
  messages: {
    put: erl.cast(erl.tuple(erl.atom('put'), erl.atom(), schema.integer())),
    ping: erl.tuple(erl.atom('ping'), erl.pid()),
  },
  calls: {
    get: { request: erl.tuple(erl.atom('get'), erl.atom()), reply: erl.tuple(erl.atom('ok'), schema.integer()) },
    name: { request: erl.tuple(erl.atom('name'), erl.utf8()), reply: erl.charlist() },
  },
});

type Put = ErlTuple<readonly [ErlAtom<'put'>, AnyAtom, number]>;
type Ping = ErlTuple<readonly [ErlAtom<'ping'>, PID]>;
type Req = ErlTuple<readonly [ErlAtom<'get'>, AnyAtom]> | ErlTuple<readonly [ErlAtom<'name'>, Uint8Array]>;

/** Every term a handler got, in Erlang notation, and how many were off the protocol. */
const seen: string[] = [];
let offProtocol = 0;

class KvServer extends GenServer.of(Kv) {
  data = new Map<string, number>();
  override handleCast(msg: Put): void {
    if (Kv.checkMessage(tuple(atom('$gen_cast'), msg as Term)) !== undefined) offProtocol++;
    seen.push(`cast ${formatTerm(msg)}`);
    this.data.set(String(msg.elements[1]), msg.elements[2]);
  }
  override handleInfo(_from: PID, msg: Ping): void {
    if (Kv.checkMessage(msg) !== undefined) offProtocol++;
    seen.push(`info ${msg.elements[0].name}`);
    this.send(msg.elements[1], atom('pong'));
  }
  override handleCall(_from: PID, _ref: Ref, req: Req) {
    if (Kv.checkRequest(req) !== undefined) offProtocol++;
    seen.push(`call ${formatTerm(req)}`);
    if (isTagged(req, 'name')) {
      const text = new TextDecoder().decode(req.elements[1]);
      return this.reply(req, codes(`hello ${text}`));
    }
    return this.reply(req, tuple(atom('ok'), this.data.get(String(req.elements[1])) ?? 0));
  }
}

/** A string's code points (an Erlang string). */
const codes = (s: string): number[] => [...s].map((c) => c.codePointAt(0)!);

describe('typed GenServer against a real erl', { skip: why }, () => {
  let tmp: ReturnType<typeof tempDir>;
  let epmd: Awaited<ReturnType<typeof startEpmd>>;
  let node: Node;
  let erlang: ErlangNode;
  let e1: LineProcess;
  const ev = (expr: string): Promise<string> => erlEval(e1, expr);
  const kv = `{kv, '${TS}'}`;

  before(async () => {
    tmp = tempDir('erltyped-');
    compileErl(tmp.dir, 'ctl', 'calc_server');
    epmd = await startEpmd();
    node = await startNode(TS, { log: { defaultLogger: { disable: true } } });
    erlang = await attachErlang(node, {
      cookie: 'abc',
      host: '127.0.0.1',
      epmd: { port: epmd.port },
      epmdServer: false,
    });
    void erlang;
    await node.spawnRegister('kv', KvServer, {});
    e1 = await startErl(
      ['-name', E1, '-setcookie', 'abc', '-start_epmd', 'false', '-kernel', 'inet_dist_use_interface', '{127,0,0,1}'],
      'ctl:start().',
      { ERL_EPMD_PORT: String(epmd.port), ERL_EPMD_ADDRESS: '127.0.0.1' },
      [tmp.dir],
    );
  });

  after(async () => {
    await e1?.kill();
    await node?.stop();
    await epmd?.proc.kill();
    tmp?.remove();
  });

  test('well-formed calls, casts and messages reach the typed handlers', async () => {
    assert.equal(await ev(`gen_server:call(${kv}, {get, k}, 20000)`), '{ok,0}');
    // a cast, then a call from the same process: the call sees the cast's effect
    assert.equal(await ev(`gen_server:cast(${kv}, {put, k, 5}), gen_server:call(${kv}, {get, k}, 20000)`), '{ok,5}');
    assert.equal(
      await ev(`gen_server:call(${kv}, {name, <<"Ada"/utf8>>}, 20000)`),
      `[${codes('hello Ada').join(',')}]`,
    );
    assert.equal(await ev(`${kv} ! {ping, self()}, receive pong -> pong after 20000 -> no_pong end`), 'pong');
    assert.deepEqual(seen, ['call {get,k}', 'cast {put,k,5}', 'call {get,k}', 'call {name,<<"Ada">>}', 'info ping']);
  });

  test('malformed terms are refused before any handler: a call gets {error, {protocol_violation, Why}}', async () => {
    const before = seen.length;
    // a string key where the protocol wants an atom: answered at once, no timeout
    const refused = await ev(
      `{error, {protocol_violation, B}} = gen_server:call(${kv}, {get, "k"}, 20000), binary_to_list(B)`,
    );
    const text = String.fromCharCode(...(JSON.parse(refused) as number[]));
    assert.ok(text.startsWith(ErrProtocolViolation.message), text);
    assert.match(text, /kv: /);
    // wrong arity, an unknown tag, a binary that is not UTF-8: the same answer
    for (const bad of ['{get, k, extra}', '{put, k, 1}', '{name, <<255,254>>}', 'get']) {
      assert.equal(
        await ev(`element(1, element(2, gen_server:call(${kv}, ${bad}, 20000)))`),
        'protocol_violation',
        bad,
      );
    }
    // a malformed cast and a malformed message are dropped; the good call after them (same
    // sender, one connection: in order) shows they came and went
    assert.equal(
      await ev(
        `gen_server:cast(${kv}, {put, k, not_an_integer}), ${kv} ! {ping, not_a_pid}, ${kv} ! hello, gen_server:call(${kv}, {get, k}, 20000)`,
      ),
      '{ok,5}',
    );
    assert.deepEqual(seen.slice(before), ['call {get,k}'], 'only the well-formed call reached a handler');
    assert.equal(offProtocol, 0);
  });
});
