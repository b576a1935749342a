// Pool with a worker on a real Go Ergo 3.2 node (ergo-peer): a call keeps its caller's important
// flag when the pool hands it to that worker, forwarded (a caller of the pool's node: sender and
// ref kept) or relayed (a caller of another node: the pool calls and passes the outcome back).
// Go answers a call it cannot deliver only when the call is important, so for a worker that is
// gone the flag decides between ErrProcessUnknown now and a timeout.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { Actor, PID, Pool, type PoolOptions } from '../src/index.js';
import { goName, startGoPeer, tsFor } from './dist_helpers.js';

class Idle extends Actor {}

/** A pool of one "worker": a PID of the Go node where no process runs (never linked, never replaced). */
class GonePool extends Pool {
  gone!: PID;
  override init(gone: PID): PoolOptions {
    this.gone = gone;
    return { poolSize: 1, workerFactory: Idle };
  }
  protected override spawnWorker(): Promise<PID> {
    return Promise.resolve(this.gone);
  }
}

test('Pool → a gone worker on a Go node: an important call fails with ErrProcessUnknown, forwarded or relayed', async (t) => {
  const go = await startGoPeer(t, 'gopool');
  if (go === undefined) return;
  const ts = await tsFor(t, 'tsgopool', go);
  const gone = new PID(goName(go), 0x7fffffff, Number(go.ready.creation));
  const pool = await ts.spawnRegister('gonepool', GonePool, {}, gone);

  // Forwarded: the caller is on the pool's node; Go answers the caller directly.
  await assert.rejects(ts.call(pool, 'q', { important: true, timeout: 10_000 }), { code: 'ERR_PROCESS_UNKNOWN' });

  // Relayed: the caller is on the Go node; the pool makes the call and passes Go's answer back.
  const to = { name: 'gonepool', node: ts.name };
  const r = await go.cmd('call', { to, req: 'q', important: true, timeout: 10 }, 30_000);
  assert.equal(r.kind, 'error', JSON.stringify(r));
  assert.match(String(r.error), /unknown process/, JSON.stringify(r));
});
