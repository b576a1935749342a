// Failed handshakes under a flood (issue 19 item 8): the acceptor logs the first failure of a
// source and sums up the rest in one line per window (here: when the network stops), and a source
// that failed HANDSHAKE_FAILURES_PER_SOURCE times in the window has its further connections
// closed before any handshake work.

import { strict as assert } from 'node:assert';
import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import { test } from 'node:test';

import { DIAGNOSTICS } from '../src/index.js';
import { HANDSHAKE_FAILURES_PER_SOURCE } from '../src/net/network/refusals.js';
import { LogCapture, within } from './helpers.js';
import { netNode, portOf } from './net_helpers.js';

/** One connection that sends bytes no handshake accepts; resolves when the acceptor closed it. */
function garbage(port: number): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.on('error', () => undefined); // a dropped connection may reset
      s.on('data', () => undefined);
      s.on('close', () => resolve());
    }),
    'the acceptor closes the connection',
  );
}

test('a flood of failed handshakes from one source: one log line, a summary, and a cut-off after the limit', async (t) => {
  const failures: unknown[] = [];
  const onFail = (m: unknown): void => void failures.push(m);
  diagnostics.subscribe(DIAGNOSTICS.networkHandshakeFailed, onFail);
  t.after(() => diagnostics.unsubscribe(DIAGNOSTICS.networkHandshakeFailed, onFail));
  const capture = new LogCapture();
  const node = await netNode('flood', {}, capture);
  let stopped = false;
  t.after(() => (stopped ? undefined : node.stop()));
  const port = portOf(node);
  const extra = 20;
  const total = HANDSHAKE_FAILURES_PER_SOURCE + extra;
  for (let i = 0; i < total; i++) await garbage(port);

  const lines = capture.lines.filter((l) => l.includes('handshake from'));
  assert.equal(lines.length, 1, `one line per attempt: ${lines.length} lines for ${total} attempts`);
  assert.match(lines[0]!, /handshake from 127\.0\.0\.1:\d+ on .* failed: .*further failures from 127\.0\.0\.1/);
  assert.equal(failures.length, HANDSHAKE_FAILURES_PER_SOURCE, 'connections over the limit get no handshake');

  await node.stop();
  stopped = true;
  const summary = capture.lines.filter((l) => l.includes('more failed'));
  assert.equal(summary.length, 1);
  assert.match(
    summary[0]!,
    new RegExp(`handshake from 127\\.0\\.0\\.1: ${HANDSHAKE_FAILURES_PER_SOURCE - 1} more failed`),
  );
  assert.match(summary[0]!, new RegExp(`${extra} connections dropped before the handshake`));
});
