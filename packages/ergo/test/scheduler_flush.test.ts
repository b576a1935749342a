// A node busy with a long drain of local work writes what its processes sent to other nodes
// during that drain (scheduler flush points, node/scheduler.ts), not only once the drain has
// ended: otherwise the nodes of one host take turns instead of running at once. Asserted on the
// order of events, not on durations: the peer node must have received the message while the
// sender's drain is still running — the process that checks it blocks that very drain until it
// has (see scheduler_flush_app.ts).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { BroadcastChannel } from 'node:worker_threads';
import { startCluster } from '../src/cluster/index.js';
import { CHANNEL, type FlushArgs, type FlushResult } from './scheduler_flush_app.js';

const APP = new URL('./scheduler_flush_app.js', import.meta.url);
const NODE = { network: { registrar: null }, log: { level: 'warning' as const } };

for (const transport of ['inhost', 'tcp'] as const) {
  test(`scheduler: a long local drain writes its messages to another node before it ends (${transport})`, async () => {
    const ch = new BroadcastChannel(CHANNEL);
    const result = new Promise<FlushResult>((resolve) => {
      ch.onmessage = (e: unknown) => resolve((e as { data: FlushResult }).data);
    });
    const args: FlushArgs = { slot: new SharedArrayBuffer(4) };
    const cluster = await startCluster({ nodes: 2, transport, module: APP, args, node: NODE, signals: false });
    try {
      const r = await result;
      assert.equal(r.error, undefined);
      console.log(`${transport}: ${r.verdict} after ${r.attempts} attempt(s)`);
      // 'none': every attempt's drain yielded to the event loop before the waiter ran (a very
      // busy machine); the message then left at the drain's end and nothing was shown.
      assert.notEqual(r.verdict, 'none', `no attempt ran within one drain in ${r.attempts}`);
      assert.equal(r.verdict, 'pass', 'the peer node got nothing until the drain ended');
    } finally {
      ch.close();
      await cluster.stop();
    }
  });
}
