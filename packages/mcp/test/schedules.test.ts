// The workflow schedule tools (tools_schedules.ts) against a node running an entities runtime
// with the schedules' kind, through the official MCP SDK client: schedule_create, schedule_list,
// schedule_describe, schedule_pause / unpause with a note, schedule_trigger (its run started),
// schedule_backfill (a run per time), schedule_update, schedule_delete; refusals keep their codes
// (ERR_SCHEDULE_NOT_FOUND, ERR_SCHEDULE_EXISTS, ERR_WORKFLOW_INCORRECT), and a read-only server
// lists but refuses the actions.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { MemoryStore, WorkflowSchedules, defineWorkflow, startEntities, type Entities } from '@ergo-ts/entities';
import type { Node } from 'ergo-ts';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

import { startMcpServer } from '../src/index.js';
import { call, connect, exactly, netNode, ok, portOf, routeTo } from './helpers.js';

const Report = defineWorkflow('mcpreport', async (_ctx, input: { region: string }) => `report ${input.region}`);

let a: Node;
let b: Node;
let entities: Entities;
let client: Client;
let readOnly: Client;

before(async () => {
  b = await netNode('mcpschb');
  a = await netNode('mcpscha', [{ match: exactly(b.name), route: routeTo(portOf(b)) }]);
  entities = await startEntities(a, { store: new MemoryStore(), kinds: [Report, WorkflowSchedules] });
  client = await connect((await startMcpServer(a, { port: 0, actions: true })).url);
  // b's server is read-only; it reaches a's entities through `node`.
  await a.network().getNode(b.name);
  readOnly = await connect((await startMcpServer(b, { port: 0, actions: false })).url);
});

after(async () => {
  await client?.close();
  await readOnly?.close();
  await entities?.stop();
  await a?.stop();
  await b?.stop();
});

interface Described {
  id: string;
  workflow: string;
  paused: boolean;
  note: string;
  next: number[];
  counts: { started: number };
  recent: { id?: string; outcome: string; by: string }[];
  pending: number;
}

test('the schedule tools: create, list, describe, pause, unpause, trigger, backfill, update, delete', async () => {
  const { tools } = await client.listTools();
  for (const op of ['list', 'describe', 'create', 'pause', 'unpause', 'trigger', 'backfill', 'update', 'delete'])
    assert.ok(
      tools.find((t) => t.name === `schedule_${op}`),
      op,
    );
  assert.equal(tools.find((t) => t.name === 'schedule_list')?.annotations?.readOnlyHint, true);

  const created = await ok<{ result: Described }>(client, 'schedule_create', {
    id: 'nightly-eu',
    workflow: 'mcpreport',
    spec: { cron: '0 2 * * *', timeZone: 'Europe/Paris' },
    input: { region: 'eu' },
    policies: { overlap: 'bufferOne' },
    note: 'the EU report',
  });
  assert.equal(created.result.workflow, 'mcpreport');
  assert.equal(created.result.next.length, 5);
  const listed = await ok<{ schedules: { id: string; status: string; note: string }[] }>(client, 'schedule_list', {});
  assert.deepEqual(
    listed.schedules.map((s) => [s.id, s.status, s.note]),
    [['nightly-eu', 'active', 'the EU report']],
  );

  await ok(client, 'schedule_pause', { id: 'nightly-eu', note: 'holiday' });
  const paused = await ok<Described>(client, 'schedule_describe', { id: 'nightly-eu' });
  assert.equal(paused.paused, true);
  assert.equal(paused.note, 'holiday');
  assert.deepEqual(paused.next, []);
  await ok(client, 'schedule_unpause', { id: 'nightly-eu' });

  const trig = await ok<{ result: { workflowId: string } }>(client, 'schedule_trigger', { id: 'nightly-eu' });
  // The trigger answers the run's id at once; the schedule's entity starts it right after.
  const run = entities.workflows.handleOf('mcpreport', trig.result.workflowId);
  await eventually(
    () =>
      run.describe().then(
        () => true,
        () => false,
      ),
    'the triggered run started',
  );
  assert.equal(await run.result(), 'report eu');

  const bf = await ok<{ result: { times: number } }>(client, 'schedule_backfill', {
    id: 'nightly-eu',
    start: '2026-03-01T00:00:00Z',
    end: '2026-03-03T23:59:59Z',
    overlap: 'allowAll',
  });
  assert.equal(bf.result.times, 3);
  // 02:00 in Paris on 2026-03-01 (winter time) is 01:00 UTC.
  await eventually(
    async () =>
      (await entities.workflows.handleOf('mcpreport', 'nightly-eu-2026-03-01T01:00:00Z').describe()).status ===
      'completed',
    'the backfilled run',
  );
  await eventually(
    async () => (await ok<Described>(client, 'schedule_describe', { id: 'nightly-eu' })).counts.started === 4,
    'four runs',
  );

  await ok(client, 'schedule_update', { id: 'nightly-eu', input: { region: 'fr' }, note: 'France only' });
  assert.equal((await ok<Described>(client, 'schedule_describe', { id: 'nightly-eu' })).note, 'France only');

  // Refusals keep their codes; a read-only server lists but does not act.
  const missing = await call(client, 'schedule_describe', { id: 'nope' });
  assert.ok(missing.isError && /ERR_SCHEDULE_NOT_FOUND/.test(missing.text), missing.text);
  const twice = await call(client, 'schedule_create', {
    id: 'nightly-eu',
    workflow: 'mcpreport',
    spec: { everyMs: 60_000 },
    input: { region: 'x' },
  });
  assert.ok(twice.isError && /ERR_SCHEDULE_EXISTS/.test(twice.text), twice.text);
  const badKind = await call(client, 'schedule_create', { id: 'x', workflow: 'nokind', spec: { everyMs: 60_000 } });
  assert.ok(badKind.isError && /ERR_WORKFLOW_INCORRECT/.test(badKind.text), badKind.text);
  const badZone = await call(client, 'schedule_create', {
    id: 'x',
    workflow: 'mcpreport',
    spec: { cron: '* * * * *', timeZone: 'Nowhere/Land' },
    input: { region: 'x' },
  });
  assert.ok(badZone.isError && /ERR_WORKFLOW_INCORRECT/.test(badZone.text), badZone.text);
  assert.equal((await ok<{ schedules: unknown[] }>(readOnly, 'schedule_list', { node: a.name })).schedules.length, 1);
  const refused = await call(readOnly, 'schedule_delete', { id: 'nightly-eu', node: a.name });
  assert.ok(refused.isError && /disabled/.test(refused.text), refused.text);

  await ok(client, 'schedule_delete', { id: 'nightly-eu' });
  assert.deepEqual((await ok<{ schedules: unknown[] }>(client, 'schedule_list', {})).schedules, []);
});
