// Tabs come and go: a tab whose socket drops and comes back within the gateway's reconnect window
// keeps its node name and processes, what was sent to it meanwhile arrives, and no server's link
// or monitor fires; past the window the servers' links and monitors (on the gateway node and on a
// server node in another OS process) fire with `noconnection`, and so do the tab's own. The
// gateway node's stop ends its tabs' sessions without an error.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { ErrNoConnection, startNode, type PID } from 'ergo-ts';

import { createTabGateway } from '../src/index.js';
import {
  BoardActor,
  gatewayNode,
  LogLines,
  pidJson,
  quiet,
  serverProcess,
  tabOf,
  ViewActor,
  watcherOn,
} from './helpers.js';
import { Board } from './protocols.js';

test('within the window: the tab comes back with its name and processes, nothing fires', async (t) => {
  const { g, gw, lines } = await gatewayNode(t, { reconnectWindow: 30_000 });
  const srv = await serverProcess(t, g);
  const tab = await tabOf(t, gw, 'good', { reconnect: { minDelay: 20, maxDelay: 200 } });
  const shown: string[] = [];
  const view = await tab.node.spawn(() => new ViewActor(shown));
  const gWatch = await watcherOn(g);
  await gWatch.watch(view);
  assert.equal(await srv.ipc.value('watch', { pid: pidJson(view) }), 'watching');
  const tWatch = await watcherOn(tab.node);
  await tWatch.watch(await tab.node.call(Board.processID('board', srv.name), 'self'));

  tab.dropConnection();
  await lines.waitFor(new RegExp(`tab ${tab.name.replace(/[.$]/g, '\\$&')} away`), 'the gateway sees the tab away');
  // Sent while the tab is away: held at the gateway.
  await srv.ipc.value('send', { pid: pidJson(view), text: 'while away (server)' });
  g.send(view, 'while away (gateway)');
  assert.equal(gw.tabs()[0]!.connected, false);

  await tab.whenConnected();
  assert.equal(await srv.ipc.value('call', { pid: pidJson(view) }), 'rendered:from-server');
  assert.equal(await g.call(view, 'again'), 'rendered:again');
  assert.deepEqual(shown.sort(), ['while away (gateway)', 'while away (server)']);
  assert.equal(tab.node.name, gw.tabs()[0]!.node, 'the same node name');
  assert.deepEqual(await srv.ipc.value('watched'), { exits: [], downs: [] }, 'the server saw no exit or down');
  assert.deepEqual([gWatch.seen.exits, gWatch.seen.downs], [[], []]);
  assert.deepEqual([tWatch.seen.exits, tWatch.seen.downs], [[], []]);
});

test('past the window: links and monitors on every side fire with noconnection', async (t) => {
  const { g, gw, lines } = await gatewayNode(t, { reconnectWindow: 200 });
  await g.spawnRegister('board', () => new BoardActor());
  const srv = await serverProcess(t, g);
  // The tab does not dial again: its socket's drop is the network cut that lasts.
  const tab = await tabOf(t, gw, 'good', { reconnect: false });
  const view = await tab.node.spawn(() => new ViewActor());
  const gWatch = await watcherOn(g);
  await gWatch.watch(view);
  assert.equal(await srv.ipc.value('watch', { pid: pidJson(view) }), 'watching');
  const tWatch = await watcherOn(tab.node);
  await tWatch.watch(await tab.node.call(Board.processID('board', srv.name), 'self'));

  tab.dropConnection();
  const code = ErrNoConnection.code;
  const onServer = (await srv.ipc.value('downs')) as { exits: { code: string }[]; downs: { code: string }[] };
  assert.deepEqual(onServer, { exits: [{ pid: tab.name, code }], downs: [{ pid: tab.name, code }] });
  await gWatch.seen.wait;
  assert.deepEqual([gWatch.seen.exits.map((x) => x.code), gWatch.seen.downs.map((x) => x.code)], [[code], [code]]);
  await tWatch.seen.wait;
  assert.deepEqual([tWatch.seen.exits.map((x) => x.code), tWatch.seen.downs.map((x) => x.code)], [[code], [code]]);
  assert.equal(((await tab.ended) as { code?: string }).code, 'ERR_TAB_SESSION_ENDED');
  await lines.waitFor(/ended: its window passed/, 'the gateway ends the session');
  assert.equal(gw.tabs().length, 0);
  await assert.rejects(g.call(view, 'late'), { code: code });
});

test('a tab that comes back to an ended session is refused with ERR_TAB_SESSION_ENDED', async (t) => {
  const { gw, lines } = await gatewayNode(t, { reconnectWindow: 30_000 });
  const tab = await tabOf(t, gw, 'good', { reconnect: { minDelay: 10, maxDelay: 10 } });
  // The gateway ends the session (as its window passing would) and closes the socket: the tab
  // dials again with its resume secret and is refused.
  assert.equal(gw.disconnect(tab.name), true);
  const reason = (await tab.ended) as { code?: string };
  assert.equal(reason.code, 'ERR_TAB_SESSION_ENDED');
  await lines.waitFor(/tab refused .*stale resume/, 'the refusal logged at the gateway');
});

