// Simple-one-for-one supervisor (ERGO-API §5.10 TestT9SupervisorSOFO): nothing started at init,
// startChild starts unnamed instances of a spec (with its args or the spec's), addChild only
// records a spec, disable/enable, every strategy × exit kind with the handleChild callbacks,
// restarts with the args an instance was started with (port decision), no significant children
// and no auto-shutdown, the parent's exit, and handleInspect.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import {
  SupervisorStrategy,
  SupervisorType,
  TerminateReasonNormal,
  TerminateReasonShutdown,
  type Node,
  type PID,
} from '../src/index.js';
import {
  EXIT_KINDS,
  EXIT_REASON,
  Recorder,
  STRATEGIES,
  childrenOf,
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
} from './supervision_helpers.js';

guardUnhandled();

function sofo(
  node: Node,
  rec: Recorder,
  strategy: SupervisorStrategy = SupervisorStrategy.Transient,
  extra: object = {},
): Promise<PID> {
  return spawnSup(node, {
    rec,
    spec: {
      type: SupervisorType.SimpleOneForOne,
      children: [workerSpec(rec, 'w', { tag: 'w-spec', args: ['spec-arg'] }), workerSpec(rec, 'v', { tag: 'v-spec' })],
      restart: { strategy },
      enableHandleChild: true,
      ...extra,
    },
  });
}

describe('supervisor simple-one-for-one: basics (§5.10 TestBasic)', () => {
  it('starts nothing at init; startChild starts instances; unknown, addChild, disable and enable', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await sofo(node, rec);
      assert.deepEqual(await childrenOf(node, sup), [], 'no children at start');
      assert.equal(rec.inits('w-spec'), 0);

      await supExec(node, sup, (s) => s.startChild('w', rec, 'w1', 'a'));
      const w1 = await rec.started('w1');
      let children = await childrenOf(node, sup);
      assert.equal(children.length, 1);
      assert.deepEqual([children[0]!.spec, children[0]!.name], ['w', ''], 'instances are unnamed');
      assert.ok(children[0]!.pid!.equals(w1));
      assert.equal(node.processName(w1), '', 'not registered');

      await rejectsCode(
        supExec(node, sup, (s) => s.startChild('nope')),
        'ERR_SUPERVISOR_CHILD_UNKNOWN',
      );
      assert.equal((await childrenOf(node, sup)).length, 1, 'children unchanged');

      await supExec(node, sup, (s) => s.addChild(workerSpec(rec, 'x', { tag: 'x-spec' })));
      assert.equal((await childrenOf(node, sup)).length, 1, 'addChild does not start anything');
      assert.equal(rec.inits('x-spec'), 0);
      await rejectsCode(
        supExec(node, sup, (s) => s.addChild(workerSpec(rec, 'x'))),
        'ERR_SUPERVISOR_CHILD_DUPLICATE',
      );

      await supExec(node, sup, (s) => s.startChild('x'));
      await rec.started('x-spec');
      children = await childrenOf(node, sup);
      assert.deepEqual(
        children.map((c) => c.spec),
        ['w', 'x'],
        'two children, sorted by spec order',
      );
      assert.ok(children[0]!.pid!.equals(w1), 'the first one unchanged');

      await rejectsCode(
        supExec(node, sup, (s) => s.disableChild('nope')),
        'ERR_SUPERVISOR_CHILD_UNKNOWN',
      );
      await supExec(node, sup, (s) => s.disableChild('w'));
      assert.equal(
        seen(await rec.terminated('w1')),
        TerminateReasonShutdown,
        'instances of a disabled spec stop with shutdown',
      );
      await rejectsCode(
        supExec(node, sup, (s) => s.startChild('w')),
        'ERR_SUPERVISOR_CHILD_DISABLED',
      );
      assert.deepEqual(
        (await childrenOf(node, sup)).map((c) => c.spec),
        ['x'],
      );

      await rejectsCode(
        supExec(node, sup, (s) => s.enableChild('nope')),
        'ERR_SUPERVISOR_CHILD_UNKNOWN',
      );
      await supExec(node, sup, (s) => s.enableChild('w'));
      assert.equal((await childrenOf(node, sup)).length, 1, 'enableChild does not start an instance');
      await supExec(node, sup, (s) => s.startChild('w', rec, 'w2'));
      await rec.started('w2');
      assert.deepEqual(
        (await childrenOf(node, sup)).map((c) => c.spec),
        ['w', 'x'],
      );
    }));

  it('startChild without args uses the spec args; many instances of one spec are listed by spec then pid', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await sofo(node, rec);
      await supExec(node, sup, async (s) => {
        await s.startChild('v', rec, 'v1');
        await s.startChild('w');
        await s.startChild('w');
        await s.startChild('v', rec, 'v2');
      });
      const specStarts = rec.log.filter((r) => r.ev === 'init' && r.tag === 'w-spec') as { args: unknown[] }[];
      assert.equal(specStarts.length, 2);
      assert.deepEqual(specStarts[0]!.args, ['spec-arg']);
      const children = await childrenOf(node, sup);
      assert.deepEqual(
        children.map((c) => c.spec),
        ['w', 'w', 'v', 'v'],
      );
      assert.ok(children[0]!.pid!.id < children[1]!.pid!.id && children[2]!.pid!.id < children[3]!.pid!.id);
    }));
});

