// Restart intensity: more than `intensity` restarts within `period` seconds stop every child with
// ErrSupervisorRestartsExceeded and then the supervisor with the same reason (port decision: the
// supervisor's own final reason is always ErrSupervisorRestartsExceeded), for every supervisor
// type; defaults 5/5 (0 → default); clean exits that are not restarted do not count; the sliding
// window (fake Date, since time is the subject there); KeepOrder during the intensity shutdown.

import { strict as assert } from 'node:assert';
import { describe, it, mock } from 'node:test';

import {
  ErrSupervisorRestartsExceeded,
  RestartWindow,
  SupervisorStrategy,
  SupervisorType,
  type Node,
  type PID,
  type SupervisorSpec,
} from '../src/index.js';
import {
  Recorder,
  childrenOf,
  exitChild,
  guardUnhandled,
  inspectOf,
  seen,
  spawnSup,
  supExec,
  withNode,
  workers,
  workerSpec,
} from './supervision_helpers.js';

guardUnhandled();

const ORDERED: [string, SupervisorType][] = [
  ['one-for-one', SupervisorType.OneForOne],
  ['all-for-one', SupervisorType.AllForOne],
  ['rest-for-one', SupervisorType.RestForOne],
];

/** Kills the current c0 and waits until the restart it triggers is complete. */
async function killAndAwaitRestart(node: Node, rec: Recorder, sup: PID): Promise<void> {
  const pid = (await childrenOf(node, sup))[0]!.pid!;
  const n = rec.inits('c0');
  node.kill(pid);
  await rec.started('c0', n + 1);
  await childrenOf(node, sup); // barrier: the whole restart sequence is over
}

describe('restart intensity: exceeding it stops everything with ErrSupervisorRestartsExceeded', () => {
  for (const [tname, type] of ORDERED) {
    it(`${tname}: the third restart within the period (intensity 2) ends the tree`, () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await spawnSup(node, {
          rec,
          spec: {
            type,
            children: workers(rec, 3),
            restart: { strategy: SupervisorStrategy.Permanent, intensity: 2, period: 60 },
          },
        });
        await killAndAwaitRestart(node, rec, sup);
        await killAndAwaitRestart(node, rec, sup);
        assert.equal((await inspectOf(node, sup)).restarts, '2');
        const survivors = (await childrenOf(node, sup)).slice(1).map((c) => c.pid!);
        node.kill((await childrenOf(node, sup))[0]!.pid!);
        const reason = await rec.supTerminated();
        assert.equal(reason, ErrSupervisorRestartsExceeded, 'the supervisor ends with the sentinel');
        for (const pid of survivors) {
          const r = (await rec.until((x) => x.ev === 'terminate' && x.pid.equals(pid), 1, 'a survivor stop'))[0] as {
            reason: Error;
          };
          assert.equal(
            seen(r.reason),
            ErrSupervisorRestartsExceeded,
            'running children get the sentinel as exit reason',
          );
        }
        assert.equal(rec.inits('c0'), 3, 'no third restart');
        assert.equal(node.processList().filter((p) => !p.equals(sup)).length, 1, 'only the inspect helper is left');
      }));
  }

  it('simple-one-for-one: the third restart ends every instance and the supervisor', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, {
        rec,
        spec: {
          type: SupervisorType.SimpleOneForOne,
          children: [workerSpec(rec, 'w')],
          // A long period: the three restarts fall in it however slow the machine is.
          restart: { strategy: SupervisorStrategy.Transient, intensity: 2, period: 60 },
        },
      });
      await supExec(node, sup, async (s) => {
        await s.startChild('w', rec, 'a');
        await s.startChild('w', rec, 'b');
      });
      for (let n = 1; n <= 2; n++) {
        exitChild(node, await rec.started('a', n), 'crash');
        await rec.started('a', n + 1);
      }
      const b = await rec.started('b');
      exitChild(node, await rec.started('a', 3), 'crash');
      assert.equal(await rec.supTerminated(), ErrSupervisorRestartsExceeded);
      assert.equal(seen(await rec.terminated('b')), ErrSupervisorRestartsExceeded);
      assert.ok(b);
      assert.equal(rec.inits('a'), 3);
    }));

  it('one-for-one with a single child: nothing left to stop, the supervisor ends at once with the sentinel', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      await spawnSup(node, { rec, spec: { children: workers(rec, 1), restart: { intensity: 1, period: 60 } } });
      exitChild(node, await rec.started('c0', 1), 'crash');
      exitChild(node, await rec.started('c0', 2), 'crash');
      assert.equal(await rec.supTerminated(), ErrSupervisorRestartsExceeded);
      assert.equal(rec.inits('c0'), 2);
    }));

  it('all-for-one with KeepOrder: the intensity shutdown stops the children in reverse order', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, {
        rec,
        spec: {
          type: SupervisorType.AllForOne,
          children: workers(rec, 4),
          restart: { strategy: SupervisorStrategy.Transient, intensity: 1, period: 60, keepOrder: true },
        },
      });
      await killAndAwaitRestart(node, rec, sup);
      const c1 = (await childrenOf(node, sup))[1]!.pid!;
      const mark = rec.mark();
      node.kill(c1);
      assert.equal(await rec.supTerminated(), ErrSupervisorRestartsExceeded);
      assert.deepEqual(rec.lifecycle(mark), ['terminate:c1', 'terminate:c3', 'terminate:c2', 'terminate:c0']);
    }));
});

