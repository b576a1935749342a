// One-for-one supervisor (ERGO-API §5.11 TestT10SupervisorOFO, §1 supervisor rows): children
// started in spec order and registered, the basic child-management checks, every restart
// strategy × exit kind (normal / shutdown / crash / kill) with the handleChild callbacks,
// restarts with the original arguments, a parent's exit, own handler errors, spec validation,
// a child failing init, and handleInspect.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import {
  type ErgoError,
  ExitReason,
  Stop,
  SupervisorStrategy,
  SupervisorType,
  TerminateReasonNormal,
  TerminateReasonPanic,
  TerminateReasonShutdown,
  TerminateReasonKill,
  type PID,
  startNode,
  Supervisor,
  type SupervisorSpec,
} from '../src/index.js';
import { LogCapture } from './helpers.js';
import { waitFor } from '../src/testing/index.js';
import {
  EXIT_KINDS,
  EXIT_REASON,
  InitFail,
  Quit,
  Crash,
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
  workers,
  Worker,
  Block,
  deferred,
} from './supervision_helpers.js';

guardUnhandled();

describe('supervisor one-for-one: start and registration', () => {
  it('starts the children in spec order, with their args, registered under their spec names and linked both ways', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const extra = { n: 1 };
      const sup = await spawnSup(node, {
        rec,
        spec: { children: [workerSpec(rec, 'c0', { args: [extra] }), workerSpec(rec, 'c1'), workerSpec(rec, 'c2')] },
      });
      assert.deepEqual(
        rec.lifecycle(),
        ['init:c0', 'init:c1', 'init:c2'],
        'started in spec order before spawn resolved',
      );
      const first = rec.log[0] as { args: unknown[] };
      assert.equal(first.args[0], extra, 'child init got the spec args');

      const children = await childrenOf(node, sup);
      assert.deepEqual(
        children.map((c) => [c.spec, c.name, c.significant, c.disabled]),
        [
          ['c0', 'c0', false, false],
          ['c1', 'c1', false, false],
          ['c2', 'c2', false, false],
        ],
      );
      for (const c of children) {
        assert.ok(c.pid !== null);
        assert.ok(node.processPID(c.name).equals(c.pid), `${c.name} is registered`);
        const info = node.processInfo(c.pid);
        assert.ok(info.parent.equals(sup), 'the supervisor is the parent');
        assert.ok(
          info.linksPID.some((p) => p.equals(sup)),
          'child linked to the supervisor (LinkParent)',
        );
      }
      const supInfo = node.processInfo(sup);
      for (const c of children)
        assert.ok(
          supInfo.linksPID.some((p) => p.equals(c.pid!)),
          'supervisor linked to the child (LinkChild)',
        );
      assert.equal(supInfo.behavior, 'TestSup');
    }));

  it('basic child management (§5.11 TestBasic)', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, { rec, spec: { children: workers(rec, 3) } });

      await rejectsCode(
        supExec(node, sup, (s) => s.startChild('c0')),
        'ERR_SUPERVISOR_CHILD_RUNNING',
      );
      await rejectsCode(
        supExec(node, sup, (s) => s.startChild('nope')),
        'ERR_SUPERVISOR_CHILD_UNKNOWN',
      );
      assert.equal((await childrenOf(node, sup)).length, 3, 'children unchanged');

      await supExec(node, sup, (s) => s.addChild(workerSpec(rec, 'c3')));
      const c3 = await rec.started('c3');
      assert.ok(node.processPID('c3').equals(c3), 'added child started and registered');
      await rejectsCode(
        supExec(node, sup, (s) => s.startChild('c3')),
        'ERR_SUPERVISOR_CHILD_RUNNING',
      );
      assert.deepEqual(
        (await childrenOf(node, sup)).map((c) => c.spec),
        ['c0', 'c1', 'c2', 'c3'],
      );

      await rejectsCode(
        supExec(node, sup, (s) => s.disableChild('nope')),
        'ERR_SUPERVISOR_CHILD_UNKNOWN',
      );
      await supExec(node, sup, (s) => s.disableChild('c1'));
      assert.equal(
        seen(await rec.terminated('c1')),
        TerminateReasonShutdown,
        'a disabled child is stopped with shutdown',
      );
      await rejectsCode(
        supExec(node, sup, (s) => s.startChild('c1')),
        'ERR_SUPERVISOR_CHILD_DISABLED',
      );
      const c1 = (await childrenOf(node, sup)).find((c) => c.spec === 'c1')!;
      assert.equal(c1.pid, null);
      assert.equal(c1.disabled, true);
      assert.ok(node.isAlive() && node.processList().some((p) => p.equals(sup)), 'supervisor keeps running');
    }));
});

