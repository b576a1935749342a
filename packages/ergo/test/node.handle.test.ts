// The node handle (issue 8 §1): startNode returns a root handle over a private engine; a
// process's `this.node` is its own handle, made once and cached. Stop through a process's handle
// never deadlocks wherever the handle was captured; stop through the root handle waits for every
// process. Argument rules of the handle's methods (issue 8 §3): a value that is not a PID where a
// PID is required is ErrIncorrect, env names must be strings, waitWithTimeout checks its timeout.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { type PID, ProcessID, TerminateReasonShutdown, unwrapReason, type Node } from '../src/index.js';
import { callerOf, engineOf } from '../src/node/internals.js';
import {
  deferred,
  exec,
  guardUnhandled,
  rejectsCode,
  spawnTest,
  testNode,
  throwsCode,
  within,
} from './lifecycle_helpers.js';

guardUnhandled();

describe('the root handle', () => {
  test('startNode returns a handle: the engine and its tables are not reachable from it', async () => {
    const node = await testNode();
    try {
      for (const k of [
        'processes',
        'names',
        'aliasTable',
        'calls',
        'targets',
        'router',
        'scheduler',
        'shutdown',
        'accessor',
      ]) {
        assert.equal(k in node, false, `${k} is not on the handle`);
      }
      assert.deepEqual(Object.keys(node), [], 'no own enumerable state');
      assert.equal(callerOf(node), null, 'the root handle acts for the node itself');
      assert.equal(engineOf(node).root, node);
    } finally {
      await node.stop();
    }
  });
});

describe('a process handle', () => {
  test('is made once per process and cached; distinct per process; same node', async () => {
    const node = await testNode();
    try {
      const a = await spawnTest(node);
      const b = await spawnTest(node);
      const ha = await exec(node, a.pid, (x) => x.node);
      assert.equal(await exec(node, a.pid, (x) => x.node), ha, 'cached');
      const hb = await exec(node, b.pid, (x) => x.node);
      assert.notEqual(ha, hb);
      assert.notEqual(ha, node);
      assert.equal(callerOf(ha)?.pid.toString(), a.pid.toString());
      assert.equal(engineOf(ha), engineOf(node), 'one engine behind every handle');
      assert.ok(ha.pid.equals(node.pid));
      // It acts on the same node: what it spawns is in the node's table.
      const c = await ha.spawn((await import('./lifecycle_helpers.js')).TestActor);
      assert.ok(node.processList().some((p) => p.equals(c)));
      assert.equal(
        node.processInfo(c).parent.toString(),
        node.pid.toString(),
        'node-level spawns: the core PID is the parent',
      );
    } finally {
      await node.stop();
    }
  });

  test('stop() through a handle captured before an await resolves at once and the node stops (regression: it deadlocked)', async () => {
    // The case: `const n = this.node; await Promise.resolve(); await n.stop();`.
    const node = await testNode({ shutdownTimeout: 120_000 });
    const inside = deferred<boolean>();
    const stopper = await spawnTest(node, {
      hooks: {
        async message(a, _f, m) {
          if (m !== 'stop') return;
          const n = a.node;
          await Promise.resolve();
          await n.stop();
          inside.resolve(node.isAlive());
        },
      },
    });
    const other = await spawnTest(node);
    node.send(stopper.pid, 'stop');
    assert.equal(
      await within(inside.promise, 'stop() to resolve inside the handler'),
      true,
      'resolved without waiting for the caller to end',
    );
    await within(node.wait(), 'the node to stop');
    assert.equal(
      unwrapReason(await stopper.inbox.terminated()),
      TerminateReasonShutdown,
      'the caller ended with its shutdown exit',
    );
    assert.equal(unwrapReason(await other.inbox.terminated()), TerminateReasonShutdown);
  });

  test('stopForce() through a handle captured before an await', async () => {
    const node = await testNode({ shutdownTimeout: 120_000 });
    const inside = deferred<string>();
    const stopper = await spawnTest(node, {
      hooks: {
        async message(a, _f, m) {
          if (m !== 'force') return;
          const n = a.node;
          await new Promise((r) => setImmediate(r));
          await n.stopForce().then(
            () => inside.resolve('resolved'),
            (e: { code?: string }) => inside.resolve(String(e.code)),
          );
        },
      },
    });
    node.send(stopper.pid, 'force');
    await within(node.wait(), 'the node to stop');
    assert.equal(await stopper.inbox.terminated(), (await import('../src/index.js')).TerminateReasonKill);
    assert.equal(
      await within(inside.promise, 'the stopForce promise'),
      'resolved',
      'resolved for the caller once the stop began',
    );
  });

  test('a process handle used after its process ended still begins the stop without waiting', async () => {
    const node = await testNode();
    const a = await spawnTest(node);
    const other = await spawnTest(node);
    const h = await exec(node, a.pid, (x) => x.node);
    node.kill(a.pid);
    await a.inbox.terminated();
    await h.stop();
    await within(node.wait(), 'the node to stop');
    assert.equal(unwrapReason(await other.inbox.terminated()), TerminateReasonShutdown);
  });

  test('stop() through the root handle waits for every process, even called from code a process runs', async () => {
    // A long shutdownTimeout: its expiry (not the subject) would end the stop before the busy process did.
    const node = await testNode({ shutdownTimeout: 60_000 });
    const release = deferred<void>();
    const entered = deferred<void>();
    let stoppedEarly: boolean | undefined;
    const busy = await spawnTest(node, {
      hooks: {
        message(a, _f, m) {
          if (m !== 'busy') return undefined;
          entered.resolve();
          void a.node.name; // touching its own handle does not make the root handle its
          return release.promise.then(() => undefined);
        },
      },
    });
    node.send(busy.pid, 'busy');
    // Stop only once the handler runs: a loaded scheduler may still hold 'busy' after a turn of
    // the event loop, and the stop's urgent exit signal would overtake it.
    await within(entered.promise, 'the busy process to take busy');
    const stopping = node.stop().then(() => {
      stoppedEarly = false;
    });
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    assert.equal(stoppedEarly, undefined, 'still waiting for the busy process');
    release.resolve();
    await stopping;
    assert.equal(node.isAlive(), false);
  });
});

