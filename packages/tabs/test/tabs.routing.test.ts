// Routing through the gateway: a tab's processes and server processes (on the gateway node, and
// on a server node in another OS process) call and send to each other by registered name and by
// PID, typed on both sides with the same protocols; tab PIDs carry the tab's node name, and the
// servers reach them through the gateway.

import { strict as assert } from 'node:assert';
import { createServer } from 'node:http';
import { test } from 'node:test';

import { ProcessID, startNode, type Atom, type PID } from 'ergo-ts';

import { createTabGateway, gatewayOfTab } from '../src/index.js';
import { BoardActor, gatewayNode, pidJson, quiet, serverProcess, tabOf, ViewActor } from './helpers.js';
import { Board, TabView } from './protocols.js';

test('a tab and the servers call and send to each other by name and by PID, typed both ways', async (t) => {
  const { g, gw } = await gatewayNode(t);
  const gwNotes: string[] = [];
  await g.spawnRegister('board', () => new BoardActor(gwNotes));
  const srv = await serverProcess(t, g);
  const tab = await tabOf(t, gw);

  assert.equal(gatewayOfTab(tab.name), g.name, 'the tab is named under its gateway');
  const shown: string[] = [];
  const view = await tab.node.spawn(() => new ViewActor(shown)); // PID<typeof TabView>
  assert.equal(view.node, tab.name);

  // tab → servers by registered name (typed: add takes a number and answers one)
  const onGw: number = await tab.node.call(Board.processID('board', g.name), 41);
  const onSrv: number = await tab.node.call(Board.processID('board', srv.name), 1);
  assert.deepEqual([onGw, onSrv], [42, 2]);

  // tab → server by PID: the board's PID came back as the sender of its reply
  const boardPid: PID = await tab.node.call(Board.processID('board', srv.name), 'self');
  assert.equal(boardPid.node, srv.name);
  assert.equal(await tab.node.call(Board.pid(boardPid), 9), 10);
  tab.node.send(Board.pid(boardPid), 'a note by PID');
  // One sender, one path: the call after the note finds it delivered.
  assert.equal(await tab.node.call(Board.pid(boardPid), 0), 1);
  assert.deepEqual(await srv.ipc.value('notes'), ['a note by PID']);

  // servers → tab by PID (the gateway node's own process and the other OS process's); a call
  // after a send from the same node finds the send delivered.
  await srv.ipc.value('send', { pid: pidJson(view), text: 'pushed' });
  assert.equal(await srv.ipc.value('call', { pid: pidJson(view) }), 'rendered:from-server');
  g.send(view, 'pushed by the gateway');
  assert.equal(await g.call(view, 'from-gateway'), 'rendered:from-gateway');
  assert.deepEqual(shown, ['pushed', 'pushed by the gateway']);

  // The gateway sees the tab's traffic.
  const info = gw.tabs().find((x) => x.node === tab.name)!;
  assert.ok(info.connected && info.messagesIn > 0 && info.messagesOut > 0);
  assert.ok(info.peers.includes(srv.name), 'the server node is a peer of the tab');
});

test('typed addresses refuse wrong messages and requests at compile time', async (t) => {
  const { g, gw } = await gatewayNode(t);
  await g.spawnRegister('board', () => new BoardActor());
  const tab = await tabOf(t, gw);
  const view = await tab.node.spawn(() => new ViewActor());
  const board = Board.processID('board', g.name);
  const typed = async (): Promise<void> => {
    // @ts-expect-error: Board's add takes a number
    await tab.node.call(board, 'forty-one');
    // @ts-expect-error: a note is a string
    tab.node.send(board, 42);
    // @ts-expect-error: the reply of add is a number
    const s: string = await tab.node.call(board, 1);
    // @ts-expect-error: TabView renders strings
    await g.call(view, 7);
    // @ts-expect-error: a tab view shows strings
    g.send(view, { show: 1 });
    void s;
  };
  void typed; // compiled, never run: the compiler is the test
  // The same protocol checks at run time what an untyped caller sends (the gateway's grant names
  // Board for 'board'): refused before it leaves the gateway, with its code.
  await assert.rejects(tab.node.call(new ProcessID('board' as never, g.name), 'forty-one'), {
    code: 'ERR_PROTOCOL_VIOLATION',
  });
  const r: string = await g.call(TabView.pid(view), 'ok');
  assert.equal(r, 'rendered:ok');
});

test("attached to the application's HTTP server: tabs join on its path, its other upgrade listeners stay", async (t) => {
  // A node with a gateway already: a second one is refused (ERR_TAKEN) and harms nothing.
  const { g, gw: first } = await gatewayNode(t);
  await g.spawnRegister('board', () => new BoardActor());
  await assert.rejects(createTabGateway(g, { admit: () => ({}) }), { code: 'ERR_TAKEN' });
  const t1 = await tabOf(t, first);
  assert.equal(await t1.node.call(new ProcessID('board' as Atom, g.name), 1), 2);

  const n = await startNode(`app${process.pid}@localhost`, quiet());
  t.after(() => n.stop());
  await n.spawnRegister('board', () => new BoardActor());
  const server = createServer((_req, res) => res.end('app'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const other = (): void => undefined;
  server.on('upgrade', other);
  const gw = await createTabGateway(n, { server, path: '/app-tabs', admit: () => ({ names: { board: true } }) });
  assert.match(gw.url, /^ws:\/\/127\.0\.0\.1:\d+\/app-tabs$/);
  const tab = await tabOf(t, gw);
  assert.equal(await tab.node.call(new ProcessID('board' as Atom, n.name), 1), 2);
  await tab.leave();
  await gw.stop();
  assert.deepEqual(server.listeners('upgrade'), [other]);
});
