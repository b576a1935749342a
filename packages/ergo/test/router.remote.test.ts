// The router's remote branch and the node's Core (issue 8 §2), driven through a recording
// connection (test/remote_helpers.ts) in place of the wire: what the engine sends to node X for
// sends, calls, responses, exits, links, monitors and event fan-out (with MessageOptions), what
// it does with traffic a connection delivers (messages, requests, responses, exits, events,
// remote watchers, remote targets ended), and that without a network every remote operation
// fails at once with ErrNetworkStopped.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import {
  Alias,
  ErrProcessUnknown,
  Event,
  MessageDownPID,
  MessageDownProcessID,
  MessageEvent,
  MessageEventStart,
  MessageEventStop,
  MessageExitAlias,
  MessageExitPID,
  MessagePriority,
  PID,
  ProcessID,
  TerminateReasonKill,
  ApplicationMode,
  createApplication,
  LogLevel,
  type Atom,
  type RemoteApplicationStart,
  type RemoteSpawnRequest,
  type MessageOptions,
  type Node,
  type Ref,
} from '../src/index.js';
import { exec, guardUnhandled, rejectsCode, spawnTest, TestActor, throwsCode, uniq } from './lifecycle_helpers.js';
import { suiteNode } from './suite_node.js';
import { coreOf, fakeNetwork, routerOf, targetsOf } from './remote_helpers.js';

guardUnhandled();

const X = 'x@remote' as Atom;
const Y = 'y@remote' as Atom;
const rpid = (id: number, node: Atom = X): PID => new PID(node, id, 7);
const opts = (priority: MessagePriority = MessagePriority.Normal, ref?: Ref): MessageOptions => ({
  ref,
  priority,
  important: false,
  compression: null,
  keepNetworkOrder: true,
});

describe('without a network', () => {
  let node: Node;
  suiteNode((n) => (node = n));

  test('every remote operation fails at once with ErrNetworkStopped and records nothing', async () => {
    const a = await spawnTest(node);
    throwsCode(() => node.send(rpid(1001), 'hi'), 'ERR_NETWORK_STOPPED');
    throwsCode(() => node.send(new ProcessID('p' as Atom, X), 'hi'), 'ERR_NETWORK_STOPPED');
    await rejectsCode(node.call(rpid(1001), 'q'), 'ERR_NETWORK_STOPPED');
    throwsCode(() => node.sendExit(rpid(1001), new Error('x')), 'ERR_NETWORK_STOPPED');
    await exec(node, a.pid, async (p) => {
      throwsCode(() => p.linkPID(rpid(1001)), 'ERR_NETWORK_STOPPED');
      throwsCode(() => p.monitorProcessID(new ProcessID('p' as Atom, X)), 'ERR_NETWORK_STOPPED');
      throwsCode(() => p.linkNode(X), 'ERR_NETWORK_STOPPED');
      throwsCode(() => p.monitorNode(X), 'ERR_NETWORK_STOPPED');
      await rejectsCode(p.linkEvent(new Event('e' as Atom, X)), 'ERR_NETWORK_STOPPED');
      throwsCode(() => p.linkNode(node.name), 'ERR_NOT_ALLOWED');
      assert.deepEqual(p.info().linksPID, []);
      assert.deepEqual(p.info().linksNode, []);
    });
    assert.equal(targetsOf(node).keyedHosts, 0);
    assert.equal(targetsOf(node).indexedNodes, 0);
  });
});

