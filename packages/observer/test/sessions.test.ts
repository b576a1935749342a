// Shared subscriptions under load: 100 browser sessions (event streams) subscribing to the same
// inspectors share one inspector and one hub subscription per event, get the last value at once,
// and leave nothing behind when they go: no session, no hub entry, no inspector.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { HUB_NAME, MANAGER_NAME } from '../src/index.js';
import { StreamClient, post, startObserved, WAIT } from './helpers.js';

const SESSIONS = 100;

function inspectors(node: { processList(): unknown[]; processInfo(p: never): { name: string } }): string[] {
  const names: string[] = [];
  for (const p of node.processList()) {
    try {
      const n = node.processInfo(p as never).name;
      if (n.startsWith('inspect_')) names.push(n);
    } catch {
      // ended meanwhile
    }
  }
  return names.sort();
}

test(`${SESSIONS} sessions share the inspectors and leave no inspector, session or subscription behind`, async () => {
  const { node, url } = await startObserved();
  try {
    const clients = await Promise.all(Array.from({ length: SESSIONS }, () => StreamClient.open(url)));
    await Promise.all(clients.map((c) => c.waitFor('connected')));
    for (const c of clients) {
      const h = { 'x-observer-session': c.session };
      for (const [type, args] of [
        ['node_info', {}],
        ['process_list', { pidStart: 1000, pidLimit: 500 }],
        ['log', { levels: ['info', 'warning'] }],
      ] as const) {
        const r = await post(url, '/api/subscribe', { type, args }, h);
        assert.equal(r.status, 200, `${type}: ${r.body.error}`);
      }
    }
    // One inspector per query, one hub entry per event, every session subscribed to all three.
    const hub = await node.inspect(HUB_NAME);
    assert.deepEqual(hub, { events: '3', sessions: String(SESSIONS), subscriptions: String(3 * SESSIONS) });
    const names = inspectors(node);
    assert.equal(names.filter((n) => n === 'inspect_node').length, 1, names.join(','));
    assert.equal(names.filter((n) => n.startsWith('inspect_process_list_')).length, 1, names.join(','));
    assert.equal(names.filter((n) => n.startsWith('inspect_log_')).length, 1, names.join(','));
    // Every session sees the node: the last value is replayed at once or published on the next tick.
    await Promise.all(clients.map((c) => c.waitFor('node_info', (d) => d.node === node.name)));
    // A late session gets the buffered value without waiting for the next publication.
    const late = await StreamClient.open(url);
    await late.waitFor('connected');
    const mark = late.frames.length;
    const r = await post(
      url,
      '/api/subscribe',
      { type: 'node_info', args: {} },
      { 'x-observer-session': late.session },
    );
    assert.equal(r.body.data.replayed, true, 'the hub had the last node_info and wrote it to the new stream');
    await late.waitFor('node_info', (d) => d.node === node.name, mark);
    clients.push(late);

    for (const c of clients) c.close();
    await eventually(async () => (await node.inspect(MANAGER_NAME)).sessions === '0', 'every session to end', WAIT);
    await eventually(
      async () => (await node.inspect(HUB_NAME)).sessions === '0',
      'the hub to drop every session',
      WAIT,
    );
    assert.deepEqual(await node.inspect(HUB_NAME), { events: '0', sessions: '0', subscriptions: '0' });
    assert.ok(!node.processList().some((p) => node.processInfo(p).name.startsWith('observer_session_')));
    // Inspectors end on their own idle timeout (5 s; the log inspector 10 s) once nobody listens.
    await eventually(() => inspectors(node).length === 0, 'every inspector to exit', { ...WAIT, timeoutMs: 30_000 });
  } finally {
    await node.stop();
  }
});
