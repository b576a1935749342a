// startErlangEndpoint against a real `erl` and `epmd`: the distribution run for a name and a Core
// supplied by the caller (here the Core of an ergo-ts node, taken through attachProtocol, with no
// attachErlang). The Erlang node resolves the name through EPMD and reaches the Core's processes
// (a send, a gen_server call), the node reaches an Erlang gen_server through
// `endpoint.connection`, the endpoint is a hidden node, a second endpoint under the name is
// ERR_TAKEN, bad options are ERR_INCORRECT, and `stop()` is `noconnection` for an Erlang monitor.
// One Erlang node (e1@127.0.0.1, driven by ctl.erl) on a private epmd; skips without Erlang.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { attachProtocol, ProcessID, startNode, type Atom, type Core } from 'ergo-ts';

import { atom, ErlTuple, isAtom, startErlangEndpoint, tuple, type ErlangEndpoint } from '../src/index.js';
import { compileErl, missingTool, startEpmd, startErl, tempDir } from './erl_helpers.js';
import { erlEval, Probe } from './node_helpers.js';

const why = missingTool('erl', 'erlc', 'epmd');
const EP = 'ep@127.0.0.1' as Atom;
const E1 = 'e1@127.0.0.1' as Atom;

test(
  'an Erlang node reaches the Core of an endpoint by its name, and the endpoint reaches Erlang',
  { skip: why },
  async (t) => {
    const tmp = tempDir('erlep-');
    t.after(() => tmp.remove());
    compileErl(tmp.dir, 'ctl', 'calc_server');
    const epmd = await startEpmd();
    t.after(() => epmd.proc.kill());
    const env = { ERL_EPMD_PORT: String(epmd.port), ERL_EPMD_ADDRESS: '127.0.0.1' };
    const e1 = await startErl(
      ['-name', E1, '-setcookie', 'abc', '-start_epmd', 'false', '-kernel', 'inet_dist_use_interface', '{127,0,0,1}'],
      'ctl:start().',
      env,
      [tmp.dir],
    );
    t.after(() => e1.kill());
    const ev = (expr: string): Promise<string> => erlEval(e1, expr);

    const node = await startNode(EP, { log: { defaultLogger: { disable: true } } });
    t.after(() => node.stop());
    // The node's own Core, with the endpoint as its protocol for Erlang nodes.
    let ep: ErlangEndpoint | undefined;
    let core!: Core;
    attachProtocol(node, (c) => {
      core = c;
      return { connection: (n) => ep?.connection(n), stop: () => ep?.stop() };
    });
    const options = { core, log: node.log, cookie: 'abc', host: '127.0.0.1', epmd: { port: epmd.port } };
    await assert.rejects(startErlangEndpoint({ ...options, cookie: '' }), { code: 'ERR_INCORRECT' });
    ep = await startErlangEndpoint(options);
    assert.equal(ep.name, EP);
    assert.equal(await ev(`erl_epmd:port_please("ep", "127.0.0.1")`), `{port,${ep.port},6}`);
    await assert.rejects(startErlangEndpoint(options), { code: 'ERR_TAKEN' });

    // Erlang → the Core: a send to a registered process, a gen_server call (Probe answers whoami).
    await node.spawnRegister('probe', () => new Probe());
    const probe = Probe.last!;
    assert.equal(await ev(`{probe, '${EP}'} ! {hello, 1}, ok`), 'ok');
    const hello = await probe.waitFor<ErlTuple>((m) => m instanceof ErlTuple && isAtom(m.get(0), 'hello'));
    assert.equal(hello.get(1), 1);
    assert.match(await ev(`gen_server:call({probe, '${EP}'}, whoami)`), /^<\d+\.\d+\.\d+>$/);
    // A hidden node: in nodes(hidden), not in nodes().
    assert.equal(await ev(`{lists:member('${EP}', nodes()), lists:member('${EP}', nodes(hidden))}`), '{false,true}');

    // The node → Erlang through the endpoint's connection: a gen_server call by name.
    assert.equal(await node.call(new ProcessID('calc' as Atom, E1), tuple(atom('add'), 40, 2)), 42);
    assert.deepEqual(ep.nodes(), [E1]);

    // An Erlang monitor of the probe (its call after the monitor answers once it is in place)
    // fires with noconnection when the endpoint stops.
    const from = e1.lines.length;
    const watching = await ev(
      `Self = self(), spawn(fun() -> P = gen_server:call({probe, '${EP}'}, whoami), R = erlang:monitor(process, P), ` +
        `Self ! {watching, gen_server:call(P, whoami) =:= P}, receive {'DOWN', R, process, _, Why} -> ` +
        `io:format("DOWN ~w~n", [Why]) end end), receive {watching, W} -> W end`,
    );
    assert.equal(watching, 'true');
    await ep.stop();
    assert.equal(await e1.waitFor(/^DOWN /, 20000, from), 'DOWN noconnection');
  },
);
