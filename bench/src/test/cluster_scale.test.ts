// A 20-node ergo-ts cluster on the test hosts (issue 49; bench/src/cluster/harness.ts): each node
// an OS process alone in a network namespace, found through a 3-member etcd in hosts of its own.
// What must hold at that size, whatever the machine's speed: every node up (and, on etcd, told of
// every other by its registrar), a full mesh of 380 calls with none failed, every node connected
// to the 19 others, 10 more nodes started into the running cluster, told to all 30 (and all 30 to
// them) and calling each of them with none failed, a silent cut of 3 nodes (the Leader's leader
// among them) with no two leaders in a term and no call failed after the heal, and each kill -9
// seen by every survivor. Then the mixed cluster: 20 ergo-ts and 5 Go Ergo nodes on the embedded
// registrar, the same mesh, joiners and kills, with no call failed either way. The
// figures are printed, never compared with a bound; the 100-node figures beside Erlang's are in
// docs/scale.md (`node bench/dist/cluster/run.js`).
// A proof test (@ergo-ts/test-support's proofSize): those are the sizes of `npm run test:proofs`.
// CI runs every phase and assertion at half the size: 10 nodes, 5 joiners, 300 events, the same
// cut of 3, kills of 1 and 3, and 3 Go nodes beside 10 in the mixed cluster.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { peerBinary, proofSize } from '@ergo-ts/test-support';
import { runScale, scaleUnavailable, type ScaleFigures } from '../cluster/harness.js';
import { table } from '../cluster/run.js';

const NODES = proofSize({ ci: 10, full: 20 });
const JOINERS = proofSize({ ci: 5, full: 10 });
const EVENTS = proofSize({ ci: 300, full: 1000 });
/**
 * The share the silent cut isolates, of the nodes and joiners: ceil(2.5) = 3 either way (the
 * Leader's leader and two others).
 */
const CUT_FRACTION = 2.5 / (NODES + JOINERS);
const why = scaleUnavailable({ etcd: true });
if (why !== undefined && process.env['CI'] === 'true')
  throw new Error(`the cluster-scale test cannot run under CI: ${why}`);
if (why !== undefined) console.log(`# skipped: ${why}`);

const GO_NODES = proofSize({ ci: 3, full: 5 });
const peer = peerBinary();
const noPeer = 'missing' in peer ? peer.missing : undefined;
if (why === undefined && noPeer !== undefined && process.env['CI'] === 'true')
  throw new Error(`the mixed cluster test cannot run under CI: ${noPeer}`);

function holds(f: ScaleFigures, total = NODES): void {
  console.log(table([f]));
  assert.equal(f.mesh.calls, total * (total - 1));
  assert.equal(f.mesh.failed, 0, `failed calls: ${JSON.stringify(f.mesh.failedBy)}`);
  assert.equal(f.connected.min, total - 1, 'a node not connected to every other after the mesh');
  assert.deepEqual(
    f.kills.map((k) => [k.count, k.missed]),
    [
      [1, 0],
      [3, 0],
    ],
    'a survivor that never saw a killed node go down',
  );
}

describe(`a ${NODES}-node cluster on the test hosts`, { skip: why }, () => {
  // etcd, the discovery the issue names first; the embedded registrar's run is the script's
  // (its figures are in docs/scale.md): one 20-node run is what CI's time allows.
  test('through a 3-member etcd: every node sees every other, a full mesh with no failure, kills seen', async () => {
    // Calls wait up to 60 s: a loaded laptop's 20 node starts and 380 first dials can take
    // seconds each (p99 7.3 s beside two CPU hogs and a full test run); what is tested is that
    // none fails, not how fast (the script's default, 10 s, is what the docs' figures use).
    const f = await runScale({
      kind: 'ergo-ts',
      registrar: 'etcd',
      nodes: NODES,
      idleSeconds: 1,
      kills: [1, 3],
      callTimeout: 60_000,
      joiners: JOINERS,
      events: EVENTS,
      cutFraction: CUT_FRACTION,
      // A short cut (the script's is 30 s): the Leader's leader and two others cut off silently,
      // long enough for the 4 voters left to elect, short of the connections' stall timeout.
      cutSeconds: 5,
      // The phases' progress, for a failure to be read from the test's output.
      log: (line) => console.log(`# ${line}`),
    });
    assert.ok(f.seenAllMs !== undefined);
    // Waited for inside the harness: every old node told of each joiner and each joiner of all others.
    const all = NODES + JOINERS;
    assert.equal(f.join?.count, JOINERS);
    assert.ok(f.join.seenMs !== undefined);
    assert.deepEqual(f.join.failedBy, {}, 'a call from a joined node failed');
    assert.equal(f.join.calls, JOINERS * (all - 1));
    // Every subscriber got every event (the harness waits for all of them on each subscriber).
    assert.equal(f.fanout?.subscribers, NODES - 1);
    assert.equal(f.fanout.events, EVENTS);
    // The phase's CPU is read from every node's processes (the subscribers spent some).
    assert.ok(f.fanout.subscriberCpuUsPerDelivery > 0 && f.fanout.publisherCpuMs >= 0, JSON.stringify(f.fanout));
    // The silent cut: one leader per term throughout, a new one while cut, all 5 agree after the
    // heal, and every node calls every other again with none failed.
    assert.ok(f.cut !== undefined);
    assert.equal(f.cut.isolated, 3);
    assert.deepEqual(f.cut.violating, [], 'two leaders in one term');
    assert.ok(f.cut.newLeaderMs !== undefined, 'no new leader among the voters left while the leader was cut off');
    assert.ok(f.cut.healedMs !== undefined, 'the voters did not agree again after the heal');
    assert.deepEqual(f.cut.mesh.failedBy, {}, 'a call after the heal failed');
    assert.equal(f.cut.mesh.calls, all * (all - 1));
    assert.ok(f.ussMB.median > 0 && f.ussMB.median <= f.rssMB.median, JSON.stringify([f.ussMB, f.rssMB]));
    holds(f);
  });

  // A mixed cluster (issue 49): Go Ergo 3.2 nodes (the ergo-peer) beside, each alone in a host,
  // on the embedded registrar (the ergo-peer has no etcd client). Pairs of an ergo-ts and a Go
  // node dial each other at once in the mesh: before ergo-ts followed Go's order in crossing
  // dials, calls were lost there (2 of 600 at this size). A Go node tries a connection once, with
  // 1 s for each handshake step: beside CPU hogs an ergo-ts node's loop is sometimes later than
  // that and the Go call fails with "no route" (2 of 600 in a loaded run). Go users make such a
  // call again (docs/networking.md), and so does the Go member's mesh (go_member.ts), up to 3
  // times; how many were made again is printed.
  test(
    `${NODES} ergo-ts + ${GO_NODES} Go Ergo nodes (embedded registrar): a full mesh and the joiners' calls with no failure, kills seen`,
    { skip: noPeer },
    async () => {
      const f = await runScale({
        kind: 'ergo-ts',
        registrar: 'embedded',
        nodes: NODES,
        goNodes: GO_NODES,
        idleSeconds: 1,
        kills: [1, 3],
        callTimeout: 60_000,
        joiners: JOINERS,
        events: 100,
        cutSeconds: 0,
        // The phases' progress and who failed what, for a failure to be read from the output.
        log: (line) => console.log(`# ${line}`),
      });
      assert.equal(f.join?.count, JOINERS);
      assert.deepEqual(f.join.failedBy, {}, 'a call from a joined node failed');
      console.log(`# calls of Go nodes made again after "no route": ${f.mesh.retried}`);
      holds(f, NODES + GO_NODES);
    },
  );
});
