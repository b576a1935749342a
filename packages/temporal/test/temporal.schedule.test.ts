// Temporal's schedules through this package: a schedule action's own `workflowId` names its runs
// (`<workflowId>-<time>`, default `<scheduleId>-workflow`, as Temporal's), and Temporal's cron
// expressions are read as Temporal's server reads them — or refused with ERR_TEMPORAL_UNSUPPORTED
// naming what is supported when Ergo's cron would run them at other times.

import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';

import { startNode, type Node } from 'ergo-ts';
import { MemoryStore } from '@ergo-ts/entities';

import { Client, Connection, ScheduleClient } from '../src/client/index.js';
import { cronOf, nextCronTime, specOf } from '../src/client/schedule_spec.js';
import { WorkflowExecutionStatus } from '../src/proto/index.js';
import { log } from '../src/activity/index.js';
import { Worker } from '../src/worker/index.js';
import * as workflows from './workflows.js';

const code = (c: string, text?: RegExp) => (err: Error & { code?: string }) => {
  assert.equal(err.code, c, err.message);
  if (text !== undefined) assert.match(err.message, text);
  return true;
};

describe("Temporal's cron expressions", () => {
  test('read as Temporal reads them, in Ergo cron where the times are the same', () => {
    const cases: [string, string | undefined, { cron: string; timeZone?: string }][] = [
      ['@daily', undefined, { cron: '0 0 * * *' }],
      ['@midnight', 'Europe/Paris', { cron: '0 0 * * *', timeZone: 'Europe/Paris' }],
      ['@hourly', undefined, { cron: '0 * * * *' }],
      ['@weekly', undefined, { cron: '0 0 * * 7' }],
      ['@monthly', undefined, { cron: '0 0 1 * *' }],
      ['@yearly', undefined, { cron: '0 0 1 1 *' }],
      ['@annually # new year', undefined, { cron: '0 0 1 1 *' }],
      ['CRON_TZ=America/New_York 30 9 * * MON-FRI', undefined, { cron: '30 9 * * 1-5', timeZone: 'America/New_York' }],
      ['TZ=Asia/Tokyo 0 12 * * *', undefined, { cron: '0 12 * * *', timeZone: 'Asia/Tokyo' }],
      ['0 12 * * 0', undefined, { cron: '0 12 * * 7' }],
      ['0 12 * * 0-5', undefined, { cron: '0 12 * * 7,1-5' }],
      ['0 12 * * SUN,SAT', undefined, { cron: '0 12 * * 7,6' }],
      ['0 12 1 JAN-MAR *', undefined, { cron: '0 12 1 1-3 *' }],
      ['15 3 * * * *', undefined, { cron: '15 3 * * *' }],
      ['0 15 3 * * * *', undefined, { cron: '15 3 * * *' }],
      ['@every 2s', undefined, { cron: '@every 2s' }],
      ['@every 1h/15m # quarter past', undefined, { cron: '@every 1h/15m' }],
    ];
    for (const [cron, zone, want] of cases) assert.deepEqual(cronOf(cron, zone), want, cron);
  });

  test('what would run at other times is refused with ERR_TEMPORAL_UNSUPPORTED naming what is supported', () => {
    for (const cron of [
      '30 0 12 * * * *', // seconds
      '0 12 * * * 2030', // a year
      '0 12 15 * MON', // both day fields: Temporal matches both, Ergo's cron either
      '@reboot',
      '0 12 * *',
      '0 12 * * 0-6/2',
    ])
      assert.throws(() => cronOf(cron, undefined), code('ERR_TEMPORAL_UNSUPPORTED', /supported: one interval/), cron);
    assert.throws(() => cronOf('CRON_TZ=UTC 0 12 * * *', 'Europe/Paris'), code('ERR_TEMPORAL_INCORRECT', /both given/));
    assert.throws(
      () => specOf({ intervals: [{ every: '1m' }], cronExpressions: ['@daily'] }),
      code('ERR_TEMPORAL_UNSUPPORTED'),
    );
    assert.throws(() => specOf({ calendars: [{ hour: 2 }] }), code('ERR_TEMPORAL_UNSUPPORTED'));
    assert.deepEqual(specOf({ intervals: [{ every: '2 seconds', offset: 500 }] }), { everyMs: 2000, offsetMs: 500 });
  });
});

test("a cron workflow's next time: @every from the epoch with its offset, five fields in their zone; bad ones refused", () => {
  assert.equal(nextCronTime('@every 2s', 1_001), 2_000);
  assert.equal(nextCronTime('@every 2s', 2_000), 4_000, 'strictly after');
  assert.equal(nextCronTime('@every 1h/15m', 0), 900_000);
  assert.equal(nextCronTime('@every 1h30m', 0), 5_400_000);
  const noonTokyo = nextCronTime('CRON_TZ=Asia/Tokyo 0 12 * * *', Date.parse('2026-03-01T00:00:00Z'));
  assert.equal(new Date(noonTokyo).toISOString(), '2026-03-01T03:00:00.000Z');
  assert.throws(() => nextCronTime('@every 10ms', 0), code('ERR_TEMPORAL_INCORRECT'));
  assert.throws(() => nextCronTime('@every soon', 0), code('ERR_TEMPORAL_INCORRECT'));
  assert.throws(() => nextCronTime('30 0 12 * * * *', 0), code('ERR_TEMPORAL_UNSUPPORTED'));
});