describe('supervisor one-for-one: restart strategies (§5.11 TestStrategy)', () => {
  for (const [sname, strategy] of STRATEGIES) {
    for (const kind of EXIT_KINDS) {
      const expectRestart = restarts(strategy, kind);
      it(`${sname} × ${kind}: ${expectRestart ? 'restarts the child alone' : 'leaves it stopped'}`, () =>
        withNode(async (node) => {
          const rec = new Recorder();
          const sup = await spawnSup(node, {
            rec,
            spec: {
              children: workers(rec, 3),
              restart: { strategy },
              enableHandleChild: true,
              disableAutoShutdown: true,
            },
          });
          const before = await childrenOf(node, sup);
          assert.deepEqual(
            rec.callbacks(),
            ['start:c0', 'start:c1', 'start:c2'],
            'handleChildStart for the initial children',
          );
          const mark = rec.mark();
          const old = before[1]!.pid!;
          exitChild(node, old, kind);

          const t = await rec.childTerminate('c1');
          assert.ok(t.pid.equals(old));
          assert.equal(t.reason, EXIT_REASON[kind], 'handleChildTerminate gets the unwrapped sentinel reason');

          const after = await childrenOf(node, sup);
          assert.ok(after[0]!.pid!.equals(before[0]!.pid!), 'c0 untouched');
          assert.ok(after[2]!.pid!.equals(before[2]!.pid!), 'c2 untouched');
          if (expectRestart) {
            const pid = await rec.childStart('c1', 2);
            assert.ok(after[1]!.pid !== null && after[1]!.pid.equals(pid), 'restarted child is in children()');
            assert.ok(!pid.equals(old), 'a new process');
            assert.ok(node.processPID('c1').equals(pid), 're-registered under its spec name');
            assert.deepEqual(rec.callbacks(mark), ['term:c1', 'start:c1']);
            assert.deepEqual(rec.lifecycle(mark), ['terminate:c1', 'init:c1']);
          } else {
            assert.equal(after[1]!.pid, null, 'not restarted');
            assert.equal(rec.inits('c1'), 1);
            assert.deepEqual(rec.callbacks(mark), ['term:c1']);
            assert.throws(() => node.processPID('c1'), { code: 'ERR_PROCESS_UNKNOWN' });
          }
          assert.ok(
            node.processList().some((p) => p.equals(sup)),
            'supervisor keeps running',
          );
        }));
    }
  }

  for (const [sname, strategy] of STRATEGIES) {
    it(`${sname}: an exit from the parent stops every child with that reason, then the supervisor with exactly it`, () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await spawnSup(node, {
          rec,
          spec: {
            children: workers(rec, 3),
            restart: { strategy },
            enableHandleChild: true,
            disableAutoShutdown: true,
          },
        });
        const exit = new Error('my exit');
        node.sendExit(sup, exit);
        assert.equal(await rec.supTerminated(), exit, 'terminate gets the parent exit reason unwrapped');
        for (const c of ['c0', 'c1', 'c2'])
          assert.equal(seen(await rec.terminated(c)), exit, `${c} stopped with the same reason`);
        const order = rec.log.filter((r) => r.ev === 'terminate' || r.ev === 'supTerminate').map((r) => r.ev);
        assert.equal(order.at(-1), 'supTerminate', 'the supervisor ends after its children');
        assert.equal(rec.inits('c0') + rec.inits('c1') + rec.inits('c2'), 3, 'nothing restarted while shutting down');
      }));
  }
});

