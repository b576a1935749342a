// Stalled-peer detection (issue 19 item 7, issue 37): a peer node in its own OS process is
// stopped with SIGSTOP — its kernel still answers TCP keepalive, so only the connection's
// heartbeat can tell. With an important send it never acks, or with nothing owed at all (an idle
// connection), the connection is declared down after `peerStallTimeout` with nothing read from
// the peer: node monitors fire, pending calls fail with ErrNoConnection, and the node stays up.
// A Go Ergo peer answers the heartbeat, so an idle connection to it stays up. Detection is
// awaited under a generous guard; no assertion depends on how fast it came.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually, Peer, requirePeer } from '@ergo-ts/test-support';
import { MessageDownNode, ProcessID, type Atom, type Node, type PID } from '../src/index.js';
import type { EnpConnection } from '../src/net/proto/connection.js';
import { DIST_COOKIE, parentFor, startChild, type ChildNode } from './dist_helpers.js';
import { deferred, Inbox, probe, rejectsWith, within, type Deferred } from './helpers.js';
import { netNode } from './net_helpers.js';
import { routeTo } from './route_helpers.js';

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

test('an idle connection to a stopped peer is declared down by the heartbeat (nothing owed, nothing queued)', async (t) => {
  // Before the heartbeat, a stalled peer that owed nothing was never noticed.
  const { child, downs } = await stoppedPeer(t, 'stall_idle');
  const [down] = await within(downs.count(1), 'MessageDownNode for the stopped peer', 30_000);
  assert.ok(down!.message instanceof MessageDownNode);
  assert.equal((down!.message as MessageDownNode).name, child.name);
});

test('an idle connection to a Go Ergo node stays up: Go answers the heartbeat', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await Peer.start(bin, [
    '-name',
    `gohb${process.pid}@localhost`,
    '-cookie',
    DIST_COOKIE,
    '-registrar',
    'none',
  ]);
  t.after(() => go.stop());
  const node = await netNode('hbgo', {
    cookie: DIST_COOKIE,
    peerStallTimeout: 400,
    routes: [{ match: String(go.ready.node).replace(/[.$]/g, '\\$&'), route: routeTo(Number(go.ready.port)) }],
  });
  t.after(() => node.stop().catch(() => undefined));
  const name = String(go.ready.node) as Atom;
  assert.equal(await node.call(new ProcessID('echo' as Atom, name), 'ping'), 'ping');
  const conn = (node.network() as unknown as { connections: Map<string, EnpConnection> }).connections.get(name)!;
  // Idle from here: only heartbeats cross. Five timeouts' worth of them, answered, keep it up.
  await eventually(() => conn.heartbeats >= 20, 'twenty heartbeats (five peerStallTimeouts)', {
    timeoutMs: 30_000,
  });
  assert.ok(conn.isAlive, 'still connected');
  assert.deepEqual(node.network().nodes(), [name]);
});
