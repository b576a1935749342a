// A script for cluster.test.ts: starts a cluster (default signal handling) whose second node gets
// stuck in a busy loop, and keeps its own event loop busy forever (as a server would). Argument:
// the cluster's stopTimeout in ms. Prints "up" once the node spins, "stopping" once a signal has
// begun the stop (the launcher's handlers are gone). The parent signals it and expects it to end.

import { startCluster } from '../src/cluster/index.js';

/** Atomics.waitAsync (ES2024; the library target here is older). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

const spinning = new Int32Array(new SharedArrayBuffer(4));
const stopTimeout = Number(process.argv[2]);
await startCluster({
  nodes: 2,
  module: new URL('./cluster_app.js', import.meta.url),
  node: { network: { registrar: null, cookie: 'cluster-signal' }, log: { level: 'error' } },
  args: { spin: 1, spinning },
  stopTimeout,
});
const r = waitAsync(spinning, 0, 0);
if (r.async) await r.value;
// Something else that keeps the process alive: the cluster's stop alone would not end it.
const keep = setInterval(() => {
  if (process.listenerCount('SIGTERM') === 0 && !said) {
    said = true;
    process.stdout.write('stopping\n');
  }
}, 20);
let said = false;
void keep;
process.stdout.write('up\n');
