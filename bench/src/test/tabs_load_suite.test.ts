// The tabs_load suite's broadcast-calls (every column) and the tabs_cluster suite at a tiny size, in
// this process: each row is reported for each column that should have it, with a figure that is
// a number, and the cluster's publish crosses to each gateway as one ENP message; the floor beside
// it (raw TCP, plain ws) reports the same broadcast row in its own columns. No figure is
// compared with a bound: the machine's speed is not the question here. (flood-load is left out:
// its two CPU hogs and fixed 100,000-message flood are the measurement itself, for the bench.)

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FLOOR_TCP, FLOOR_WS } from '../lib/tabs_floor.js';
import type { Row } from '../lib/types.js';
import { nBroadcastDuring, nRttDuring, nSlowestDuring, ONE_SLICE, tabsLoadSuite } from '../suites/tabs_load.js';
import {
  nClusterBroadcast,
  nClusterCpu,
  nClusterFrames,
  nClusterJoin,
  nClusterLoop,
  nClusterLoopMax,
  nClusterRss,
  nClusterRtt,
  nClusterSlowest,
  nClusterSubscribe,
  nClusterSubscribeLoop,
  tabsClusterSuite,
} from '../suites/tabs_cluster.js';

const TABS = 12;

test('broadcast-calls: every row for ergo-ts, the one-slice gateway and Socket.IO, at a tiny size', async () => {
  process.env['BENCH_TABS'] = String(TABS);
  const rows: Row[] = [];
  for (const peer of ['ergo-ts', ONE_SLICE, 'socket.io'])
    await tabsLoadSuite((r) => rows.push(r), { scenario: 'broadcast-calls', peer, rounds: 1, warmup: 0, quick: true });
  for (const peer of ['ergo-ts', ONE_SLICE, 'socket.io'])
    for (const name of [nRttDuring(TABS), nSlowestDuring(TABS), nBroadcastDuring(TABS)]) {
      const r = rows.find((x) => x.peer === peer && x.name === name);
      assert.ok(r !== undefined, `${peer}: ${name}`);
      // A round of 4 broadcasts: a call overlapped each (its loop runs from before to after it).
      assert.ok(Number.isFinite(r.value) && r.value >= 0, `${peer}: ${name} = ${r.value}`);
    }
});

test('tabs_cluster: 12 tabs over 2 gateway nodes, every row, one ENP message per gateway per publish', async () => {
  process.env['BENCH_TABS'] = String(TABS);
  const rows: Row[] = [];
  await tabsClusterSuite((r) => rows.push(r), {
    scenario: 'gateways',
    peer: 'ergo-ts',
    rounds: 1,
    warmup: 0,
    quick: true,
  });
  for (const name of [
    nClusterJoin(TABS, 2),
    nClusterRss(TABS, 2),
    nClusterSubscribe(TABS, 2),
    nClusterSubscribeLoop(TABS, 2),
    nClusterBroadcast(TABS, 2),
    nClusterCpu(TABS, 2),
    nClusterFrames(2),
    nClusterLoop(TABS, 2),
    nClusterLoopMax(TABS, 2),
    nClusterRtt(TABS, 2),
    nClusterSlowest(TABS, 2),
  ]) {
    const r = rows.find((x) => x.name === name);
    assert.ok(r !== undefined && Number.isFinite(r.value), name);
  }
  assert.deepEqual(rows.find((x) => x.name === nClusterFrames(2))!.samples, [1, 1, 1, 1]);
});

test('tabs_cluster floor: 12 sockets over 2 server processes, raw TCP and plain ws, in the broadcast row', async () => {
  process.env['BENCH_TABS'] = String(TABS);
  const rows: Row[] = [];
  for (const peer of [FLOOR_TCP, FLOOR_WS])
    await tabsClusterSuite((r) => rows.push(r), { scenario: 'floor', peer, rounds: 1, warmup: 0, quick: true });
  for (const peer of [FLOOR_TCP, FLOOR_WS]) {
    const r = rows.find((x) => x.peer === peer && x.name === nClusterBroadcast(TABS, 2));
    assert.ok(r !== undefined, peer);
    // A round of 4 publishes, each heard by every socket (the row waits for all of them).
    assert.equal(r.samples?.length, 4, peer);
    assert.ok(
      r.samples.every((x) => Number.isFinite(x) && x >= 0),
      `${peer}: ${r.samples.join(', ')}`,
    );
  }
});
