// A remote node's index in the links-and-monitors store makes each collection at its first entry
// and holds its first watcher without one: a node seen only as a watcher (a browser tab whose
// process monitors one event of the gateway) costs no Map or Set (it made two Maps and a Set). A gateway holds such an index per tab, and an empty Map
// or Set is ~0.2 KiB. Counted as live objects (v8.queryObjects runs a full GC first): a count,
// not a size. The index still answers every read while its collections are not made, and a node
// that watches and is watched gets all three.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { queryObjects } from 'node:v8';

import { Event, PID, type Atom } from '../src/index.js';
import { TargetManager, type KeyedHost } from '../src/node/targets.js';

const NODES = 200;
const LOCAL = 'gateway@localhost' as Atom;

const live = (): { maps: number; sets: number } => ({
  maps: queryObjects(Map, { format: 'count' }),
  sets: queryObjects(Set, { format: 'count' }),
});

test('a node seen only as a watcher has an index with no Map or Set', () => {
  const store = new TargetManager({ name: LOCAL });
  const news = new Event('news' as Atom, LOCAL);
  const host = store.keyedHost(news, true)!;
  const nodes = Array.from({ length: NODES }, (_, i) => `tab-${i}@localhost` as Atom);
  // Reads of nodes with no index yet make nothing.
  for (const n of nodes) assert.equal(store.nodeIndex(n), undefined);

  const before = live();
  for (const n of nodes) {
    const watcher = store.remoteConsumer(new PID(n, 1000, 1), true)!;
    store.add(false, watcher, news, host);
  }
  const after = live();
  assert.ok(after.maps - before.maps <= 2, `${after.maps - before.maps} Maps for ${NODES} watcher nodes`);
  assert.ok(after.sets - before.sets <= 2, `${after.sets - before.sets} Sets for ${NODES} watcher nodes`);

  const x = store.nodeIndex(nodes[0]!)!;
  assert.equal(x.consumerCount, 1);
  assert.equal(x.targets.size, 0);
  assert.equal(x.pids.size, 0);
  assert.equal(store.keyedHosts, 1);

  // The same node watched from here too: its targets and PIDs are indexed as before.
  const remoteTarget = new PID(nodes[0]!, 2000, 1);
  const h = store.keyedHost(remoteTarget, true) as KeyedHost;
  assert.equal(x.pids.get(2000), h);
  assert.ok(x.targets.has(h));

  // A second watcher of the same node: both are found, and each goes alone.
  const second = store.remoteConsumer(new PID(nodes[2]!, 1001, 1), true)!;
  store.add(false, second, news, host);
  const y = store.nodeIndex(nodes[2]!)!;
  assert.equal(y.consumerCount, 2);
  assert.equal(store.remoteConsumer(new PID(nodes[2]!, 1000, 1), false)?.pid.id, 1000);
  assert.equal(store.remoteConsumer(new PID(nodes[2]!, 1001, 1), false), second);
  store.cleanupConsumer(second);
  assert.equal(y.consumerCount, 1);
  assert.equal(store.remoteConsumer(new PID(nodes[2]!, 1001, 1), false), undefined);

  // Everything dropped: the index goes.
  for (const n of nodes) store.cleanupConsumer(store.remoteConsumer(new PID(n, 1000, 1), false)!);
  assert.equal(x.consumerCount, 0);
  assert.ok(store.nodeIndex(nodes[1]!) === undefined, 'a node with nothing left has no index');
});
