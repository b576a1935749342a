// Crossing dials: N nodes in separate OS processes, no connections yet, and at once every node
// calls every other (each pair dials both ways at the same moment). Every call must answer, no
// node may log about it above debug level, and every node stops (bounded). Fresh nodes each
// round. On loopback (static routes), and in test hosts — one node per network namespace, the
// embedded registrar of each host resolving, a few ms of delay and jitter between every pair.
// And a dial whose registrar cannot be reached fails with the registrar's error.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { requireHosts, TestHosts } from '@ergo-ts/test-support';
import { CROSSING_FIXTURE, CrossingProc, closeAll, crossingRound, type CallResult } from './crossing_helpers.js';

async function onLoopback(n: number, rounds: number): Promise<void> {
  const procs = await Promise.all(Array.from({ length: n }, () => CrossingProc.fork()));
  let failed = true;
  try {
    const hosts = procs.map(() => 'localhost');
    for (let r = 0; r < rounds; r++) await crossingRound(procs, r, hosts, 'none');
    failed = false;
  } finally {
    await closeAll(procs, failed);
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
  let failed = true;
  try {
    const addresses = names.map((h) => hosts.host(h).address);
    for (let r = 0; r < 5; r++) await crossingRound(procs, r, addresses, 'embedded');
    failed = false;
  } finally {
    await closeAll(procs, failed);
  }
});

test("a registrar host that cannot be reached: the call fails with ERR_REGISTRAR_UNAVAILABLE naming it, not at the call's timeout", async (t) => {
  if (!requireHosts(t)) return;
  await using hosts = await TestHosts.create({ names: ['a', 'b'] });
  const a = hosts.host('a');
  const b = hosts.host('b').address;
  const proc = await CrossingProc.ready(
    a.spawn(process.execPath, [CROSSING_FIXTURE], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  try {
    await proc.start('lone', a.address, 'embedded');
    // Nothing serves the embedded registrar on b: its kernel refuses the request.
    const refused = (await proc.ask('callAll', { targets: [`x@${b}`], timeout: 20_000 })) as { results: CallResult[] };
    assert.equal(refused.results[0]!.code, 'ERR_REGISTRAR_UNAVAILABLE', refused.results[0]!.message);
    assert.match(refused.results[0]!.message!, new RegExp(`registrar at ${b.replaceAll('.', '\\.')}:4499`));
    // b cut off silently: no answer at all.
    await hosts.partition('a', 'b');
    const silent = (await proc.ask('callAll', { targets: [`y@${b}`], timeout: 20_000 })) as { results: CallResult[] };
    assert.equal(silent.results[0]!.code, 'ERR_REGISTRAR_UNAVAILABLE', silent.results[0]!.message);
    assert.match(silent.results[0]!.message!, /registrar .*(no reply|no answer)/);
    await proc.stop();
  } finally {
    await proc.close();
  }
});
