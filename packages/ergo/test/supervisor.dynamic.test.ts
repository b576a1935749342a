// Dynamic children: startChild (new args persist for later restarts), addChild (validation,
// duplicates, a failing init), enableChild / disableChild (a non-running child is marked
// disabled; disabling is never a restart trigger), children(), the handleChildStart callback
// for dynamic starts, ErrSupervisorStrategyActive during a restart or shutdown sequence, and
// ErrNotAllowed outside a handler.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import { SupervisorStrategy, SupervisorType, TerminateReasonShutdown, type ErgoError, type PID } from '../src/index.js';
import {
  Block,
  InitFail,
  Recorder,
  childrenOf,
  deferred,
  exitChild,
  guardUnhandled,
  inspectOf,
  rejectsCode,
  seen,
  spawnSup,
  supExec,
  withNode,
  workerSpec,
  workers,
  type TestSup,
} from './supervision_helpers.js';

guardUnhandled();

const ORDERED: [string, SupervisorType][] = [
  ['one-for-one', SupervisorType.OneForOne],
  ['all-for-one', SupervisorType.AllForOne],
  ['rest-for-one', SupervisorType.RestForOne],
];

/** An inspect item that makes the supervisor try a child operation from inside handleInspect. */
function tryOps(s: TestSup, items: string[]): Promise<Record<string, string>> | undefined {
  if (items[0] !== 'try') return undefined;
  const codes: Record<string, string> = {};
  const one = (k: string, p: Promise<void>): Promise<void> =>
    p.then(
      () => void (codes[k] = 'ok'),
      (e: unknown) => void (codes[k] = (e as ErgoError).code),
    );
  return Promise.all([
    one('start', s.startChild('c0')),
    one('add', s.addChild(workerSpec(s.cfg.rec, 'late'))),
    one('enable', s.enableChild('c0')),
    one('disable', s.disableChild('c0')),
  ]).then(() => codes);
}

