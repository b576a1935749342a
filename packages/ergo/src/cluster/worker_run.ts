// One cluster node, run by ./worker.js (the launcher's entry) as a worker thread (workerData holds
// the start) or as a child process (the start is the first IPC message). It starts an ordinary node,
// attaches the in-host transport (threads), takes TCP routes to the other nodes (processes, and
// a fallback), reports its load, runs the application module's default export with a
// ClusterNode, and on `stop` stops the node gracefully and leaves.

import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { toError } from '../gen/errors.js';
import type { Node } from '../gen/node.js';
import { startNode } from '../node/start.js';
import { InHostTransport } from '../net/inhost/transport.js';
import { NetworkImpl } from '../net/network/network.js';
import { ClusterNodeImpl, type ClusterApp } from './node.js';
import { clusterNodeUp, POOL_EVENT_RELAY, PoolEventRelay } from './pool.js';
import type { FromNode, NodeStart, ToNode } from './protocol.js';

/** The channel to the launcher: the parent port of a thread, or the IPC channel of a child. */
interface Channel {
  send(m: FromNode): void;
  on(fn: (m: ToNode) => void): void;
  close(): void;
}

function threadChannel(): Channel {
  const p = parentPort!;
  return {
    send: (m) => p.postMessage(m),
    on: (fn) => p.on('message', fn),
    close: () => p.close(),
  };
}

function processChannel(): Channel {
  let closing = false;
  return {
    // A closed channel (the launcher died) must not end this process with an unhandled 'error'
    // event (what process.send and process.disconnect emit then): the node stops gracefully.
    send: (m) => {
      // With a callback, a write that fails (the launcher died meanwhile) is reported to it.
      if (process.connected) process.send?.(m, undefined, undefined, () => undefined);
    },
    on: (fn) => {
      process.on('message', fn as (m: unknown) => void);
      // The launcher has gone (a crash, SIGKILL): nobody is left to stop this node, so it
      // stops as if told to, instead of living on as an orphan.
      process.on('disconnect', () => {
        if (!closing) fn({ t: 'stop' });
      });
      // A terminal's Ctrl-C (or a service manager's stop) signals the whole process group: the
      // launcher stops this node gracefully, where the signal's default action would end it at
      // once. With the launcher gone, the signal stops the node itself.
      const onSignal = (): void => {
        if (!process.connected) fn({ t: 'stop' });
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    },
    close: () => {
      closing = true;
      if (process.connected) process.disconnect?.();
    },
  };
}

function waitUntilAfter(creation: number): Promise<void> {
  // A node's creation is its start second (as in Ergo): a restart waits for the next second so
  // the new incarnation is told apart (PIDs of the old one are stale, not reused).
  const wait = (creation + 1) * 1000 - Date.now();
  return wait > 0 ? new Promise((r) => setTimeout(r, wait)) : Promise.resolve();
}

async function run(ch: Channel, start: NodeStart, early: ToNode[]): Promise<void> {
  const transport =
    start.mode === 'thread' && start.transport === 'inhost'
      ? new InHostTransport({ ringSize: start.ringSize, frame: start.inHostFrame })
      : null;
  let cluster: ClusterNodeImpl | null = null;
  let node: Node | null = null;
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    try {
      await node?.stop();
    } catch {
      // stopping anyway: the launcher only waits for the report
    }
    transport?.close();
    clearInterval(loadTimer);
    ch.send({ t: 'stopped', name: start.name });
    ch.close();
    // Whatever a module left running (a timer, a server) must not keep a stopped node alive.
    setImmediate(() => process.exit(0)).unref();
  };
  const handle = (m: ToNode): void => {
    try {
      apply(m);
    } catch (e) {
      // A bad control message must not end the node: report it on the node's log.
      node?.log.error('cluster: %s: %s', m.t, toError(e).message);
    }
  };
  const apply = (m: ToNode): void => {
    switch (m.t) {
      case 'peer':
        transport?.setPeer(m.name, m.port);
        break;
      case 'route':
        cluster?.route(m.name, m.host, m.port);
        clusterNodeUp(); // its ClusterPools move workers to it
        break;
      case 'down':
        cluster?.down(m.name);
        break;
      case 'loads':
        cluster?.setLoads(m.loads);
        break;
      case 'stop':
        void stop();
        break;
    }
  };
  const pending: ToNode[] = early;
  ch.on((m) => {
    if (cluster === null && m.t !== 'peer' && m.t !== 'stop') pending.push(m);
    else handle(m);
  });
  for (const m of pending.splice(0)) if (m.t === 'peer' || m.t === 'stop') handle(m);
  let elu = performance.eventLoopUtilization();
  const loadTimer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    ch.send({ t: 'load', name: start.name, load: performance.eventLoopUtilization(now, elu).utilization });
    elu = now;
  }, start.loadInterval);
  loadTimer.unref();

  await waitUntilAfter(start.afterCreation);
  if (stopping) return;
  const options = start.options;
  const network = options.network ?? {};
  node = await startNode(start.name, {
    ...options,
    network: { ...network, acceptors: network.acceptors ?? [{ port: 0 }] },
  });
  // A node that stops on its own (node.stop() in the module, a fatal error) takes its thread or
  // process with it, so the launcher sees the end and restarts it.
  void node.wait().then(() => {
    if (stopping) return;
    transport?.close();
    process.exit(1);
  });
  const net = node.network();
  if (transport !== null && net instanceof NetworkImpl) net.attachInHost(transport);
  cluster = new ClusterNodeImpl(node, start.index, start.args, start.size);
  // Before the module: a ClusterPool of another node may hand this node's workers events.
  await node.spawnRegister(POOL_EVENT_RELAY, PoolEventRelay);
  for (const m of pending.splice(0)) handle(m);
  if (start.module !== null) {
    const mod = (await import(start.module)) as { default?: ClusterApp };
    try {
      if (typeof mod.default === 'function') await mod.default(cluster);
    } catch (e) {
      stopping = true; // the node's own end must not be taken for a crash
      await node.stop().catch(() => undefined);
      throw e;
    }
  }
  const acceptor = net.acceptors()[0]?.info().interface ?? '';
  const i = acceptor.lastIndexOf(':');
  ch.send({
    t: 'up',
    name: start.name,
    creation: node.creation,
    host: i > 0 ? acceptor.slice(0, i).replace(/^\[|\]$/g, '') : '',
    port: i > 0 ? Number(acceptor.slice(i + 1)) : 0,
  });
  if (stopping) return;
}