describe('outbound: what the engine sends to node X', () => {
  let node: Node;
  suiteNode((n) => (node = n));

  test('send to PID, ProcessID and Alias carries MessageOptions from the sender', async () => {
    const conn = fakeNetwork(node, X).get(X)!;
    const a = await spawnTest(node);
    const alias = new Alias(X, 7, [1, 2, 3]);
    await exec(node, a.pid, (p) => {
      p.setSendPriority(MessagePriority.High);
      p.setImportantDelivery(true);
      p.setKeepNetworkOrder(false);
      p.setCompression(true);
      p.send(rpid(1001), 'to-pid');
      p.send(new ProcessID('svc' as Atom, X), 'to-name', { priority: MessagePriority.Max });
      p.send(alias, 'to-alias');
    });
    const [pidSend] = conn.of('sendPID') as [PID, PID, MessageOptions, unknown][];
    assert.ok(pidSend![0].equals(a.pid));
    assert.ok(pidSend![1].equals(rpid(1001)));
    assert.equal(pidSend![2].priority, MessagePriority.High);
    assert.equal(pidSend![2].important, true);
    assert.equal(pidSend![2].keepNetworkOrder, false);
    assert.equal(pidSend![2].compression?.enable, true);
    assert.equal(pidSend![3], 'to-pid');
    const [nameSend] = conn.of('sendProcessID') as [PID, ProcessID, MessageOptions, unknown][];
    assert.equal(nameSend![2].priority, MessagePriority.Max);
    assert.equal(nameSend![3], 'to-name');
    assert.equal((conn.of('sendAlias')[0] as unknown[])[3], 'to-alias');
    // From the node: core PID, defaults.
    node.send(rpid(1002), 'from-node');
    const fromNode = conn.of('sendPID')[1] as [PID, PID, MessageOptions, unknown];
    assert.ok(fromNode[0].equals(node.pid));
    assert.equal(fromNode[2].compression, null);
    assert.equal(fromNode[2].keepNetworkOrder, true);
  });

  test('a call goes out with its ref; the reply comes back through Core; errors reject', async () => {
    const conn = fakeNetwork(node, X).get(X)!;
    const a = await spawnTest(node);
    const pending = exec(node, a.pid, (p) => p.call(new ProcessID('svc' as Atom, X), 'ping', { important: true }));
    const out = await eventually(
      () => conn.of('callProcessID')[0] as [PID, ProcessID, MessageOptions, unknown] | undefined,
      'the call to go out',
    );
    assert.ok(out[0].equals(a.pid));
    assert.equal(out[3], 'ping');
    assert.equal(out[2].important, true);
    assert.ok(out[2].ref !== undefined && out[2].ref.deadline() > 0, 'the ref carries the deadline');
    coreOf(node).routeSendResponse(rpid(1001), a.pid, opts(MessagePriority.Normal, out[2].ref), 'pong');
    assert.equal(await pending, 'pong');

    const failing = node.call(rpid(1001), 'q');
    const req = conn.of('callPID').at(-1) as [PID, PID, MessageOptions, unknown];
    coreOf(node).routeSendResponse(
      rpid(1001),
      node.pid,
      opts(MessagePriority.Normal, req[2].ref),
      ErrProcessUnknown,
      false,
    );
    await rejectsCode(failing, 'ERR_PROCESS_UNKNOWN');
  });

  test('important delivery: sendImportant and important calls report the remote ack', async () => {
    const conn = fakeNetwork(node, X).get(X)!;
    const a = await spawnTest(node);
    conn.ack = () => Promise.resolve();
    await exec(node, a.pid, (p) => p.sendImportant(rpid(1001), 'ok'));
    conn.ack = () => Promise.reject(ErrProcessUnknown);
    await exec(node, a.pid, (p) => rejectsCode(p.sendImportant(rpid(1001), 'lost'), 'ERR_PROCESS_UNKNOWN'));
    await rejectsCode(node.call(rpid(1001), 'q', { important: true, timeout: 60_000 }), 'ERR_PROCESS_UNKNOWN');
    assert.equal(conn.of('sendPID').length, 2);
  });

  test('a local process answers a remote caller: sendResponse carries from and the ref', async () => {
    const conn = fakeNetwork(node, X).get(X)!;
    const name = uniq('answering');
    const a = await spawnTest(node, { name, hooks: { call: (_a, _from, _ref, req) => `re:${String(req)}` } });
    const ref = node.makeRef();
    coreOf(node).routeCallProcessID(
      rpid(1001),
      new ProcessID(name as Atom, node.name),
      opts(MessagePriority.Normal, ref),
      'q',
    );
    const [from, to, o, value] = await eventually(
      () => conn.of('sendResponse')[0] as [PID, PID, MessageOptions, unknown] | undefined,
      'the response to go out',
    );
    assert.ok(from.equals(a.pid), 'the response says who answered');
    assert.ok(to.equals(rpid(1001)));
    assert.ok(o.ref!.equals(ref));
    assert.equal(value, 're:q');
  });

  test('sendExit goes to the connection; Core delivers a remote exit to a local process', async () => {
    const conn = fakeNetwork(node, X).get(X)!;
    node.sendExit(rpid(1001), new Error('bye'));
    assert.equal((conn.of('sendExit')[0] as [PID, PID, Error])[2].message, 'bye');
    const a = await spawnTest(node);
    await exec(node, a.pid, (p) => p.setTrapExit(true));
    coreOf(node).routeSendExit(rpid(1001), a.pid, new Error('remote says stop'));
    const exit = await a.inbox.message(MessageExitPID);
    assert.ok(exit.message.pid.equals(rpid(1001)));
    assert.equal(exit.message.reason.message, 'remote says stop');
  });

  test('Core delivers messages by PID, name and alias, in the queue of their priority', async () => {
    fakeNetwork(node, X);
    const name = uniq('inbound');
    const a = await spawnTest(node, { name });
    const alias = await exec(node, a.pid, (p) => p.createAlias());
    const core = coreOf(node);
    core.routeSendPID(rpid(1001), a.pid, opts(), 'by-pid');
    core.routeSendProcessID(rpid(1001), new ProcessID(name as Atom, node.name), opts(), 'by-name');
    core.routeSendAlias(rpid(1001), alias, opts(MessagePriority.High), 'by-alias');
    await exec(node, a.pid, () => undefined);
    assert.deepEqual(new Set(a.inbox.messages()), new Set(['by-pid', 'by-name', 'by-alias']));
    assert.throws(() => core.routeSendPID(rpid(1001), new PID(node.name, 999_999, node.creation), opts(), 'x'), {
      code: 'ERR_PROCESS_UNKNOWN',
    });
  });
});