describe('supervisor one-for-one: restart details', () => {
  it('a restarted child gets the arguments it was started with', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const token = { id: 'token' };
      const sup = await spawnSup(node, { rec, spec: { children: [workerSpec(rec, 'c0', { args: [token, 42] })] } });
      const first = await rec.started('c0');
      node.kill(first);
      await rec.started('c0', 2);
      const inits = rec.log.filter((r) => r.ev === 'init') as { args: unknown[] }[];
      assert.equal(inits.length, 2);
      assert.equal(inits[1]!.args[0], token, 'same argument objects');
      assert.equal(inits[1]!.args[1], 42);
      const who = (await node.call('c0', 'whoami')) as { args: unknown[] };
      assert.deepEqual(who.args, [token, 42]);
      assert.ok(sup);
    }));

  it('a child whose restart fails init terminates the supervisor with that error', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const fail = new InitFail(null);
      await spawnSup(node, {
        rec,
        spec: { children: [workerSpec(rec, 'c0'), workerSpec(rec, 'c1', { args: [fail] })], disableAutoShutdown: true },
      });
      const c1 = await rec.started('c1');
      const boom = new Error('init refused');
      fail.error = boom;
      node.kill(c1);
      assert.equal(await rec.supTerminated(), boom);
      assert.ok(seen(await rec.terminated('c0')) instanceof Error, 'c0 ends with the supervisor');
    }));

  it('handleInspect reports type, strategy, limits, restarts and children counts', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, {
        rec,
        spec: {
          children: workers(rec, 3),
          restart: { strategy: SupervisorStrategy.Permanent, intensity: 7, period: 9 },
          disableAutoShutdown: true,
        },
      });
      assert.deepEqual(await inspectOf(node, sup), {
        type: 'One For One',
        strategy: 'Permanent',
        intensity: '7',
        period: '9',
        keep_order: 'false',
        restarts: '0',
        children: '3',
        children_running: '3',
        children_disabled: '0',
        exits: '0',
        restart_history: '[]',
      });
      const killed = await rec.started('c2');
      const killedAt = Date.now();
      node.kill(killed);
      await rec.started('c2', 2);
      await supExec(node, sup, (s) => s.disableChild('c1'));
      await rec.terminated('c1');
      await childrenOf(node, sup); // barrier: the exit of c1 was handled
      const i = await inspectOf(node, sup);
      assert.equal(i.restarts, '1');
      assert.equal(i.children, '3');
      assert.equal(i.children_running, '2');
      assert.equal(i.children_disabled, '1');
      // The kill is in the restart history; c1's shutdown by disableChild (normal, not counted) is not.
      assert.equal(i.exits, '1');
      const history = JSON.parse(i.restart_history!) as {
        child: string;
        pid: string;
        reason: string;
        action: string;
        restarts: number;
        at: number;
      }[];
      assert.equal(history.length, 1);
      assert.deepEqual(
        { ...history[0], at: 0 },
        { at: 0, child: 'c2', pid: String(killed), reason: 'kill', action: 'restart', restarts: 1 },
      );
      assert.ok(history[0]!.at >= killedAt && history[0]!.at <= Date.now(), 'when, in ms since the epoch');
    }));
});

