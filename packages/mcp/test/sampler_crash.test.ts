// Issue 63 item 1: a read-only MCP server without a token must not let a client end the node's OS
// process. `sample_stop` while the sampled tool is still running used to: when that tool's call
// came back, the sampler's `.then` sent its result to the sampler that had ended, the send threw,
// and the rejection nobody handled ended the process. The node runs in a child process
// (server_child.ts) whose sampled tool (`process_inspect` of `gate`) is held until the sampler has
// gone: each round is that race, made certain rather than timed.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';

import { ServerChild } from './child.js';
import { connect, ok } from './helpers.js';

const ROUNDS = 40;

test('sample_stop while the sampled tool runs leaves the node process up (40 rounds)', async (t) => {
  const child = await ServerChild.start();
  t.after(() => child.stop());
  const client = await connect(child.url);
  t.after(() => client.close());

  for (let round = 0; round < ROUNDS; round++) {
    await child.cmd('hold');
    const started = await ok<{ sampler_id: string }>(client, 'sample_start', {
      tool: 'process_inspect',
      arguments: { pid: 'gate' },
      interval_ms: 100,
      duration_sec: 30,
    });
    // The sampler's first call waits in the gate's mailbox.
    await eventually(async () => Number((await child.cmd('queued')).queued) >= 1, `round ${round}: call queued`);
    await ok(client, 'sample_stop', { sampler_id: started.sampler_id });
    await eventually(async () => {
      const list = await ok<{ samplers: { id: string }[] }>(client, 'sample_list');
      return !list.samplers.some((s) => s.id === started.sampler_id);
    }, `round ${round}: sampler gone`);
    // Now the held call answers: its result has no sampler to go to.
    await child.cmd('release');
    await eventually(async () => {
      const q = await child.cmd('queued');
      return q.queued === 0 && q.busy === false;
    }, `round ${round}: the held call answered`);
    const info = await ok<{ name: string }>(client, 'node_info');
    assert.equal(info.name, child.node);
    assert.ok(child.alive, `round ${round}: the node process ended (${String(child.ended)}): ${child.stderr}`);
  }
});