describe('supervisor simple-one-for-one: strategies (§5.10 TestStrategy)', () => {
  for (const [sname, strategy] of STRATEGIES) {
    for (const kind of EXIT_KINDS) {
      const expect = restarts(strategy, kind);
      it(`${sname} × ${kind}: ${expect ? 'restarted with the args it was started with' : 'not restarted'}`, () =>
        withNode(async (node) => {
          const rec = new Recorder();
          const sup = await sofo(node, rec, strategy);
          const token = { i: 3 };
          await supExec(node, sup, async (s) => {
            for (let i = 0; i < 5; i++) await s.startChild('w', rec, `i${i}`, i === 3 ? token : i);
          });
          for (let i = 0; i < 5; i++) {
            const r = rec.log.find((x) => x.ev === 'init' && x.tag === `i${i}`) as { args: unknown[] };
            assert.deepEqual(r.args, [i === 3 ? token : i], 'args delivered to the instance init');
          }
          await rec.childStart('w', 5);
          const before = await childrenOf(node, sup);
          const victim = await rec.started('i3');
          const mark = rec.mark();
          exitChild(node, victim, kind);
          const t = await rec.childTerminate('w');
          assert.ok(t.pid.equals(victim));
          assert.equal(t.reason, EXIT_REASON[kind]);
          const after = await childrenOf(node, sup);
          if (expect) {
            const again = await rec.started('i3', 2);
            const inits = rec.log.filter((r) => r.ev === 'init' && r.tag === 'i3') as { args: unknown[] }[];
            assert.equal(inits[1]!.args[0], token, 'the same args as the original start (not the spec args)');
            assert.equal(after.length, 5);
            assert.ok(after.some((c) => c.pid!.equals(again)));
            assert.deepEqual(rec.callbacks(mark), ['term:w', 'start:w']);
          } else {
            assert.equal(after.length, 4);
            assert.ok(!after.some((c) => c.pid!.equals(victim)));
            assert.deepEqual(rec.callbacks(mark), ['term:w']);
          }
          for (const c of before)
            if (!c.pid!.equals(victim))
              assert.ok(
                after.some((a) => a.pid!.equals(c.pid!)),
                'other instances untouched',
              );

          const exit = new Error('my exit');
          node.sendExit(sup, exit);
          assert.equal(await rec.supTerminated(), exit, 'parent exit → terminate with exactly that reason');
          const live = after.map((c) => c.pid!);
          for (const pid of live) {
            const r = (await rec.until((x) => x.ev === 'terminate' && x.pid.equals(pid), 1, 'instance stop'))[0] as {
              reason: Error;
            };
            assert.equal(seen(r.reason), exit);
          }
        }));
    }
  }
});

describe('supervisor simple-one-for-one: rules that do not apply', () => {
  it('significant is ignored and there is no auto-shutdown: the supervisor outlives all its instances', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, {
        rec,
        spec: {
          type: SupervisorType.SimpleOneForOne,
          children: [workerSpec(rec, 'w', { significant: true })],
          restart: { strategy: SupervisorStrategy.Temporary },
        },
      });
      await supExec(node, sup, async (s) => {
        await s.startChild('w', rec, 'a');
        await s.startChild('w', rec, 'b');
      });
      exitChild(node, await rec.started('a'), 'crash');
      exitChild(node, await rec.started('b'), 'normal');
      await rec.terminated('a');
      assert.equal(await rec.terminated('b'), TerminateReasonNormal);
      assert.deepEqual(await childrenOf(node, sup), []);
      const children = await supExec(node, sup, (s) => s.children());
      assert.deepEqual(children, []);
      assert.ok(
        node.processList().some((p) => p.equals(sup)),
        'still running with no children',
      );
      assert.equal(
        rec.count((r) => r.ev === 'supTerminate'),
        0,
      );
      // and it can start new ones
      await supExec(node, sup, (s) => s.startChild('w', rec, 'c'));
      await rec.started('c');
    }));

  it('handleInspect', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await sofo(node, rec, SupervisorStrategy.Permanent);
      await supExec(node, sup, async (s) => {
        await s.startChild('w');
        await s.startChild('w');
        await s.startChild('v', rec, 'v1');
      });
      await supExec(node, sup, (s) => s.disableChild('v'));
      await rec.terminated('v1');
      await childrenOf(node, sup);
      const i = await inspectOf(node, sup);
      assert.equal(i.type, 'Simple One For One');
      assert.equal(i.strategy, 'Permanent');
      assert.equal(i.children, '2');
      assert.equal(i.children_running, '2');
      assert.equal(i.restarts, '0', 'stopping a disabled instance is not a restart');
    }));
});
