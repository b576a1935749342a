// Significant children and auto-shutdown (ERGO-API §5.11/§5.12 TestSignificant, §1 rows):
// Transient — a significant child's clean exit ends the supervisor (siblings stopped, reverse
// order with KeepOrder) while a crash restarts it; Temporary — any exit of a significant child
// ends it with that reason; Permanent — always restarted. Auto-shutdown: the supervisor ends
// when no child is left after exits that were not restarted, unless DisableAutoShutdown.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import {
  childSpec,
  SupervisorStrategy,
  SupervisorType,
  TerminateReasonKill,
  TerminateReasonNormal,
  TerminateReasonShutdown,
  type Node,
  type PID,
} from '../src/index.js';
import {
  EXIT_REASON,
  Recorder,
  childrenOf,
  exitChild,
  guardUnhandled,
  seen,
  spawnSup,
  supExec,
  TestSup,
  withNode,
  workers,
  type ExitKind,
} from './supervision_helpers.js';

guardUnhandled();

const TYPES: [string, SupervisorType][] = [
  ['one-for-one', SupervisorType.OneForOne],
  ['all-for-one', SupervisorType.AllForOne],
  ['rest-for-one', SupervisorType.RestForOne],
];

function startSig(
  node: Node,
  rec: Recorder,
  type: SupervisorType,
  strategy: SupervisorStrategy,
  autoShutdown = false,
): Promise<PID> {
  return spawnSup(node, {
    rec,
    spec: {
      type,
      children: workers(rec, 3, [1]),
      restart: { strategy, keepOrder: true },
      enableHandleChild: true,
      disableAutoShutdown: !autoShutdown,
    },
  });
}

/** The significant middle child ends with `kind`: the supervisor stops with that reason. */
async function expectSupervisorEnds(
  node: Node,
  rec: Recorder,
  type: SupervisorType,
  sup: PID,
  kind: ExitKind,
): Promise<void> {
  const mark = rec.mark();
  const c1 = (await childrenOf(node, sup))[1]!.pid!;
  exitChild(node, c1, kind);
  const reason = await rec.supTerminated();
  assert.equal(reason, EXIT_REASON[kind], 'the supervisor ends with the significant child reason');
  for (const c of ['c0', 'c2'])
    assert.equal(seen(await rec.terminated(c)), EXIT_REASON[kind], `${c} stopped with the same reason`);
  const seq = rec.lifecycle(mark);
  if (type === SupervisorType.OneForOne)
    assert.deepEqual([...seq].sort(), ['terminate:c0', 'terminate:c1', 'terminate:c2']);
  else
    assert.deepEqual(
      seq,
      ['terminate:c1', 'terminate:c2', 'terminate:c0'],
      'siblings stopped in reverse order (KeepOrder)',
    );
  assert.equal(
    rec.count((r) => r.ev === 'init'),
    3,
    'nothing restarted',
  );
  assert.equal(rec.log.at(-1)!.ev, 'supTerminate');
}

/** The significant middle child ends with `kind` and is restarted by the type's rule. */
async function expectRestart(node: Node, rec: Recorder, type: SupervisorType, sup: PID, kind: ExitKind): Promise<void> {
  const before = await childrenOf(node, sup);
  const inits = rec.count((r) => r.ev === 'init');
  exitChild(node, before[1]!.pid!, kind);
  const affected = type === SupervisorType.OneForOne ? 1 : type === SupervisorType.AllForOne ? 3 : 2;
  await rec.until((r) => r.ev === 'init', inits + affected, 'restarted children');
  const after = await childrenOf(node, sup);
  assert.ok(
    after.every((c) => c.pid !== null),
    'all running',
  );
  assert.ok(!after[1]!.pid!.equals(before[1]!.pid!), 'the significant child restarted');
  assert.equal(
    after[0]!.pid!.equals(before[0]!.pid!),
    type !== SupervisorType.AllForOne,
    'c0 restarted only by all-for-one',
  );
  assert.equal(
    after[2]!.pid!.equals(before[2]!.pid!),
    type === SupervisorType.OneForOne,
    'c2 restarted by all/rest-for-one',
  );
  assert.equal(
    rec.count((r) => r.ev === 'supTerminate'),
    0,
    'the supervisor keeps running',
  );
}

