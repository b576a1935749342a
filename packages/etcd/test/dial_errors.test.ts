// A dial that needs the registrar while etcd cannot answer: the call to a node not connected yet
// fails with ERR_REGISTRAR_UNAVAILABLE naming etcd and the node (not with ERR_TIMEOUT and a hint
// about a missing return, nor "node … is down"), before the call's own default timeout (5 s):
// with etcd frozen (SIGSTOP: no answer at all, as without quorum) and with etcd killed.

import { strict as assert } from 'node:assert';
import { describe, test, before, after } from 'node:test';
import { Actor, ProcessID, startNode, type Atom, type Node } from 'ergo-ts';
import { createEtcdRegistrar } from '../src/index.js';
import { etcdMissing, members, startCluster, stopCluster, stopMember, type Member } from './etcd_helpers.js';

const skip = etcdMissing();

class Echo extends Actor {
  override handleCall(): unknown {
    return 'pong';
  }
}

async function etcdNode(name: string, endpoints: string[]): Promise<Node> {
  const node = await startNode(name, {
    log: { level: 'error' as never },
    network: {
      cookie: 'etcd-secret',
      acceptors: [{ host: '127.0.0.1', port: 0 }],
      // etcd's own request timeout (10 s) is longer than a call's default (5 s) on purpose.
      registrar: createEtcdRegistrar({ cluster: 'dialerr', endpoints, leaseTTL: 2, requestTimeout: 10_000 }),
    },
  });
  await node.spawnRegister('echo', Echo, {});
  return node;
}

describe('dialling through an etcd that cannot answer', { skip: skip ?? false, timeout: 90_000 }, () => {
  let etcd: Member[] = [];
  before(async () => {
    etcd = await members(1);
    await startCluster(etcd);
  });
  after(() => stopCluster(etcd));

  test('frozen, then killed: calls to unconnected nodes fail with ERR_REGISTRAR_UNAVAILABLE naming etcd', async () => {
    const endpoints = etcd.map((m) => m.endpoint);
    const nodes = [await etcdNode('a@127.0.0.1', endpoints), await etcdNode('b@127.0.0.1', endpoints)];
    nodes.push(await etcdNode('c@127.0.0.1', endpoints));
    const [a, b, c] = nodes as [Node, Node, Node];
    const proc = etcd[0]!.proc!;
    try {
      proc.kill('SIGSTOP');
      // The default call timeout (5 s): the dial's error must come first.
      await assert.rejects(a.call(new ProcessID('echo' as Atom, b.name), 'ping'), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_REGISTRAR_UNAVAILABLE', e.message);
        assert.match(e.message, /registrar ETCD/i);
        assert.match(e.message, /b@127\.0\.0\.1/);
        return true;
      });
      proc.kill('SIGCONT');
      await stopMember(etcd[0]!, 'SIGKILL');
      await assert.rejects(a.call(new ProcessID('echo' as Atom, c.name), 'ping'), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_REGISTRAR_UNAVAILABLE', e.message);
        assert.match(e.message, /c@127\.0\.0\.1/);
        return true;
      });
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGCONT');
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });
});