describe('argument rules of the node handle', () => {
  const pidShaped = (node: Node) => ({ node: node.name, id: 1000, creation: node.creation });

  test('a value that is not a PID where a PID is required is ErrIncorrect (plain objects shaped like one included)', async () => {
    const node = await testNode();
    try {
      const real = (await spawnTest(node)).pid;
      const fake = pidShaped(node) as unknown as PID;
      for (const bad of [
        undefined,
        null,
        42,
        'name',
        fake,
        new ProcessID('x' as never, node.name),
      ] as unknown as PID[]) {
        throwsCode(() => node.kill(bad), 'ERR_INCORRECT');
        throwsCode(() => node.processInfo(bad), 'ERR_INCORRECT');
        throwsCode(() => node.processState(bad), 'ERR_INCORRECT');
        throwsCode(() => node.processName(bad), 'ERR_INCORRECT');
        throwsCode(() => node.registerName('n1', bad), 'ERR_INCORRECT');
        throwsCode(() => node.logLevelProcess(bad), 'ERR_INCORRECT');
        throwsCode(() => node.setLogLevelProcess(bad, 1 as never), 'ERR_INCORRECT');
        throwsCode(() => node.loggerAddPID(bad, 'lg'), 'ERR_INCORRECT');
        throwsCode(() => node.loggerDeletePID(bad), 'ERR_INCORRECT');
        throwsCode(() => node.sendExit(bad, new Error('x')), 'ERR_INCORRECT');
      }
      // The PID-shaped object named a real process: nothing happened to it.
      assert.equal(node.processInfo(real).name, '');
      assert.equal(node.loggers().includes('lg'), false);
      // send and call take any target kind: a value of no target kind is ErrUnsupported.
      throwsCode(() => node.send(fake, 'x'), 'ERR_UNSUPPORTED');
      await rejectsCode(node.call(fake, 'x'), 'ERR_UNSUPPORTED');
    } finally {
      await node.stop();
    }
  });

  test('env names must be non-empty strings (ErrIncorrect, not a TypeError)', async () => {
    const node = await testNode();
    try {
      throwsCode(() => node.setEnv(42 as unknown as string, 1), 'ERR_INCORRECT');
      throwsCode(() => node.setEnv('', 1), 'ERR_INCORRECT');
      throwsCode(() => node.env(undefined as unknown as string), 'ERR_INCORRECT');
      throwsCode(() => node.envDefault({} as unknown as string, 1), 'ERR_INCORRECT');
      node.setEnv('ok', 1);
      assert.deepEqual(node.envList(), { OK: 1 });
    } finally {
      await node.stop();
    }
  });

  test('waitWithTimeout takes an integer of milliseconds from 0 to 2^31-1', async () => {
    const node = await testNode();
    try {
      for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 31, '10' as unknown as number]) {
        const e = await rejectsCode(node.waitWithTimeout(bad), 'ERR_INCORRECT');
        assert.match(String(e), /waitWithTimeout/);
      }
      await rejectsCode(node.waitWithTimeout(0), 'ERR_TIMEOUT');
    } finally {
      await node.stop();
    }
  });
});

describe('inspect arguments', () => {
  test('a name that is not registered is ErrProcessUnknown naming it; a non-PID is ErrIncorrect; a registered name works', async () => {
    const node = await testNode();
    try {
      const a = await spawnTest(node);
      await spawnTest(node, { name: 'inspected' });
      const r = await exec(node, a.pid, async (x) => {
        const out: Record<string, string> = {};
        for (const [k, target] of [
          ['missing', 'name-not-found'],
          ['number', 42],
          ['object', { node: node.name, id: 1000, creation: node.creation }],
          ['undefined', undefined],
        ] as const) {
          try {
            await x.process.inspect(target as unknown as PID);
            out[k] = 'resolved';
          } catch (e) {
            out[k] = `${(e as { code?: string }).code}: ${(e as Error).message}`;
          }
        }
        out.byName = JSON.stringify(await x.process.inspect('inspected' as unknown as PID, 'q'));
        return out;
      });
      assert.match(r.missing!, /^ERR_PROCESS_UNKNOWN: .*'name-not-found'/);
      assert.doesNotMatch(r.missing!, /remote/);
      assert.match(r.number!, /^ERR_INCORRECT/);
      assert.match(r.object!, /^ERR_INCORRECT/);
      assert.match(r.undefined!, /^ERR_INCORRECT/);
      assert.equal(r.byName, JSON.stringify({ actor: 'test', items: 'q' }));
    } finally {
      await node.stop();
    }
  });
});