describe('restart intensity: what counts', () => {
  it('defaults to 5 restarts in 5 seconds (0 means default): five restarts pass, the sixth ends it', async () => {
    // The clock stands still (fake Date): the six restarts fall in the default 5 s window however
    // slow the machine is; the window's boundaries are the sliding-window test's subject.
    mock.timers.enable({ apis: ['Date'], now: Date.parse('2025-01-01T00:00:00Z') });
    try {
      await withNode(async (node) => {
        const rec = new Recorder();
        const sup = await spawnSup(node, {
          rec,
          spec: {
            children: workers(rec, 2),
            restart: { strategy: SupervisorStrategy.Permanent, intensity: 0, period: 0 },
          },
        });
        const i = await inspectOf(node, sup);
        assert.equal(i.intensity, '5');
        assert.equal(i.period, '5');
        for (let n = 0; n < 5; n++) await killAndAwaitRestart(node, rec, sup);
        assert.equal((await inspectOf(node, sup)).restarts, '5');
        node.kill((await childrenOf(node, sup))[0]!.pid!);
        assert.equal(await rec.supTerminated(), ErrSupervisorRestartsExceeded);
        assert.equal(rec.inits('c0'), 6);
      });
    } finally {
      mock.timers.reset();
    }
  });

  it('transient: clean exits are not restarts and do not count', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, {
        rec,
        spec: {
          children: workers(rec, 3),
          restart: { strategy: SupervisorStrategy.Transient, intensity: 1 },
          disableAutoShutdown: true,
        },
      });
      exitChild(node, await rec.started('c0'), 'normal');
      exitChild(node, await rec.started('c1'), 'shutdown');
      await rec.terminated('c0');
      await rec.terminated('c1');
      await childrenOf(node, sup);
      assert.equal((await inspectOf(node, sup)).restarts, '0');
      await killAndAwaitRestartOf(node, rec, sup, 'c2', 2);
      assert.equal((await inspectOf(node, sup)).restarts, '1');
      assert.equal(
        rec.count((r) => r.ev === 'supTerminate'),
        0,
      );
    }));

  it('temporary: never restarts, so never exceeds', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, {
        rec,
        spec: {
          children: workers(rec, 4),
          restart: { strategy: SupervisorStrategy.Temporary, intensity: 1 },
          disableAutoShutdown: true,
        },
      });
      for (let i = 0; i < 4; i++) exitChild(node, await rec.started(`c${i}`), 'crash');
      for (let i = 0; i < 4; i++) await rec.terminated(`c${i}`);
      const children = await childrenOf(node, sup);
      assert.ok(children.every((c) => c.pid === null));
      assert.equal((await inspectOf(node, sup)).restarts, '0');
    }));

  it('the window slides: restarts older than the period no longer count (fake Date)', async () => {
    mock.timers.enable({ apis: ['Date'], now: Date.parse('2025-01-01T00:00:00Z') });
    try {
      await withNode(async (node) => {
        const rec = new Recorder();
        const spec: SupervisorSpec = {
          children: workers(rec, 2),
          restart: { strategy: SupervisorStrategy.Permanent, intensity: 2, period: 5 },
        };
        const sup = await spawnSup(node, { rec, spec });
        await killAndAwaitRestart(node, rec, sup);
        await killAndAwaitRestart(node, rec, sup);
        mock.timers.tick(5000);
        // exactly `period` later both still count: a third one would exceed (checked below on
        // a second supervisor); one more millisecond and they drop out of the window
        mock.timers.tick(1);
        await killAndAwaitRestart(node, rec, sup);
        await killAndAwaitRestart(node, rec, sup);
        assert.equal((await inspectOf(node, sup)).restarts, '2', 'only the two recent restarts are in the window');
        assert.equal(
          rec.count((r) => r.ev === 'supTerminate'),
          0,
        );
        node.kill((await childrenOf(node, sup))[0]!.pid!);
        assert.equal(await rec.supTerminated(), ErrSupervisorRestartsExceeded);
      });
      await withNode(async (node) => {
        const rec = new Recorder();
        const sup = await spawnSup(node, {
          rec,
          spec: {
            children: workers(rec, 2),
            restart: { strategy: SupervisorStrategy.Permanent, intensity: 2, period: 5 },
          },
        });
        await killAndAwaitRestart(node, rec, sup);
        await killAndAwaitRestart(node, rec, sup);
        mock.timers.tick(5000);
        node.kill((await childrenOf(node, sup))[0]!.pid!);
        assert.equal(
          await rec.supTerminated(),
          ErrSupervisorRestartsExceeded,
          'restarts exactly `period` ago still count',
        );
      });
    } finally {
      mock.timers.reset();
    }
  });

  it('RestartWindow: more than `intensity` entries within `periodMs` (boundary inclusive)', () => {
    const w = new RestartWindow(2, 5000);
    assert.equal(w.exceeded(1000), false);
    assert.equal(w.exceeded(2000), false);
    assert.equal(w.exceeded(6000), true, '1000 is exactly 5000 ms before 6000: still in the window');
    const v = new RestartWindow(2, 5000);
    v.exceeded(1000);
    v.exceeded(2000);
    assert.equal(v.exceeded(6001), false, '1000 dropped out');
    assert.equal(v.count, 2);
    assert.equal(v.exceeded(7000), true, '2000 is exactly 5000 ms before 7000');
  });
});

async function killAndAwaitRestartOf(node: Node, rec: Recorder, sup: PID, name: string, nth: number): Promise<void> {
  node.kill(await rec.started(name, nth - 1));
  await rec.started(name, nth);
  await childrenOf(node, sup);
}
