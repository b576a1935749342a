// The heartbeat costs nothing on a connection whose peer speaks (issue 49 item 4): a node that
// reads from its peer at every check sends no probe, even though it writes nothing itself. Only
// the side that hears nothing probes, and the other side's answers are what it reads. Before, a
// side that had written nothing for a check probed as well, so a node receiving a steady stream
// sent a probe at every check. Probes made because this node itself had not run for half the timeout
// (a starved test machine) are counted apart and allowed: they are the stall guard's, not the
// rule under test.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { eventually } from '@ergo-ts/test-support';
import { ProcessID, type Atom } from '../src/index.js';
import { probe } from './helpers.js';
import { connectionTo, heartbeatOf, netPair } from './net_helpers.js';

test('a node that hears its peer at every check sends no heartbeat, and the silent side probes', async (t) => {
  // 2 s: a check every 500 ms, so a check this node itself missed (1 s without running) is rare
  // even on a loaded machine, and counted apart when it happens.
  const { a, b } = await netPair(t, { peerStallTimeout: 2000 }, { peerStallTimeout: 2000 });
  let received = 0;
  await b.spawnRegister(
    'sink',
    probe(() => {
      received++;
    }),
  );
  const sink = new ProcessID('sink' as Atom, b.name as Atom);
  // a (which has the route) streams to b; b writes nothing to a but the answers to a's probes.
  let n = 0;
  a.send(sink, n++);
  await eventually(() => received > 0, 'the first message across', { timeoutMs: 30_000 });
  const talker = connectionTo(a, b.name);
  const listener = connectionTo(b, a.name);
  const stream = setInterval(() => a.send(sink, n++), 50);
  t.after(() => clearInterval(stream));
  const hbTalker = heartbeatOf(talker);
  const hbListener = heartbeatOf(listener);
  const fromListener = hbListener.probes - hbListener.resumed;
  const fromTalker = hbTalker.probes;
  // a reads nothing from b unless it asks: it probes, and b's answers keep the connection up.
  await eventually(() => hbTalker.probes >= fromTalker + 6, 'six probes from the side that hears nothing', {
    timeoutMs: 60_000,
  });
  clearInterval(stream);
  assert.ok(talker.isAlive && listener.isAlive, 'still connected both ways');
  assert.equal(
    hbListener.probes - hbListener.resumed - fromListener,
    0,
    'the side that heard its peer at every check sent no probe',
  );
  assert.ok(received > 6, `${received} messages received`);
});

test('every heartbeat of one interval shares one timer; each still probes and stalls on its own', async () => {
  const { Heartbeat, heartbeatClocks } = await import('../src/net/proto/heartbeat.js');
  const events: string[] = [];
  const host = (name: string, speaks: () => boolean) => {
    let bytesIn = 0;
    return {
      get bytesIn() {
        if (speaks()) bytesIn++;
        return bytesIn;
      },
      probe: () => events.push(`${name} probe`),
      stalled: () => events.push(`${name} stalled`),
    };
  };
  const before = heartbeatClocks().length;
  // 40 ms checks (a 32nd of the timeout): a silent host probes once after half the timeout and
  // stalls after the whole; a speaking one never.
  const silent = [0, 1, 2].map(
    (i) =>
      new Heartbeat(
        host(`silent${i}`, () => false),
        1280,
      ),
  );
  const talker = new Heartbeat(
    host('talker', () => true),
    1280,
  );
  const other = new Heartbeat(
    host('other', () => true),
    8000,
  );
  const clocks = heartbeatClocks().filter((c) => c.interval === 40 || c.interval === 250);
  assert.deepEqual(
    clocks.map((c) => [c.interval, c.heartbeats]).sort(),
    [
      [250, 1],
      [40, 4],
    ],
    'one clock per interval, however many heartbeats',
  );
  await eventually(() => [0, 1, 2].every((i) => events.includes(`silent${i} stalled`)), 'every silent host stalled');
  for (const [i, beat] of silent.entries()) {
    assert.ok(events.includes(`silent${i} probe`), `silent${i} probed before it stalled`);
    assert.ok(beat.probes >= 1);
  }
  // The talker probes only when this process itself did not run for half the timeout (the stall
  // guard, counted apart), and never stalls.
  assert.equal(talker.probes, talker.resumed, events.join(', '));
  assert.ok(!events.includes('talker stalled'), events.join(', '));
  // A stalled heartbeat left its clock; the others still run on it.
  assert.deepEqual(heartbeatClocks().find((c) => c.interval === 40)?.heartbeats, 1);
  talker.stop();
  other.stop();
  assert.equal(heartbeatClocks().length, before, 'the last heartbeat of an interval clears its timer');
});
