// All-for-one and rest-for-one supervisors (ERGO-API §5.12 TestT11SupervisorAFO/RFO with
// KeepOrder, DisableAutoShutdown, EnableHandleChild, 3 children): which siblings a restart takes
// along and in which order they stop (reverse spec order) and start again (spec order), the
// siblings' stop reason, KeepOrder (one at a time, waiting for each) versus simultaneous stop,
// the urgent-only mailbox during a restart sequence, the parent's exit, and handleInspect.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import { SupervisorStrategy, SupervisorType, TerminateReasonKill, type Node, type PID } from '../src/index.js';
import {
  Block,
  EXIT_KINDS,
  EXIT_REASON,
  Recorder,
  STRATEGIES,
  alive,
  childrenOf,
  deferred,
  exitChild,
  guardUnhandled,
  inspectOf,
  rejectsCode,
  restarts,
  seen,
  spawnSup,
  supExec,
  withNode,
  workerSpec,
  workers,
  TRAP_EXITS,
  type ExitKind,
} from './supervision_helpers.js';

guardUnhandled();

const TYPES: [string, SupervisorType][] = [
  ['all-for-one', SupervisorType.AllForOne],
  ['rest-for-one', SupervisorType.RestForOne],
];

/** Expected lifecycle after child `i` (of 3) triggers a restart. */
function expectedSequence(type: SupervisorType, i: number): string[] {
  const all = [0, 1, 2];
  const affected = type === SupervisorType.AllForOne ? all : all.filter((k) => k >= i);
  const stops = affected.filter((k) => k !== i).sort((a, b) => b - a);
  return [`terminate:c${i}`, ...stops.map((k) => `terminate:c${k}`), ...affected.map((k) => `init:c${k}`)];
}

function expectedCallbacks(type: SupervisorType, i: number): string[] {
  return expectedSequence(type, i).map((s) => s.replace('terminate:', 'term:').replace('init:', 'start:'));
}

async function startSup(
  node: Node,
  rec: Recorder,
  type: SupervisorType,
  strategy: SupervisorStrategy,
  keepOrder = true,
): Promise<PID> {
  return spawnSup(node, {
    rec,
    spec: {
      type,
      children: workers(rec, 3),
      restart: { strategy, keepOrder },
      enableHandleChild: true,
      disableAutoShutdown: true,
    },
  });
}

/** Waits until every child affected by a restart triggered by child `i` has started again. */
async function restartDone(rec: Recorder, type: SupervisorType, i: number): Promise<void> {
  const last = 2;
  const first = type === SupervisorType.AllForOne ? 0 : i;
  for (let k = first; k <= last; k++) await rec.childStart(`c${k}`, 2);
}

