// The test kit's node and log handles, method by method: what the recording node answers for
// each Node operation an actor under test may use (env, names, calls, events, applications,
// loggers, stop), and the structured fields of the recording log. Coverage found these public
// paths untested (testing/node.ts 58 %, testing/log.ts 69 % of lines).

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  Alias,
  ErrApplicationUnknown,
  ErrIncorrect,
  ErrMetaUnknown,
  ErrNameUnknown,
  ErrProcessUnknown,
  ErrTaken,
  ErrUnsupported,
  LogLevel,
  MessagePriority,
  PID,
  ProcessID,
  ProcessState,
  createApplication,
  isError,
} from '../src/index.js';
import { spawnTest, type LogEvent, type NodeCallEvent } from '../src/testing/index.js';

class Idle extends Actor {}

/** The node calls the kit recorded, by method name. */
function nodeCalls(events: readonly { kind: string }[]): string[] {
  return events.filter((e): e is NodeCallEvent => e.kind === 'node').map((e) => e.method);
}

describe('testing kit: the recording node', () => {
  test('env, names and process lookups answer like a node holding only the actor under test', async () => {
    const actor = await spawnTest(Idle, { register: 'idle' });
    const node = actor.node;
    assert.equal(node.process?.pid.equals(actor.pid), true);

    node.setEnv('region', 'eu');
    assert.equal(node.env('REGION'), 'eu');
    assert.equal(node.envDefault('missing', 7), 7);
    assert.deepEqual(node.envList().REGION, 'eu');
    node.setEnv('region', undefined);
    assert.equal(node.env('region'), undefined);

    const other = node.nextPID();
    node.registerName('other', other);
    assert.throws(
      () => node.registerName('other', other),
      (e) => isError(e, ErrTaken),
    );
    assert.equal(node.processName(other), 'other');
    assert.equal(node.processPID('other').equals(other), true);
    assert.equal(node.processPID('idle').equals(actor.pid), true);
    assert.equal(node.processName(actor.pid), 'idle');
    assert.equal(node.unregisterName('other').equals(other), true);
    assert.throws(
      () => node.unregisterName('other'),
      (e) => isError(e, ErrNameUnknown),
    );
    assert.throws(
      () => node.processPID('other'),
      (e) => isError(e, ErrProcessUnknown),
    );
    assert.equal(node.processName(other), '');

    assert.deepEqual(
      node.processList().map((p) => p.toString()),
      [actor.pid.toString()],
    );
    assert.deepEqual(node.processListShortInfo(), []);
    assert.equal(node.processState(actor.pid), ProcessState.Sleep); // between messages
    assert.throws(
      () => node.processState(other),
      (e) => isError(e, ErrProcessUnknown),
    );
    assert.equal(node.logLevelProcess(actor.pid), actor.process.log.level());
    node.setLogLevelProcess(actor.pid, LogLevel.Debug);
    assert.equal(actor.process.log.level(), LogLevel.Debug);
    assert.throws(
      () => node.logLevelProcess(other),
      (e) => isError(e, ErrProcessUnknown),
    );
    assert.throws(
      () => node.setLogLevelProcess(other, LogLevel.Info),
      (e) => isError(e, ErrProcessUnknown),
    );

    const info = node.info();
    assert.equal(info.name, node.name);
    assert.equal(info.processesTotal, 1);
    assert.equal(info.processesRunning, 0); // sleeping, as above
    assert.equal(info.registeredNames, 0); // 'other' was unregistered; the actor's name is its own
    assert.equal(typeof node.uptime(), 'number');
  });

  test('spawns, calls, inspects and events are recorded; bad input is refused', async () => {
    const actor = await spawnTest(Idle);
    const node = actor.node;
    const pid = await node.spawnRegister('w', Idle, {});
    assert.equal(node.processPID('w').equals(pid), true);
    await assert.rejects(node.spawnRegister('w', Idle, {}), (e) => isError(e, ErrTaken));
    await assert.rejects(node.spawn('nope' as never, {}), (e) => isError(e, ErrIncorrect));
    actor.shouldSpawn().factory(Idle).once();

    const target = new PID(node.name, 5000, node.creation);
    assert.equal(await node.call(target, 'a'), undefined);
    assert.equal(await node.callWithTimeout(target, 'b', 100), undefined);
    assert.equal(await node.callWithPriority(target, 'c', MessagePriority.High), undefined);
    assert.equal(await node.callImportant(target, 'd'), undefined);
    assert.equal(await node.callPID(target, 'e'), undefined);
    assert.equal(await node.callProcessID(new ProcessID('x', node.name), 'f'), undefined);
    assert.equal(await node.callAlias(node.nextAlias(), 'g'), undefined);
    await assert.rejects(node.callPID(new ProcessID('x', node.name) as never, 'h'), (e) => isError(e, ErrIncorrect));
    assert.deepEqual(await node.inspect(target, 'k'), {});
    actor.shouldCall().to(target).times(6); // inspect is recorded as a call { inspect: items }

    node.sendExit(target, new Error('bye'));
    actor.shouldSendExit().to(target).once();
    const token = node.registerEvent('prices');
    node.sendEvent('prices', token, 42);
    node.unregisterEvent('prices');
    actor.shouldRegisterEvent().named('prices').once();
    actor.shouldSendEvent().named('prices').once();

    const ref = node.makeRefWithDeadline(Math.floor(node.clock.now() / 1000) + 60);
    assert.equal(ref.node, node.name);
    assert.throws(
      () => node.makeRefWithDeadline(1),
      (e) => isError(e, ErrIncorrect),
    );
  });

  test('applications, meta processes, loggers and the network answer as documented', async () => {
    const actor = await spawnTest(Idle);
    const node = actor.node;
    const app = createApplication({ name: 'shop', group: [] });
    assert.equal(await node.applicationLoad(app), 'shop');
    assert.throws(
      () => node.applicationInfo('shop'),
      (e) => isError(e, ErrApplicationUnknown),
    );
    await node.applicationStart('shop');
    await node.applicationStartTemporary('shop');
    await node.applicationStartTransient('shop');
    await node.applicationStartPermanent('shop');
    await node.applicationStop('shop');
    await node.applicationStopWithTimeout('shop', 100);
    await node.applicationStopForce('shop');
    node.applicationUnload('shop');
    assert.deepEqual(node.applications(), []);
    assert.deepEqual(node.applicationsRunning(), []);
    assert.deepEqual(node.applicationProcessList('shop'), []);
    assert.deepEqual(node.applicationProcessListShortInfo('shop'), []);
    node.failures.setMethodFailureOnce('applicationStart', new Error('refused'));
    await assert.rejects(node.applicationStart('shop'), /refused/);

    const meta = new Alias(node.name, node.creation, [1, 2, 3]);
    assert.throws(
      () => node.metaInfo(meta),
      (e) => isError(e, ErrMetaUnknown),
    );
    assert.throws(
      () => node.logLevelMeta(meta),
      (e) => isError(e, ErrMetaUnknown),
    );
    assert.throws(
      () => node.setLogLevelMeta(meta, LogLevel.Info),
      (e) => isError(e, ErrMetaUnknown),
    );
    await assert.rejects(node.inspectMeta(meta), (e) => isError(e, ErrMetaUnknown));

    node.loggerAdd('audit', { log: () => {} } as never, LogLevel.Warning);
    node.loggerAddPID(actor.pid, 'mine');
    node.loggerDelete('audit');
    node.loggerDeletePID(actor.pid);
    assert.deepEqual(node.loggers(), []);
    assert.deepEqual(node.loggerLevels('audit'), []);

    await assert.rejects(node.networkStart({}), (e) => isError(e, ErrUnsupported));
    await assert.rejects(node.networkStop(), (e) => isError(e, ErrUnsupported));

    await node.wait();
    await node.waitWithTimeout(10);
    await node.stopForce();
    assert.equal(node.isAlive(), false);
    await node.stop();
    assert.equal(node.uptime(), 0);
    assert.deepEqual(
      nodeCalls(actor.events()).filter(
        (m) => m.startsWith('application') || m.startsWith('logger') || m.startsWith('stop'),
      ),
      [
        'applicationLoad',
        'applicationStart',
        'applicationStartTemporary',
        'applicationStartTransient',
        'applicationStartPermanent',
        'applicationStop',
        'applicationStopWithTimeout',
        'applicationStopForce',
        'applicationUnload',
        'loggerAdd',
        'loggerAddPID',
        'loggerDelete',
        'loggerDeletePID',
        'stopForce',
        'stop',
      ],
    );
  });
});

