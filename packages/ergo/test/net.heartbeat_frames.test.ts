// The idle heartbeat between two ergo-ts nodes (issue 64 item 3): both send the ergo-ts link
// frames, so a probe and its answer are 8 bytes each (an empty MessageUpdateCache and its
// MessageResult were about 100 each), the smaller name leads and the other only follows (one
// exchange per silence, not one from each side), and a side probes once per silence, not at
// every check. Probes made because this process itself did not run for half the timeout (a
// starved test machine) are counted apart (`resumed`) and allowed.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { eventually } from '@ergo-ts/test-support';
import { Actor, ProcessID, type Atom, type PID } from '../src/index.js';
import { Heartbeat, PROBE_AFTER_FOLLOW, PROBE_AFTER_LEAD } from '../src/net/proto/heartbeat.js';
import { NetworkFlags } from '../src/net/index.js';
import { connectionTo, heartbeatOf, netPair } from './net_helpers.js';

class Echo extends Actor {
  override handleCall(_from: PID, _ref: unknown, request: unknown): unknown {
    return request;
  }
}

test('an idle ergo-ts pair: the smaller name probes with 8-byte frames, the other only answers', async (t) => {
  // 3.2 s: the leader probes after about 1.9 s of silence, the follower would after 2.2 s.
  const { a, b } = await netPair(t, { peerStallTimeout: 3200 }, { peerStallTimeout: 3200 });
  assert.ok(a.name < b.name, 'a leads');
  await b.spawnRegister('echo', () => new Echo());
  assert.equal(await a.call(new ProcessID('echo' as Atom, b.name), 1), 1);
  const lead = connectionTo(a, b.name);
  const follow = connectionTo(b, a.name);
  const hl = heartbeatOf(lead);
  const hf = heartbeatOf(follow);
  const start = { leader: hl.probes, follower: hf.probes - hf.resumed, out: lead.bytesOut, answers: follow.bytesOut };
  await eventually(() => hl.probes >= start.leader + 6, 'six probes from the leader', { timeoutMs: 60_000 });
  assert.ok(lead.isAlive && follow.isAlive, 'still connected both ways');
  const probes = hl.probes - start.leader;
  // Before, both sides probed at the same check: as many probes from one side as from the other.
  const followerProbes = hf.probes - hf.resumed - start.follower;
  assert.ok(followerProbes <= 1, `the follower, hearing the leader, probed ${followerProbes} times`);
  // A frame is 8 bytes (a probe, or the answer to one of the follower's rare probes); an empty
  // MessageUpdateCache was about 100.
  const perProbe = (lead.bytesOut - start.out) / probes;
  assert.ok(perProbe <= 16, `${perProbe} bytes sent per probe`);
  const perAnswer = (follow.bytesOut - start.answers) / probes;
  assert.ok(perAnswer <= 16, `${perAnswer} bytes answered per probe`);
});

test('a peer without the link frames gets the MessageUpdateCache probe, answered as before', async (t) => {
  const off = Object.assign(NetworkFlags.defaults(), { ergoFrames: false });
  const { a, b } = await netPair(t, { peerStallTimeout: 1600, flags: off }, { peerStallTimeout: 1600 });
  await b.spawnRegister('echo', () => new Echo());
  assert.equal(await a.call(new ProcessID('echo' as Atom, b.name), 1), 1);
  const c = connectionTo(a, b.name);
  const h = heartbeatOf(c);
  const from = { probes: h.probes, out: c.bytesOut };
  await eventually(() => h.probes >= from.probes + 3, 'three probes', { timeoutMs: 60_000 });
  assert.ok(c.isAlive, 'the probes were answered');
  assert.ok(c.bytesOut - from.out > 8 * (h.probes - from.probes), 'a control request, larger than a frame');
});

test('one probe per silence: a silent peer gets one probe, then is declared down', async () => {
  const events: string[] = [];
  const host = {
    bytesIn: 0,
    probe: () => events.push('probe'),
    stalled: () => events.push('stalled'),
  };
  const beat = new Heartbeat(host, 320, PROBE_AFTER_LEAD);
  await eventually(() => events.includes('stalled'), 'declared down');
  beat.stop();
  // A check while this process did not run may add a probe of its own (counted in `resumed`), or
  // start the silence over without one: one probe, plus at most one per resumption.
  const probes = events.filter((e) => e === 'probe').length;
  assert.ok(probes >= 1 && probes <= 1 + beat.resumed, `${events.join(', ')} (resumed ${beat.resumed})`);
  assert.equal(events.at(-1), 'stalled');
});

test('a peer that answers each probe within half the timeout is not declared down, though its silence before the probe and the answer together pass the timeout (issue 93)', async () => {
  // A peer that only reads (a gateway hearing a stream of publishes) says nothing until probed;
  // the follower probes after 0.7 of the timeout. This peer then takes 0.4 of it to answer (its
  // event loop held by a long turn): 1.1 timeouts of silence in all. Before, the silence alone
  // counted and the peer was declared down 0.3 of the timeout after the probe; a node forgives
  // its own pause up to half the timeout, and now its peers do too.
  const timeout = 3000;
  const events: string[] = [];
  const answers: ReturnType<typeof setTimeout>[] = [];
  const host = {
    bytesIn: 0,
    probe: () => {
      events.push('probe');
      answers.push(
        setTimeout(() => {
          host.bytesIn += 8;
          events.push('answer');
        }, timeout * 0.4),
      );
    },
    stalled: () => events.push('stalled'),
  };
  const beat = new Heartbeat(host, timeout, PROBE_AFTER_FOLLOW);
  try {
    await eventually(
      () => events.includes('stalled') || events.filter((e) => e === 'answer').length >= 3,
      'three late answers',
      {
        timeoutMs: 60_000,
      },
    );
  } finally {
    beat.stop();
    for (const a of answers) clearTimeout(a);
  }
  assert.ok(!events.includes('stalled'), events.join(', '));
});
