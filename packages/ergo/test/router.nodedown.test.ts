// "Node X went down" through the Core interface (issue 8 §2): local watchers of X's processes,
// names, aliases and events get exit/down with ErrNoConnection; watchers of X itself get
// MessageExitNode / MessageDownNode (linkNode / monitorNode); watchers living on X are dropped
// (event subscriber counts fall, MessageEventStop at zero); calls waiting for X fail with
// ErrNoConnection; nothing about node Y is touched; the store is empty afterwards, at 10k
// relations too. Also the map-key collision of a node target and a ProcessID on node 'ode'.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Alias,
  ErrNoConnection,
  Event,
  isError,
  MessageDownAlias,
  MessageDownNode,
  MessageDownPID,
  MessageDownProcessID,
  MessageEventStart,
  MessageEventStop,
  MessageExitEvent,
  MessageExitNode,
  MessageExitPID,
  ProcessID,
  PID,
  type Atom,
  type Node,
} from '../src/index.js';
import { NodeTarget } from '../src/node/targets.js';
import { Inbox, exec, guardUnhandled, rejectsCode, spawnTest, throwsCode, uniq } from './lifecycle_helpers.js';
import { suiteNode } from './suite_node.js';
import { coreOf, fakeNetwork, nodeDown, targetsOf } from './remote_helpers.js';

guardUnhandled();

const X = 'x@remote' as Atom;
const Y = 'y@remote' as Atom;
const rpid = (id: number, node: Atom = X): PID => new PID(node, id, 7);