describe('testing kit: the recording log', () => {
  test('fields, scopes, logger name and every level are recorded as the engine keeps them', async () => {
    const actor = await spawnTest(Idle, { logLevel: LogLevel.Trace });
    const log = actor.process.log;
    log.setLogger('audit');
    assert.equal(log.logger(), 'audit');
    log.addFields({ name: 'order', value: 1 });
    assert.equal(log.pushFields(), 1);
    log.addFields({ name: 'step', value: 'pay' });
    log.trace('t %d', 1);
    log.deleteFields('order'); // refused while a scope is pushed: logged at error level
    assert.equal(log.popFields(), 0);
    assert.deepEqual(
      log.fields().map((f) => f.name),
      ['order'],
    );
    log.deleteFields('order');
    assert.deepEqual(log.fields(), []);
    log.error('e %s', 'x');
    assert.throws(
      () => log.setLevel(LogLevel.Default),
      (e) => isError(e, ErrIncorrect),
    );

    const logs = actor.events().filter((e): e is LogEvent => e.kind === 'log');
    assert.deepEqual(
      logs.map((l) => [l.level, l.message, l.fields.map((f) => f.name)]),
      [
        [LogLevel.Trace, 't 1', ['order', 'step']],
        [LogLevel.Error, 'unable to delete fields while scopes are pushed', ['order', 'step']],
        [LogLevel.Error, 'e x', []],
      ],
    );
  });
});
