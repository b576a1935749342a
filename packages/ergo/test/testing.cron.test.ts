// Ergo's testing/unit cron_test.go scenarios, ported, plus the clock: jobs added, inspected and
// removed through the test node's cron are recorded; a job runs when the test clock passes its
// minute (sending MessageCron to its target, recorded as a send from the node) or at once with
// triggerCronJob; disabled jobs do not run; bad specs fail as on a real node.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  ErrIncorrect,
  ErrTaken,
  ErrUnknown,
  MessageCron,
  type PID,
  createCronActionMessage,
  isError,
  type Atom,
} from '../src/index.js';
import { instanceOf, spawnTest, structureMatching } from '../src/testing/index.js';

/** Schedules its own report job and collects the cron messages it receives. */
class CronTestActor extends Actor {
  received: MessageCron[] = [];
  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof MessageCron) this.received.push(message);
    if (message === 'schedule') {
      this.node.cron().addJob({
        name: 'report' as Atom,
        spec: '*/15 * * * *',
        location: 'UTC',
        action: createCronActionMessage(this.pid),
      });
    }
    if (message === 'pause') this.node.cron().disableJob('report' as Atom);
    if (message === 'resume') this.node.cron().enableJob('report' as Atom);
  }
}

describe('testing kit, Ergo cron scenarios', () => {
  test('TestCron_BasicJobManagement: add, info, remove', async () => {
    const actor = await spawnTest(CronTestActor);
    const cron = actor.node.cron();
    cron.addJob({ name: 'test_job' as Atom, spec: '0 * * * *', action: createCronActionMessage('worker') });
    actor.shouldAddCronJob().withName('test_job').withSpec('0 * * * *').once();
    const info = cron.jobInfo('test_job' as Atom);
    assert.equal(info.name, 'test_job');
    assert.equal(info.actionInfo, "send message to 'worker' with normal priority");
    cron.removeJob('test_job' as Atom);
    actor.shouldRemoveCronJob().withName('test_job').once();
    assert.throws(
      () => cron.jobInfo('test_job' as Atom),
      (e) => isError(e, ErrUnknown),
    );
  });

  test('jobs run when the clock passes their minute; the message is recorded as a send from the node', async () => {
    const actor = await spawnTest(CronTestActor, { time: new Date('2025-03-01T10:00:30Z') });
    await actor.sendMessage(actor.pid, 'schedule');
    actor.shouldAddCronJob().withName('report').withSpec('*/15 * * * *').once();
    actor.shouldNotExecuteCronJob().assert();

    actor.setCronTime(new Date('2025-03-01T10:14:59Z'));
    actor.shouldNotExecuteCronJob().assert();
    actor.setCronTime(new Date('2025-03-01T10:15:00Z'));
    actor.shouldExecuteCronJob().withName('report').at(new Date('2025-03-01T10:15:00Z')).once();
    actor
      .shouldSend()
      .to(actor.pid)
      .message(structureMatching(MessageCron, { job: 'report', node: actor.node.name }))
      .once();
    const fromNode = actor.shouldSend().to(actor.pid).capture();
    assert.ok(fromNode.from.equals(actor.node.pid));

    await actor.deliverSelfMessages();
    assert.equal(actor.behavior.received.length, 1);
    assert.equal(actor.behavior.received[0].time.toISOString(), '2025-03-01T10:15:00.000Z');

    actor.advanceTime(60 * 60 * 1000); // an hour: 10:30, 10:45, 11:00, 11:15
    actor.shouldExecuteCronJob().withName('report').times(5);
  });

  test('a disabled job does not run; enabling resumes it', async () => {
    const actor = await spawnTest(CronTestActor, { time: new Date('2025-03-01T10:00:30Z') });
    await actor.sendMessage(actor.pid, 'schedule');
    await actor.sendMessage(actor.pid, 'pause');
    actor.shouldDisableCronJob().withName('report').once();
    actor.advanceTime(30 * 60 * 1000);
    actor.shouldNotExecuteCronJob().assert();
    assert.equal(actor.node.cron().jobInfo('report' as Atom).disabled, true);
    await actor.sendMessage(actor.pid, 'resume');
    actor.shouldEnableCronJob().withName('report').once();
    actor.advanceTime(15 * 60 * 1000);
    actor.shouldExecuteCronJob().withName('report').once();
  });

  test('triggerCronJob runs a job now, whatever its spec', async () => {
    const actor = await spawnTest(CronTestActor, { time: new Date('2025-03-01T10:07:42Z') });
    await actor.sendMessage(actor.pid, 'schedule');
    await actor.triggerCronJob('report');
    actor.shouldExecuteCronJob().withName('report').at(new Date('2025-03-01T10:07:00Z')).once();
    actor.shouldSend().to(actor.pid).message(instanceOf(MessageCron)).once();
    await assert.rejects(actor.triggerCronJob('nope'), (e) => isError(e, ErrUnknown));
  });

  test('the cron validates as the node does: bad spec, duplicate name', async () => {
    const actor = await spawnTest(CronTestActor);
    const cron = actor.node.cron();
    assert.throws(
      () => cron.addJob({ name: 'bad' as Atom, spec: '61 * * * *', action: createCronActionMessage('x') }),
      (e) => isError(e, ErrIncorrect),
    );
    actor.shouldAddCronJob().times(0);
    cron.addJob({ name: 'j' as Atom, spec: '@hourly', location: 'UTC', action: createCronActionMessage('x') });
    assert.throws(
      () => cron.addJob({ name: 'j' as Atom, spec: '@daily', action: createCronActionMessage('x') }),
      (e) => isError(e, ErrTaken),
    );
    assert.deepEqual(
      cron.jobSchedule('j' as Atom, new Date('2025-01-01T00:00:00Z'), 3 * 3600_000).map((d) => d.toISOString()),
      // Ergo's @hourly is minute 1
      ['2025-01-01T00:01:00.000Z', '2025-01-01T01:01:00.000Z', '2025-01-01T02:01:00.000Z'],
    );
  });
});