describe('supervisor one-for-one: own errors and the parent', () => {
  it('a handler returning an error stops every child with it, then the supervisor', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, {
        rec,
        spec: { children: workers(rec, 3), restart: { strategy: SupervisorStrategy.Permanent } },
      });
      const reason = new Error('sup gives up');
      node.send(sup, new Quit(reason));
      assert.equal(await rec.supTerminated(), reason);
      for (const c of ['c0', 'c1', 'c2']) assert.equal(seen(await rec.terminated(c)), reason);
      assert.equal(rec.log.filter((r) => r.ev === 'terminate' || r.ev === 'supTerminate').at(-1)!.ev, 'supTerminate');
      assert.equal(rec.inits('c0'), 1, 'permanent children are not restarted during a shutdown');
    }));

  it('a handler returning normal stops the children and the supervisor with normal', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, { rec, spec: { children: workers(rec, 2) } });
      node.send(sup, new Quit(TerminateReasonNormal));
      assert.equal(await rec.supTerminated(), TerminateReasonNormal);
      assert.equal(seen(await rec.terminated('c0')), TerminateReasonNormal);
      assert.equal(seen(await rec.terminated('c1')), TerminateReasonNormal);
    }));

  for (const [tname, type] of [
    ['one-for-one', SupervisorType.OneForOne],
    ['all-for-one', SupervisorType.AllForOne],
    ['simple-one-for-one', SupervisorType.SimpleOneForOne],
  ] as [string, SupervisorType][]) {
    it(`${tname}: a second exit during the shutdown does not replace the first reason`, () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const sup = await spawnSup(node, { rec, spec: { type, children: workers(rec, 2) } });
        if (type === SupervisorType.SimpleOneForOne) await supExec(node, sup, (s) => s.startChild('c0'));
        const c0 = await rec.started('c0');
        const release = deferred();
        const entered = deferred();
        node.send(c0, new Block(release.promise, entered));
        await entered.promise; // c0 is busy: the shutdown stays open
        const first = new Error('first');
        node.sendExit(sup, first);
        await inspectOf(node, sup);
        node.sendExit(sup, new Error('second'));
        await inspectOf(node, sup);
        release.resolve();
        assert.equal(await rec.supTerminated(), first);
        assert.equal(seen(await rec.terminated('c0')), first);
      }));
  }

  it('a panic in a supervisor handler ends it with the panic reason and its children follow', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, { rec, spec: { children: workers(rec, 2) } });
      node.send(sup, new Crash(new Error('sup bug')));
      assert.equal(await rec.supTerminated(), TerminateReasonPanic);
      await rec.terminated('c0');
      await rec.terminated('c1');
      assert.equal(node.processList().length, 0);
    }));

  it('killing the supervisor takes its children down', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, {
        rec,
        spec: { children: workers(rec, 2), restart: { strategy: SupervisorStrategy.Permanent } },
      });
      node.kill(sup);
      await rec.supTerminated();
      await rec.terminated('c0');
      await rec.terminated('c1');
      assert.equal(rec.inits('c0'), 1);
    }));

  it('a supervisor cannot be a logger: the first log record stops it', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, { rec, spec: { children: workers(rec, 1) } });
      node.loggerAddPID(sup, 'suplogger');
      node.log.info('hello');
      const reason = await rec.supTerminated();
      assert.equal((reason as ErgoError).code, 'ERR_NOT_ALLOWED');
      await rec.terminated('c0');
    }));
});

describe('supervisor one-for-one: callbacks, calls and foreign exits', () => {
  it('an error returned by handleChildTerminate stops the children and the supervisor with it', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const stop = new Error('child callback says stop');
      await spawnSup(node, {
        rec,
        spec: {
          children: workers(rec, 3),
          enableHandleChild: true,
          restart: { strategy: SupervisorStrategy.Permanent },
        },
        onChildTerminate: (_s, name) => (name === 'c0' ? stop : undefined),
      });
      node.kill(await rec.started('c0'));
      assert.equal(await rec.supTerminated(), stop);
      assert.equal(seen(await rec.terminated('c1')), stop);
      assert.equal(seen(await rec.terminated('c2')), stop);
      assert.equal(seen(await rec.terminated('c0', 2)), stop, 'the restarted c0 too');
    }));

  it('an error returned by handleChildStart stops the supervisor the same way', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const stop = new Error('start callback says stop');
      await spawnSup(node, {
        rec,
        spec: { children: workers(rec, 2), enableHandleChild: true },
        onChildStart: (_s, name) => (name === 'c1' ? stop : undefined),
      });
      assert.equal(await rec.supTerminated(), stop);
      assert.equal(seen(await rec.terminated('c0')), stop);
    }));

  it('handleCall may reply and stop (Stop): the caller gets the reply, then everything stops', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, { rec, spec: { children: workers(rec, 2) } });
      assert.equal(await node.call(sup, 'plain'), 'plain', 'a plain call is answered by the handler');
      assert.equal(await node.call(sup, new Stop(TerminateReasonShutdown, 'bye')), 'bye');
      assert.equal(await rec.supTerminated(), TerminateReasonShutdown);
      assert.equal(seen(await rec.terminated('c0')), TerminateReasonShutdown);
      assert.equal(seen(await rec.terminated('c1')), TerminateReasonShutdown);
    }));

  it('an exit from a linked non-child PID stops everything with that (unwrapped) reason', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const other = await node.spawn(Worker, {}, rec, 'outsider');
      const sup = await spawnSup(node, {
        rec,
        spec: { children: workers(rec, 2), restart: { strategy: SupervisorStrategy.Permanent } },
      });
      await supExec(node, sup, (s) => s.linkPID(other));
      node.kill(other);
      assert.equal(await rec.supTerminated(), TerminateReasonKill);
      assert.equal(seen(await rec.terminated('c0')), TerminateReasonKill);
      assert.equal(rec.inits('c0'), 1);
    }));

  it('an exit from a linked name wraps the reason with the name', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      await node.spawnRegister('watched', Worker, {}, rec, 'watched');
      const sup = await spawnSup(node, { rec, spec: { children: workers(rec, 1) } });
      await supExec(node, sup, (s) => s.link('watched'));
      const why = new Error('why');
      node.send('watched', new Quit(why));
      const reason = await rec.supTerminated();
      assert.ok(reason instanceof ExitReason, 'ExitReason(processID, reason)');
      assert.equal(reason.reason, why);
      assert.match(reason.message, /watched.*: why$/);
      assert.equal(seen(await rec.terminated('c0')), reason, 'children get the same (wrapped) reason');
    }));
});