for (const [tname, type] of TYPES) {
  describe(`supervisor ${tname}`, () => {
    it('basic child management (§5.12 TestBasic)', () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await startSup(node, rec, type, SupervisorStrategy.Transient);
        assert.deepEqual(rec.lifecycle(), ['init:c0', 'init:c1', 'init:c2']);
        for (const c of await childrenOf(node, sup)) assert.ok(node.processPID(c.name).equals(c.pid!));
        await rejectsCode(
          supExec(node, sup, (s) => s.startChild('c0')),
          'ERR_SUPERVISOR_CHILD_RUNNING',
        );
        await rejectsCode(
          supExec(node, sup, (s) => s.startChild('zz')),
          'ERR_SUPERVISOR_CHILD_UNKNOWN',
        );
        await supExec(node, sup, (s) => s.addChild(workerSpec(rec, 'c3')));
        assert.ok(node.processPID('c3').equals(await rec.started('c3')));
        await rejectsCode(
          supExec(node, sup, (s) => s.startChild('c3')),
          'ERR_SUPERVISOR_CHILD_RUNNING',
        );
        await rejectsCode(
          supExec(node, sup, (s) => s.disableChild('zz')),
          'ERR_SUPERVISOR_CHILD_UNKNOWN',
        );
        await supExec(node, sup, (s) => s.disableChild('c0'));
        await rec.terminated('c0');
        await rejectsCode(
          supExec(node, sup, (s) => s.startChild('c0')),
          'ERR_SUPERVISOR_CHILD_DISABLED',
        );
        const children = await childrenOf(node, sup);
        assert.deepEqual(
          children.map((c) => [c.spec, c.pid === null, c.disabled]),
          [
            ['c0', true, true],
            ['c1', false, false],
            ['c2', false, false],
            ['c3', false, false],
          ],
        );
        assert.equal(rec.inits('c1'), 1, 'disabling a child is not a restart trigger');
      }));

    for (const [sname, strategy] of STRATEGIES) {
      for (const kind of EXIT_KINDS) {
        const expect = restarts(strategy, kind);
        it(`${sname} × ${kind} on the middle child: ${expect ? 'restart sequence' : 'nothing restarted'} (KeepOrder)`, () =>
          withNode(async (node) => {
            const rec = new Recorder();
            const sup = await startSup(node, rec, type, strategy);
            const before = await childrenOf(node, sup);
            const mark = rec.mark();
            exitChild(node, before[1]!.pid!, kind);
            const t = await rec.childTerminate('c1');
            assert.equal(t.reason, EXIT_REASON[kind]);
            if (!expect) {
              const after = await childrenOf(node, sup);
              assert.equal(after[1]!.pid, null);
              assert.ok(
                after[0]!.pid!.equals(before[0]!.pid!) && after[2]!.pid!.equals(before[2]!.pid!),
                'siblings untouched',
              );
              assert.deepEqual(rec.lifecycle(mark), ['terminate:c1']);
              assert.deepEqual(rec.callbacks(mark), ['term:c1']);
              return;
            }
            await restartDone(rec, type, 1);
            assert.deepEqual(rec.lifecycle(mark), expectedSequence(type, 1));
            assert.deepEqual(
              rec.callbacks(mark),
              expectedCallbacks(type, 1),
              'callbacks after the strategy step, in order',
            );
            for (const sib of type === SupervisorType.AllForOne ? ['c0', 'c2'] : ['c2']) {
              assert.equal(
                seen(await rec.terminated(sib)),
                EXIT_REASON[kind],
                `${sib} stopped with the trigger's reason`,
              );
              const t2 = await rec.childTerminate(sib);
              assert.equal(t2.reason, EXIT_REASON[kind]);
            }
            const after = await childrenOf(node, sup);
            for (const c of after)
              assert.ok(c.pid !== null && node.processPID(c.name).equals(c.pid), `${c.name} running and registered`);
            if (type === SupervisorType.RestForOne)
              assert.ok(after[0]!.pid!.equals(before[0]!.pid!), 'rest-for-one leaves c0 alone');
            else assert.ok(!after[0]!.pid!.equals(before[0]!.pid!), 'all-for-one restarts c0 too');
          }));
      }
    }

    it('second phase: kill c0, c1, c2 in turn (§5.12)', () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await startSup(node, rec, type, SupervisorStrategy.Transient);
        for (let i = 0; i < 3; i++) {
          const mark = rec.mark();
          const cbMark = rec.mark();
          const pid = (await childrenOf(node, sup))[i]!.pid!;
          const startsBefore = rec.count((r) => r.ev === 'childStart');
          node.kill(pid);
          const affected = type === SupervisorType.AllForOne ? 3 : 3 - i;
          await rec.until((r) => r.ev === 'childStart', startsBefore + affected, 'restarts');
          assert.deepEqual(rec.lifecycle(mark), expectedSequence(type, i), `sequence after killing c${i}`);
          assert.deepEqual(rec.callbacks(cbMark), expectedCallbacks(type, i));
        }
        const exit = new Error('my exit');
        node.sendExit(sup, exit);
        assert.equal(await rec.supTerminated(), exit);
      }));

    for (const [sname, strategy] of STRATEGIES) {
      it(`${sname}: the parent's exit stops the children in reverse order (KeepOrder), then the supervisor with it`, () =>
        withNode(async (node) => {
          const rec = new Recorder();
          const sup = await startSup(node, rec, type, strategy);
          const mark = rec.mark();
          const exit = new Error('my exit');
          node.sendExit(sup, exit);
          assert.equal(await rec.supTerminated(), exit);
          assert.deepEqual(rec.lifecycle(mark), ['terminate:c2', 'terminate:c1', 'terminate:c0']);
          for (const c of ['c0', 'c1', 'c2']) assert.equal(seen(await rec.terminated(c)), exit);
          assert.equal(rec.log.at(-1)!.ev, 'supTerminate');
        }));
    }

    it('KeepOrder: a restart stops one sibling at a time, waiting for each (a busy last child holds up the rest)', () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await startSup(node, rec, type, SupervisorStrategy.Transient, true);
        const [c0, c1, c2] = (await childrenOf(node, sup)).map((c) => c.pid!) as [PID, PID, PID];
        const release = deferred();
        const entered = deferred();
        node.send(c2, new Block(release.promise, entered));
        await entered.promise;
        const mark = rec.mark();
        const trigger = type === SupervisorType.AllForOne ? c1 : c0;
        node.kill(trigger);
        await inspectOf(node, sup); // urgent barrier: the supervisor has handled the kill
        node.send(sup, 'queued while restarting');
        assert.ok(
          alive(node, type === SupervisorType.AllForOne ? c0 : c1),
          'the next sibling has not been stopped yet',
        );
        assert.equal(
          rec.count((r) => r.ev === 'message' && r.tag === 'sup'),
          0,
          'main-queue mail waits during the sequence',
        );
        release.resolve();
        await restartDone(rec, type, type === SupervisorType.AllForOne ? 1 : 0);
        const expected =
          type === SupervisorType.AllForOne
            ? ['terminate:c1', 'terminate:c2', 'terminate:c0', 'init:c0', 'init:c1', 'init:c2']
            : ['terminate:c0', 'terminate:c2', 'terminate:c1', 'init:c0', 'init:c1', 'init:c2'];
        assert.deepEqual(rec.lifecycle(mark), expected);
        await rec.until((r) => r.ev === 'message' && r.tag === 'sup', 1, 'the queued message');
        const idx = rec.log.findIndex((r) => r.ev === 'message' && r.tag === 'sup');
        const lastInit = rec.log.findLastIndex((r) => r.ev === 'init');
        assert.ok(idx > lastInit, 'the queued message is handled after the restart sequence');
      }));

    it('without KeepOrder: the siblings are stopped all at once (one busy child does not hold up the others)', () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await startSup(node, rec, type, SupervisorStrategy.Transient, false);
        const [c0, , c2] = (await childrenOf(node, sup)).map((c) => c.pid!) as [PID, PID, PID];
        const release = deferred();
        const entered = deferred();
        node.send(c2, new Block(release.promise, entered));
        await entered.promise;
        const mark = rec.mark();
        node.kill(c0);
        // c1 stops while c2 is still busy: its exit did not wait for c2's
        assert.equal(seen(await rec.terminated('c1')), TerminateReasonKill);
        assert.ok(alive(node, c2));
        assert.equal(rec.inits('c0'), 1, 'no restart before every sibling stopped');
        release.resolve();
        await restartDone(rec, type, 0);
        assert.deepEqual(rec.lifecycle(mark), [
          'terminate:c0',
          'terminate:c1',
          'terminate:c2',
          'init:c0',
          'init:c1',
          'init:c2',
        ]);
        assert.equal((await inspectOf(node, sup)).keep_order, 'false');
      }));

    for (const keepOrder of [true, false]) {
      it(`the parent's exit during a restart sequence turns it into a shutdown (keepOrder ${keepOrder})`, () =>
        withNode(async (node) => {
          const rec = new Recorder();
          const sup = await spawnSup(node, {
            rec,
            spec: { type, children: workers(rec, 4), restart: { strategy: SupervisorStrategy.Permanent, keepOrder } },
          });
          const [, c1, , c3] = (await childrenOf(node, sup)).map((c) => c.pid!) as [PID, PID, PID, PID];
          const release = deferred();
          const entered = deferred();
          node.send(c3, new Block(release.promise, entered));
          await entered.promise;
          const mark = rec.mark();
          node.kill(c1); // the restart sequence stops c3 first; c3 is busy
          await inspectOf(node, sup);
          const exit = new Error('parent exit');
          node.sendExit(sup, exit);
          await inspectOf(node, sup);
          release.resolve();
          assert.equal(await rec.supTerminated(), exit);
          const seq = rec.lifecycle(mark);
          assert.ok(
            seq.every((x) => x.startsWith('terminate:')),
            'nothing restarted',
          );
          assert.deepEqual([...seq].sort(), ['terminate:c0', 'terminate:c1', 'terminate:c2', 'terminate:c3']);
          if (keepOrder)
            assert.deepEqual(
              seq,
              ['terminate:c1', 'terminate:c3', 'terminate:c2', 'terminate:c0'],
              'still one at a time, in reverse order',
            );
        }));
    }

    it('restarted children get their original args, and disabled children stay out of a restart', () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const token = { t: 1 };
        const sup = await spawnSup(node, {
          rec,
          spec: {
            type,
            children: [
              workerSpec(rec, 'c0', { args: [token] }),
              workerSpec(rec, 'c1'),
              workerSpec(rec, 'c2'),
              workerSpec(rec, 'c3'),
            ],
            restart: { strategy: SupervisorStrategy.Permanent, keepOrder: true },
            disableAutoShutdown: true,
          },
        });
        await supExec(node, sup, (s) => s.disableChild('c2'));
        await rec.terminated('c2');
        await childrenOf(node, sup);
        const mark = rec.mark();
        node.kill(await rec.started('c0'));
        await rec.started('c3', 2);
        assert.deepEqual(rec.lifecycle(mark), [
          'terminate:c0',
          'terminate:c3',
          'terminate:c1',
          'init:c0',
          'init:c1',
          'init:c3',
        ]);
        const inits = rec.log.filter((r) => r.ev === 'init' && r.tag === 'c0') as { args: unknown[] }[];
        assert.equal(inits[1]!.args[0], token);
        assert.equal(rec.inits('c2'), 1, 'the disabled child was not restarted');
      }));

    it('a child that traps exits is still stopped by a restart and by a shutdown (exits from the parent are untrappable)', () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await spawnSup(node, {
          rec,
          spec: {
            type,
            children: [
              workerSpec(rec, 'c0'),
              workerSpec(rec, 'c1', { args: [TRAP_EXITS] }),
              workerSpec(rec, 'c2', { args: [TRAP_EXITS] }),
            ],
            restart: { keepOrder: true },
          },
        });
        const mark = rec.mark();
        node.kill(await rec.started('c0'));
        await rec.started('c2', 2);
        assert.deepEqual(rec.lifecycle(mark), [
          'terminate:c0',
          'terminate:c2',
          'terminate:c1',
          'init:c0',
          'init:c1',
          'init:c2',
        ]);
        assert.equal(
          rec.count((r) => r.ev === 'message'),
          0,
          'no exit was delivered as a message',
        );
        const exit = new Error('down');
        node.sendExit(sup, exit);
        assert.equal(await rec.supTerminated(), exit);
        assert.equal(seen(await rec.terminated('c2', 2)), exit);
      }));

    it('handleInspect names the type and reports KeepOrder', () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await startSup(node, rec, type, SupervisorStrategy.Temporary);
        const i = await inspectOf(node, sup);
        assert.equal(i.type, type === SupervisorType.AllForOne ? 'All For One' : 'Rest For One');
        assert.equal(i.strategy, 'Temporary');
        assert.equal(i.keep_order, 'true');
        assert.equal(i.intensity, '5');
        assert.equal(i.period, '5');
        assert.equal(i.children_running, '3');
      }));
  });
}

