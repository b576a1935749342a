// Node notices (issue 22 item 1, Erlang's net_kernel:monitor_nodes): a process that called
// monitorNodes() gets MessageNodeUp when a connection to any node is made (dialled or accepted)
// and MessageNodeDown when it is lost (here: the peer's OS process killed with SIGKILL); the
// subscription ends with demonitorNodes() or with the process. The peer is a node in a child OS
// process (dist_fixture.ts). Also: polling getNode for an unreachable node logs one warning,
// then debug lines until it connects.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { MessageDownPID, MessageNodeDown, MessageNodeUp } from '../src/index.js';
import { engineOf } from '../src/node/internals.js';
import { parentFor, seen, startChild, watcher, type ChildNode } from './dist_helpers.js';
import { LogCapture, noUnhandled, quietNode } from './helpers.js';
import { netNode, portOf, routeTo } from './net_helpers.js';

noUnhandled();

const isUp =
  (name: string) =>
  (m: unknown): m is MessageNodeUp =>
    m instanceof MessageNodeUp && m.name === name;
const isDown =
  (name: string) =>
  (m: unknown): m is MessageNodeDown =>
    m instanceof MessageNodeDown && m.name === name;

test('monitorNodes: up on connect, down on kill -9, up again on an inbound reconnect; demonitor and process end stop it', async (t) => {
  const children: ChildNode[] = [];
  t.after(() => {
    for (const c of children) c.kill();
  });
  const c1 = await startChild(`notice_${process.pid}@localhost`);
  children.push(c1);
  const parent = await parentFor(t, 'np', c1);
  const w1 = await watcher(parent);
  const w2 = await watcher(parent);
  const w3 = await watcher(parent);
  assert.deepEqual(await w1.run((s) => s.monitorNodes()), [], 'no node connected yet');
  assert.deepEqual(await w2.run((s) => s.monitorNodes()), []);
  await w2.run((s) => s.monitorNodes()); // again: still one notice per event
  await w3.run((s) => s.monitorNodes());
  assert.equal(engineOf(parent).nodeNotices.size, 3);

  // Connect (outgoing): every subscriber hears it once.
  await parent.network().getNode(c1.name);
  await seen(w1.inbox, isUp(c1.name), 'w1 up');
  await seen(w2.inbox, isUp(c1.name), 'w2 up');
  assert.deepEqual(await w1.run((s) => s.monitorNodes()), [c1.name], 'subscribing again lists the connected node');

  // A subscriber that ends is dropped (its Down reaches w1 after the engine released it).
  await w1.run((s) => s.monitorPID(w3.pid));
  parent.kill(w3.pid);
  await seen(w1.inbox, (m): m is MessageDownPID => m instanceof MessageDownPID && m.pid.equals(w3.pid), 'w3 down');
  assert.equal(engineOf(parent).nodeNotices.size, 2, 'the ended process is no subscriber');

  // kill -9 of the peer: MessageNodeDown with the reason of the lost connection.
  c1.kill();
  const down = await seen(w1.inbox, isDown(c1.name), 'w1 down');
  assert.ok(down.reason instanceof Error);
  await seen(w2.inbox, isDown(c1.name), 'w2 down');

  // w1 stops listening; doing it twice is ERR_TARGET_UNKNOWN.
  await w1.run((s) => s.demonitorNodes());
  await assert.rejects(
    w1.run((s) => s.demonitorNodes()),
    (e: { code?: string }) => e.code === 'ERR_TARGET_UNKNOWN',
  );

  // The node comes back under the same name and connects to us (incoming): w2 hears it, w1 not.
  const c2 = await startChild(c1.name);
  children.push(c2);
  assert.equal(await c2.cmd('route', { match: parent.name.replace(/[.$]/g, '\\$&'), port: portOf(parent) }), 'ok');
  assert.equal(await c2.cmd('watcher', { req: { op: 'monitor', target: { node: parent.name } } }), 'ok');
  const ups = (): number => w2.inbox.items.filter((s) => isUp(c1.name)(s.message)).length;
  while (ups() < 2) await w2.inbox.count(w2.inbox.items.length + 1);
  // A call goes to the main queue, notices to the system queue: had w1 one, it came first.
  await w1.run(() => undefined);
  assert.equal(w1.inbox.items.filter((s) => isUp(c1.name)(s.message)).length, 1, 'w1 heard only the first up');
  assert.equal(w1.inbox.items.filter((s) => isDown(c1.name)(s.message)).length, 1);
  assert.deepEqual(parent.network().nodes(), [c1.name]);
});

test('a dial that fails is no MessageNodeDown (the node was never up)', async (t) => {
  const node = await netNode('nf', { routes: [{ match: '^nobody', route: routeTo(1) }] });
  t.after(() => node.stop());
  const w = await watcher(node);
  await w.run((s) => s.monitorNodes());
  await assert.rejects(node.network().getNode('nobody@localhost'), (e: Error) => e instanceof Error);
  await w.run(() => undefined);
  assert.equal(w.inbox.items.filter((s) => s.message instanceof MessageNodeDown).length, 0);
});

test('polling getNode for an unreachable node: one warning, then debug lines until it connects', async (t) => {
  const cap = new LogCapture();
  const node = await quietNode(
    {
      log: { level: 'debug' },
      network: {
        cookie: 'c',
        acceptors: [{ port: 0 }],
        registrar: null,
        routes: [{ match: '^nobody', route: routeTo(1) }],
      },
    },
    cap,
  );
  t.after(() => node.stop());
  for (let i = 0; i < 4; i++)
    await node
      .network()
      .getNode('nobody@localhost')
      .catch(() => undefined);
  const lines = cap.text().split('\n');
  assert.equal(lines.filter((l) => l.includes('[warning]') && l.includes('cannot connect to nobody')).length, 1);
  assert.equal(lines.filter((l) => l.includes('[debug]') && l.includes('cannot connect to nobody')).length, 3);
});
