// Crossing dials: N nodes in separate OS processes, no connections yet, and at once every node
// calls every other (each pair dials both ways at the same moment). Every call must answer, no
// node may log about it above debug level, and every node stops (bounded). Fresh nodes each
// round. On loopback (static routes), and in test hosts — one node per network namespace, the
// embedded registrar of each host resolving, a few ms of delay and jitter between every pair.

import { test } from 'node:test';
import { requireHosts, TestHosts } from '@ergo-ts/test-support';
import { CROSSING_FIXTURE, CrossingProc, crossingRound } from './crossing_helpers.js';

async function onLoopback(n: number, rounds: number): Promise<void> {
  const procs = await Promise.all(Array.from({ length: n }, () => CrossingProc.fork()));
  try {
    const hosts = procs.map(() => 'localhost');
    for (let r = 0; r < rounds; r++) await crossingRound(procs, r, hosts, 'none');
  } finally {
    await Promise.all(procs.map((p) => p.close()));
  }
}

test('3 nodes on loopback, 12 rounds: every pair calls both ways at once, no call lost, nothing logged', async () => {
  await onLoopback(3, 12);
});

test('5 nodes on loopback, 5 rounds: every pair calls both ways at once, no call lost, nothing logged', async () => {
  await onLoopback(5, 5);
});

test('4 nodes in 4 test hosts (embedded registrar, 3±2 ms between hosts), 5 rounds of crossing dials', async (t) => {
  if (!requireHosts(t)) return;
  const names = ['a', 'b', 'c', 'd'];
  await using hosts = await TestHosts.create({ names });
  for (let i = 0; i < names.length; i++)
    for (let j = i + 1; j < names.length; j++) await hosts.delay(names[i]!, names[j]!, { ms: 3, jitter: 2 });
  const procs = await Promise.all(
    names.map((h) =>
      CrossingProc.ready(
        hosts.host(h).spawn(process.execPath, [CROSSING_FIXTURE], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
      ),
    ),
  );
  try {
    const addresses = names.map((h) => hosts.host(h).address);
    for (let r = 0; r < 5; r++) await crossingRound(procs, r, addresses, 'embedded');
  } finally {
    await Promise.all(procs.map((p) => p.close()));
  }
});
