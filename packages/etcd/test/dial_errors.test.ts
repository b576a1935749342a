// A dial that needs the registrar while etcd cannot answer, with etcd frozen (SIGSTOP: no answer
// at all, as without quorum) and with etcd killed. A node the watch has delivered is dialled from
// the routes last seen: the call goes through. A name the watch has not delivered needs etcd, and
// the call fails with ERR_REGISTRAR_UNAVAILABLE naming etcd and the node (not with ERR_TIMEOUT and
// a hint about a missing return, nor "node … is down"), before the call's own default timeout (5 s).

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, test, before, after } from 'node:test';
import { eventually } from '@ergo-ts/test-support';
import { Actor, ProcessID, startNode, type Atom, type MessageEvent, type Node } from 'ergo-ts';
import { EventNodeJoined } from '../src/index.js';
import { createEtcdRegistrar } from '../src/index.js';
import { etcdMissing, members, startCluster, stopCluster, stopMember, type Member } from './etcd_helpers.js';

const skip = etcdMissing();

/** A process's state letter from /proc (`T`: stopped by a signal). */
function stateOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/** The nodes each node's registrar event said joined (the watch delivered them). */
const joined = new Map<string, Set<string>>();
class Watcher extends Actor {
  override async init(): Promise<void> {
    await this.monitorEvent(this.node.network().registrar().event());
  }
  override handleEvent(m: MessageEvent): void {
    if (!(m.message instanceof EventNodeJoined)) return;
    const set = joined.get(this.node.name) ?? new Set<string>();
    set.add(m.message.name);
    joined.set(this.node.name, set);
  }
}

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
      // etcd's own request timeout (10 s) is longer than a call's default (5 s) on purpose. The
      // lease outlives the freeze (seconds): with a 2 s lease, etcd resumed from SIGSTOP expired
      // the nodes' leases at once, its watch told `a` that c was gone, and the call to c after
      // the kill then had to ask the dead etcd (red in a soak run).
      registrar: createEtcdRegistrar({ cluster: 'dialerr', endpoints, leaseTTL: 60, requestTimeout: 10_000 }),
    },
  });
  await node.spawnRegister('echo', Echo, {});
  await node.spawn(Watcher, {});
  return node;
}

describe('dialling while etcd cannot answer', { skip: skip ?? false, timeout: 90_000 }, () => {
  let etcd: Member[] = [];
  before(async () => {
    etcd = await members(1);
    await startCluster(etcd);
  });
  after(() => stopCluster(etcd));

  test('frozen, then killed: known nodes are called from the routes last seen, an unknown one fails with ERR_REGISTRAR_UNAVAILABLE', async () => {
    const endpoints = etcd.map((m) => m.endpoint);
    const nodes = [await etcdNode('a@127.0.0.1', endpoints), await etcdNode('b@127.0.0.1', endpoints)];
    nodes.push(await etcdNode('c@127.0.0.1', endpoints));
    const [a, b, c] = nodes as [Node, Node, Node];
    const proc = etcd[0]!.proc!;
    const unavailable = (node: string) => (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_REGISTRAR_UNAVAILABLE', e.message);
      assert.match(e.message, /registrar ETCD/i);
      assert.ok(e.message.includes(node), e.message);
      return true;
    };
    try {
      await eventually(
        () => joined.get(a.name)?.has(b.name) === true && joined.get(a.name)?.has(c.name) === true,
        'a to see b and c join',
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      proc.kill('SIGSTOP');
      // Stopped for certain before anything asks it (the kernel stops each of its threads as it
      // passes a signal check: on a loaded host a ghost's lookup was still answered "not registered").
      await eventually(() => stateOf(proc.pid!) === 'T', 'etcd to be stopped', { timeoutMs: 10_000, intervalMs: 10 });
      // Not connected yet: the call below must dial, and etcd cannot be asked.
      assert.deepEqual(a.network().nodes(), []);
      assert.equal(await a.call(new ProcessID('echo' as Atom, b.name), 'ping'), 'pong');
      // The registrar lists the nodes its watch has seen without asking etcd (a read would hang).
      assert.deepEqual((await a.network().registrar().nodes()).sort(), [b.name, c.name]);
      // The default call timeout (5 s): the dial's error must come first.
      await assert.rejects(
        a.call(new ProcessID('echo' as Atom, 'ghost@127.0.0.1' as Atom), 'ping'),
        unavailable('ghost@127.0.0.1'),
      );
      proc.kill('SIGCONT');
      await stopMember(etcd[0]!, 'SIGKILL');
      assert.deepEqual(a.network().nodes(), [b.name]);
      assert.equal(await a.call(new ProcessID('echo' as Atom, c.name), 'ping'), 'pong');
      await assert.rejects(
        a.call(new ProcessID('echo' as Atom, 'spectre@127.0.0.1' as Atom), 'ping'),
        unavailable('spectre@127.0.0.1'),
      );
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGCONT');
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });
});
