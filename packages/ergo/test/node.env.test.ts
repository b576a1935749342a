// Env (issue 2, items 5 and 6; ERGO-API §5.1 env rows, §5.2 TestEnv): case-insensitive names,
// node env get/set/list, the process env layers copied at spawn (node → application → leader →
// parent → options), process setEnv in the states that allow it, and no propagation afterwards.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { Actor, createApplication, ProcessState, type Node, type PID, type Ref } from '../src/index.js';
import { deferred, probe, withNode, noUnhandled } from './helpers.js';

noUnhandled();

/** Answers 'env' with its env list, ['get', k] with env(k), ['set', k, v] by setting. */
class EnvActor extends Actor {
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    if (req === 'env') return this.envList();
    const [op, k, v] = req as [string, string, unknown];
    if (op === 'get') return this.env(k) ?? '<undefined>';
    if (op === 'default') return this.envDefault(k, v);
    if (op === 'set') {
      this.setEnv(k, v);
      return this.envList();
    }
    if (op === 'spawn') return this.spawn(EnvActor, (v ?? {}) as object);
    if (op === 'spawnLeader') return this.spawn(EnvActor, { leader: v as PID });
    return undefined;
  }
}

describe('node env', () => {
  test('start env, case-insensitive lookup, set, delete with null/undefined (§5.1)', () =>
    withNode(
      async (node) => {
        assert.deepEqual(node.envList(), { DB_URL: 'pg://x', PORT: 8080 });
        assert.equal(node.env('db_url'), 'pg://x');
        assert.equal(node.env('Db_Url'), 'pg://x');
        assert.equal(node.env('missing'), undefined);
        assert.equal(node.envDefault('missing', 7), 7);
        assert.equal(node.envDefault('port', 7), 8080);
        node.setEnv('new_key', { a: 1 });
        assert.deepEqual(node.env('NEW_KEY'), { a: 1 });
        node.setEnv('NEW_KEY', null);
        assert.equal(node.env('new_key'), undefined);
        node.setEnv('port', undefined);
        assert.deepEqual(node.envList(), { DB_URL: 'pg://x' });
      },
      { env: { db_url: 'pg://x', Port: 8080 } },
    ));

  test('info hides env unless security.exposeEnvInfo (Ergo default)', () =>
    withNode(
      async (node) => {
        const pid = await node.spawn(EnvActor, { env: { p: 1 } });
        assert.deepEqual(node.processInfo(pid).env, {});
        assert.deepEqual(node.info().env, {});
        assert.deepEqual(await node.call(pid, 'env'), { SECRET: 's', P: 1 }, 'the process itself still reads its env');
      },
      { env: { secret: 's' } },
    ));

  test('a Map works as start env', () =>
    withNode(
      async (node) => {
        assert.equal(node.env('X'), 1);
      },
      { env: new Map([['x', 1]]) },
    ));

  test('setEnv is ignored once the node stopped', async () => {
    let n: Node | undefined;
    await withNode(async (node) => {
      n = node;
    });
    n!.setEnv('late', 1); // no throw
    assert.equal(n!.isAlive(), false);
  });
});

