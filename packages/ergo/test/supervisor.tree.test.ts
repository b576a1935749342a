// Supervision trees: supervisors supervising supervisors. A worker crash is handled by its own
// supervisor only; a sub-supervisor that dies (killed, or over its restart intensity) is
// restarted by its parent with a fresh set of workers; stopping the root stops the tree
// depth-first with the root's reason; a graceful node stop takes a permanent tree down without
// restarts; a supervisor can be an application member.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import {
  ErrSupervisorRestartsExceeded,
  SupervisorStrategy,
  SupervisorType,
  TerminateReasonKill,
  TerminateReasonShutdown,
  createApplication,
  memberSpec,
  poolOptions,
  Pool,
  type Node,
  type PID,
  childSpec,
  type CheckedChildSpec,
  type SupervisorSpec,
} from '../src/index.js';
import {
  Recorder,
  TestSup,
  childrenOf,
  exitChild,
  guardUnhandled,
  seen,
  spawnSup,
  supNode,
  withNode,
  workerSpec,
  Worker,
} from './supervision_helpers.js';

guardUnhandled();

/** A pool of two Workers (tag 'pw'). */
class WorkerPool extends Pool {
  override init(rec: Recorder) {
    return poolOptions({ poolSize: 2, workerFactory: Worker, workerArgs: [rec, 'pw'] });
  }
}

/** A child spec of a TestSup named `name` (tag = name) with the given spec. */
function subSup(rec: Recorder, name: string, spec: SupervisorSpec): CheckedChildSpec {
  return childSpec({ name, factory: TestSup, args: [{ rec, tag: name, spec }] });
}

/**
 * root (one-for-one, enableHandleChild)
 *   ├─ subA (one-for-one, intensity 2): a0, a1
 *   ├─ subB (all-for-one): b0, b1
 *   └─ x
 */
function tree(rec: Recorder, strategy: SupervisorStrategy = SupervisorStrategy.Transient): SupervisorSpec {
  return {
    children: [
      subSup(rec, 'subA', {
        children: [workerSpec(rec, 'a0'), workerSpec(rec, 'a1')],
        restart: { strategy, intensity: 2, period: 60 },
        enableHandleChild: true,
      }),
      subSup(rec, 'subB', {
        type: SupervisorType.AllForOne,
        children: [workerSpec(rec, 'b0'), workerSpec(rec, 'b1')],
        restart: { strategy },
      }),
      workerSpec(rec, 'x'),
    ],
    restart: { strategy },
    enableHandleChild: true,
  };
}

/**
 * Starts the tree and waits for its handleChildStart callbacks: they reach a supervisor as messages
 * after its children started, so under load they can still be on their way when spawn returns.
 */
async function startTree(node: Node, rec: Recorder, strategy?: SupervisorStrategy): Promise<PID> {
  const root = await spawnSup(node, { rec, tag: 'root', spec: tree(rec, strategy) });
  for (const name of ['subA', 'subB', 'x']) await rec.childStart(name, 1, 'root');
  for (const name of ['a0', 'a1']) await rec.childStart(name, 1, 'subA');
  return root;
}