describe('links and monitors across nodes', () => {
  let node: Node;
  suiteNode((n) => (node = n));

  test('link/monitor on a remote target: recorded at once, asked over the wire; the remote end arrives through Core', async () => {
    const conn = fakeNetwork(node, X).get(X)!;
    const a = await spawnTest(node);
    const target = rpid(1001);
    const alias = new Alias(X, 7, [9, 9, 9]);
    await exec(node, a.pid, (p) => {
      p.setTrapExit(true);
      p.linkPID(target);
      p.monitorPID(target);
      p.linkAlias(alias);
      assert.equal(p.info().linksPID.length, 1, 'recorded before any answer');
      throwsCode(() => p.linkPID(target), 'ERR_TARGET_EXIST');
    });
    assert.equal(conn.of('linkPID').length, 1);
    assert.equal(conn.of('monitorPID').length, 1);
    coreOf(node).routeTerminatePID(target, TerminateReasonKill);
    assert.equal((await a.inbox.message(MessageExitPID)).message.reason, TerminateReasonKill);
    assert.equal((await a.inbox.message(MessageDownPID)).message.reason, TerminateReasonKill);
    coreOf(node).routeTerminateAlias(alias, new Error('gone'));
    assert.equal((await a.inbox.message(MessageExitAlias)).message.reason.message, 'gone');
    await exec(node, a.pid, (p) => assert.deepEqual(p.info().linksPID, []));
    assert.equal(targetsOf(node).indexedNodes, 0);
  });

  test('a refusal from the remote side arrives as the exit/down reason (noproc style)', async () => {
    const conn = fakeNetwork(node, X).get(X)!;
    conn.autoAccept = false;
    const a = await spawnTest(node);
    await exec(node, a.pid, (p) => {
      p.setTrapExit(true);
      p.linkPID(rpid(1001));
      p.monitorProcessID(new ProcessID('nobody' as Atom, X));
    });
    for (const r of conn.pending) r.reject(ErrProcessUnknown);
    assert.equal((await a.inbox.message(MessageExitPID)).message.reason, ErrProcessUnknown);
    assert.equal((await a.inbox.message(MessageDownProcessID)).message.reason, ErrProcessUnknown);
    await exec(node, a.pid, (p) => {
      assert.deepEqual(p.info().linksPID, []);
      assert.deepEqual(p.info().monitorsProcessID, []);
    });
  });

  test('unlink/demonitor of a remote target tells its node; a terminating watcher does too', async () => {
    const conn = fakeNetwork(node, X).get(X)!;
    const a = await spawnTest(node);
    await exec(node, a.pid, (p) => {
      p.linkPID(rpid(1001));
      p.unlinkPID(rpid(1001));
      p.monitorPID(rpid(1002));
    });
    assert.equal(conn.of('unlinkPID').length, 1);
    node.kill(a.pid);
    await a.inbox.terminated();
    const [[pid, target]] = conn.of('demonitorPID') as [PID, PID][];
    assert.ok(pid!.equals(a.pid) && target!.equals(rpid(1002)));
    assert.equal(targetsOf(node).indexedNodes, 0);
  });

  test('remote watchers of a local process: one terminate per node, however many watchers there', async () => {
    const nets = fakeNetwork(node, X, Y);
    const a = await spawnTest(node);
    const core = coreOf(node);
    core.routeLinkPID(rpid(1001), a.pid);
    core.routeMonitorPID(rpid(1002), a.pid);
    core.routeLinkPID(rpid(1003, Y), a.pid);
    assert.throws(() => core.routeLinkPID(rpid(1001), a.pid), { code: 'ERR_TARGET_EXIST' });
    assert.throws(() => core.routeLinkPID(rpid(1001), new PID(node.name, 999_999, node.creation)), {
      code: 'ERR_PROCESS_UNKNOWN',
    });
    core.routeUnlinkPID(rpid(1003, Y), a.pid);
    assert.throws(() => core.routeUnlinkPID(rpid(1003, Y), a.pid), { code: 'ERR_TARGET_UNKNOWN' });
    core.routeLinkPID(rpid(1003, Y), a.pid);
    node.kill(a.pid);
    await a.inbox.terminated();
    for (const peer of [X, Y]) {
      const t = nets.get(peer)!.of('sendTerminatePID') as [PID, Error][];
      assert.equal(t.length, 1, `one terminate to ${peer}`);
      assert.ok(t[0]![0].equals(a.pid));
      assert.equal(t[0]![1], TerminateReasonKill);
    }
    assert.equal(targetsOf(node).indexedNodes, 0, 'remote watchers are gone with their target');
  });

  test('remote subscribers of a local event: counted, buffer returned, one frame per node, MessageEventStop at zero', async () => {
    const nets = fakeNetwork(node, X, Y);
    const name = uniq('ev') as Atom;
    const producer = await spawnTest(node);
    const token = await exec(node, producer.pid, (p) => p.registerEvent(name, { notify: true, buffer: 1 }));
    node.sendEvent(name, token, 'old');
    const local = await spawnTest(node);
    await exec(node, local.pid, (p) => p.monitorEvent(new Event(name, node.name)));
    const core = coreOf(node);
    const ev = new Event(name, node.name);
    const history = core.routeLinkEvent(rpid(1001), ev);
    assert.deepEqual(
      history.map((m) => m.message),
      ['old'],
    );
    core.routeMonitorEvent(rpid(1002), ev);
    core.routeMonitorEvent(rpid(1003, Y), ev);
    await producer.inbox.message(MessageEventStart);
    node.sendEvent(name, token, 'new');
    assert.equal((await local.inbox.event()).message, 'new');
    assert.equal(nets.get(X)!.of('sendEvent').length, 1, 'two subscribers on X: one frame');
    assert.equal(nets.get(Y)!.of('sendEvent').length, 1);
    assert.equal((nets.get(X)!.of('sendEvent')[0] as [PID, MessageOptions, MessageEvent])[2].message, 'new');
    await exec(node, local.pid, (p) => p.demonitorEvent(ev));
    core.routeUnlinkEvent(rpid(1001), ev);
    core.routeDemonitorEvent(rpid(1002), ev);
    core.routeDemonitorEvent(rpid(1003, Y), ev);
    await producer.inbox.message(MessageEventStop);
    assert.equal(targetsOf(node).indexedNodes, 0);
  });

  test('a remote event: linkEvent resolves to the remote buffer; published messages arrive through Core', async () => {
    const conn = fakeNetwork(node, X).get(X)!;
    const ev = new Event('prices' as Atom, X);
    conn.buffer = [new MessageEvent(ev, 1n, 'buffered')];
    const a = await spawnTest(node);
    const history = await exec(node, a.pid, (p) => p.linkEvent(ev));
    assert.deepEqual(
      history.map((m) => m.message),
      ['buffered'],
    );
    coreOf(node).routeSendEvent(rpid(1001), node.makeRef(), opts(), new MessageEvent(ev, 2n, 'live'));
    assert.equal((await a.inbox.event()).message, 'live');
    conn.autoAccept = false;
    const b = await spawnTest(node);
    const refused = exec(node, b.pid, (p) => p.monitorEvent(new Event('nope' as Atom, X)));
    await eventually(() => conn.pending[0], 'a pending request');
    conn.pending[0]!.reject(ErrProcessUnknown);
    await rejectsCode(refused, 'ERR_PROCESS_UNKNOWN');
    await exec(node, b.pid, (p) => assert.deepEqual(p.info().monitorsEvent, [], 'a refused subscription is dropped'));
  });
});