describe('process env', () => {
  test('node env overlaid with options.env; setEnv/setEnv(null) affect only the process (§5.2)', () =>
    withNode(
      async (node) => {
        const pid = await node.spawnRegister('a', EnvActor, { env: { extra: 'e', shared: 'process' } });
        assert.deepEqual(await node.call(pid, 'env'), { NODE_ONLY: 'n', SHARED: 'process', EXTRA: 'e' });
        assert.equal(await node.call(pid, ['get', 'Extra']), 'e');
        assert.equal(await node.call(pid, ['default', 'nope', 'dflt']), 'dflt');
        assert.deepEqual(await node.call(pid, ['set', 'mine', 1]), {
          NODE_ONLY: 'n',
          SHARED: 'process',
          EXTRA: 'e',
          MINE: 1,
        });
        assert.deepEqual(await node.call(pid, ['set', 'node_only', null]), { SHARED: 'process', EXTRA: 'e', MINE: 1 });
        assert.deepEqual(node.envList(), { NODE_ONLY: 'n', SHARED: 'node' }, 'node env unaffected');
        assert.deepEqual(
          node.processInfo(pid).env,
          { SHARED: 'process', EXTRA: 'e', MINE: 1 },
          'exposed with security.exposeEnvInfo',
        );
        assert.deepEqual(node.info().env, { NODE_ONLY: 'n', SHARED: 'node' });
      },
      { env: { node_only: 'n', shared: 'node' }, security: { exposeEnvInfo: true } },
    ));

  test('env is copied at spawn: later node changes do not propagate', () =>
    withNode(
      async (node) => {
        const pid = await node.spawn(EnvActor);
        node.setEnv('k', 'changed');
        node.setEnv('added', 1);
        assert.deepEqual(await node.call(pid, 'env'), { K: 'v' });
        const later = await node.spawn(EnvActor);
        assert.deepEqual(await node.call(later, 'env'), { K: 'changed', ADDED: 1 });
      },
      { env: { k: 'v' } },
    ));

  test('a child copies its parent env (with the parent own changes), overlaid with its options', () =>
    withNode(
      async (node) => {
        const parent = await node.spawn(EnvActor, { env: { p: 'parent', both: 'parent' } });
        await node.call(parent, ['set', 'runtime', 'r']);
        const child = (await node.call(parent, ['spawn', '', { env: { both: 'child', c: 'c' } }])) as PID;
        assert.deepEqual(await node.call(child, 'env'), {
          N: 'node',
          P: 'parent',
          BOTH: 'child',
          RUNTIME: 'r',
          C: 'c',
        });
        // and the parent's later change does not reach the child
        await node.call(parent, ['set', 'p', 'again']);
        assert.equal(await node.call(child, ['get', 'p']), 'parent');
      },
      { env: { n: 'node' } },
    ));

  test('layers: node → application → leader → parent → options', () =>
    withNode(
      async (node) => {
        // An application member (the application layer sits between the node and the member).
        const appEnv = new Map<string, unknown>([
          ['L1', 'app'],
          ['L2', 'app'],
          ['L3', 'app'],
          ['L4', 'app'],
        ]);
        await node.applicationLoad(createApplication({ name: 'app1', env: appEnv, group: [{ factory: EnvActor }] }));
        await node.applicationStart('app1');
        const [member] = node.applicationProcessList('app1') as [PID];
        assert.deepEqual(await node.call(member, 'env'), { L0: 'node', L1: 'app', L2: 'app', L3: 'app', L4: 'app' });
        assert.equal(node.processInfo(member).application, 'app1');

        // A leader with its own values, and a parent (spawned by the member) overriding some. The
        // parent's env is complete (it inherited node and application values), so the leader layer
        // shows through only where the parent has no value of its own.
        const leader = (await node.call(member, [
          'spawn',
          '',
          { env: { only_leader: 'leader', l3: 'leader' } },
        ])) as PID;
        const parent = (await node.call(member, ['spawn', '', { env: { l3: 'parent', l4: 'parent' } }])) as PID;
        const child = (await node.call(parent, ['spawnLeader', '', leader])) as PID;
        assert.ok(node.processInfo(child).leader.equals(leader));
        assert.equal(node.processInfo(child).application, 'app1', 'application name inherited');
        assert.deepEqual(await node.call(child, 'env'), {
          L0: 'node',
          L1: 'app',
          L2: 'app',
          L3: 'parent',
          L4: 'parent',
          ONLY_LEADER: 'leader',
        });
        // and options on top of everything
        const top = (await node.call(parent, [
          'spawn',
          '',
          { leader, env: { l4: 'options', only_leader: 'options' } },
        ])) as PID;
        assert.equal(await node.call(top, ['get', 'l4']), 'options');
        assert.equal(await node.call(top, ['get', 'only_leader']), 'options');
        assert.equal(await node.call(top, ['get', 'l3']), 'parent');
        // a leader on another branch: a node-spawned parent (node values only) still wins over the
        // leader for the keys it has; the leader-only key shows through
        const plain = await node.spawn(EnvActor);
        const viaLeader = (await node.call(plain, ['spawnLeader', '', leader])) as PID;
        assert.deepEqual(await node.call(viaLeader, 'env'), {
          L0: 'node',
          L1: 'node',
          L2: 'node',
          L3: 'node',
          L4: 'node',
          ONLY_LEADER: 'leader',
        });
      },
      { env: { l0: 'node', l1: 'node', l2: 'node', l3: 'node', l4: 'node' } },
    ));

  test('setEnv works in init, is ignored in terminate; env readable in every state', () =>
    withNode(async (node) => {
      const inTerminate = deferred<{ state: number; before: unknown; after: unknown }>();
      class A extends Actor {
        override init() {
          this.setEnv('from_init', 1);
        }
        override handleCall(_f: PID, _r: Ref, _q: unknown) {
          return this.env('FROM_INIT');
        }
        override terminate() {
          const before = this.env('from_init');
          this.setEnv('from_terminate', 2);
          inTerminate.resolve({ state: this.state(), before, after: this.env('from_terminate') });
        }
      }
      const pid = await node.spawn(A);
      assert.equal(await node.call(pid, 'x'), 1);
      node.kill(pid);
      assert.deepEqual(await inTerminate.promise, { state: ProcessState.Terminated, before: 1, after: undefined });
      // a probe process just to prove the node goes on
      const p = await node.spawn(probe());
      assert.equal(await node.call(p, 'ok'), 'ok');
    }));
});
