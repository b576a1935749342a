// A workflow refusal's detail across nodes (contract/wire_errors.ts): an update the validator
// refuses, sent from a client-only node to the member that owns the instance, rejects with
// ERR_WORKFLOW_UPDATE_REJECTED and the validator's message, as on the owner's own node (the wire
// carried a sentinel's variant as its bare text: "workflow: update rejected"); an update the body
// fails keeps its reason (ERR_WORKFLOW_UPDATE_FAILED), and so does the operator's request the
// Observer and the MCP server make of the client's manager.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { UnhandledWatch, eventually } from '@ergo-ts/test-support';
import { ProcessID, startNode, type Atom } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';

import { MemoryStore, startEntities, type WorkflowOperationReply } from '../src/index.js';
import { freeTcpUdpPort } from './dist_helpers.js';
import { WfCart } from './workflow_update_kinds.js';

const watch = new UnhandledWatch('workflow refusal detail');
test.before(() => watch.start());
test.after(() => watch.stop());

test('a refused update from a client-only node: the validator’s message and code, as on the owner', async (t) => {
  const store = new MemoryStore();
  const port = await freeTcpUdpPort();
  const network = () => ({
    cookie: 'wf-detail',
    acceptors: [{ host: '127.0.0.1', port: 0 }],
    registrar: createEmbeddedRegistrar({ port, retryInterval: 100 }),
  });
  const member = await startNode(`wfdetailm_${process.pid}@localhost`, { log: { level: 'error' }, network: network() });
  const client = await startNode(`wfdetailc_${process.pid}@localhost`, { log: { level: 'error' }, network: network() });
  const onMember = await startEntities(member, {
    store,
    kinds: [WfCart],
    members: [member.name],
    probeIntervalMs: 100,
  });
  const onClient = await startEntities(client, {
    store,
    kinds: [WfCart],
    role: 'client',
    members: [member.name],
    probeIntervalMs: 100,
  });
  t.after(async () => {
    await onClient.stop();
    await onMember.stop();
    await client.stop();
    await member.stop();
  });
  await eventually(() => onClient.members().length === 1, 'the client sees the member');
  await onMember.workflows.start(WfCart, 'c1', { limit: 5 });

  const refused = /^workflow: update rejected: update add: refused: Error: qty must be above 0, got 0$/;
  const local = onMember.workflows.handle(WfCart, 'c1');
  await assert.rejects(local.update('add', { sku: 'pen', qty: 0 }), {
    code: 'ERR_WORKFLOW_UPDATE_REJECTED',
    message: refused,
  });
  const remote = onClient.workflows.handle(WfCart, 'c1');
  await assert.rejects(remote.update('add', { sku: 'pen', qty: 0 }), {
    code: 'ERR_WORKFLOW_UPDATE_REJECTED',
    message: refused,
  });
  await assert.rejects(remote.update('remove' as never, {} as never), {
    code: 'ERR_WORKFLOW_INCORRECT',
    message: /declares no update "remove"/,
  });
  // A failure the body answered keeps its reason too.
  await assert.rejects(remote.update('add', { sku: 'pen', qty: 9 }), {
    code: 'ERR_WORKFLOW_UPDATE_FAILED',
    message: /over the limit of 5/,
  });
  // What the Observer asks of the client's manager.
  const text = await client.call(new ProcessID('entities' as Atom, client.name), {
    '~entity': 'workflows',
    op: 'update',
    workflow: 'wfcart',
    id: 'c1',
    name: 'add',
    input: { sku: 'pen', qty: 0 },
  });
  const reply = JSON.parse(text as string) as WorkflowOperationReply;
  assert.equal(reply.ok, false);
  assert.ok(!reply.ok);
  assert.equal(reply.code, 'ERR_WORKFLOW_UPDATE_REJECTED');
  assert.match(reply.message, refused);
  // A good update still answers across nodes.
  assert.equal(await remote.update('add', { sku: 'pen', qty: 2 }), 2);
});
