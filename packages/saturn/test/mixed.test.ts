// Go Ergo nodes and ergo-ts nodes in one cluster on the REAL Saturn server: a Go node (Ergo
// v1.999.300 with ergo-services/registrar's Saturn client, test/go-node, built by
// scripts/build-saturn.mjs) and an ergo-ts node each see the other join and leave, each other's
// application routes, and the same config push. Skipped with the reason when not built.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '@ergo-ts/test-support';
import { Actor, startNode, type Atom, type MessageEvent, type Node } from 'ergo-ts';
import {
  createSaturnRegistrar,
  EventApplicationLoaded,
  EventApplicationStarted,
  EventConfigUpdate,
  EventNodeJoined,
  EventNodeLeft,
  type SaturnRegistrar,
} from '../src/index.js';
import { GoNode, goNodeMissing, setClusters, startSaturn, stopSaturn, type Saturn } from './saturn_server.js';

const skip = goNodeMissing();
if (skip !== null) console.log(`# skipped: ${skip}`);
const WAIT = { timeoutMs: 30_000, intervalMs: 20 };

const seen: unknown[] = [];
class Watcher extends Actor {
  override async init(): Promise<void> {
    await this.monitorEvent(this.node.network().registrar().event());
  }
  override handleEvent(m: MessageEvent): void {
    seen.push(m.message);
  }
}
class Worker extends Actor {}

describe(
  'Go Ergo and ergo-ts nodes in one cluster on the real Saturn server',
  { skip: skip ?? false, timeout: 120_000 },
  () => {
    let s: Saturn;
    let ts: Node;
    let go: GoNode;
    before(async () => {
      s = await startSaturn('mixed-token');
      ts = await startNode('ts@127.0.0.1', {
        log: { level: 'warning' as never },
        network: {
          cookie: 'saturn-test',
          acceptors: [{ host: '127.0.0.1', port: 0 }],
          registrar: createSaturnRegistrar({
            host: '127.0.0.1',
            port: s.port,
            token: s.token,
            cluster: 'mix',
            insecureSkipVerify: true,
          }),
        },
      });
      await ts.spawn(Watcher, {});
    });
    after(async () => {
      await go?.stop();
      await ts?.stop();
      if (s) await stopSaturn(s);
    });

    test('each sees the other join, its applications and the config; the Go node leaving', async () => {
      go = new GoNode('go@127.0.0.1', s, 'mix');
      const ready = await go.waitFor((l) => l.ready === true, 'ready');
      assert.deepEqual(ready.nodes, [ts.name], 'the Go node learns the ergo-ts node from its registration');
      await go.waitFor((l) => l.subscribed !== undefined, 'its event subscription');
      await eventually(
        () => seen.find((m) => m instanceof EventNodeJoined && m.name === 'go@127.0.0.1'),
        'ts to see go join',
        WAIT,
      );
      const reg = ts.network().registrar() as SaturnRegistrar;
      assert.deepEqual(await reg.nodes(), ['go@127.0.0.1']);

      // The Go node's application, seen by the ergo-ts node.
      assert.equal((await go.cmd('load', 'done', 'load')).error, null);
      assert.equal((await go.cmd('start', 'done', 'start')).error, null);
      await eventually(
        () => seen.find((m) => m instanceof EventApplicationLoaded && m.name === 'goapp' && m.weight === 7),
        'ts to see goapp loaded',
        WAIT,
      );
      await eventually(
        () => seen.find((m) => m instanceof EventApplicationStarted && m.name === 'goapp'),
        'ts to see goapp started',
        WAIT,
      );
      assert.deepEqual(
        (await reg.resolver().resolveApplication('goapp' as Atom)).map((r) => [r.node, r.weight, r.state]),
        [['go@127.0.0.1', 7, 2]],
      );

      // The ergo-ts node's application, seen by the Go node (its Saturn client's events and cache).
      const mark = go.lines.length;
      await ts.applicationLoad({ load: () => ({ name: 'web', weight: 5, group: [{ factory: () => new Worker() }] }) });
      const loaded = await go.waitFor(
        (l) => l.event === 'EventApplicationLoaded' && (l.data as { Name?: string }).Name === 'web',
        'EventApplicationLoaded web',
        mark,
      );
      assert.deepEqual(loaded.data, { Name: 'web', Node: ts.name, Weight: 5 });
      const app = await go.cmd('app web', 'app', 'web');
      assert.equal(app.error, null);
      assert.deepEqual(
        (app.routes as { Node: string; Weight: number; State: string }[]).map((r) => [r.Node, r.Weight, r.State]),
        [[ts.name, 5, 'loaded']],
      );

      // One config push reaches both clients.
      setClusters(s, 'Cluster@mix:\n  shared: "both"');
      await eventually(
        () => seen.find((m) => m instanceof EventConfigUpdate && m.item === 'shared' && m.value === 'both'),
        'ts to get the push',
        WAIT,
      );
      await go.waitFor(
        (l) => l.event === 'EventConfigUpdate' && (l.data as { Item?: string }).Item === 'shared',
        'the config push',
      );
      assert.equal((await go.cmd('config shared', 'config', 'shared')).value, 'both');
      assert.equal(await reg.configItem('shared'), 'both');

      // The Go node leaves: the ergo-ts node hears it and drops its routes.
      await go.stop();
      await eventually(
        () => seen.find((m) => m instanceof EventNodeLeft && m.name === 'go@127.0.0.1'),
        'ts to see go leave',
        WAIT,
      );
      assert.deepEqual(await reg.nodes(), []);
      await assert.rejects(reg.resolver().resolveApplication('goapp' as Atom), { code: 'ERR_NO_ROUTE' });
    });
  },
);
