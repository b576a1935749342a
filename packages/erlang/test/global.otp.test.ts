// Issue 18 item 9: the ergo-ts node as a visible member of a 3-node Erlang/OTP cluster (global and pg). Three
// `erl` nodes (g1, g2, g3, each its own OS process, meshed through global) and the ergo-ts node
// (this process) that dials only g1: global's handshake runs with g1, the TS node learns g2 and g3
// and connects to them, `global:sync()` completes on every Erlang node, and global names work
// both ways (registered before and after joining, sends by name, a name going away with its
// process or its node, unregister, a taken name refused).

import { after, before, describe, test } from 'node:test';
import { strict as assert } from 'node:assert';
import { eventually } from '@ergo-ts/test-support';
import { PID, startNode, type Atom, type Node } from 'ergo-ts';
import { ErlTuple, ErlangReason, atom, attachErlang, isAtom, tuple, type ErlangNode } from '../src/index.js';
import { compileErl, missingTool, startEpmd, startErl, tempDir, type LineProcess } from './erl_helpers.js';
import { Echo, Probe, erlEval } from './node_helpers.js';

const why = missingTool('erl', 'erlc', 'epmd');
const TS = 'tsg@127.0.0.1' as Atom;
const G = ['g1@127.0.0.1', 'g2@127.0.0.1', 'g3@127.0.0.1'] as Atom[];

/** Bound of the polls below (the loop before: 1000 tries 20 ms apart, so at least 20 s). */
const WAIT = { timeoutMs: 20_000, intervalMs: 20 };

/** An Erlang loop waiting (20 ms steps, at most 10 s) until `expr` equals `value`; yields `ok` or `{stuck, Last}`. */
const waitErl = (expr: string, value: string): string =>
  `(fun W(0) -> {stuck, ${expr}}; W(N) -> case ${expr} of ${value} -> ok; _ -> timer:sleep(20), W(N - 1) end end)(500)`;

