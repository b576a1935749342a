// An ergo-ts node in an Erlang/OTP cluster, against a real `erl` (ERLANG.md §6.2): ping both
// ways, sends both ways, the term corpus both ways, gen_server calls both ways (noproc, timeouts),
// links and monitors both ways, unlink, exit reasons as terms, rpc without spawn, visibility
// (published, and hidden through attachErlang), a wrong cookie and missing mandatory flags both
// ways through attachErlang, node down by kill -9 and a restart with a new creation. One ergo-ts
// node (ts@127.0.0.1) and one Erlang node (e1@127.0.0.1, driven by ctl.erl) on a private epmd.

import { after, before, describe, test } from 'node:test';
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import {
  MessageDownNode,
  MessageDownPID,
  MessageNodeDown,
  MessageNodeUp,
  MessageDownProcessID,
  MessageExitPID,
  PID,
  ProcessID,
  Ref,
  isError,
  ErrProcessUnknown,
  ErrTimeout,
  ErrNoConnection,
  ErrProcessIncarnation,
  TerminateReasonNormal,
  startNode,
  type Atom,
  type Node,
} from 'ergo-ts';
import {
  DEFAULT_FLAGS,
  DFLAG,
  ErlImproperList,
  ErlRef,
  ErlTuple,
  ErlangReason,
  atom,
  attachErlang,
  isAtom,
  termEqual,
  tuple,
  genServerCall,
  genServerCast,
  type ErlangNode,
  type Term,
} from '../src/index.js';
import { fileURLToPath } from 'node:url';
import { LineProcess, compileErl, missingTool, startEpmd, startErl, tempDir } from './erl_helpers.js';
import { Calc, Echo, Probe, erlEval } from './node_helpers.js';

const why = missingTool('erl', 'erlc', 'epmd');
const TS = 'ts@127.0.0.1' as Atom;
const E1 = 'e1@127.0.0.1' as Atom;

function reasonIs(reason: Error, name: string): boolean {
  return reason instanceof ErlangReason && isAtom(reason.term, name);
}

