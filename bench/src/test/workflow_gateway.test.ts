// A workflow waiting for a signal is woken by a plain call from a real Erlang node, and by one from
// a real Go Ergo 3.2 node (../shared/peers/ergo-peer, a `map[string]any`): the workflow
// gateway (`startWorkflowGateway`, registered as 'workflows') takes `{signal, Workflow, Id, Name,
// Payload}` as Erlang sends it (binaries and an integer), hands it to the instance, and answers
// the gen_server:call with 'accepted' (a binary to Erlang); the same signal id again is a
// 'duplicate', even after the instance completed; a cancel by tuple
// ends another instance; an update by tuple is answered the body's answer (an Erlang integer), the
// same update id again the same answer, the body taking it once. The Erlang node is `erl` itself (Debian's erlang-base), on a private EPMD
// served by the ergo-ts node; without erl the test skips with the reason (and fails under CI=true).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';

import { attachErlang } from '@ergo-ts/erlang';
import { MemoryStore, defineUpdate, defineWorkflow, startEntities, startWorkflowGateway } from '@ergo-ts/entities';
import { Peer, freeTcpUdpPort, requirePeer } from '@ergo-ts/test-support';
import { schema, startNode, type Atom } from 'ergo-ts';

const missing =
  spawnSync('erl', ['-version'], { encoding: 'utf8' }).error !== undefined ? 'erl is not installed' : undefined;
if (missing !== undefined && process.env.CI === 'true') throw new Error(`${missing}: required under CI`);

const Order = defineWorkflow(
  'order',
  async (ctx, _input: { item: string }) => {
    const paid = await ctx.signal('paid');
    return { paid };
  },
  { signals: { paid: schema.unknown() } },
);

/** Adds what each `add` update brings and answers the total. */
const Tally = defineWorkflow(
  'tally',
  { updates: { add: defineUpdate({ input: schema.number(), output: schema.number() }) } },
  async (ctx, _input: null) => {
    let total = 0;
    for (;;) {
      const u = await ctx.update('add');
      await u.reply((total += u.input));
    }
  },
);

/** Runs `expr` in a fresh `erl` node (`e<pid>@127.0.0.1`) connected through `epmdPort`; resolves with what it printed. */
function erlRun(epmdPort: number, expr: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      'erl',
      [
        '-name',
        `wfe${process.pid}@127.0.0.1`,
        '-setcookie',
        'wf',
        '-noshell',
        '-start_epmd',
        'false',
        '-eval',
        `${expr}, init:stop().`,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ERL_EPMD_PORT: String(epmdPort), ERL_EPMD_ADDRESS: '127.0.0.1' },
      },
    );
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (out += b.toString()));
    p.on('error', reject);
    p.on('exit', () => resolve(out.trim()));
  });
}

test('an Erlang node signals and cancels workflow instances through the gateway', { skip: missing }, async (t) => {
  const epmdPort = await freeTcpUdpPort();
  const node = await startNode(`wfts${process.pid}@127.0.0.1` as Atom, { log: { level: 'warning' } });
  t.after(() => node.stop());
  await attachErlang(node, { cookie: 'wf', host: '127.0.0.1', epmd: { port: epmdPort }, epmdServer: true });
  const entities = await startEntities(node, { store: new MemoryStore(), kinds: [Order, Tally] });
  t.after(() => entities.stop());
  await startWorkflowGateway(node, entities);
  const o1 = await entities.workflows.start(Order, 'o1', { item: 'book' });
  const tally = await entities.workflows.start(Tally, 't1', null);
  const o2 = await entities.workflows.start(Order, 'o2', { item: 'pen' });
  const ts = `'wfts${process.pid}@127.0.0.1'`;
  const out = await erlRun(
    epmdPort,
    `io:format("~p~n", [gen_server:call({workflows, ${ts}}, {signal, <<"order">>, <<"o1">>, <<"paid">>, 42, <<"pay-1">>}, 10000)]),` +
      `io:format("~p~n", [gen_server:call({workflows, ${ts}}, {signal, <<"order">>, <<"o1">>, <<"paid">>, 42, <<"pay-1">>}, 10000)]),` +
      `io:format("~p~n", [gen_server:call({workflows, ${ts}}, {cancel, <<"order">>, <<"o2">>, <<"out of stock">>}, 10000)]),` +
      `io:format("~p~n", [gen_server:call({workflows, ${ts}}, {update, <<"tally">>, <<"t1">>, <<"add">>, 2, <<"up-1">>}, 10000)]),` +
      `io:format("~p~n", [gen_server:call({workflows, ${ts}}, {update, <<"tally">>, <<"t1">>, <<"add">>, 2, <<"up-1">>}, 10000)]),` +
      `io:format("~p~n", [gen_server:call({workflows, ${ts}}, {update, <<"tally">>, <<"t1">>, <<"add">>, 3, <<"up-2">>}, 10000)])`,
  );
  const lines = out.split('\n').map((l) => l.trim());
  assert.deepEqual(lines.slice(-6), ['<<"accepted">>', '<<"duplicate">>', '<<"cancelled">>', '2', '2', '5'], out);
  const taken = (await tally.describe()).history.filter((e) => e.t === 'update');
  assert.deepEqual(
    taken.map((e) => (e.v as { id: string }).id),
    ['up-1', 'up-2'],
    'each update taken once',
  );
  assert.deepEqual(await o1.result(), { paid: 42 });
  await assert.rejects(
    o2.result(),
    (e: Error & { code?: string }) => e.code === 'ERR_WORKFLOW_CANCELLED' && /out of stock/.test(e.message),
  );
});

test('a Go Ergo node signals a workflow instance through the gateway with a map', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const name = `wfgo${process.pid}@localhost`;
  const node = await startNode(`wftsg${process.pid}@localhost` as Atom, {
    log: { level: 'warning' },
    network: { cookie: 'wfgo', acceptors: [{ port: 0 }], registrar: null },
  });
  t.after(() => node.stop());
  const entities = await startEntities(node, { store: new MemoryStore(), kinds: [Order] });
  t.after(() => entities.stop());
  await startWorkflowGateway(node, entities);
  const i = node.network().acceptors()[0]!.info().interface;
  const port = Number(i.slice(i.lastIndexOf(':') + 1));
  const go = await Peer.start(bin, [
    '-name',
    name,
    '-registrar',
    'none',
    '-cookie',
    'wfgo',
    '-route',
    `${node.name}=127.0.0.1:${port}`,
  ]);
  t.after(() => go.stop());
  const o3 = await entities.workflows.start(Order, 'o3', { item: 'lamp' });
  const to = { name: 'workflows', node: node.name };
  const req = { workflow: 'order', id: 'o3', signal: 'paid', payload: 7, signalId: 'g-1' };
  const first = await go.cmd('call', { to, req, timeout: 10 });
  assert.equal(first.value, 'accepted', JSON.stringify(first));
  assert.equal((await go.cmd('call', { to, req, timeout: 10 })).value, 'duplicate');
  assert.deepEqual(await o3.result(), { paid: 7 });
});
