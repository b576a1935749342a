// The test kit records a process-level remote spawn (`this.remoteSpawn` /
// `remoteSpawnRegister`) like a node-level one: shouldRemoteSpawn sees it on the simulated
// remote node, and a node the simulated network cannot reach fails it.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Actor, ErrNoRoute, type PID } from '../src/index.js';
import { spawnTest } from '../src/testing/index.js';

class Spawner extends Actor {
  spawned: PID | null = null;
  failed: unknown = null;
  override async handleMessage(_from: PID, message: unknown): Promise<void> {
    const m = message as { node: string; register?: string };
    try {
      this.spawned =
        m.register === undefined
          ? await this.remoteSpawn(m.node, 'worker', {}, 'cfg')
          : await this.remoteSpawnRegister(m.node, m.register, 'worker', {}, 'cfg');
    } catch (e) {
      this.failed = e;
    }
  }
}

test('process-level remote spawn is recorded by the test kit; an unreachable node fails it', async () => {
  const actor = await spawnTest(Spawner);
  actor.createRemoteNode('edge@host', true);
  const operator = actor.node.nextPID();
  await actor.sendMessage(operator, { node: 'edge@host', register: 'w1' });
  const spawned = actor.shouldRemoteSpawn().onNode('edge@host').name('worker').register('w1').args('cfg').once();
  assert.ok(actor.behavior.spawned?.equals(spawned.pid));
  // The simulated network cannot reach the node: the spawn fails and nothing is recorded.
  actor.node.network().failures.setMethodFailure('getNode', ErrNoRoute.with('nowhere@host'));
  await actor.sendMessage(operator, { node: 'nowhere@host' });
  assert.ok(ErrNoRoute.is(actor.behavior.failed));
  assert.ok(actor.behavior.failed instanceof Error, String(actor.behavior.failed));
  actor.shouldNotRemoteSpawn().onNode('nowhere@host').assert();
});
