// Ergo's testing/unit network_test.go scenarios, ported: the simulated network's info, registrar
// (nodes, config, resolver, application routes), static routes by pattern and weight, remote
// nodes created connected or not, their settable uptime/version, connect and disconnect; plus
// what an actor does over it — remote spawns and application starts recorded, refused once the
// node is disconnected, and its monitors/links of remote targets told ErrNoConnection.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  ErrIncorrect,
  ErrNoConnection,
  ErrNoRoute,
  ErrTaken,
  ErrUnknown,
  MessageDownNode,
  MessageDownPID,
  MessageExitNode,
  MessageDownProcessID,
  MessageExitPID,
  PID,
  ProcessID,
  NetworkMode,
  isError,
  type Network,
  type Node,
} from '../src/index.js';
import { anyPID, spawnTest, type TestProcess } from '../src/testing/index.js';

class Idle extends Actor {}

/**
 * The network of a node. gen `Node` has no `network()` yet (the network stack is being built);
 * the kit's node has it, implementing gen `Network`, so actor code reaches it like this.
 */
function networkOf(node: Node): Network {
  return (node as unknown as { network(): Network }).network();
}

/** Deploys a worker and an application on a remote node, and watches the worker. */
class Deployer extends Actor {
  downs: unknown[] = [];
  override init(): void {
    this.setTrapExit(true);
  }
  override async handleMessage(from: PID, message: unknown): Promise<void> {
    if (
      message instanceof MessageDownPID ||
      message instanceof MessageDownProcessID ||
      message instanceof MessageExitPID
    ) {
      this.downs.push(message);
      return;
    }
    const { deploy, link } = message as { deploy: string; link?: boolean };
    try {
      const remote = await networkOf(this.node).getNode(deploy);
      const worker = await remote.spawnRegister('worker', 'worker_factory', {}, 'cfg');
      if (link) this.link(worker);
      else this.monitor(worker);
      this.monitor(new ProcessID('registry', deploy));
      await remote.applicationStartPermanent('metrics');
      this.send(from, { deployed: worker });
    } catch (e) {
      this.send(from, { failed: (e as Error).message });
    }
  }
}

const operator = new PID('test@localhost', 900, 1234567890);