test('a fresh node with the resume secret (a reloaded page): the same name, the old processes are down', async (t) => {
  const { g, gw, lines } = await gatewayNode(t, { reconnectWindow: 30_000 });
  const srv = await serverProcess(t, g);
  // No redial: the socket's close is the page going away (a reload).
  const first = await tabOf(t, gw, 'good', { reconnect: false });
  let heard!: (line: string) => void;
  const heardLine = new Promise<string>((r) => (heard = r));
  const view = await first.node.spawn(
    () =>
      new (class extends ViewActor {
        override handleMessage(from: PID, msg: string): void {
          heard(msg);
        }
      })(),
  );
  const gWatch = await watcherOn(g);
  await gWatch.watch(view);
  assert.equal(await srv.ipc.value('watch', { pid: pidJson(view) }), 'watching');
  // The server's link and monitor went ahead of this line on the same path: they hold at the tab.
  await srv.ipc.value('send', { pid: pidJson(view), text: 'after the watch' });
  assert.equal(await heardLine, 'after the watch');
  const resume = first.resume;
  assert.match(resume, /^[0-9a-f]{32}\.\d+$/);
  // The page goes (its heap with it): the socket closes, the gateway holds the session.
  first.dropConnection();
  await lines.waitFor(new RegExp(`tab ${first.name.replace(/[.$]/g, '\\$&')} away`), 'the gateway sees the tab away');

  const again = await tabOf(t, gw, 'good', { resume });
  assert.equal(again.name, first.name, 'the name is kept');
  assert.notEqual(again.resume.split('.')[0], resume.split('.')[0], 'a new session, a new secret');
  assert.ok(again.node.creation > first.node.creation, 'a later creation');
  await gWatch.seen.wait;
  assert.deepEqual(
    gWatch.seen.downs.map((d) => d.code),
    [ErrNoConnection.code],
  );
  assert.deepEqual(
    gWatch.seen.exits.map((d) => d.code),
    [ErrNoConnection.code],
  );
  const onSrv = {
    exits: [{ pid: first.name, code: ErrNoConnection.code }],
    downs: [{ pid: first.name, code: ErrNoConnection.code }],
  };
  assert.deepEqual(await srv.ipc.value('downs'), onSrv);
  // The new node under the old name is reached as any tab: a call both ways.
  const view2 = await again.node.spawn(() => new ViewActor());
  assert.notEqual(view2.creation, view.creation, 'a new incarnation');
  assert.equal(await g.call(view2, 'x'), 'rendered:x');
  assert.equal(await again.node.call(Board.processID('board', srv.name), 1), 2);

  // Past the window the secret is stale: the tab joins as a new tab, with a new name.
  await again.leave();
  gw.disconnect(again.name);
  const fresh = await tabOf(t, gw, 'good', { resume: again.resume });
  assert.notEqual(fresh.name, first.name);
});

test('a tab that leaves is gone at once: the server watchers hear noconnection without waiting for the window', async (t) => {
  const { g, gw, lines } = await gatewayNode(t, { reconnectWindow: 600_000 });
  const tab = await tabOf(t, gw, 'good');
  const view = await tab.node.spawn(() => new ViewActor());
  const gWatch = await watcherOn(g);
  await gWatch.watch(view);
  assert.equal(await g.call(view, 'x'), 'rendered:x');
  await tab.leave();
  await lines.waitFor(new RegExp(`tab ${tab.name.replace(/[.$]/g, '\\$&')} ended: it left`), 'the session ends');
  await gWatch.seen.wait;
  assert.deepEqual(
    gWatch.seen.downs.map((d) => d.code),
    [ErrNoConnection.code],
  );
  assert.equal(gw.tabs().length, 0);
});

test("the gateway node's stop with a tab joined: its session ends, and nothing logs an error", async (t) => {
  const lines = new LogLines();
  const g = await startNode(`gwstop${process.pid}@localhost`, quiet(lines));
  t.after(() => g.stop());
  const gw = await createTabGateway(g, { admit: () => ({ names: { board: true } }) });
  t.after(() => gw.stop());
  await g.spawnRegister('board', () => new BoardActor());
  const tab = await tabOf(t, gw, 'good', { reconnect: false });
  assert.equal(await tab.node.call(Board.processID('board', g.name), 1), 2);
  await g.stop();
  // The stop hook ended the session after the relay had gone with the node's processes: it used
  // to send the relay the tab's drop ('stop hook failed: unknown process').
  assert.deepEqual(
    lines.lines.filter((l) => /\[error\]|failed/.test(l)),
    [],
  );
  await lines.waitFor(/ended: the gateway stopped/, 'the session ended');
  assert.equal(((await tab.ended) as { code?: unknown }).code, 'ERR_TAB_SESSION_ENDED');
});
