// A dial whose handshake step is late — the peer's process paused (SIGSTOP) while its kernel
// accepted the TCP connection, as on a starved machine — is tried again within dialTimeout
// instead of failing what waits for the connection: the call made meanwhile is answered once the
// peer runs again. The peer is dist_fixture.ts in a child OS process.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { LogLevel, ProcessID, type Atom } from '../src/index.js';
import { LogCapture, nodeName, quietNode, within } from './helpers.js';
import { routeTo } from './net_helpers.js';
import { DIST_COOKIE, startChild } from './dist_helpers.js';

/** A log capture that resolves `late` at the dialler's "handshake step was late" line. */
class LateWatch extends LogCapture {
  #onLate!: () => void;
  readonly late = new Promise<void>((r) => (this.#onLate = r));
  override readonly output = {
    write: (chunk: string): boolean => {
      this.lines.push(chunk);
      if (chunk.includes('a handshake step was late')) this.#onLate();
      return true;
    },
  };
}

test('a dial whose handshake step is late is tried again and the waiting call is answered', async (t) => {
  const child = await startChild(nodeName('late'));
  t.after(() => {
    child.proc.kill('SIGCONT');
    child.kill();
  });
  const log = new LateWatch();
  const a = await quietNode(
    {
      log: { level: LogLevel.Debug },
      network: {
        cookie: DIST_COOKIE,
        acceptors: [{ port: 0 }],
        registrar: null,
        dialTimeout: 30_000,
        routes: [{ match: child.name.replace(/[.$]/g, '\\$&'), route: routeTo(child.port) }],
      },
    },
    log,
    nodeName('dialer'),
  );
  t.after(() => a.stop().catch(() => undefined));

  child.proc.kill('SIGSTOP');
  const answer = a.call(new ProcessID('echo' as Atom, child.name as Atom), 'ping', { timeout: 60_000 }).then(
    (v) => ({ ok: v }),
    (e: unknown) => ({ err: e }),
  );
  // The first handshake waits on a paused peer past the per-read timeout (1 s) ...
  await within(log.late, 'the dialler notices a late handshake step', 30_000);
  child.proc.kill('SIGCONT');
  // ... and the dial tried again connects: the call made before is answered.
  assert.deepEqual(await within(answer, 'the call answered', 60_000), { ok: 'pong' });
  assert.ok(!log.text().includes('[warning]'), log.text());
});