describe('ScheduleClient on a Worker', () => {
  let node: Node;
  let connection: Connection;
  let worker: Worker;
  let running: Promise<void>;
  before(async () => {
    node = await startNode(`tsched${process.pid}@localhost`, { log: { level: 'error' } });
    connection = await Connection.connect({
      node,
      store: new MemoryStore(),
      entitiesOptions: { stopTimeoutMs: 1_000 },
    });
    worker = await Worker.create({ connection, workflows, activities: workflows.activities, taskQueue: 'sched' });
    running = worker.run();
  });
  after(async () => {
    worker.shutdown();
    await running;
    await node.stop();
    Connection.forget(connection.address);
  });

  test("the action's workflowId names the runs: <workflowId>-<time>; default <scheduleId>-workflow", async () => {
    const schedules = new ScheduleClient({ connection });
    const client = new Client({ connection });
    const h = await schedules.create({
      scheduleId: 'every-second',
      spec: { intervals: [{ every: '1s' }] },
      action: {
        type: 'startWorkflow',
        workflowType: workflows.doubler,
        workflowId: 'doubling',
        args: [21],
        taskQueue: 'sched',
      },
    });
    assert.equal((await h.describe()).action.workflowId, 'doubling');
    let run: string | undefined;
    while (run === undefined) {
      for await (const x of client.workflow.list({ query: "WorkflowType = 'doubler'" }))
        if (x.workflowId.startsWith('doubling-')) run = x.workflowId;
      if (run === undefined) await new Promise((r) => setTimeout(r, 20)); // polls the listing: runs start on the schedule's tick
    }
    assert.match(run, /^doubling-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(await client.workflow.getHandle(run).result(), 42);
    await h.delete();

    const d = await schedules.create({
      scheduleId: 'nightly',
      spec: { cronExpressions: ['CRON_TZ=Europe/Paris @daily'] },
      action: { type: 'startWorkflow', workflowType: 'doubler', args: [1], taskQueue: 'sched' },
    });
    const desc = await d.describe();
    assert.equal(desc.action.workflowId, 'nightly-workflow');
    assert.deepEqual(desc.spec, { cronExpressions: ['0 0 * * *'], timezone: 'Europe/Paris' });
    const paris = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit' });
    for (const t of desc.info.nextActionTimes) assert.equal(paris.format(t), '00:00');

    // Temporal's list(), and a backfill of one period (not an array).
    const listed = [];
    for await (const x of schedules.list()) listed.push(x);
    assert.deepEqual(
      listed.map((x) => [x.scheduleId, x.action.workflowType, x.state.paused, x.spec.timezone]),
      [['nightly', 'doubler', false, 'Europe/Paris']],
    );
    const day = 86_400_000;
    await d.backfill({ start: new Date(Date.now() - 2 * day), end: new Date(Date.now() - 1) });
    let backfilled: string | undefined;
    while (backfilled === undefined) {
      for await (const x of client.workflow.list({ query: "WorkflowType = 'doubler'" }))
        if (x.workflowId.startsWith('nightly-workflow-')) backfilled = x.workflowId;
      if (backfilled === undefined) await new Promise((r) => setTimeout(r, 20)); // the backfill starts on its tick
    }
    assert.equal(paris.format(new Date(backfilled.slice('nightly-workflow-'.length))), '00:00');
    await d.delete();
  });

  test('a cron workflow (cronSchedule): runs of one id, each waiting for its time, listed by workflowService as COMPLETED; terminate ends it', async () => {
    const client = new Client({ connection });
    await assert.rejects(
      client.workflow.start(workflows.cronRun, {
        workflowId: 'cron-bad',
        taskQueue: 'sched',
        cronSchedule: '@every 1ms',
      }),
      code('ERR_TEMPORAL_INCORRECT'),
    );
    const h = await client.workflow.start(workflows.cronRun, {
      workflowId: 'cron1',
      taskQueue: 'sched',
      args: ['tick'],
      cronSchedule: '@every 1s',
    });
    const list = () =>
      client.workflowService.listWorkflowExecutions({ namespace: 'default', query: "WorkflowId = 'cron1'" });
    // Waits (up to 30 s) for two runs to have ended: about two seconds.
    for (let i = 0; i < 300; i++) {
      const { executions } = await list();
      if (
        executions.filter((e) => e.status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED).length >= 2
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { executions } = await list();
    assert.equal(
      executions[0]!.status,
      WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
      'the next run waits',
    );
    const done = executions.slice(1);
    assert.ok(done.length >= 2, `two runs ended: ${JSON.stringify(executions)}`);
    for (const e of done) assert.equal(e.status, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED);
    assert.equal(new Set(executions.map((e) => e.execution.runId)).size, executions.length, 'a run id each');
    const runs = workflows.cronRuns.get('cron1') ?? [];
    assert.ok(runs.length >= 2);
    for (const r of runs) assert.equal(r, 'tick @every 1s', 'workflowInfo().cronSchedule');
    await h.terminate('done');
    const after = await list();
    assert.equal(after.executions[0]!.status, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED);
  });

  test("an activity logs through @temporalio/activity's log; outside one, log throws ERR_TEMPORAL_OUTSIDE_ACTIVITY", async () => {
    const client = new Client({ connection });
    const h = await client.workflow.start(workflows.noting, { workflowId: 'noting', taskQueue: 'sched', args: [1] });
    assert.equal(await h.result(), 2);
    assert.throws(() => log.info('nowhere'), code('ERR_TEMPORAL_OUTSIDE_ACTIVITY'));
  });
});
