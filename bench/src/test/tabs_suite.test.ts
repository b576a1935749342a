// The tabs suite (suites/tabs.ts) at a tiny size, every scenario and every peer in this process:
// each row of the issue 73 figures is reported for each column that should have it (ergo-ts,
// Socket.IO, raw ws), with a figure that is a number. No figure is compared with a bound: the
// machine's speed is not the question here, that every row is measured is.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

import {
  G_TABS,
  N_BUNDLE,
  N_BUNDLE_LIGHT,
  N_FLOOD,
  N_FLOOD_RATE,
  N_RATE,
  N_RTT,
  N_RTT_CPU,
  N_RATE_CPU,
  N_RTT_ONE_CORE,
  N_RTT_LIGHT,
  N_RATE_LIGHT,
  N_RTT_ONE_CORE_LIGHT,
  nBroadcast,
  nBroadcastLight,
  nBroadcastCpuLight,
  nBroadcastClientCpuLight,
  nRssSubLight,
  nJoinLight,
  nHeap,
  nHeapSub,
  nIdleRtt,
  nJoinCpu,
  nBroadcastCpu,
  nBroadcastClientCpu,
  nJoin,
  nLoopDelay,
  nRss,
  nRssSub,
  nRssSubPlain,
  nRssSubPlainLight,
  PEERS,
  runTabs,
  type TabsSizes,
} from '../suites/tabs.js';
import type { Row } from '../lib/types.js';

const SIZES: TabsSizes = {
  tabs: 12,
  warmCalls: 20,
  oneCoreWarmCalls: 20,
  calls: 20,
  pipelined: 200,
  floodTabs: 2,
  floodSends: 300,
  idleMs: 100,
};

test('every row, for every peer that has it, at a tiny size', async () => {
  const rows: Row[] = [];
  await runTabs(
    (r) => rows.push(r),
    { scenario: undefined, peer: 'ergo-ts', rounds: 2, warmup: 1, quick: true },
    SIZES,
  );

  const expected: [string, string][] = [];
  for (const peer of PEERS)
    for (const name of [
      N_RTT,
      N_RATE,
      N_RTT_CPU,
      N_RATE_CPU,
      nHeap(SIZES.tabs),
      nRss(SIZES.tabs),
      nJoin(SIZES.tabs),
      nBroadcast(SIZES.tabs),
      nHeapSub(SIZES.tabs),
      nRssSub(SIZES.tabs),
      nRssSubPlain(SIZES.tabs),
      nLoopDelay(SIZES.tabs),
      nIdleRtt(SIZES.tabs),
      nJoinCpu(SIZES.tabs),
      nBroadcastCpu(SIZES.tabs),
      nBroadcastClientCpu(SIZES.tabs),
      // The light tab's rows: ergo-ts' own scenarios; Socket.IO and ws repeat their one client's.
      N_RTT_LIGHT,
      N_RATE_LIGHT,
      nRssSubLight(SIZES.tabs),
      nRssSubPlainLight(SIZES.tabs),
      nJoinLight(SIZES.tabs),
      nBroadcastLight(SIZES.tabs),
      nBroadcastCpuLight(SIZES.tabs),
      nBroadcastClientCpuLight(SIZES.tabs),
    ])
      expected.push([peer, name]);
  // The round trip on one core where processes can be pinned (util-linux's taskset).
  if (spawnSync('taskset', ['-p', String(process.pid)]).status === 0)
    for (const peer of PEERS) expected.push([peer, N_RTT_ONE_CORE], [peer, N_RTT_ONE_CORE_LIGHT]);
  expected.push(['ergo-ts', N_FLOOD], ['ergo-ts', N_FLOOD_RATE], ['ergo-ts', N_BUNDLE], ['socket.io', N_BUNDLE]);
  expected.push(['ergo-ts', N_BUNDLE_LIGHT], ['socket.io', N_BUNDLE_LIGHT]);

  const got = rows.map((r) => [r.peer, r.name]);
  assert.deepEqual(
    [...got].sort(),
    [...expected].sort(),
    'exactly the expected rows, each once (none missing, none extra)',
  );
  for (const r of rows) {
    assert.equal(r.group, G_TABS);
    assert.ok(Number.isFinite(r.value), `${r.peer}: ${r.name} = ${r.value}`);
    // Memory deltas may be negative here (no --expose-gc in the test); everything else is a count.
    // The clients' CPU counts /proc's 10 ms ticks: a tiny broadcast may take none.
    if (r.name.startsWith("clients' CPU")) assert.ok(r.value >= 0, `${r.peer}: ${r.name} = ${r.value}`);
    else if (!r.unit.startsWith('B/')) assert.ok(r.value > 0, `${r.peer}: ${r.name} = ${r.value}`);
    // Rounds are per-round samples: the measured ones only (warm-up dropped); a broadcast's
    // rounds are four per round of the others.
    if (r.name.startsWith('broadcast to') || /^(server|clients') CPU per (light )?tab of/.test(r.name))
      assert.equal(r.samples?.length, 8, `${r.peer}: ${r.name} samples`);
    else if (
      r.name.startsWith('round trip') ||
      r.name.startsWith('messages/s') ||
      r.name === N_RTT_CPU ||
      r.name === N_RATE_CPU
    )
      assert.equal(r.samples?.length, 2, `${r.peer}: ${r.name} samples`);
  }
  // Where a peer has one client, its light tab rows are the very figures of the rows they repeat.
  const value = (peer: string, name: string): number | undefined =>
    rows.find((r) => r.peer === peer && r.name === name)?.value;
  for (const peer of PEERS.filter((p) => p !== 'ergo-ts'))
    for (const [full, light] of [
      [N_RTT, N_RTT_LIGHT],
      [N_RATE, N_RATE_LIGHT],
      [nRssSub(SIZES.tabs), nRssSubLight(SIZES.tabs)],
      [nRssSubPlain(SIZES.tabs), nRssSubPlainLight(SIZES.tabs)],
      [nJoin(SIZES.tabs), nJoinLight(SIZES.tabs)],
      [nBroadcast(SIZES.tabs), nBroadcastLight(SIZES.tabs)],
      [nBroadcastClientCpu(SIZES.tabs), nBroadcastClientCpuLight(SIZES.tabs)],
    ] as const)
      assert.equal(value(peer, light), value(peer, full), `${peer}: ${light} repeats ${full}`);
  const flood = rows.find((r) => r.name === N_FLOOD)!;
  const m = /(\d+) passed, (\d+) refused/.exec(flood.note ?? '');
  assert.ok(m !== null, flood.note);
  assert.equal(Number(m[1]) + Number(m[2]), SIZES.floodTabs * SIZES.floodSends, 'every send passed or was refused');
});