describe('remote spawn and application start through Core', () => {
  let node: Node;
  suiteNode((n) => (node = n), { security: { exposeEnvRemoteSpawn: true } });

  const request = (register = '', env: Map<string, unknown> | null = null): RemoteSpawnRequest => ({
    processOptions: {},
    parentPID: rpid(1001),
    parentLeader: rpid(1001),
    parentEnv: env,
    parentLogLevel: LogLevel.Info,
    register: register as Atom,
    application: '' as Atom,
    args: [],
  });

  test('only what the node enabled, only for the nodes it named; env crosses when security allows', async () => {
    const core = coreOf(node);
    // Not enabled at all: Ergo's ErrNameUnknown; enabled for other nodes: ErrNotAllowed.
    await rejectsCode(core.routeSpawn(node.name, 'worker' as Atom, request(), X), 'ERR_NAME_UNKNOWN');
    routerOf(node).core.enableSpawn('worker' as Atom, TestActor, [X]);
    await rejectsCode(core.routeSpawn(node.name, 'worker' as Atom, request(), Y), 'ERR_NOT_ALLOWED');
    const name = uniq('spawned');
    const pid = await core.routeSpawn(node.name, 'worker' as Atom, request(name, new Map([['REGION', 'eu']])), X);
    assert.ok(node.processPID(name).equals(pid));
    assert.equal(await exec(node, pid, (p) => p.env('REGION')), 'eu');
    routerOf(node).core.disableSpawn('worker' as Atom, []);
    await rejectsCode(core.routeSpawn(node.name, 'worker' as Atom, request(), X), 'ERR_NAME_UNKNOWN');

    const app = uniq('app');
    await node.applicationLoad(createApplication({ name: app, group: [{ factory: TestActor }] }));
    const start: RemoteApplicationStart = {
      mode: ApplicationMode.Temporary,
      applicationOptions: {},
      corePID: rpid(1),
      coreEnv: null,
      coreLogLevel: LogLevel.Info,
    };
    await rejectsCode(core.routeApplicationStart(app as Atom, start, X), 'ERR_NAME_UNKNOWN');
    routerOf(node).core.enableApplicationStart(app as Atom, []);
    await core.routeApplicationStart(app as Atom, start, X);
    assert.ok(node.applicationsRunning().includes(app as Atom));
  });
});