describe('supervisor spec validation', () => {
  const bad: [string, (rec: Recorder) => unknown, string][] = [
    ['an empty child list', () => ({ children: [] }), 'ERR_INCORRECT'],
    ['a child without a name', (rec) => ({ children: [{ ...workerSpec(rec, 'x'), name: '' }] }), 'ERR_INCORRECT'],
    ['a child without a factory', () => ({ children: [{ name: 'x' }] }), 'ERR_INCORRECT'],
    [
      'duplicate child names',
      (rec) => ({ children: [workerSpec(rec, 'x'), workerSpec(rec, 'x')] }),
      'ERR_SUPERVISOR_CHILD_DUPLICATE',
    ],
    ['an unknown type', (rec) => ({ children: workers(rec, 1), type: 9 }), 'ERR_INCORRECT'],
    ['an unknown strategy', (rec) => ({ children: workers(rec, 1), restart: { strategy: 7 } }), 'ERR_INCORRECT'],
    ['a negative intensity', (rec) => ({ children: workers(rec, 1), restart: { intensity: -1 } }), 'ERR_INCORRECT'],
  ];
  for (const [what, spec, code] of bad) {
    it(`init fails with ${code} for ${what}`, () =>
      withNode(async (node) => {
        const rec = new Recorder();
        await rejectsCode(spawnSup(node, { rec, spec: spec(rec) as never }), code);
        assert.equal(node.processList().length, 0, 'nothing left behind');
        assert.equal(rec.inits('c0'), 0);
      }));
  }

  it('a child failing init fails the spawn with its error and stops the children already started', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const boom = new Error('no');
      const spawn = spawnSup(node, {
        rec,
        spec: {
          children: [
            workerSpec(rec, 'c0'),
            workerSpec(rec, 'c1', { args: [new InitFail(boom)] }),
            workerSpec(rec, 'c2'),
          ],
        },
      });
      await assert.rejects(spawn, (e) => e === boom);
      assert.equal(seen(await rec.terminated('c0')), boom, 'c0 stopped with the same reason');
      assert.equal(rec.inits('c2'), 0, 'later children never started');
      assert.equal(node.processList().length, 0);
      assert.throws(() => node.processPID('c0'), { code: 'ERR_PROCESS_UNKNOWN' });
    }));

  it('init may be async and the type defaults to one-for-one', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const sup = await spawnSup(node, { rec, spec: async () => ({ children: workers(rec, 2) }) });
      assert.equal((await inspectOf(node, sup)).type, 'One For One');
      assert.equal(SupervisorType.OneForOne, 0);
      const pid: PID = await rec.started('c1');
      assert.ok(node.processPID('c1').equals(pid));
    }));
});

describe('supervisor default callbacks', () => {
  it('enableHandleChild without overriding handleChildStart/Terminate logs nothing for child starts', async () => {
    const capture = new LogCapture();
    const node = await startNode(`svq_${process.pid}@localhost`, {
      log: { defaultLogger: { output: capture.output } },
    });
    try {
      class Quiet extends Supervisor {
        init(): SupervisorSpec {
          return {
            enableHandleChild: true,
            children: workers(new Recorder(), 2),
          };
        }
      }
      const sup = await node.spawn(() => new Quiet());
      // A message the supervisor does not handle: its warning marks the point where the
      // callbacks queued before it have run.
      node.send(sup, 'marker');
      await waitFor(() => (capture.text().includes('unhandled message from') ? true : undefined), 'the marker');
      assert.doesNotMatch(capture.text(), /handleChild(Start|Terminate)/);
    } finally {
      await node.stopForce();
    }
  });
});