// The Go test's first phase: normal→c0, shutdown→c1, kill→c2 in turn on one supervisor. A
// restart starts every affected child that is not running — also one that ended normally before.
for (const [tname, type] of TYPES) {
  for (const [sname, strategy] of STRATEGIES) {
    it(`${tname} ${sname}: normal→c0, shutdown→c1, kill→c2 in turn (§5.12 TestStrategy)`, () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await startSup(node, rec, type, strategy);
        const running = new Set([0, 1, 2]);
        const plan: [number, ExitKind][] = [
          [0, 'normal'],
          [1, 'shutdown'],
          [2, 'kill'],
        ];
        for (const [i, kind] of plan) {
          const pid = (await childrenOf(node, sup))[i]!.pid!;
          const mark = rec.mark();
          const initsBefore = rec.count((r) => r.ev === 'init');
          const termsBefore = rec.count((r) => r.ev === 'childTerminate');
          exitChild(node, pid, kind);
          let expected: string[];
          if (!restarts(strategy, kind)) {
            running.delete(i);
            expected = [`terminate:c${i}`];
            await rec.until((r) => r.ev === 'childTerminate', termsBefore + 1, 'handleChildTerminate');
          } else {
            const affected = [0, 1, 2].filter((k) => type === SupervisorType.AllForOne || k >= i);
            const stops = affected.filter((k) => k !== i && running.has(k)).sort((a, b) => b - a);
            expected = [
              `terminate:c${i}`,
              ...stops.map((k) => `terminate:c${k}`),
              ...affected.map((k) => `init:c${k}`),
            ];
            for (const k of affected) running.add(k);
            await rec.until((r) => r.ev === 'init', initsBefore + affected.length, 'the restarted children');
          }
          await childrenOf(node, sup); // barrier
          assert.deepEqual(rec.lifecycle(mark), expected, `after ${kind} → c${i}`);
          const now = await childrenOf(node, sup);
          assert.deepEqual(
            now.map((c) => c.pid !== null),
            [0, 1, 2].map((k) => running.has(k)),
            'running children',
          );
        }
        const exit = new Error('my exit');
        node.sendExit(sup, exit);
        assert.equal(await rec.supTerminated(), exit);
      }));
  }
}
