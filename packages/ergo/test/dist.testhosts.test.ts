// The distributed scenarios across hosts: two ergo-ts nodes (dist_fixture.ts, each in its own
// OS process) in two test hosts — network namespaces of @ergo-ts/test-support joined by a switch —
// with 5 ms of delay each way and 1 % of packets lost each way between them, instead of one
// machine's loopback. Both ways: calls, remote spawn, links and monitors with real reasons,
// trapped exit signals, events (buffer and publish), important delivery (delivered, and a
// refusal for an unknown name) and kill -9 of a node (links, monitors, node monitors and a
// pending call all fire with ErrNoConnection). The loopback versions are dist.process.test.ts.
// Skips without root/ip/nft (fails under CI=true).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { eventually, requireHosts, TestHosts } from '@ergo-ts/test-support';
import { startChild, type ChildNode } from './dist_helpers.js';

type Plain = Record<string, unknown>;
const pidOf = (p: unknown): Plain => (p as { pid: Plain }).pid;

async function routeEachOther(a: ChildNode, b: ChildNode, aAddr: string, bAddr: string): Promise<void> {
  await a.cmd('route', { match: b.name.replace(/[.$]/g, '\\$&'), port: b.port, host: bAddr });
  await b.cmd('route', { match: a.name.replace(/[.$]/g, '\\$&'), port: a.port, host: aAddr });
}

test('distributed scenarios across two hosts with 5 ms delay and 1 % loss each way', async (t) => {
  if (!requireHosts(t)) return;
  const hosts = await TestHosts.create({ names: ['a', 'b'] });
  t.after(() => hosts.dispose());
  await hosts.delay('a', 'b', { ms: 5 });
  await hosts.loss('a', 'b', 1);
  const [ha, hb] = [hosts.host('a'), hosts.host('b')];
  const a = await startChild(`dha${process.pid}@${ha.address}`, ha);
  t.after(() => a.kill());
  const b = await startChild(`dhb${process.pid}@${hb.address}`, hb);
  t.after(() => b.kill());
  await routeEachOther(a, b, ha.address, hb.address);

  await t.test('calls both ways', async () => {
    const toB = { name: 'echo', node: b.name };
    const toA = { name: 'echo', node: a.name };
    assert.equal(await a.cmd('watcher', { req: { op: 'call', target: toB, req: 'ping' } }), 'pong');
    assert.equal(await b.cmd('watcher', { req: { op: 'call', target: toA, req: 'ping' } }), 'pong');
    // A burst of calls in a row, each through the delayed, lossy path.
    for (let i = 0; i < 20; i++)
      assert.equal(await a.cmd('watcher', { req: { op: 'call', target: toB, req: i, timeout: 10_000 } }, 15_000), i);
  });

  await t.test('remote spawn; links and monitors with real reasons; trapped exits', async () => {
    await b.cmd('enable_spawn');
    const spawned = pidOf(await a.cmd('spawn_remote', { node: b.name, name: 'child_worker', register: 'w1' }));
    assert.equal(spawned['node'], b.name);
    const report = await b.report((r) => r.what === 'spawned' && r.name === 'w1', 'w1 spawned on b');
    assert.equal(pidOf(report.parent)['node'], a.name, 'parent is the remote spawner');
    const w1 = { name: 'w1', node: b.name };
    assert.equal(await a.cmd('watcher', { req: { op: 'monitor', target: w1 } }), 'ok');
    assert.equal(await a.cmd('watcher', { req: { op: 'link', target: { pid: spawned } } }), 'ok');
    // Ordered after the link/monitor requests on the same connection.
    assert.equal(
      await a.cmd('watcher', { req: { op: 'call', target: w1, req: 'sync', timeout: 10_000 } }, 15_000),
      'sync',
    );
    assert.equal(await a.cmd('watcher', { req: { op: 'send', target: w1, msg: 'crash' } }), 'ok');
    const down = await a.report((r) => r.what === 'message' && r.type === 'MessageDownProcessID', 'down for w1 on a');
    assert.equal(down.reason, 'crash');
    const exit = await a.report((r) => r.what === 'message' && r.type === 'MessageExitPID', 'exit for w1 on a');
    assert.equal(exit.reason, 'crash');
  });

  await t.test('events: subscribe across hosts, get the buffer and a publish', async () => {
    await b.cmd('events', { req: { op: 'publish', msg: 'before' } });
    const buffered = await a.cmd('watcher', {
      req: { op: 'monitor', target: { event: 'child_events', node: b.name } },
    });
    assert.deepEqual(buffered, ['before']);
    await b.cmd('events', { req: { op: 'publish', msg: 'after' } });
    const ev = await a.report((r) => r.what === 'event' && r.msg === 'after', 'event on a');
    assert.equal((ev.event as Plain)['node'], b.name);
  });

  await t.test('important delivery: delivered, and an unknown name refused', async () => {
    assert.equal(
      await a.cmd('watcher', { req: { op: 'send_important', target: { name: 'echo', node: b.name }, msg: 'hi' } }),
      'ok',
    );
    assert.deepEqual(
      await a.cmd('watcher', { req: { op: 'send_important', target: { name: 'nobody', node: b.name }, msg: 'hi' } }),
      { refused: 'ERR_PROCESS_UNKNOWN' },
    );
  });

  await t.test('kill -9 of a node: node monitor, link and a pending call fire with noconnection', async () => {
    assert.equal(await a.cmd('watcher', { req: { op: 'monitor', target: { node: b.name } } }), 'ok');
    assert.equal(await a.cmd('watcher', { req: { op: 'link', target: { name: 'echo', node: b.name } } }), 'ok');
    const pending = a
      .cmd('call', { target: { name: 'echo', node: b.name }, req: 'hang', timeout: 60_000 }, 70_000)
      .then(
        () => 'answered',
        (e: unknown) => String(e),
      );
    // The call is registered on a (the watcher runs it in its handler); the node ends under it.
    await eventually(
      async () => ((await a.cmd('tables', { node: b.name })) as { calls: number }).calls >= 1,
      'call pending on a',
    );
    b.kill();
    // b's kernel closes its sockets at once; across 1 % loss a lost FIN is resent after its
    // retransmission timeout, but a lost RST (a socket closed with unread data) is not: a then
    // learns from the RST its next heartbeat draws, or at the latest when the connection stalls
    // (peerStallTimeout 15 s to 1.5x it). Seen once in a full run under load: 8 s was not enough.
    const nodeDown = await a.report(
      (r) => r.what === 'message' && r.type === 'MessageDownNode',
      'node down on a',
      25_000,
    );
    assert.ok(nodeDown);
    const exit = await a.report(
      (r) => r.what === 'message' && r.type === 'MessageExitProcessID',
      'link exit for b/echo on a',
    );
    assert.match(String(exit.reason), /no connection/);
    assert.match(await pending, /no connection/i);
  });
});