describe('issue 18 #9: global in a 3-node Erlang cluster', { skip: why }, () => {
  let tmp: ReturnType<typeof tempDir>;
  let epmd: Awaited<ReturnType<typeof startEpmd>>;
  let node: Node;
  let erlang: ErlangNode;
  let gs: LineProcess[] = [];
  const on = (i: number, expr: string, timeoutMs?: number): Promise<string> => erlEval(gs[i]!, expr, timeoutMs);

  before(async () => {
    tmp = tempDir('erlglobal-');
    compileErl(tmp.dir, 'ctl', 'calc_server');
    epmd = await startEpmd();
    const env = { ERL_EPMD_PORT: String(epmd.port), ERL_EPMD_ADDRESS: '127.0.0.1' };
    const args = (name: string): string[] => [
      '-name',
      name,
      '-setcookie',
      'abc',
      '-start_epmd',
      'false',
      '-kernel',
      'inet_dist_use_interface',
      '{127,0,0,1}',
      '-kernel',
      'start_pg',
      'true',
    ];
    gs = await Promise.all(G.map((g) => startErl(args(g), 'ctl:start().', env, [tmp.dir])));
    // the Erlang cluster first: g2 and g3 join g1, global meshes them
    assert.equal(await on(1, `net_adm:ping('${G[0]}')`), 'pong');
    assert.equal(await on(2, `net_adm:ping('${G[0]}')`), 'pong');
    for (let i = 0; i < 3; i++) assert.equal(await on(i, 'global:sync()', 30000), 'ok');
    assert.equal(await on(0, 'lists:sort(nodes())'), `['${G[1]}','${G[2]}']`);
    // a name registered before the TS node joins
    assert.equal(await on(1, `global:register_name(pre_g2, whereis(echo))`), 'yes');
    node = await startNode(TS, { log: { defaultLogger: { disable: true } } });
    erlang = await attachErlang(node, {
      cookie: 'abc',
      host: '127.0.0.1',
      epmd: { port: epmd.port },
      epmdServer: false,
      pg: ['pg'],
    });
    await node.spawnRegister('echo', () => new Echo());
  });

  after(async () => {
    await Promise.all(gs.map((g) => g.kill()));
    await node?.stop();
    await epmd?.proc.kill();
    tmp?.remove();
  });

  test('dialling g1 only: the mesh forms and global:sync() completes on every Erlang node', async () => {
    await erlang.connect(G[0]!);
    await eventually(() => G.every((g) => erlang.nodes().includes(g)), 'the TS node connected to g1, g2 and g3', WAIT);
    for (let i = 0; i < 3; i++) {
      assert.equal(await on(i, 'global:sync()', 30000), 'ok', `global:sync() on ${G[i]}`);
      assert.equal(await on(i, `lists:member('${TS}', nodes())`), 'true', `${G[i]} sees the TS node`);
      assert.equal(await on(i, `lists:member('${TS}', gen_server:call(global_name_server, get_synced))`), 'true');
    }
    await erlang.global!.sync();
    for (const g of G) assert.ok(erlang.global && erlang.nodes().includes(g));
  });

  test('a name registered in Erlang before we joined, and one registered after', async () => {
    const g = erlang.global!;
    const pre = g.whereisName(atom('pre_g2'));
    assert.ok(pre instanceof PID && pre.node === G[1], `pre_g2 is ${String(pre)}`);
    assert.equal(await on(2, `global:register_name(post_g3, whereis(echo))`), 'yes');
    await eventually(() => g.whereisName(atom('post_g3')) !== undefined, 'post_g3 known on the TS node', WAIT);
    assert.equal(g.whereisName(atom('post_g3'))!.node, G[2]);
    // a send to the Erlang process by its global name's pid: it answers
    const p = await node.spawn(() => new Probe());
    const probe = Probe.last!;
    node.send(g.whereisName(atom('post_g3'))!, tuple(p, atom('via_global')));
    await probe.waitFor((m) => m instanceof ErlTuple && isAtom(m.get(1), 'via_global'));
    assert.ok(g.registeredNames().some((n) => isAtom(n, 'pre_g2')));
  });

  test('TS registers a name: every Erlang node finds it, sends by name arrive, a taken name is refused', async () => {
    const g = erlang.global!;
    const echo = await node.spawn(() => new Echo());
    assert.equal(await g.registerName(atom('ts_svc'), echo), true);
    for (let i = 0; i < 3; i++) {
      assert.equal(await on(i, `node(global:whereis_name(ts_svc))`), `'${TS}'`);
      assert.equal(
        await on(i, `global:send(ts_svc, {self(), hi}), receive {echo, hi} -> ok after 15000 -> timeout end`),
        'ok',
      );
    }
    assert.equal(g.whereisName(atom('ts_svc'))?.equals(echo), true);
    // taken, from both sides
    assert.equal(await g.registerName(atom('ts_svc'), echo), false);
    assert.equal(await on(1, `global:register_name(ts_svc, self())`), 'no');
    assert.equal(await g.registerName(atom('pre_g2'), echo), false);
    // a tuple name
    assert.equal(await g.registerName(tuple(atom('svc'), 2), echo), true);
    assert.equal(await on(2, `node(global:whereis_name({svc, 2}))`), `'${TS}'`);
    // unregister from TS
    await g.unregisterName(tuple(atom('svc'), 2));
    for (let i = 0; i < 3; i++) assert.equal(await on(i, `global:whereis_name({svc, 2})`), 'undefined');
    assert.equal(g.whereisName(tuple(atom('svc'), 2)), undefined);
  });

  test('the name of a TS process that ends goes away on every Erlang node; Erlang names the same way on TS', async () => {
    const g = erlang.global!;
    const doomed = await node.spawn(() => new Probe());
    assert.equal(await g.registerName(atom('ts_doomed'), doomed), true);
    assert.equal(await on(0, `node(global:whereis_name(ts_doomed))`), `'${TS}'`);
    node.sendExit(doomed, new ErlangReason(atom('bye')));
    for (let i = 0; i < 3; i++) assert.equal(await on(i, waitErl('global:whereis_name(ts_doomed)', 'undefined')), 'ok');
    await eventually(() => g.whereisName(atom('ts_doomed')) === undefined, 'ts_doomed gone on the TS node', WAIT);
    // an Erlang process registered by Erlang, then ended there
    assert.equal(
      await on(
        1,
        `P = spawn(fun() -> receive stop -> ok end end), yes = global:register_name(g2_tmp, P), P ! stop, ok`,
      ),
      'ok',
    );
    await eventually(
      async () => {
        return (
          (await on(1, `global:whereis_name(g2_tmp)`)) === 'undefined' && g.whereisName(atom('g2_tmp')) === undefined
        );
      },
      'g2_tmp registered and gone again on the TS node',
      // Each probe is a round trip to erl (the loop before: 200 of them): a longer bound.
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    // Erlang registers a TS process
    await node.spawnRegister('tsp', () => new Probe());
    const tsp = Probe.last!;
    assert.equal(await on(2, `global:register_name(by_erlang, gen_server:call({tsp, '${TS}'}, whoami))`), 'yes');
    assert.equal(g.whereisName(atom('by_erlang'))?.equals(tsp.pid), true);
    assert.equal(await on(0, `node(global:whereis_name(by_erlang))`), `'${TS}'`);
  });

  test('Erlang locks reach the TS node: global:trans across the cluster; a dead holder releases its lock', async () => {
    assert.equal(await on(0, `global:trans({res1, self()}, fun() -> done end)`), 'done');
    assert.equal(
      await on(
        0,
        `Me = self(), P = spawn(fun() -> Me ! {set, global:set_lock({res2, a}, ['${TS}'], 0)}, receive stop -> ok end end),
        register(holder, P), receive {set, S} -> S after 15000 -> timeout end`,
      ),
      'true',
    );
    // another requester is refused by the TS node's lock table while the holder lives
    assert.equal(await on(1, `global:set_lock({res2, b}, ['${TS}'], 0)`), 'false');
    // the holder dies without del_lock: the TS node's monitor of it releases the lock
    assert.equal(await on(0, `exit(whereis(holder), kill)`), 'true');
    assert.equal(await on(1, waitErl(`global:set_lock({res2, b}, ['${TS}'], 0)`, 'true')), 'ok');
    assert.equal(await on(1, `global:del_lock({res2, b}, ['${TS}'])`), 'true');
  });

  test('pg: TS and Erlang processes in one group of the default scope, both ways', async () => {
    const pg = erlang.pg()!;
    assert.equal(await on(1, `pg:join(grp, whereis(echo))`), 'ok');
    const echo = await node.spawn(() => new Echo());
    await pg.join(atom('grp'), echo);
    const nodesOf = `lists:usort([node(P) || P <- pg:get_members(grp)])`;
    for (let i = 0; i < 3; i++) assert.equal(await on(i, waitErl(nodesOf, `['${G[1]}','${TS}']`)), 'ok');
    await eventually(
      () => pg.getMembers(atom('grp')).some((p) => p.node === G[1]),
      'the g2 member known on the TS node',
      WAIT,
    );
    assert.deepEqual(pg.getLocalMembers(atom('grp')), [echo]);
    assert.ok(pg.whichGroups().some((g) => isAtom(g, 'grp')));
    // a message to every member: both echo back
    assert.equal(
      await on(
        2,
        `[P ! {self(), pgmsg} || P <- pg:get_members(grp)], [receive {echo, pgmsg} -> ok after 15000 -> timeout end || _ <- [1, 2]]`,
      ),
      '[ok,ok]',
    );
    // leaving, and a member that ends, leave everywhere
    assert.equal(await pg.leave(atom('grp'), echo), true);
    assert.equal(await pg.leave(atom('grp'), echo), false);
    for (let i = 0; i < 3; i++) assert.equal(await on(i, waitErl(nodesOf, `['${G[1]}']`)), 'ok');
    const short = await node.spawn(() => new Probe());
    await pg.join(tuple(atom('g'), 2), [short]);
    assert.equal(await on(0, waitErl(`length(pg:get_members({g, 2}))`, `1`)), 'ok');
    node.sendExit(short, new ErlangReason(atom('bye')));
    assert.equal(await on(0, waitErl(`pg:get_members({g, 2})`, `[]`)), 'ok');
    assert.equal(await on(1, `pg:leave(grp, whereis(echo))`), 'ok');
    await eventually(() => pg.getMembers(atom('grp')).length === 0, 'the g2 member gone on the TS node', WAIT);
  });

  test('prevent_overlapping_partitions: g1 drops the TS node, so do g2 and g3; sync completes; it rejoins', async () => {
    assert.equal(await on(0, `erlang:disconnect_node('${TS}')`), 'true');
    // g2 and g3 asked the TS node to drop them (remove_connection): nobody straddles the partition
    for (let i = 1; i < 3; i++) assert.equal(await on(i, waitErl(`lists:member('${TS}', nodes())`, 'false')), 'ok');
    for (let i = 0; i < 3; i++) assert.equal(await on(i, 'global:sync()', 30000), 'ok');
    await eventually(() => erlang.nodes().length === 0, 'the TS node dropped every connection', WAIT);
    // back on demand: the handshake runs again and the TS node's names are back everywhere
    await erlang.connect(G[0]!);
    await eventually(() => G.every((g) => erlang.nodes().includes(g)), 'the mesh again', WAIT);
    for (let i = 0; i < 3; i++) {
      assert.equal(await on(i, 'global:sync()', 30000), 'ok');
      assert.equal(await on(i, waitErl(`node(global:whereis_name(ts_svc))`, `'${TS}'`)), 'ok');
    }
    await erlang.global!.sync();
    assert.equal(erlang.global!.whereisName(atom('post_g3'))?.node, G[2]);
  });

  test('a node going down takes its names with it; the rest of the cluster stays synced', async () => {
    const g = erlang.global!;
    assert.equal(g.whereisName(atom('post_g3'))?.node, G[2]);
    await gs[2]!.kill();
    await eventually(() => g.whereisName(atom('post_g3')) === undefined, 'post_g3 gone with g3', WAIT);
    assert.ok(!erlang.nodes().includes(G[2]!));
    assert.equal(await on(0, 'global:sync()', 30000), 'ok');
    assert.equal(await on(1, `node(global:whereis_name(ts_svc))`), `'${TS}'`);
    assert.equal(g.whereisName(atom('pre_g2'))?.node, G[1]);
  });
});