describe('testing kit, Ergo network scenarios', () => {
  test('TestNetworkOperations: info, registrar, getNode, routes, resolver', async () => {
    const actor = await spawnTest(Idle);
    const network = actor.node.network();
    assert.equal(network.info().mode, NetworkMode.Enabled);
    const registrar = network.registrar();
    assert.equal(registrar.info().embeddedServer, true);
    assert.equal(registrar.info().supportConfig, true);
    assert.deepEqual(await registrar.config('test.enabled'), new Map());
    assert.deepEqual(await registrar.nodes(), []);

    const remote = await network.getNode('remote@host');
    assert.equal(remote.name(), 'remote@host');

    assert.equal(network.route('test@node').length, 0);
    network.addRoute('test.*', { route: { host: 'localhost', port: 4369, tls: false } }, 100);
    assert.equal(network.route('test@node').length, 1);

    await assert.rejects(registrar.resolver().resolve(actor.node.name), (e) => isError(e, ErrNoRoute));
    await assert.rejects(registrar.resolver().resolveApplication('test-app'), (e) => isError(e, ErrNoRoute));
  });

  test('TestNetworkSetup: weighted routes, registrar nodes, config and application routes', async () => {
    const actor = await spawnTest(Idle);
    const network = actor.node.network();
    const registrar = network.registrar();
    network.addRoute('worker.*', { route: { host: '192.168.1.100', port: 4369, tls: false } }, 100);
    network.addRoute('^database@prod$', { route: { host: '10.0.0.50', port: 4370, tls: true } }, 200);

    const node1 = actor.createRemoteNode('worker@node1', true);
    actor.createRemoteNode('worker@node2', false);
    actor.createRemoteNode('database@prod', true);
    node1.setUptime(3600);
    node1.setVersion({ name: 'worker', release: '2.1' });

    registrar.addNode('worker@cluster', [
      { host: '192.168.1.101', port: 4369, tls: false },
      { host: '192.168.1.102', port: 4369, tls: false },
    ]);
    registrar.setConfig('cluster.name', 'test-cluster');
    registrar.setConfig('worker.pool_size', 10);
    await registrar.registerApplicationRoute({
      node: 'worker@node1',
      name: 'web-server',
      weight: 100,
      mode: 3,
      state: 2,
    });

    const routes = network.route('worker@node1');
    assert.equal(routes.length, 1);
    assert.equal(routes[0].route?.host, '192.168.1.100');
    assert.equal(network.route('database@prod')[0].route?.port, 4370);

    assert.deepEqual(network.nodes().sort(), ['database@prod', 'worker@node1']);
    assert.equal(network.node('worker@node1').name(), 'worker@node1');
    assert.throws(
      () => network.node('worker@node2'),
      (e) => isError(e, ErrNoConnection),
    );

    assert.equal((await registrar.resolver().resolve('worker@cluster')).length, 2);
    const config = await registrar.config('cluster.name', 'worker.pool_size');
    assert.equal(config.get('cluster.name'), 'test-cluster');
    assert.equal(config.get('worker.pool_size'), 10);
    const apps = await registrar.resolver().resolveApplication('web-server');
    assert.equal(apps.length, 1);
    assert.equal(apps[0].node, 'worker@node1');
  });

  test('TestRemoteNodeFunctionality: settable facts, connect and disconnect', async () => {
    const actor = await spawnTest(Idle);
    const worker = actor.createRemoteNode('worker@node1', true);
    actor.createRemoteNode('database@prod', true);
    actor.createRemoteNode('offline@node', false);
    worker.setUptime(7200);
    worker.setConnectionUptime(1800);
    worker.setVersion({ name: 'worker-service', release: '2.1.0' });
    assert.equal(worker.uptime(), 7200);
    assert.equal(worker.connectionUptime(), 1800);
    assert.deepEqual(worker.version(), { name: 'worker-service', release: '2.1.0' });

    const fresh = await actor.node.network().getNode('api@server'); // unknown: created, connected
    assert.equal(fresh.name(), 'api@server');
    assert.equal(actor.connectRemoteNode('gateway@proxy').name(), 'gateway@proxy');
    const connected = actor.listConnectedNodes();
    assert.equal(connected.length, 4);

    await actor.disconnectRemoteNode('offline@node'); // already down: nothing changes
    assert.equal(actor.listConnectedNodes().length, 4);
    await actor.disconnectRemoteNode('worker@node1');
    assert.equal(actor.listConnectedNodes().length, 3);
    actor.shouldDisconnect().toNode('worker@node1').once();
    actor.shouldConnect().toNode('gateway@proxy').once();
  });

  test('remote spawn and application start are recorded side effects of the actor', async () => {
    const actor = await spawnTest(Deployer);
    await actor.sendMessage(operator, { deploy: 'edge@host' });
    actor.shouldConnect().toNode('edge@host').once();
    const spawned = actor
      .shouldRemoteSpawn()
      .onNode('edge@host')
      .name('worker_factory')
      .register('worker')
      .args('cfg')
      .once();
    assert.equal(spawned.pid.node, 'edge@host');
    actor.shouldRemoteApplicationStart().onNode('edge@host').name('metrics').mode('permanent').once();
    actor.shouldMonitor().target(spawned.pid).once();
    actor.shouldSend().to(operator).message({ deployed: anyPID() }).once();
  });

  test('a disconnect tells monitors and links of the node ErrNoConnection; later remote spawns fail', async () => {
    const actor = await spawnTest(Deployer);
    await actor.sendMessage(operator, { deploy: 'edge@host' });
    await actor.sendMessage(operator, { deploy: 'other@host', link: true });
    const edgeWorker = actor.shouldRemoteSpawn().onNode('edge@host').capture().pid;
    const otherWorker = actor.shouldRemoteSpawn().onNode('other@host').capture().pid;

    await actor.disconnectRemoteNode('edge@host');
    const downs = actor.behavior.downs;
    assert.equal(downs.length, 2); // the worker (PID) and the registry (ProcessID) of edge@host
    assert.ok(downs[0] instanceof MessageDownPID);
    assert.ok((downs[0] as MessageDownPID).pid.equals(edgeWorker));
    assert.equal((downs[0] as MessageDownPID).reason, ErrNoConnection);
    assert.ok(downs[1] instanceof MessageDownProcessID);
    assert.equal((downs[1] as MessageDownProcessID).processID.node, 'edge@host');

    await actor.disconnectRemoteNode('other@host');
    const exit = downs.find((d) => d instanceof MessageExitPID) as MessageExitPID;
    assert.ok(exit.pid.equals(otherWorker));
    assert.equal(exit.reason, ErrNoConnection);

    const remote = actor.createRemoteNode('edge@host', false);
    await assert.rejects(remote.spawn('worker_factory'), (e) => isError(e, ErrNoConnection));
    await assert.rejects(remote.applicationStart('metrics'), (e) => isError(e, ErrNoConnection));
  });

  test('an untrapped link to a lost node terminates the actor with the exit', async () => {
    class Linker extends Actor {
      override async handleMessage(): Promise<void> {
        const remote = await networkOf(this.node).getNode('edge@host');
        this.link(await remote.spawn('w'));
      }
    }
    const actor = await spawnTest(Linker);
    await actor.sendMessage(operator, 'go');
    await actor.disconnectRemoteNode('edge@host');
    actor
      .shouldTerminate()
      .reasonMatching((r) => r.message.includes('no connection'))
      .once();
  });

  test('node links and monitors: MessageDownNode / MessageExitNode when the node goes', async () => {
    class NodeWatcher extends Actor {
      seen: unknown[] = [];
      override init(): void {
        this.setTrapExit(true);
      }
      override handleMessage(_from: PID, m: unknown): void {
        const p = this.process as unknown as TestProcess;
        if (m === 'watch') {
          p.monitorNode('edge@host');
          p.linkNode('edge@host');
          return;
        }
        if (m === 'watch-unknown') {
          try {
            p.monitorNode('nowhere@host');
          } catch (e) {
            this.seen.push(e);
          }
          return;
        }
        this.seen.push(m);
      }
    }
    const actor = await spawnTest(NodeWatcher);
    actor.createRemoteNode('edge@host', true);
    await actor.sendMessage(operator, 'watch');
    actor.shouldMonitorNode().target('edge@host').once();
    actor.shouldLinkNode().target('edge@host').once();
    await actor.disconnectRemoteNode('edge@host');
    assert.ok(actor.behavior.seen[0] instanceof MessageDownNode);
    assert.equal((actor.behavior.seen[0] as MessageDownNode).name, 'edge@host');
    assert.ok(actor.behavior.seen[1] instanceof MessageExitNode);
    await actor.sendMessage(operator, 'watch-unknown');
    assert.ok(isError(actor.behavior.seen[2], ErrNoConnection));
  });

  test('the simulated network is a gen Network: info, flags, proxy routes, spawn permissions, registrar', async () => {
    const actor = await spawnTest(Idle);
    const network: Network = actor.node.network();
    network.addRoute(
      '^db@',
      {
        route: {
          host: 'db.local',
          port: 15000,
          tls: true,
          handshakeVersion: { name: 'EHS', release: '1.3' },
          protoVersion: { name: 'ENP', release: '1.2' },
        },
      },
      10,
    );
    network.addProxyRoute('^far@', { route: { to: 'far@host', proxy: 'relay@host' } }, 5);
    assert.equal(network.proxyRoute('far@host')[0].route.proxy, 'relay@host');
    network.enableSpawn('worker', Idle, 'edge@host');
    network.enableApplicationStart('metrics');
    assert.throws(
      () => network.enableSpawn('worker', Deployer),
      (e) => isError(e, ErrTaken),
    );
    const info = network.info();
    assert.deepEqual(
      info.routes.map((r) => [r.match, r.host, r.port, r.tls]),
      [['^db@', 'db.local', 15000, true]],
    );
    assert.deepEqual(info.enabledSpawn, [{ name: 'worker', behavior: 'Idle', nodes: ['edge@host'] }]);
    assert.deepEqual(info.enabledApplicationStart, [{ name: 'metrics', nodes: [] }]);
    assert.equal(info.flags.enableRemoteSpawn, true);
    network.disableSpawn('worker');
    assert.deepEqual(network.info().enabledSpawn, []);
    network.removeProxyRoute('^far@');
    assert.throws(
      () => network.removeRoute('^nothing@'),
      (e) => isError(e, ErrUnknown),
    );
    assert.throws(
      () => network.addRoute('(', {}, 1),
      (e) => isError(e, ErrIncorrect),
    );

    const remote = await network.getNode('edge@host');
    assert.equal(remote.info().node, 'edge@host');
    const registrar = network.registrar();
    assert.equal(registrar.version().name, 'test-registrar');
    await assert.rejects(registrar.resolver().resolveProxy('far@host'), (e) => isError(e, ErrNoRoute));
  });

  test('remote node failures are injectable', async () => {
    const actor = await spawnTest(Deployer);
    const edge = actor.createRemoteNode('edge@host', true);
    edge.failures.setMethodFailure('spawnRegister', new Error('remote refused'));
    await actor.sendMessage(operator, { deploy: 'edge@host' });
    actor.shouldSend().to(operator).message({ failed: 'remote refused' }).once();
    actor.shouldNotRemoteSpawn().assert();
  });
});

test('TestRemoteNode.applicationInfo answers what the test set, ErrApplicationUnknown otherwise', async () => {
  const actor = await spawnTest(Idle);
  const remote = actor.createRemoteNode('apps@host', true);
  await assert.rejects(remote.applicationInfo('web'), { code: 'ERR_APPLICATION_UNKNOWN' });
  const snapshot = {
    name: 'web',
    weight: 1,
    description: '',
    version: { name: 'web', release: '1' },
    env: {},
    depends: { applications: [], network: false },
    mode: 1,
    state: 2,
    parent: 'apps@host',
    uptime: 5,
    group: [],
    tags: ['blue'],
    map: {},
  } as const;
  remote.setApplicationInfo('web', snapshot as never);
  assert.equal(await remote.applicationInfo('web'), snapshot);
  await actor.disconnectRemoteNode('apps@host');
  await assert.rejects(remote.applicationInfo('web'), (e) => isError(e, ErrNoConnection));
});