for (const [tname, type] of ORDERED) {
  describe(`dynamic children, ${tname}`, () => {
    it('startChild with new args: they are used now and for later restarts', () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await spawnSup(node, {
          rec,
          spec: { type, children: workers(rec, 3), disableAutoShutdown: true, enableHandleChild: true },
        });
        exitChild(node, await rec.started('c0'), 'normal');
        await rec.childTerminate('c0');
        const fresh = { v: 'new' };
        await supExec(node, sup, (s) => s.startChild('c0', rec, 'c0', fresh));
        const second = await rec.started('c0', 2);
        assert.ok((await childrenOf(node, sup))[0]!.pid!.equals(second), 'children() has it once startChild resolved');
        assert.ok(await rec.childStart('c0', 2), 'handleChildStart for a dynamic start');
        // a restart (of c0 itself, or taken along by a sibling) reuses the new args
        node.kill(
          type === SupervisorType.OneForOne
            ? second
            : (await childrenOf(node, sup))[type === SupervisorType.AllForOne ? 2 : 0]!.pid!,
        );
        await rec.started('c0', 3);
        const inits = rec.log.filter((r) => r.ev === 'init' && r.tag === 'c0') as { args: unknown[] }[];
        assert.deepEqual(
          inits.map((r) => r.args),
          [[], [fresh], [fresh]],
        );
      }));

    it('addChild: validation, duplicates, a failing init, and the new child joins later restarts', () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await spawnSup(node, {
          rec,
          spec: {
            type,
            children: workers(rec, 2),
            restart: { strategy: SupervisorStrategy.Permanent },
            disableAutoShutdown: true,
          },
        });
        await rejectsCode(
          supExec(node, sup, (s) => s.addChild(workerSpec(rec, 'c1'))),
          'ERR_SUPERVISOR_CHILD_DUPLICATE',
        );
        await rejectsCode(
          supExec(node, sup, (s) => s.addChild({ name: '', factory: () => null as never })),
          'ERR_INCORRECT',
        );
        await rejectsCode(
          supExec(node, sup, (s) => s.addChild({ name: 'nofactory' } as never)),
          'ERR_INCORRECT',
        );
        const boom = new Error('bad init');
        const fail = new InitFail(boom);
        await assert.rejects(
          supExec(node, sup, (s) => s.addChild(workerSpec(rec, 'bad', { args: [fail] }))),
          (e) => e === boom,
        );
        fail.error = null; // from now on it would start (an all/rest-for-one restart will start it)
        await supExec(node, sup, (s) => s.addChild(workerSpec(rec, 'c2')));
        await rec.started('c2');
        const children = await childrenOf(node, sup);
        assert.deepEqual(
          children.map((c) => [c.spec, c.pid !== null]),
          [
            ['c0', true],
            ['c1', true],
            ['bad', false],
            ['c2', true],
          ],
          'a spec whose child failed to start stays listed, not running',
        );
        const mark = rec.mark();
        node.kill(children[0]!.pid!);
        await rec.started('c0', 2);
        if (type !== SupervisorType.OneForOne) await rec.started('c2', 2);
        await childrenOf(node, sup);
        if (type === SupervisorType.OneForOne) assert.deepEqual(rec.lifecycle(mark), ['terminate:c0', 'init:c0']);
        else {
          // every affected child that is not running is started, the never-started 'bad' too
          assert.deepEqual(rec.lifecycle(mark), [
            'terminate:c0',
            'terminate:c2',
            'terminate:c1',
            'init:c0',
            'init:c1',
            'init:bad',
            'init:c2',
          ]);
        }
      }));

    it('disableChild / enableChild: stop with shutdown, no restart; a non-running child is marked disabled', () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await spawnSup(node, {
          rec,
          spec: {
            type,
            children: workers(rec, 3),
            restart: { strategy: SupervisorStrategy.Permanent },
            enableHandleChild: true,
          },
        });
        const before = await childrenOf(node, sup);
        await supExec(node, sup, (s) => s.disableChild('c1'));
        assert.equal(seen(await rec.terminated('c1')), TerminateReasonShutdown);
        const t = await rec.childTerminate('c1');
        assert.equal(t.reason, TerminateReasonShutdown);
        let children = await childrenOf(node, sup);
        assert.deepEqual(
          children.map((c) => c.disabled),
          [false, true, false],
        );
        assert.ok(
          children[0]!.pid!.equals(before[0]!.pid!) && children[2]!.pid!.equals(before[2]!.pid!),
          'not a restart trigger, even for permanent',
        );
        assert.equal(rec.inits('c1'), 1);
        await supExec(node, sup, (s) => s.disableChild('c1')); // again: no-op
        await supExec(node, sup, (s) => s.enableChild('c1'));
        const c1 = await rec.started('c1', 2);
        children = await childrenOf(node, sup);
        assert.ok(children[1]!.pid!.equals(c1) && !children[1]!.disabled);
        await supExec(node, sup, (s) => s.enableChild('c1')); // enabled and running: no-op
        assert.equal(rec.inits('c1'), 2);
        await rejectsCode(
          supExec(node, sup, (s) => s.enableChild('zz')),
          'ERR_SUPERVISOR_CHILD_UNKNOWN',
        );
      }));

    it('disableChild of a child that is not running marks it disabled (port decision)', () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await spawnSup(node, {
          rec,
          spec: {
            type,
            children: workers(rec, 2),
            restart: { strategy: SupervisorStrategy.Temporary },
            disableAutoShutdown: true,
          },
        });
        exitChild(node, await rec.started('c1'), 'crash');
        await rec.terminated('c1');
        await childrenOf(node, sup);
        await supExec(node, sup, (s) => s.disableChild('c1'));
        const c = (await childrenOf(node, sup))[1]!;
        assert.deepEqual([c.pid, c.disabled], [null, true]);
        await rejectsCode(
          supExec(node, sup, (s) => s.startChild('c1')),
          'ERR_SUPERVISOR_CHILD_DISABLED',
        );
        await supExec(node, sup, (s) => s.enableChild('c1'));
        await rec.started('c1', 2);
      }));

    // (a one-for-one restart is a single spawn during which the supervisor is suspended: no
    // handler can run inside it, so there is nothing to observe for that type)
    if (type === SupervisorType.OneForOne) return;
    it('child operations during a restart sequence fail with ErrSupervisorStrategyActive', () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await spawnSup(node, {
          rec,
          spec: {
            type,
            children: workers(rec, 3),
            restart: { strategy: SupervisorStrategy.Transient, keepOrder: true },
          },
          inspect: tryOps,
        });
        const [c0, , c2] = (await childrenOf(node, sup)).map((c) => c.pid!) as [PID, PID, PID];
        const release = deferred();
        const entered = deferred();
        node.send(c2, new Block(release.promise, entered));
        await entered.promise;
        node.kill(c0); // c2 is stopped first and is busy: the sequence stays open
        const codes = await inspectOf(node, sup, 'try');
        assert.deepEqual(codes, {
          start: 'ERR_SUPERVISOR_STRATEGY_ACTIVE',
          add: 'ERR_SUPERVISOR_STRATEGY_ACTIVE',
          enable: 'ERR_SUPERVISOR_STRATEGY_ACTIVE',
          disable: 'ERR_SUPERVISOR_STRATEGY_ACTIVE',
        });
        release.resolve();
        await rec.started('c2', 2);
        // after the sequence they work again
        await rejectsCode(
          supExec(node, sup, (s) => s.startChild('c0')),
          'ERR_SUPERVISOR_CHILD_RUNNING',
        );
      }));
  });
}