describe('ergo-ts node in an Erlang cluster', { skip: why }, () => {
  let tmp: ReturnType<typeof tempDir>;
  let epmd: Awaited<ReturnType<typeof startEpmd>>;
  let node: Node;
  let erlang: ErlangNode;
  let e1: LineProcess;
  const env = (): NodeJS.ProcessEnv => ({ ERL_EPMD_PORT: String(epmd.port), ERL_EPMD_ADDRESS: '127.0.0.1' });
  const startE1 = (): Promise<LineProcess> =>
    startErl(
      [
        '-name',
        E1,
        '-setcookie',
        'abc',
        '-start_epmd',
        'false',
        '-kernel',
        'inet_dist_use_interface',
        '{127,0,0,1}',
        '-kernel',
        'net_ticktime',
        '4',
      ],
      'ctl:start().',
      env(),
      [tmp.dir],
    );
  const ev = (expr: string, timeoutMs?: number): Promise<string> => erlEval(e1, expr, timeoutMs);
  /** A fresh probe (trapping exits when asked), spawned on the TS node. */
  const probe = async (trap = false, name?: string): Promise<Probe> => {
    if (name) await node.spawnRegister(name, () => new Probe(), {}, trap);
    else await node.spawn(() => new Probe(), {}, trap);
    return Probe.last!;
  };
  /**
   * A round trip through e1's echo: everything `p` wrote before has been read by erl (steps the
   * test then triggers through erl's stdin would otherwise race with them).
   */
  let syncSeq = 0;
  const synced = async (p: Probe): Promise<void> => {
    const tag = tuple(atom('sync'), ++syncSeq);
    await inside(p, (x) => x.send(new ProcessID('echo' as Atom, E1), tuple(x.pid, tag)));
    await p.waitFor((m) => m instanceof ErlTuple && termEqual(m.get(1)!, tag));
  };
  /** Runs `fn` inside `p` (calls, links, monitors need a process). */
  const inside = <T>(p: Probe, fn: (p: Probe) => T | Promise<T>): Promise<T> =>
    node.call(p.pid, fn, { timeout: 15000 }) as Promise<T>;

  before(async () => {
    tmp = tempDir('erlint-');
    compileErl(tmp.dir, 'ctl', 'calc_server', 'etf_corpus');
    epmd = await startEpmd();
    node = await startNode(TS, { log: { defaultLogger: { disable: true } } });
    erlang = await attachErlang(node, {
      cookie: 'abc',
      host: '127.0.0.1',
      epmd: { port: epmd.port },
      epmdServer: false,
      connection: { tickInterval: 500, peerTimeout: 3000 },
    });
    await node.spawnRegister('echo', () => new Echo());
    await node.spawnRegister('calc', () => new Calc());
    e1 = await startE1();
  });

  after(async () => {
    await e1?.kill();
    await node?.stop();
    await epmd?.proc.kill();
    tmp?.remove();
  });

  test('#1 EPMD register: erl resolves ts to our port; a second node with the name is refused', async () => {
    assert.equal(await ev(`erl_epmd:port_please("ts", "127.0.0.1")`), `{port,${erlang.port},6}`);
    const other = await startNode('ts@127.0.0.1' as Atom, { log: { defaultLogger: { disable: true } } });
    try {
      await assert.rejects(
        attachErlang(other, { cookie: 'abc', host: '127.0.0.1', epmd: { port: epmd.port }, epmdServer: false }),
        { code: 'ERR_TAKEN' },
      );
    } finally {
      await other.stop();
    }
  });

  test('#3 ping Erlang→TS: net_adm:ping gets pong from our net_kernel', async () => {
    assert.equal(await ev(`net_adm:ping('${TS}')`), 'pong');
    assert.ok(erlang.nodes().includes(E1));
  });

  test('#25 visibility: ts is in nodes() (PUBLISHED); Erlang reaches TS by name', async () => {
    assert.equal(await ev(`lists:member('${TS}', nodes())`), 'true');
    assert.equal(await ev(`{echo, '${TS}'} ! {self(), hi}, receive X -> X after 15000 -> none end`), '{echo,hi}');
  });

  test('#4/#7 TS→Erlang: send to a registered process, reply to our PID', async () => {
    const p = await probe();
    await inside(p, (x) => x.send(new ProcessID('echo' as Atom, E1), tuple(x.pid, tuple(atom('hello'), 1))));
    const m = await p.waitFor<ErlTuple>((m) => m instanceof ErlTuple && isAtom(m.get(0), 'echo'));
    assert.ok(termEqual(m, tuple(atom('echo'), tuple(atom('hello'), 1))));
  });

  test('#8 term corpus TS→Erlang→TS: every term comes back exactly', async () => {
    // the corpus as Erlang builds it, fetched through a message (pids arrive as ergo-ts PIDs)
    const p = await probe();
    const q = await probe(false, 'probe_corpus');
    await ev(`{probe_corpus, '${TS}'} ! {corpus, etf_corpus:corpus()}, ok`);
    const got = await q.waitFor<ErlTuple>((m) => m instanceof ErlTuple && isAtom(m.get(0), 'corpus'));
    const corpus = got.get(1) as Term[];
    assert.equal(corpus.length, 60);
    assert.ok(
      corpus.some((t) => t instanceof PID),
      'pids decode as ergo-ts PIDs',
    );
    for (let i = 0; i < corpus.length; i++) {
      const ref = tuple(atom('n'), i);
      await inside(p, (x) => x.send(new ProcessID('echo' as Atom, E1), tuple(x.pid, ref, corpus[i]!)));
      const back = await p.waitFor<ErlTuple>(
        (m) => m instanceof ErlTuple && m.length === 3 && termEqual(m.get(1)!, ref),
      );
      assert.ok(termEqual(back.get(2)!, corpus[i]!), `corpus term ${i + 1} round-trips`);
    }
  });

  test('#9 term corpus Erlang→TS→Erlang: =:= for every term', async () => {
    assert.equal(await ev(`ctl:mirror('${TS}')`), '[]');
  });

  test('#12 gen_server:call Erlang→TS: call, cast then call, alias tag', async () => {
    assert.equal(await ev(`gen_server:call({calc, '${TS}'}, {add, 40, 2})`), '42');
    assert.equal(
      await ev(`gen_server:cast({calc, '${TS}'}, {set, k, 42}), gen_server:call({calc, '${TS}'}, {get, k})`),
      '42',
    );
    // by pid, too
    assert.equal(await ev(`P = gen_server:call({calc, '${TS}'}, whoami), gen_server:call(P, {mul, 6, 7})`), '42');
  });

  test('#13 call to a missing TS name fails fast with noproc; monitor of it too', async () => {
    assert.match(await ev(`catch gen_server:call({nosuch, '${TS}'}, x, 5000)`), /^\{'EXIT',\{noproc,/);
    assert.equal(
      await ev(
        `R = monitor(process, {nosuch, '${TS}'}), receive {'DOWN', R, process, _, W} -> W after 15000 -> none end`,
      ),
      'noproc',
    );
  });

  test('#14 call timeout: a late TS reply does not leak to the caller', async () => {
    const out = await ev(
      `T = (catch gen_server:call({calc, '${TS}'}, {sleep, 1000}, 200)), receive M -> {leak, T, M} after 1500 -> element(1, element(2, T)) end`,
    );
    assert.equal(out, 'timeout');
  });

  test('#15 gen_server:call TS→Erlang: reply, cast, noproc fast, timeout', async () => {
    const p = await probe();
    const calc = new ProcessID('calc' as Atom, E1);
    assert.equal(await inside(p, (x) => genServerCall(x, calc, tuple(atom('add'), 40, 2))), 42);
    await inside(p, (x) => genServerCast(x, calc, tuple(atom('set'), atom('k'), atom('v'))));
    assert.ok(isAtom(await inside(p, (x) => genServerCall(x, calc, tuple(atom('get'), atom('k')))), 'v'));
    const tag = await inside(p, (x) => genServerCall(x, calc, tuple(atom('from_tag'), 1)));
    assert.ok(
      tag instanceof ErlImproperList && isAtom(tag.elements[0], 'alias') && tag.tail instanceof ErlRef,
      'the [alias|Ref] tag',
    );
    const err = await inside(p, (x) =>
      genServerCall(x, new ProcessID('nosuch' as Atom, E1), atom('x'), 10000).then(
        () => undefined,
        (e: Error) => [e],
      ),
    );
    assert.ok(err !== undefined && isError(err[0], ErrProcessUnknown), `noproc, got ${err}`);
    const slow = await inside(p, (x) =>
      genServerCall(x, calc, tuple(atom('sleep'), 2000), 300).then(
        () => undefined,
        (e: Error) => [e],
      ),
    );
    assert.ok(slow !== undefined && isError(slow[0], ErrTimeout), `timeout, got ${slow}`);
    // by pid
    const pid = await inside(p, (x) => genServerCall(x, calc, atom('whoami')));
    assert.ok(pid instanceof PID && pid.node === E1);
    assert.equal(await inside(p, (x) => genServerCall(x, pid, tuple(atom('mul'), 6, 7))), 42);
  });

  test('#16 link Erlang→TS, TS dies: Erlang gets the term reason', async () => {
    const out =
      await ev(`process_flag(trap_exit, true), P = ctl:whoami('${TS}'), link(P), gen_server:cast({calc, '${TS}'}, {stop, link_test}),
      receive {'EXIT', P, R} -> R after 15000 -> none end`);
    assert.equal(out, 'link_test');
    await node.spawnRegister('calc', () => new Calc());
  });

  test('#17 link Erlang→TS, Erlang dies: the TS process gets the exit signal with the term reason', async () => {
    const p = await probe(true, 'victim');
    assert.equal(
      await ev(`P = gen_server:call({victim, '${TS}'}, whoami), spawn(fun() -> link(P), exit(boom) end), ok`),
      'ok',
    );
    const m = await p.waitFor<MessageExitPID>((m) => m instanceof MessageExitPID);
    assert.ok(reasonIs(m.reason, 'boom'), `reason ${m.reason}`);
    assert.equal(m.pid.node, E1);
    // a normal exit over an Erlang-made link reaches a trapping process as a message (Erlang's
    // rule; #18b has the non-trapping side); the marker leaves once the linker has exited (sent
    // straight after spawn, it could overtake the link and the exit on a loaded machine)
    assert.equal(
      await ev(
        `P = gen_server:call({victim, '${TS}'}, whoami), {_, M} = spawn_monitor(fun() -> link(P), exit(normal) end),
        receive {'DOWN', M, _, _, _} -> ok end, {victim, '${TS}'} ! marker, ok`,
      ),
      'ok',
    );
    // the exit left erl before the marker, on the same connection, and jumps the mailbox queue
    await p.waitFor((m) => isAtom(m, 'marker'));
    const n = p.inbox.filter((m) => m instanceof MessageExitPID);
    assert.equal(n.length, 1, 'the trapped normal exit');
    assert.ok(n[0]!.reason === TerminateReasonNormal && n[0]!.pid.node === E1, `reason ${n[0]!.reason}`);
  });

  test('#18 link TS→Erlang both ways: Erlang dies → TS gets bye; TS dies with {shutdown,x} → Erlang gets it', async () => {
    const p = await probe(true);
    const calc = await inside(p, (x) => genServerCall(x, new ProcessID('calc' as Atom, E1), atom('whoami')));
    assert.ok(calc instanceof PID);
    await inside(p, (x) => x.link(calc));
    await synced(p);
    await ev(`gen_server:cast(calc, {stop, bye}), ok`);
    const m = await p.waitFor<MessageExitPID>((m) => m instanceof MessageExitPID);
    assert.ok(reasonIs(m.reason, 'bye') && m.pid.equals(calc), `reason ${m.reason}`);
    await ev(`{ok, _} = calc_server:start(), ok`);
    // reverse: an Erlang process that traps exits; our process links to it and stops
    await node.spawnRegister(
      'linker',
      () =>
        new (class extends Probe {
          override handleMessage(_f: PID, msg: unknown) {
            if (msg instanceof ErlTuple && isAtom(msg.get(0), 'link_me')) {
              this.link(msg.get(1) as PID);
              return new ErlangReason(tuple(atom('shutdown'), atom('x')));
            }
            return undefined;
          }
        })(),
    );
    const out = await ev(
      `process_flag(trap_exit, true), {linker, '${TS}'} ! {link_me, self()}, receive {'EXIT', From, R} -> {node(From), R} after 15000 -> none end`,
    );
    assert.equal(out, `{'${TS}',{shutdown,x}}`);
  });

  test('#18b a normal exit never ends a linked TS process that does not trap exits, whoever linked', async () => {
    // a witness monitors the process under test: its down, if any, races the marker
    const witness = await probe();
    /** The marker (the process lived on) or the down (it ended), whichever comes first. */
    const outcome = (p: Probe): Promise<unknown> =>
      Promise.race([
        p.waitFor((m) => isAtom(m, 'marker')),
        witness.waitFor((m) => m instanceof MessageDownPID && m.pid.equals(p.pid)),
      ]);
    /** An Erlang process registered as `name`, its pid sent to the TS process `to`; it exits normal on `go`. */
    const worker = async (p: Probe, to: string, name: string): Promise<PID> => {
      await ev(
        `W = spawn(fun() -> receive go -> exit(normal) end end), register(${name}, W), {${to}, '${TS}'} ! {worker, W}, ok`,
      );
      const got = await p.waitFor<ErlTuple>((m) => m instanceof ErlTuple && isAtom(m.get(0), 'worker'));
      return got.get(1) as PID;
    };
    const goAndMark = (name: string, to: string): Promise<string> =>
      ev(
        `R = monitor(process, ${name}), ${name} ! go, receive {'DOWN', R, _, _, _} -> ok end, {${to}, '${TS}'} ! marker, ok`,
      );

    // the TS process linked, it does not trap exits: it lives on
    const a = await probe(false, 'nlink_a');
    await inside(witness, (x) => x.monitor(a.pid));
    const wa = await worker(a, 'nlink_a', 'nworker_a');
    await inside(a, (x) => x.link(wa));
    await synced(a);
    assert.equal(await goAndMark('nworker_a', 'nlink_a'), 'ok');
    assert.ok(isAtom(await outcome(a), 'marker'), 'a TS-made link: normal did not end the process');

    // the TS process linked and traps exits: the exit arrives as a message with reason normal
    const b = await probe(true, 'nlink_b');
    const wb = await worker(b, 'nlink_b', 'nworker_b');
    await inside(b, (x) => x.link(wb));
    await synced(b);
    assert.equal(await goAndMark('nworker_b', 'nlink_b'), 'ok');
    await b.waitFor((m) => isAtom(m, 'marker'));
    const exits = b.inbox.filter((m) => m instanceof MessageExitPID);
    assert.equal(exits.length, 1, 'the trapped normal exit');
    assert.ok(exits[0]!.pid.equals(wb) && exits[0]!.reason === TerminateReasonNormal, `exit ${exits[0]!.reason}`);

    // the Erlang process linked, the TS process does not trap exits: it lives on too
    const c = await probe(false, 'nlink_c');
    await inside(witness, (x) => x.monitor(c.pid));
    assert.equal(
      await ev(
        `P = gen_server:call({nlink_c, '${TS}'}, whoami), {_, M} = spawn_monitor(fun() -> link(P), exit(normal) end),
        receive {'DOWN', M, _, _, _} -> ok end, {nlink_c, '${TS}'} ! marker, ok`,
      ),
      'ok',
    );
    assert.ok(isAtom(await outcome(c), 'marker'), 'an Erlang-made link: normal did not end the process');

    // any other reason still ends it over a TS-made link
    const d = await probe(false, 'nlink_d');
    await inside(witness, (x) => x.monitor(d.pid));
    const wd = await worker(d, 'nlink_d', 'nworker_d');
    await inside(d, (x) => x.link(wd));
    await synced(d);
    assert.equal(await ev(`exit(whereis(nworker_d), boom), ok`), 'ok');
    const down = await witness.waitFor<MessageDownPID>((m) => m instanceof MessageDownPID && m.pid.equals(d.pid));
    assert.ok(down.reason.message.includes('boom'), `down ${down.reason.message}`);
  });

  test('#19 unlink: UNLINK_ID both ways, no exit after unlinking', async () => {
    const out =
      await ev(`process_flag(trap_exit, true), P = ctl:whoami('${TS}'), link(P), unlink(P), gen_server:cast({calc, '${TS}'}, {stop, x}),
      receive M -> M after 1000 -> none end`);
    assert.equal(out, 'none');
    await node.spawnRegister('calc', () => new Calc());
    const p = await probe(true, 'unlinker');
    const calc = await inside(p, (x) => genServerCall(x, new ProcessID('calc' as Atom, E1), atom('whoami')));
    await inside(p, (x) => x.link(calc as PID));
    await inside(p, (x) => x.unlink(calc as PID));
    // the stop's EXIT (if any) would be written before the marker sent after calc is gone
    await ev(
      `R = monitor(process, calc), gen_server:cast(calc, {stop, x}), receive {'DOWN', R, _, _, _} -> ok end, {unlinker, '${TS}'} ! marker, calc_server:start(), ok`,
    );
    await p.waitFor((m) => isAtom(m, 'marker'));
    assert.equal(p.inbox.filter((m) => m instanceof MessageExitPID).length, 0, 'no exit after unlink');
  });

  test('#20 monitors Erlang→TS by pid and by name: DOWN with the term reason', async () => {
    assert.equal(
      await ev(`P = ctl:whoami('${TS}'), R = monitor(process, P), gen_server:cast({calc, '${TS}'}, {stop, monitor_test}),
      receive {'DOWN', R, process, _, W} -> W after 15000 -> none end`),
      'monitor_test',
    );
    await node.spawnRegister('calc', () => new Calc());
    assert.equal(
      await ev(`R = monitor(process, {calc, '${TS}'}), gen_server:cast({calc, '${TS}'}, {stop, name_monitor_test}),
      receive {'DOWN', R, process, O, W} -> {O, W} after 15000 -> none end`),
      `{{calc,'${TS}'},name_monitor_test}`,
    );
    await node.spawnRegister('calc', () => new Calc());
  });

  test('#21 monitors TS→Erlang by pid and by name; demonitor stops them', async () => {
    // an Erlang process registered as `watched` that stops with `bye` when told
    assert.equal(
      await ev(`W = spawn(fun() -> register(watched, self()), receive stop -> exit(bye) end end), is_pid(W)`),
      'true',
    );
    const p = await probe();
    const name = new ProcessID('watched' as Atom, E1);
    const q = await probe(false, 'probe_w');
    assert.equal(await ev(`{probe_w, '${TS}'} ! {pid, whereis(watched)}, ok`), 'ok');
    const got = await q.waitFor<ErlTuple>((m) => m instanceof ErlTuple && isAtom(m.get(0), 'pid'));
    const pid = got.get(1) as PID;
    await inside(q, (x) => x.monitor(pid));
    await inside(q, (x) => x.demonitor(pid));
    await inside(p, (x) => x.monitor(pid));
    await inside(p, (x) => x.monitor(name));
    // the stop travels through erl's stdin, not the connection: let erl read our monitors first
    await synced(p);
    assert.equal(await ev(`watched ! stop, ok`), 'ok');
    const d1 = await p.waitFor<MessageDownPID>((m) => m instanceof MessageDownPID);
    assert.ok(d1.pid.equals(pid) && reasonIs(d1.reason, 'bye'), `down ${d1.pid} ${d1.reason.message}`);
    const d2 = await p.waitFor<MessageDownProcessID>((m) => m instanceof MessageDownProcessID);
    assert.ok(d2.processID.name === 'watched' && reasonIs(d2.reason, 'bye'));
    await inside(q, (x) => x.send(new ProcessID('echo' as Atom, E1), tuple(x.pid, atom('m'))));
    await q.waitFor((m) => m instanceof ErlTuple && isAtom(m.get(0), 'echo'));
    assert.equal(q.inbox.filter((m) => m instanceof MessageDownPID).length, 0, 'demonitored: no down');
  });

  test('#11 unicode atoms and limits: a 256-character atom fails locally, the connection stays', async () => {
    const p = await probe();
    await inside(p, (x) =>
      assert.throws(() => x.send(new ProcessID('echo' as Atom, E1), tuple(x.pid, atom('x'.repeat(256)))), {
        code: 'ERR_ETF_ATOM_TOO_LONG',
      }),
    );
    await inside(p, (x) => x.send(new ProcessID('echo' as Atom, E1), tuple(x.pid, atom('привет_λ'))));
    const m = await p.waitFor<ErlTuple>((m) => m instanceof ErlTuple && isAtom(m.get(0), 'echo'));
    assert.ok(isAtom(m.get(1), 'привет_λ'));
  });

  test('#26 rpc without SPAWN: {badrpc, notsup}', async () => {
    assert.equal(await ev(`rpc:call('${TS}', erlang, node, [], 2000)`), '{badrpc,notsup}');
    assert.equal(await ev(`net_adm:ping('${TS}')`), 'pong', 'connection unaffected');
  });

  test('#25 hidden mode through attachErlang: ping answers, not in nodes(), in nodes(hidden)', async () => {
    const h = await startNode('tsh@127.0.0.1' as Atom, { log: { defaultLogger: { disable: true } } });
    try {
      await attachErlang(h, {
        cookie: 'abc',
        host: '127.0.0.1',
        epmd: { port: epmd.port },
        epmdServer: false,
        hidden: true,
      });
      assert.equal(await ev(`net_adm:ping('tsh@127.0.0.1')`), 'pong');
      assert.equal(
        await ev(`{lists:member('tsh@127.0.0.1', nodes()), lists:member('tsh@127.0.0.1', nodes(hidden))}`),
        '{false,true}',
      );
    } finally {
      await h.stop();
    }
  });

  test('#6 wrong cookie through attachErlang, both ways: pang for Erlang, a refused dial for us', async () => {
    const w = await startNode('tsw@127.0.0.1' as Atom, { log: { defaultLogger: { disable: true } } });
    try {
      const we = await attachErlang(w, {
        cookie: 'wrong',
        host: '127.0.0.1',
        epmd: { port: epmd.port },
        epmdServer: false,
      });
      assert.equal(await ev(`net_adm:ping('tsw@127.0.0.1')`), 'pang');
      await assert.rejects(
        we.connect(E1),
        (e: Error & { code?: string }) =>
          e.code === 'ERR_NO_CONNECTION' && (e.cause as { code?: string } | undefined)?.code === 'ERR_HANDSHAKE_COOKIE',
      );
      assert.deepEqual(we.nodes(), []);
      assert.equal(await ev(`lists:member('tsw@127.0.0.1', nodes(connected))`), 'false');
    } finally {
      await w.stop();
    }
  });

  test('#5 mandatory flags through attachErlang: without HANDSHAKE_23 Erlang refuses both ways', async () => {
    const o = await startNode('tsold@127.0.0.1' as Atom, { log: { defaultLogger: { disable: true } } });
    try {
      const oe = await attachErlang(o, {
        cookie: 'abc',
        host: '127.0.0.1',
        epmd: { port: epmd.port },
        epmdServer: false,
        flags: DEFAULT_FLAGS & ~(DFLAG.HANDSHAKE_23 | DFLAG.MANDATORY_25_DIGEST),
      });
      await assert.rejects(
        oe.connect(E1),
        (e: Error & { code?: string }) =>
          e.code === 'ERR_NO_CONNECTION' &&
          (e.cause as { code?: string } | undefined)?.code === 'ERR_HANDSHAKE_NOT_ALLOWED',
      );
      assert.equal(await ev(`net_adm:ping('tsold@127.0.0.1')`), 'pang');
      assert.deepEqual(oe.nodes(), []);
    } finally {
      await o.stop();
    }
  });

  test('#10 a 10 MB binary through the node: fragmented both ways, back intact', async () => {
    const p = await probe();
    const dist = erlang.connectionOf(E1)!.dist!;
    const [fin, fout] = [dist.fragmentsIn, dist.fragmentsOut];
    const big = Buffer.alloc(10 * 1024 * 1024, 7);
    big[12345] = 1;
    await inside(p, (x) => x.send(new ProcessID('echo' as Atom, E1), tuple(x.pid, atom('big'), big)));
    const m = await p.waitFor<ErlTuple>((m) => m instanceof ErlTuple && isAtom(m.get(1), 'big'));
    assert.ok(Buffer.compare(m.get(2) as Buffer, big) === 0);
    assert.ok(dist.fragmentsOut - fout >= 160 && dist.fragmentsIn - fin >= 160, 'fragments both ways');
  });

  test('#24 ticks: idle connection kept; a stopped erl is dropped by our peer timeout; reconnect on demand', async () => {
    const dist = erlang.connectionOf(E1)!.dist!;
    const before = dist.ticksIn;
    // net_ticktime 4: erl ticks every second while idle, we tick every 500 ms
    while (dist.ticksIn < before + 2) await once(dist, 'tick');
    assert.ok(dist.open);
    const p = await probe();
    await inside(p, (x) => x.monitorNode(E1));
    process.kill(e1.proc.pid!, 'SIGSTOP');
    try {
      const down = await p.waitFor<MessageDownNode>((m) => m instanceof MessageDownNode);
      assert.equal(down.name, E1);
    } finally {
      process.kill(e1.proc.pid!, 'SIGCONT');
    }
    await erlang.connect(E1);
    await inside(p, (x) => x.send(new ProcessID('echo' as Atom, E1), tuple(x.pid, atom('back'))));
    await p.waitFor((m) => m instanceof ErlTuple && isAtom(m.get(1), 'back'));
  });

  test('#22/#23 node down by kill -9, then a restart with a new creation', async () => {
    const p = await probe(true);
    const calc = (await inside(p, (x) => genServerCall(x, new ProcessID('calc' as Atom, E1), atom('whoami')))) as PID;
    const echoPid = await ev(`P = whereis(echo), {echo, '${TS}'} ! {P, x}, ok`);
    assert.equal(echoPid, 'ok');
    await inside(p, (x) => x.link(calc));
    await inside(p, (x) => x.monitor(new ProcessID('echo' as Atom, E1)));
    await inside(p, (x) => x.monitorNode(E1));
    // node notices (monitorNodes) cover Erlang connections too
    assert.deepEqual(await inside(p, (x) => x.monitorNodes()), [E1]);
    await synced(p);
    await e1.kill();
    const gone = await p.waitFor<MessageNodeDown>((m) => m instanceof MessageNodeDown && m.name === E1);
    assert.ok(gone.reason instanceof Error);
    const exit = await p.waitFor<MessageExitPID>((m) => m instanceof MessageExitPID);
    assert.ok(isError(exit.reason, ErrNoConnection), `exit ${exit.reason}`);
    const down = await p.waitFor<MessageDownProcessID>((m) => m instanceof MessageDownProcessID);
    assert.ok(isError(down.reason, ErrNoConnection));
    e1 = await startE1();
    // the name works again on a new connection; the old incarnation's pid is refused
    await inside(p, (x) => x.send(new ProcessID('echo' as Atom, E1), tuple(x.pid, atom('again'))));
    const m = await p.waitFor<ErlTuple>((m) => m instanceof ErlTuple && isAtom(m.get(1), 'again'));
    assert.ok(m);
    await p.waitFor<MessageNodeUp>((m) => m instanceof MessageNodeUp && m.name === E1);
    await inside(p, (x) => x.demonitorNodes());
    const fresh = (await inside(p, (x) => genServerCall(x, new ProcessID('calc' as Atom, E1), atom('whoami')))) as PID;
    assert.notEqual(fresh.creation, calc.creation, 'new creation');
    await inside(p, (x) =>
      assert.throws(
        () => x.send(calc, atom('stale')),
        (e: Error) => isError(e, ErrProcessIncarnation),
      ),
    );
  });

  test('#22 (Erlang side) a monitor and a link on a TS process see noconnection when the TS node is killed', async () => {
    const child = new LineProcess(process.execPath, [
      fileURLToPath(new URL('./ts_node_child.js', import.meta.url)),
      'tsk@127.0.0.1',
      String(epmd.port),
    ]);
    try {
      await child.waitFor(/^ready/, 20000);
      const pending = ev(
        `process_flag(trap_exit, true), P = gen_server:call({calc, 'tsk@127.0.0.1'}, whoami), link(P), R = monitor(process, P), io:format("WATCHING~n"),
        A = receive {'DOWN', R, process, P, W1} -> W1 after 15000 -> none end, B = receive {'EXIT', P, W2} -> W2 after 10000 -> none end, {A, B}`,
        30000,
      );
      await e1.waitFor(/^WATCHING/, 20000, e1.lines.length - 5);
      await child.kill();
      assert.equal(await pending, '{noconnection,noconnection}');
    } finally {
      await child.kill();
    }
  });

  void Ref;
  void ErrNoConnection;
  void ErrProcessIncarnation;
  void MessageDownPID;
  void MessageDownProcessID;
  void MessageExitPID;
  void reasonIs;
});
