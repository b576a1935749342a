// The entry of one cluster node: the file the launcher starts as a worker thread or a child
// process. It turns on Node's compile cache before it loads the framework (./worker_run.js), so a
// host that starts a hundred nodes compiles ergo-ts once: every later node reads V8's cached code
// instead of parsing and compiling about 1 MB of JavaScript (issue 64, docs/scale.md "What a
// node process spends to start"). The cache lives where `NODE_COMPILE_CACHE` says, or in the
// system's temporary folder; `NODE_DISABLE_COMPILE_CACHE=1` turns it off. Node ≥ 22.8 has the
// call; on an older 22 the node starts without the cache.
//
// A module's static imports are compiled before its first line runs, so the framework is loaded
// by a dynamic import after the call. A child process may receive its start (IPC) while that
// import loads: the messages are held here and handed over in order.

import * as nodeModule from 'node:module';

nodeModule.enableCompileCache?.();

const held: unknown[] = [];
const hold = (m: unknown): void => {
  held.push(m);
};
const child = typeof process.send === 'function';
if (child) process.on('message', hold);
const { runWorker } = await import('./worker_run.js');
if (child) process.off('message', hold);
runWorker(held);