describe('dynamic children: shutdown sequence and handler state', () => {
  for (const [tname, type] of [
    ...ORDERED,
    ['simple-one-for-one', SupervisorType.SimpleOneForOne] as [string, SupervisorType],
  ]) {
    it(`${tname}: during a shutdown sequence child operations fail with ErrSupervisorStrategyActive`, () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sofo = type === SupervisorType.SimpleOneForOne;
        const sup = await spawnSup(node, {
          rec,
          spec: { type, children: workers(rec, 2) },
          inspect: tryOps,
        });
        if (sofo) {
          await supExec(node, sup, async (s) => {
            await s.startChild('c0');
            await s.startChild('c1');
          });
        }
        const c1 = await rec.started('c1');
        const release = deferred();
        const entered = deferred();
        node.send(c1, new Block(release.promise, entered));
        await entered.promise;
        const exit = new Error('going down');
        node.sendExit(sup, exit);
        await rec.terminated('c0'); // the shutdown has begun; c1 is busy, so it is still open
        const codes = await inspectOf(node, sup, 'try');
        assert.deepEqual(codes, {
          start: 'ERR_SUPERVISOR_STRATEGY_ACTIVE',
          add: 'ERR_SUPERVISOR_STRATEGY_ACTIVE',
          enable: 'ERR_SUPERVISOR_STRATEGY_ACTIVE',
          disable: 'ERR_SUPERVISOR_STRATEGY_ACTIVE',
        });
        release.resolve();
        assert.equal(await rec.supTerminated(), exit);
      }));
  }

  it('child operations outside a handler reject with ErrNotAllowed; children() works anywhere', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      let captured: TestSup | undefined;
      await spawnSup(node, {
        rec,
        spec: (s) => {
          captured = s;
          return { children: workers(rec, 2) };
        },
      });
      const s = captured!;
      await rejectsCode(s.startChild('c0'), 'ERR_NOT_ALLOWED');
      await rejectsCode(s.addChild(workerSpec(rec, 'x')), 'ERR_NOT_ALLOWED');
      await rejectsCode(s.enableChild('c0'), 'ERR_NOT_ALLOWED');
      await rejectsCode(s.disableChild('c0'), 'ERR_NOT_ALLOWED');
      assert.deepEqual(
        s.children().map((c) => c.spec),
        ['c0', 'c1'],
      );
    }));
});

it('a startChild that is not awaited: a child ending before its spawn resolved is still handled as a child', async () => {
  const { startNode, Actor, Supervisor, ErgoError } = await import('../src/index.js');
  const node = await startNode('sup-noawait@localhost', { log: { defaultLogger: { disable: true } } });
  try {
    const crash = new ErgoError('TEST_CRASH', 'crash');
    let started = 0;
    let finished!: () => void;
    const restartedTwice = new Promise<void>((r) => (finished = r));
    class Flaky extends Actor {
      override init(): void {
        if (++started <= 2) this.send(this.pid, 'die');
        else finished();
      }
      override handleMessage(): Error {
        return crash;
      }
    }
    class Idle extends Actor {}
    class Sup extends Supervisor {
      override init() {
        return {
          type: SupervisorType.SimpleOneForOne,
          children: [
            { name: 'flaky', factory: Flaky },
            { name: 'idle', factory: Idle },
          ],
        };
      }
      override handleMessage(): void {
        void this.startChild('flaky'); // deliberately not awaited
      }
    }
    const sup = await node.spawn(Sup);
    node.send(sup, 'start one');
    await restartedTwice;
    assert.equal(started, 3, 'the crashed instance was restarted, not treated as a stranger');
    assert.ok(
      node.processList().some((p) => p.equals(sup)),
      'the supervisor is still running',
    );
  } finally {
    await node.stopForce();
  }
});
