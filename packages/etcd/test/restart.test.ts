// A node restarted at once after kill -9 (issue 63): its old key lives on the old lease until the
// lease's TTL runs out, and the new process waits for etcd to delete it (logged once) instead of
// failing with ERR_TAKEN — what a supervisor (systemd, Kubernetes) restarting it needs. Every node
// is an OS process of its own on one real etcd. A duplicate of a node still running is refused
// with ERR_TAKEN once its restart wait has passed, and the running node is untouched.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { command, startChild, waitLine, waitStderr, type Child } from './etcd_child.js';
import { etcdMissing, members, startCluster, stopCluster, type Member } from './etcd_helpers.js';

const skip = etcdMissing();
const CLUSTER = 'restart';
const WAITING = /waiting for the previous registration of v@127\.0\.0\.1 \(lease \w+, ttl \d+ s\) to expire/;

describe('etcd registrar: a node restarted at once after kill -9', { skip: skip ?? false, timeout: 120_000 }, () => {
  let etcd: Member[] = [];
  let endpoint = '';
  const children: Child[] = [];
  const start = (name: string, opts: { leaseTTL?: number; restartWait?: number } = {}): Child => {
    const c = startChild(name, endpoint, CLUSTER, opts);
    children.push(c);
    return c;
  };
  let peer: Child;
  let victim: Child;

  before(async () => {
    etcd = await members(1);
    await startCluster(etcd);
    endpoint = etcd[0]!.endpoint;
    peer = start('p@127.0.0.1');
    await waitLine(peer, (l) => 'ready' in l);
  });
  after(async () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await stopCluster(etcd);
  });

  test('it waits for its old lease (TTL 10 s) to expire, then starts and is reachable both ways', async () => {
    const first = start('v@127.0.0.1', { leaseTTL: 10 });
    await waitLine(first, (l) => 'ready' in l);
    await waitLine(peer, (l) => l.event === 'EventNodeJoined' && l.name === first.name);
    const mark = peer.lines.length;
    first.proc.kill('SIGKILL');
    await first.closed;

    victim = start('v@127.0.0.1', { leaseTTL: 10 });
    await waitStderr(victim, WAITING);
    await waitLine(victim, (l) => 'ready' in l);
    assert.equal(victim.stderr.filter((l) => WAITING.test(l)).length, 1, 'the wait is logged once');
    // The old key went with its lease, the new one came: the peer was told of both.
    await waitLine(peer, (l) => peer.lines.indexOf(l) >= mark && l.event === 'EventNodeLeft' && l.name === victim.name);
    await waitLine(
      peer,
      (l) => peer.lines.indexOf(l) >= mark && l.event === 'EventNodeJoined' && l.name === victim.name,
    );
    assert.equal((await command(peer, { cmd: 'send', to: victim.name, msg: 'to the restarted node' })).ok, true);
    await waitLine(victim, (l) => l.got === 'to the restarted node');
    assert.equal((await command(victim, { cmd: 'send', to: peer.name, msg: 'from the restarted node' })).ok, true);
    await waitLine(peer, (l) => l.got === 'from the restarted node');
  });

  test('a duplicate of a running node waits out its restart wait, then fails with ERR_TAKEN', async () => {
    const dup = start('v@127.0.0.1', { leaseTTL: 10, restartWait: 1500 });
    assert.equal(await dup.closed, 1, dup.stderr.join('\n'));
    const text = dup.stderr.join('\n');
    assert.match(text, WAITING);
    assert.match(text, /start failed: .*taken.*still after waiting 1500 ms/);
    // The running node is untouched.
    assert.equal((await command(peer, { cmd: 'send', to: victim.name, msg: 'still there' })).ok, true);
    await waitLine(victim, (l) => l.got === 'still there');
  });
});
