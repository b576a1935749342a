// A node's recent crashes (node/crashes.ts): a process whose callback throws is kept with the
// error it threw and the callback, one that returns an abnormal reason with that reason, one that
// ends normally not at all; newest first, by PID, bounded by CRASH_HISTORY_SIZE. A supervisor's
// restart history keeps its panicked child's error beside the reason `panic`. system_inspect
// answers RequestInspectCrashes with them (for another node's Observer and MCP), and the request
// and answer pass the wire codec unchanged.

import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import {
  Actor,
  CRASH_HISTORY_SIZE,
  ProcessID,
  RequestInspectCrashes,
  ResponseInspectCrashes,
  Supervisor,
  SupervisorStrategy,
  SupervisorType,
  SYSTEM_INSPECT,
  TerminateReasonNormal,
  type Node,
  type PID,
  type RestartRecord,
  type SupervisorSpec,
} from '../src/index.js';
import { roundTrip } from '../src/net/index.js';
import { guardUnhandled, testNode } from './lifecycle_helpers.js';

guardUnhandled();

/** Throws what it is sent (a string: an Error with that message); 'stop' ends it normally; an Error returned ends it with that reason. */
class Crasher extends Actor {
  override handleMessage(_from: PID, m: unknown): Error | undefined {
    if (m === 'stop') return TerminateReasonNormal;
    if (m instanceof Error) return m;
    throw new Error(String(m));
  }
}

class CrashSup extends Supervisor {
  override init(): SupervisorSpec {
    return {
      type: SupervisorType.OneForOne,
      children: [{ name: 'crash_worker', factory: Crasher }],
      restart: { strategy: SupervisorStrategy.Permanent, intensity: 5, period: 60 },
    };
  }
}

describe('recent crashes', () => {
  let node: Node;
  before(async () => {
    // 'panic': the crashes below are logged at panic and error level (expected here).
    node = await testNode({ systemApp: true });
  });
  after(() => node.stop());

  test('a panic keeps its error and callback; an abnormal reason its text; a normal end nothing', async () => {
    const a = await node.spawnRegister('crash_a', Crasher);
    const b = await node.spawn(Crasher);
    const c = await node.spawn(Crasher);
    node.send(a, 'db connection refused');
    node.send(b, new Error('gave up after 3 tries'));
    node.send(c, 'stop');
    await eventually(() => node.recentCrashes({ pid: b }).length === 1, 'b ended');
    await eventually(() => node.recentCrashes({ pid: a }).length === 1, 'a crashed');
    await eventually(() => !node.processList().some((p) => p.equals(c)), 'c ended');
    const [ra] = node.recentCrashes({ pid: a });
    assert.equal(ra!.reason, 'panic');
    assert.equal(ra!.error, 'db connection refused');
    assert.match(ra!.where, /handler/);
    assert.equal(ra!.behavior, 'Crasher');
    assert.equal(ra!.name, 'crash_a');
    assert.match(ra!.stack, /db connection refused[\s\S]*at /);
    assert.ok(typeof ra!.at === 'number' && ra!.at <= Date.now());
    const [rb] = node.recentCrashes({ pid: b });
    assert.equal(rb!.reason, 'gave up after 3 tries');
    assert.equal(rb!.error, '');
    assert.equal(rb!.where, '');
    assert.deepEqual(node.recentCrashes({ pid: c }), [], 'a normal end is no crash');
    // Newest first, and limited.
    const all = node.recentCrashes();
    assert.ok(all.length >= 2);
    assert.equal(node.recentCrashes({ limit: 1 }).length, 1);
    assert.ok(Number(all[0]!.at) >= Number(all[all.length - 1]!.at));

    // system_inspect answers them, through the wire codec as another node would get them.
    const asked = await node.call(
      new ProcessID(SYSTEM_INSPECT, node.name),
      roundTrip(new RequestInspectCrashes({ pid: a, limit: 10 })),
    );
    assert.ok(asked instanceof ResponseInspectCrashes, String(asked));
    const back = roundTrip(asked);
    assert.ok(back instanceof ResponseInspectCrashes);
    assert.equal(back.crashes?.length, 1);
    assert.equal(back.crashes![0]!.error, 'db connection refused');
    assert.ok(back.crashes![0]!.pid.equals(a));
    assert.equal(back.total, node.recentCrashes().length);
    const every = (await node.call(
      new ProcessID(SYSTEM_INSPECT, node.name),
      new RequestInspectCrashes(),
    )) as ResponseInspectCrashes;
    assert.equal(every.crashes?.length, node.recentCrashes().length);
  });

  test('the ring keeps the newest CRASH_HISTORY_SIZE', async () => {
    const pids: PID[] = [];
    for (let i = 0; i < CRASH_HISTORY_SIZE + 5; i++) {
      const p = await node.spawn(Crasher);
      pids.push(p);
      node.send(p, `crash ${i}`);
    }
    const last = pids.at(-1)!;
    await eventually(() => node.recentCrashes({ pid: last }).length === 1, 'the last one crashed');
    await eventually(() => pids.every((p) => !node.processList().some((q) => q.equals(p))), 'all ended');
    const kept = node.recentCrashes();
    assert.equal(kept.length, CRASH_HISTORY_SIZE);
    assert.deepEqual(node.recentCrashes({ pid: pids[0]! }), [], 'the oldest went');
    assert.equal(kept[0]!.error, `crash ${CRASH_HISTORY_SIZE + 4}`);
  });

  test("a supervisor's restart history keeps its panicked child's error beside the reason", async () => {
    const sup = await node.spawnRegister('crash_sup', CrashSup);
    const first = node.processPID('crash_worker');
    node.send(first, 'disk full');
    await eventually(() => {
      try {
        return !node.processPID('crash_worker').equals(first);
      } catch {
        return false;
      }
    }, 'restarted');
    const state = await node.inspect(sup);
    const history = JSON.parse(state.restart_history!) as RestartRecord[];
    assert.equal(history.length, 1);
    assert.equal(history[0]!.reason, 'panic');
    assert.equal(history[0]!.error, 'disk full');
    assert.equal(history[0]!.action, 'restart');
    // An abnormal exit reason is its own text: no error beside it.
    node.send(node.processPID('crash_worker'), new Error('quit'));
    await eventually(
      async () => (JSON.parse((await node.inspect(sup)).restart_history!) as RestartRecord[]).length === 2,
      'the second exit recorded',
    );
    const second = (JSON.parse((await node.inspect(sup)).restart_history!) as RestartRecord[])[1]!;
    assert.equal(second.reason, 'quit');
    assert.equal(second.error, undefined);
  });
});