for (const [tname, type] of TYPES) {
  describe(`significant children, ${tname}`, () => {
    it('transient: a crash of the significant child restarts it by the type rule', () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await startSig(node, rec, type, SupervisorStrategy.Transient);
        await expectRestart(node, rec, type, sup, 'crash');
        await expectRestart(node, rec, type, sup, 'kill');
      }));

    for (const kind of ['normal', 'shutdown'] as ExitKind[]) {
      it(`transient: a ${kind} exit of the significant child ends the supervisor with ${kind}`, () =>
        withNode(async (node) => {
          const rec = new Recorder();
          const sup = await startSig(node, rec, type, SupervisorStrategy.Transient);
          await expectSupervisorEnds(node, rec, type, sup, kind);
        }));
    }

    for (const kind of ['normal', 'crash', 'kill'] as ExitKind[]) {
      it(`temporary: a ${kind} exit of the significant child ends the supervisor with that reason`, () =>
        withNode(async (node) => {
          const rec = new Recorder();
          const sup = await startSig(node, rec, type, SupervisorStrategy.Temporary);
          await expectSupervisorEnds(node, rec, type, sup, kind);
        }));
    }

    it('temporary: a non-significant child ending changes nothing else', () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await startSig(node, rec, type, SupervisorStrategy.Temporary);
        exitChild(node, await rec.started('c2'), 'crash');
        await rec.childTerminate('c2');
        const children = await childrenOf(node, sup);
        assert.deepEqual(
          children.map((c) => c.pid !== null),
          [true, true, false],
        );
        assert.deepEqual(
          children.map((c) => c.significant),
          [false, true, false],
        );
      }));

    it('permanent: the significant child is restarted whatever the reason (normal, shutdown, custom)', () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await startSig(node, rec, type, SupervisorStrategy.Permanent);
        await expectRestart(node, rec, type, sup, 'normal');
        await expectRestart(node, rec, type, sup, 'shutdown');
        await expectRestart(node, rec, type, sup, 'crash');
      }));
  });
}

describe('auto-shutdown', () => {
  for (const [tname, type] of TYPES) {
    it(`${tname} transient: the supervisor ends with the last child's clean exit, not before`, () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await spawnSup(node, { rec, spec: { type, children: workers(rec, 2), enableHandleChild: true } });
        exitChild(node, await rec.started('c0'), 'normal');
        await rec.childTerminate('c0');
        assert.equal(
          rec.count((r) => r.ev === 'supTerminate'),
          0,
          'one child left: still running',
        );
        assert.equal((await childrenOf(node, sup))[1]!.pid !== null, true);
        exitChild(node, await rec.started('c1'), 'shutdown');
        assert.equal(await rec.supTerminated(), TerminateReasonShutdown, "ends with the last child's reason");
      }));
  }

  it('temporary: crashes are not restarted, and when none is left the supervisor ends with the last reason', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      await spawnSup(node, {
        rec,
        spec: { children: workers(rec, 2), restart: { strategy: SupervisorStrategy.Temporary } },
      });
      exitChild(node, await rec.started('c0'), 'crash');
      await rec.terminated('c0');
      exitChild(node, await rec.started('c1'), 'kill');
      assert.equal(await rec.supTerminated(), TerminateReasonKill);
    }));

  it('DisableAutoShutdown: the supervisor outlives all its children', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, {
        rec,
        spec: { children: workers(rec, 2), disableAutoShutdown: true, enableHandleChild: true },
      });
      exitChild(node, await rec.started('c0'), 'normal');
      exitChild(node, await rec.started('c1'), 'normal');
      await rec.childTerminate('c0');
      await rec.childTerminate('c1');
      assert.ok((await childrenOf(node, sup)).every((c) => c.pid === null));
      assert.equal(
        rec.count((r) => r.ev === 'supTerminate'),
        0,
      );
      await supExec(node, sup, (s) => s.startChild('c0'));
      await rec.started('c0', 2);
    }));

  it('permanent: never auto-shuts down (every exit is restarted)', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, {
        rec,
        spec: { children: workers(rec, 1), restart: { strategy: SupervisorStrategy.Permanent } },
      });
      exitChild(node, await rec.started('c0'), 'normal');
      await rec.started('c0', 2);
      assert.equal((await childrenOf(node, sup))[0]!.pid !== null, true);
    }));

  it('disabling the last running child ends the supervisor (auto-shutdown on)', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, {
        rec,
        spec: { children: workers(rec, 2), restart: { strategy: SupervisorStrategy.Permanent } },
      });
      await supExec(node, sup, (s) => s.disableChild('c0'));
      await rec.terminated('c0');
      await childrenOf(node, sup);
      assert.equal(
        rec.count((r) => r.ev === 'supTerminate'),
        0,
        'c1 still runs',
      );
      await supExec(node, sup, (s) => s.disableChild('c1'));
      assert.equal(await rec.supTerminated(), TerminateReasonShutdown);
      assert.equal(rec.inits('c0') + rec.inits('c1'), 2, 'disabled children are not restarted');
    }));

  it('a supervisor ended by auto-shutdown with normal is not an abnormal exit for its parent', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const root = await spawnSup(node, {
        rec,
        tag: 'root',
        spec: {
          children: [
            childSpec({
              name: 'inner',
              factory: TestSup,
              args: [{ rec, tag: 'inner', spec: { children: workers(rec, 1) } }],
            }),
          ],
          disableAutoShutdown: true,
          enableHandleChild: true,
        },
      });
      exitChild(node, await rec.started('c0'), 'normal');
      assert.equal(await rec.supTerminated('inner'), TerminateReasonNormal);
      const t = await rec.childTerminate('inner', 1, 'root');
      assert.equal(t.reason, TerminateReasonNormal);
      const children = await childrenOf(node, root);
      assert.equal(children[0]!.pid, null, 'transient: not restarted');
    }));
});