describe('node down', () => {
  let node: Node;
  suiteNode((n) => (node = n));

  test('notifies exactly the relations that involve the node, once', async () => {
    const nets = fakeNetwork(node, X, Y);
    const linker = await spawnTest(node);
    const monitor = await spawnTest(node);
    const bystander = await spawnTest(node);
    await exec(node, linker.pid, (p) => {
      p.setTrapExit(true);
      p.linkPID(rpid(1001));
      void p.linkEvent(new Event('prices' as Atom, X)); // safe to ignore: the test checks its node-down exit
      p.linkNode(X);
    });
    await exec(node, monitor.pid, (p) => {
      p.monitorProcessID(new ProcessID('svc' as Atom, X));
      p.monitorAlias(new Alias(X, 7, [1, 1, 1]));
      p.monitorNode(X);
    });
    await exec(node, bystander.pid, (p) => {
      p.setTrapExit(true);
      p.linkPID(rpid(2001, Y));
      p.monitorNode(Y);
    });
    const pendingCall = node.call(rpid(1001), 'q', { timeout: 60_000 });
    const otherCall = node.call(rpid(2001, Y), 'q', { timeout: 60_000 });

    nodeDown(node, nets.get(X)!);

    const exit = await linker.inbox.message(MessageExitPID);
    assert.ok(exit.message.pid.equals(rpid(1001)));
    assert.ok(isError(exit.message.reason, ErrNoConnection));
    assert.ok(isError((await linker.inbox.message(MessageExitEvent)).message.reason, ErrNoConnection));
    assert.equal((await linker.inbox.message(MessageExitNode)).message.name, X);
    assert.ok(isError((await monitor.inbox.message(MessageDownProcessID)).message.reason, ErrNoConnection));
    assert.ok(isError((await monitor.inbox.message(MessageDownAlias)).message.reason, ErrNoConnection));
    assert.equal((await monitor.inbox.message(MessageDownNode)).message.name, X);
    await rejectsCode(pendingCall, 'ERR_NO_CONNECTION');

    await exec(node, linker.pid, (p) => {
      const info = p.info();
      assert.deepEqual([info.linksPID, info.linksEvent, info.linksNode], [[], [], []]);
    });
    await exec(node, monitor.pid, (p) => assert.deepEqual(p.info().monitorsNode, []));
    // Y is untouched.
    await exec(node, bystander.pid, (p) => {
      assert.equal(p.info().linksPID.length, 1);
      assert.deepEqual(p.info().monitorsNode, [Y]);
    });
    assert.equal(bystander.inbox.messages().length, 0);
    assert.equal(targetsOf(node).nodeIndex(X), undefined);
    const settled = await Promise.race([
      otherCall.then(
        () => 'settled',
        () => 'settled',
      ),
      Promise.resolve('pending'),
    ]);
    assert.equal(settled, 'pending');
    // A second node-down report finds nothing left to notify.
    coreOf(node).routeNodeDown(X, ErrNoConnection);
    await exec(node, linker.pid, () => undefined);
    assert.equal(linker.inbox.ofKind('message').length, 3);
    nodeDown(node, nets.get(Y)!);
    await rejectsCode(otherCall, 'ERR_NO_CONNECTION');
    await bystander.inbox.message(MessageDownNode);
    assert.equal(targetsOf(node).indexedNodes, 0);
  });

  test('watchers living on the node are dropped: event subscriber counts fall to MessageEventStop', async () => {
    const nets = fakeNetwork(node, X, Y);
    const name = uniq('ev') as Atom;
    const producer = await spawnTest(node);
    await exec(node, producer.pid, (p) => p.registerEvent(name, { notify: true }));
    const target = await spawnTest(node);
    const ev = new Event(name, node.name);
    const core = coreOf(node);
    core.routeLinkEvent(rpid(1001), ev);
    core.routeMonitorEvent(rpid(1002), ev);
    core.routeLinkPID(rpid(1001), target.pid);
    core.routeMonitorEvent(rpid(3001, Y), ev);
    await producer.inbox.message(MessageEventStart);

    nodeDown(node, nets.get(X)!);
    await exec(node, producer.pid, () => undefined);
    assert.equal(
      producer.inbox.messages().filter((m) => m instanceof MessageEventStop).length,
      0,
      'Y still subscribes',
    );
    assert.equal(targetsOf(node).nodeIndex(X), undefined);
    // The remote link on `target` is gone: its end is not reported to X any more.
    node.kill(target.pid);
    await target.inbox.terminated();
    assert.equal(nets.get(X)!.of('sendTerminatePID').length, 0);

    nodeDown(node, nets.get(Y)!);
    await producer.inbox.message(MessageEventStop);
    assert.equal(targetsOf(node).indexedNodes, 0);
  });

  test('10k relations each way: all notified or dropped, the store ends empty', async () => {
    const nets = fakeNetwork(node, X);
    const N = 10_000;
    const inbox = new Inbox();
    const watcher = await spawnTest(node, { inbox });
    const target = await spawnTest(node);
    await exec(node, watcher.pid, (p) => {
      for (let i = 0; i < N; i++) p.monitorPID(rpid(10_000 + i));
    });
    const core = coreOf(node);
    for (let i = 0; i < N; i++) core.routeMonitorPID(rpid(50_000 + i), target.pid);
    assert.equal(targetsOf(node).nodeIndex(X)!.targets.size, N);
    assert.equal(targetsOf(node).nodeIndex(X)!.consumerCount, N);

    nodeDown(node, nets.get(X)!);
    await exec(node, watcher.pid, () => undefined);
    const downs = inbox.messages().filter((m) => m instanceof MessageDownPID) as MessageDownPID[];
    assert.equal(downs.length, N);
    assert.equal(new Set(downs.map((d) => d.pid.id)).size, N, 'one down per target');
    assert.ok(downs.every((d) => isError(d.reason, ErrNoConnection)));
    assert.equal(targetsOf(node).indexedNodes, 0);
    assert.equal(targetsOf(node).keyedHosts, 0);
    await exec(node, watcher.pid, (p) => assert.deepEqual(p.info().monitorsPID, []));
    node.kill(target.pid);
    await target.inbox.terminated();
    assert.equal(nets.get(X)!.of('sendTerminatePID').length, 0);
  });

  test('linkNode/monitorNode: duplicates and removals; unknown removals throw ErrTargetUnknown', async () => {
    fakeNetwork(node, X);
    const a = await spawnTest(node);
    await exec(node, a.pid, (p) => {
      p.linkNode(X);
      throwsCode(() => p.linkNode(X), 'ERR_TARGET_EXIST');
      p.monitorNode(X);
      assert.deepEqual(p.info().linksNode, [X]);
      assert.deepEqual(p.info().monitorsNode, [X]);
      p.unlinkNode(X);
      p.demonitorNode(X);
      throwsCode(() => p.unlinkNode(X), 'ERR_TARGET_UNKNOWN');
      throwsCode(() => p.linkNode('nowhere@host'), 'ERR_NO_CONNECTION');
    });
    assert.equal(targetsOf(node).indexedNodes, 0);
  });
});

describe('target keys', () => {
  let node: Node;
  suiteNode((n) => (node = n));

  test("a node target X and ProcessID{node:'ode', name:X} are different targets", async () => {
    assert.notEqual(new NodeTarget('X' as Atom).key, new ProcessID('X' as Atom, 'ode' as Atom).key);
    const nets = fakeNetwork(node, 'X', 'ode');
    const a = await spawnTest(node);
    await exec(node, a.pid, (p) => {
      p.monitorProcessID(new ProcessID('X' as Atom, 'ode' as Atom));
      p.monitorNode('X');
      assert.equal(p.info().monitorsProcessID.length, 1);
      assert.deepEqual(p.info().monitorsNode, ['X']);
    });
    nodeDown(node, nets.get('X')!);
    assert.equal((await a.inbox.message(MessageDownNode)).message.name, 'X');
    await exec(node, a.pid, (p) => {
      assert.equal(p.info().monitorsProcessID.length, 1, 'the ProcessID monitor on node "ode" stays');
      assert.equal(a.inbox.messages().length, 1);
    });
  });
});