function main(ch: Channel, start: NodeStart, early: ToNode[]): void {
  run(ch, start, early).catch((e: unknown) => {
    ch.send({ t: 'failed', name: start.name, message: toError(e).stack ?? toError(e).message });
    // A node that cannot start (or whose application failed) leaves: the launcher decides.
    ch.close();
    setImmediate(() => process.exit(1));
  });
}

/**
 * Runs this thread or process as a cluster node (called by ./worker.js once the compile cache is
 * on). `held` are the IPC messages a child process received while this module loaded, in order.
 */
export function runWorker(held: unknown[]): void {
  if (!isMainThread && parentPort !== null) {
    main(threadChannel(), workerData as NodeStart, []);
  } else if (typeof process.send === 'function') {
    const ch = processChannel();
    const isStart = (m: unknown): m is { t: 'start'; start: NodeStart } => {
      const s = m as { t?: string; start?: NodeStart };
      return s.t === 'start' && s.start !== undefined;
    };
    // Messages other than the start wait in `early` for the node, as they would arriving live.
    const early = held.filter((m) => !isStart(m)) as ToNode[];
    const start = held.find(isStart);
    if (start !== undefined) {
      main(ch, start.start, early);
      return;
    }
    const first = (m: unknown): void => {
      if (!isStart(m)) {
        early.push(m as ToNode);
        return;
      }
      process.off('message', first);
      main(ch, m.start, early);
    };
    process.on('message', first);
  }
}