describe('supervision trees', () => {
  it('the tree starts depth-first in spec order, every level registered', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const root = await startTree(node, rec);
      assert.deepEqual(rec.lifecycle(), ['init:a0', 'init:a1', 'init:b0', 'init:b1', 'init:x']);
      for (const n of ['subA', 'subB', 'x', 'a0', 'a1', 'b0', 'b1']) assert.ok(node.processPID(n), `${n} registered`);
      assert.ok(node.processInfo(node.processPID('a0')).parent.equals(node.processPID('subA')));
      assert.ok(node.processInfo(node.processPID('subA')).parent.equals(root));
    }));

  it('a worker crash is handled by its own supervisor; the root sees nothing', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const root = await startTree(node, rec);
      const subA = node.processPID('subA');
      const mark = rec.mark();
      exitChild(node, node.processPID('a1'), 'crash');
      await rec.childStart('a1', 2, 'subA');
      assert.deepEqual(rec.lifecycle(mark), ['terminate:a1', 'init:a1']);
      assert.deepEqual(rec.callbacks(mark, 'root'), [], 'no callback on the root');
      assert.ok(node.processPID('subA').equals(subA), 'subA untouched');
      assert.ok((await childrenOf(node, root)).every((c) => c.pid !== null));
    }));

  it('a killed sub-supervisor takes its workers down and is restarted by the root with fresh workers', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      await startTree(node, rec);
      const subA = node.processPID('subA');
      const [a0, a1] = [node.processPID('a0'), node.processPID('a1')];
      const mark = rec.mark();
      node.kill(subA);
      const t = await rec.childTerminate('subA', 1, 'root');
      assert.equal(t.reason, TerminateReasonKill);
      assert.equal(await rec.supTerminated('subA'), TerminateReasonKill);
      assert.equal(
        seen(await rec.terminated('a0')),
        TerminateReasonKill,
        'workers follow their supervisor (LinkParent)',
      );
      assert.equal(seen(await rec.terminated('a1')), TerminateReasonKill);
      const subA2 = await rec.childStart('subA', 2, 'root');
      await rec.started('a1', 2);
      assert.ok(!subA2.equals(subA));
      assert.ok(!node.processPID('a0').equals(a0) && !node.processPID('a1').equals(a1), 'fresh workers');
      assert.ok(node.processInfo(node.processPID('a0')).parent.equals(subA2));
      assert.deepEqual(
        rec.lifecycle(mark).filter((s) => s.startsWith('init:')),
        ['init:a0', 'init:a1'],
        'only subA subtree restarted',
      );
    }));

  it('a sub-supervisor over its intensity ends with ErrSupervisorRestartsExceeded and the root restarts it', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      await startTree(node, rec, SupervisorStrategy.Permanent);
      for (let n = 1; n <= 2; n++) {
        exitChild(node, await rec.started('a0', n), 'crash');
        await rec.started('a0', n + 1);
      }
      exitChild(node, await rec.started('a0', 3), 'crash');
      assert.equal(await rec.supTerminated('subA'), ErrSupervisorRestartsExceeded);
      const t = await rec.childTerminate('subA', 1, 'root');
      assert.equal(t.reason, ErrSupervisorRestartsExceeded, 'the root sees the sentinel');
      await rec.childStart('subA', 2, 'root');
      await rec.started('a0', 4);
      await rec.started('a1', 2);
      assert.equal(seen(await rec.terminated('a1')), ErrSupervisorRestartsExceeded, 'a1 was stopped with the sentinel');
      assert.equal(rec.inits('b0'), 1, 'subB untouched');
    }));

  it("stopping the root stops the tree depth-first with the root's reason", () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const root = await startTree(node, rec, SupervisorStrategy.Permanent);
      const exit = new Error('root exit');
      node.sendExit(root, exit);
      assert.equal(await rec.supTerminated('root'), exit);
      assert.equal(
        await rec.supTerminated('subA'),
        exit,
        'a sub-supervisor ends with its parent exit reason unwrapped',
      );
      assert.equal(await rec.supTerminated('subB'), exit);
      for (const w of ['a0', 'a1', 'b0', 'b1', 'x']) assert.equal(seen(await rec.terminated(w)), exit);
      const order = rec.log
        .filter((r) => r.ev === 'terminate' || r.ev === 'supTerminate')
        .map((r) => (r.ev === 'terminate' ? r.tag : (r as { sup: string }).sup));
      assert.ok(order.indexOf('a0') < order.indexOf('subA') && order.indexOf('a1') < order.indexOf('subA'));
      assert.ok(order.indexOf('b0') < order.indexOf('subB') && order.indexOf('b1') < order.indexOf('subB'));
      assert.equal(order.at(-1), 'root');
      assert.equal(
        rec.count((r) => r.ev === 'init'),
        5,
        'no restarts on the way down',
      );
      assert.equal(node.processList().length, 0);
    }));

  it('a graceful node stop takes a permanent tree down without restarts', async () => {
    const node = await supNode();
    const rec = new Recorder();
    await startTree(node, rec, SupervisorStrategy.Permanent);
    await node.stop();
    assert.equal(node.isAlive(), false);
    assert.equal(
      rec.count((r) => r.ev === 'init'),
      5,
      'nothing restarted',
    );
    for (const s of ['root', 'subA', 'subB']) assert.equal(seen(await rec.supTerminated(s)), TerminateReasonShutdown);
    for (const w of ['a0', 'a1', 'b0', 'b1', 'x']) assert.equal(seen(await rec.terminated(w)), TerminateReasonShutdown);
  });

  it('a pool under a supervisor: a crashed pool is restarted with a fresh set of workers', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const root = await spawnSup(node, {
        rec,
        tag: 'root',
        spec: { children: [childSpec({ name: 'pool', factory: WorkerPool, args: [rec] })], enableHandleChild: true },
      });
      const pool = node.processPID('pool');
      const first = await rec.until((r) => r.ev === 'init' && r.tag === 'pw', 2, 'pool workers');
      assert.ok((await node.call('pool', 'hello')) !== undefined, 'the pool forwards to a worker');
      node.kill(pool);
      assert.equal((await rec.childTerminate('pool', 1, 'root')).reason, TerminateReasonKill);
      for (const w of first) {
        const t = (await rec.until((r) => r.ev === 'terminate' && r.pid.equals(w.pid), 1, 'old worker'))[0] as {
          reason: Error;
        };
        assert.equal(seen(t.reason), TerminateReasonKill, 'workers follow their pool');
      }
      await rec.childStart('pool', 2, 'root');
      await rec.until((r) => r.ev === 'init' && r.tag === 'pw', 4, 'fresh workers');
      assert.ok(!node.processPID('pool').equals(pool));
      assert.deepEqual(await node.call('pool', 'again'), 'again');
      assert.ok(root);
    }));

  it('a supervisor can be an application member', async () => {
    const rec = new Recorder();
    const terminated: Error[] = [];
    const app = createApplication({
      name: 'treeapp',
      group: [memberSpec({ name: 'rootsup', factory: TestSup, args: [{ rec, tag: 'root', spec: tree(rec) }] })],
    });
    const node = await supNode({ applications: [{ ...app, terminate: (r: Error) => void terminated.push(r) }] });
    try {
      assert.deepEqual(node.applicationsRunning(), ['treeapp']);
      const a0 = node.processPID('a0');
      assert.equal(node.processInfo(a0).application, 'treeapp', 'the application name is inherited down the tree');
      exitChild(node, a0, 'crash');
      await rec.started('a0', 2);
      assert.deepEqual(node.applicationsRunning(), ['treeapp'], 'a worker restart does not concern the application');
      await node.applicationStop('treeapp');
      assert.equal(seen(await rec.supTerminated('root')), TerminateReasonShutdown);
      assert.deepEqual(terminated, [TerminateReasonShutdown]);
      assert.equal(node.processList().length, 0);
    } finally {
      await node.stop();
    }
  });
});
