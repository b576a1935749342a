// A mesh formed all at once by nodes starved of CPU (issue 64, item 2): N nodes in separate OS
// processes, no connections yet, every node calling every other at the same moment while each
// node's event loop is busy for longer than the handshake timeout at a time (crossing_node.ts,
// `hogMs`) — what 50 or 100 node processes meshing at once on two cores look like to each
// other. A handshake step is then late on most connections. Before, the dialler gave the late
// socket up and dialled again (the peer's work on it lost), three times, and the calls waiting
// for the dial failed with ERR_NO_CONNECTION; an acceptor that waited for the final Accept no
// longer than one timeout closed a connection the dialler had begun to use. Now a late step is
// waited for (HANDSHAKE_PATIENCE) while another attempt starts beside it: every call answers.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { CrossingProc, closeAll, type CallResult } from './crossing_helpers.js';

/** Handshake timeout of every node, in ms: below the time a starved peer takes to answer. */
const HANDSHAKE_TIMEOUT = 150;
/** How long each node's event loop is busy at a time while the mesh forms, in ms. */
const HOG_MS = 250;

async function starvedMesh(n: number): Promise<void> {
  const procs = await Promise.all(Array.from({ length: n }, () => CrossingProc.fork()));
  let failed = true;
  try {
    await Promise.all(procs.map((p, i) => p.start(`starved${i}`, 'localhost', 'none', HANDSHAKE_TIMEOUT)));
    const routes = procs.map((p) => ({ match: `^${p.name}$`, host: 'localhost', port: p.port }));
    await Promise.all(procs.map((p) => p.ask('routes', { routes: routes.filter((r) => r.match !== `^${p.name}$`) })));
    const done = (await Promise.all(
      procs.map((p) =>
        p.ask('callAll', { targets: procs.filter((q) => q !== p).map((q) => q.name), timeout: 15_000, hogMs: HOG_MS }),
      ),
    )) as { results: CallResult[]; lines: string[] }[];
    const lost = done.flatMap((r, i) =>
      r.results.filter((c) => !c.ok).map((c) => `${procs[i]!.name} -> ${c.target}: ${c.code} ${c.message}`),
    );
    const lines = done.flatMap((r, i) => r.lines.map((l) => `${procs[i]!.name}: ${l}`));
    assert.deepEqual(lost, [], `every call answers; the nodes logged:\n${lines.join('\n')}`);
    // No connection either side used was torn down under it.
    assert.deepEqual(
      lines.filter((l) => /lost the connection|cannot connect|dropped/.test(l)),
      [],
      'no connection lost, no dial failed',
    );
    await Promise.all(procs.map((p) => p.stop()));
    failed = false;
  } finally {
    await closeAll(procs, failed);
  }
}

test('6 starved nodes meshing at once (a handshake step later than the timeout on most connections): every call answers', async () => {
  await starvedMesh(6);
});
