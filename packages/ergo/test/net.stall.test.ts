// Stalled-peer detection (issue 19 item 7): a peer node in its own OS process is stopped with
// SIGSTOP — its kernel still answers TCP keepalive, so only the connection's watchdog can tell.
// An important send it never acks, or a write backlog it never reads, declares the connection
// down after `peerStallTimeout` without a sign of life: node monitors fire, pending calls fail
// with ErrNoConnection, and the node stays up. Detection is awaited under a generous guard; no
// assertion depends on how fast it came.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { MessageDownNode, ProcessID, type Atom, type Node, type PID } from '../src/index.js';
import { parentFor, startChild, type ChildNode } from './dist_helpers.js';
import { deferred, Inbox, probe, rejectsWith, within, type Deferred } from './helpers.js';

async function stoppedPeer(
  t: { after(fn: () => Promise<void> | void): void },
  prefix: string,
): Promise<{ child: ChildNode; parent: Node; downs: Inbox; echo: ProcessID; watcher: PID; sent: Deferred<string> }> {
  const child = await startChild(`${prefix}${process.pid}@localhost`);
  // A stopped fixture left behind would hold the runner's stdio open: kill it whatever happens.
  const reap = (): void => {
    child.proc.kill('SIGCONT');
    child.kill();
  };
  process.once('exit', reap);
  t.after(reap);
  const parent = await parentFor(t, `p${prefix}`, child, { peerStallTimeout: 400 });
  const echo = new ProcessID('echo' as Atom, child.name as Atom);
  assert.equal(await parent.call(echo, 'ping'), 'pong');
  const downs = new Inbox();
  const sent = deferred<string>();
  const watcher = await parent.spawn(
    probe((m, _from, self) => {
      if (m === 'watch') self.monitorNode(child.name);
      else if (m === 'important')
        self.sendImportant(echo, 'are you there').then(
          () => sent.resolve('acked'),
          (e: { code?: string }) => sent.resolve(e.code ?? String(e)),
        );
      else downs.push(m, self.pid);
    }),
  );
  parent.send(watcher, 'watch');
  // A round trip after the monitor: the connection is idle and healthy here.
  assert.equal(await parent.call(echo, 'ping'), 'pong');
  child.proc.kill('SIGSTOP');
  return { child, parent, downs, echo, watcher, sent };
}

test('an important send a stopped peer never acks declares the connection down', async (t) => {
  const { child, parent, downs, echo, watcher, sent } = await stoppedPeer(t, 'stall_imp');
  const call = parent.call(echo, 'ping', { timeout: 60_000 });
  parent.send(watcher, 'important');
  const [down] = await within(downs.count(1), 'MessageDownNode for the stopped peer', 30_000);
  assert.ok(down!.message instanceof MessageDownNode);
  assert.equal((down!.message as MessageDownNode).name, child.name);
  assert.equal(await sent.promise, 'ERR_NO_CONNECTION');
  await rejectsWith(call, 'ERR_NO_CONNECTION');
  assert.deepEqual(parent.network().nodes(), []);
});

test('a write backlog a stopped peer never reads declares the connection down', async (t) => {
  const { child, parent, downs, echo } = await stoppedPeer(t, 'stall_wr');
  // Plain sends (no acks): 64 MB, far more than the kernel buffers take, so the socket queues
  // bytes the stopped peer never reads (the sends stop early once the connection is down).
  const chunk = 'x'.repeat(60_000);
  for (let n = 0; n < 1100 && downs.items.length === 0 && parent.network().nodes().length > 0; n += 50) {
    for (let i = 0; i < 50; i++) parent.send(echo, chunk);
    await new Promise((r) => setImmediate(r));
  }
  const [down] = await within(downs.count(1), 'MessageDownNode for the stopped peer', 30_000);
  assert.ok(down!.message instanceof MessageDownNode);
  assert.equal((down!.message as MessageDownNode).name, child.name);
});
