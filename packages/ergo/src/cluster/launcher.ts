// The cluster launcher: one ergo-ts node per core of the host, in worker threads (default) or
// child processes, connected to each other and supervised. Threads are the default: they share
// the OS process (one start, no second copy of Node's runtime: a node starts in tens of ms), and
// they can be joined by MessagePorts that carry transferred ArrayBuffers — the in-host transport,
// which skips the kernel's loopback TCP. Child processes are for isolation (a native crash or an
// out-of-memory ends one node, not the host's cluster); they connect over loopback TCP.
//
// Every node is an ordinary node: the others see it through the usual network transparency, its
// TCP acceptor still takes Go Ergo (or any ENP) nodes. A node that ends is restarted with a new
// creation (its start second, as in Ergo), within a restart intensity; the other nodes get the
// usual node-down signals from their connection to it. SIGTERM/SIGINT stop the whole cluster.

import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { ErrIncorrect, toError } from '../gen/errors.js';
import type { NodeOptions } from '../gen/node.js';
import type { ClusterMode, FromNode, NodeStart, ToNode } from './protocol.js';
import { ByteRing } from '../net/inhost/ring.js';
import { ignorable, rejected } from '../gen/ignorable.js';

export type { ClusterMode } from './protocol.js';

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** Number of nodes: `'auto'` (default) = `os.availableParallelism()`, or an integer 1..256. */
  nodes?: 'auto' | number;
  /**
   * The application module (a path or a file: URL): its default export `(cluster: ClusterNode)`
   * runs on every node once it has started (also after a restart). None: bare nodes.
   */
  module?: string | URL;
  /** Node names are `<name><i>@<host>`, i from 1 (default `core`, `localhost`). */
  name?: string;
  host?: string;
  /** `'thread'` (default) or `'process'` (isolation; TCP between nodes). */
  mode?: ClusterMode;
  /**
   * How the nodes reach each other: `'inhost'` (default for threads: ENP over a shared-memory
   * ring per direction, see docs/cores.md) or
   * `'tcp'` (loopback TCP, as between hosts; always so for child processes). For comparisons.
   */
  transport?: 'inhost' | 'tcp';
  /**
   * Bytes of each direction's shared-memory ring of an in-host link (a power of two, 4 KiB..1 GiB;
   * default 4 MiB, a loopback TCP socket's buffer). A writer whose peer reads slower holds what
   * does not fit (the link's "socket busy" path) instead of growing the peer's memory.
   */
  ringSize?: number;
  /**
   * In-host links between ergo-ts nodes carry the in-host private frame (default true): the
   * hot messages as short records with interned senders and targets instead of ENP packets,
   * negotiated in the handshake. False: ENP only, as over TCP (docs/cores.md).
   */
  inHostFrame?: boolean;
  /**
   * Options of every node (must be structured-cloneable: no functions or class instances; put
   * those in the module). A random shared cookie is set when none is given; acceptors default
   * to one TCP acceptor on a port the OS picks.
   */
  node?: NodeOptions;
  /** Passed to the module as `cluster.args` (structured-cloned). */
  args?: unknown;
  /** Restarts allowed per node within `period` ms before it is left down (default 5 in 5000). */
  restart?: { intensity?: number; period?: number };
  /** How long a graceful stop waits for a node before ending it (ms, default 10000). */
  stopTimeout?: number;
  /**
   * Stop the cluster on SIGTERM and SIGINT (default true). The handlers are removed as the stop
   * begins, so a second signal gets Node's default action (the process ends by it). Once the
   * graceful stop is done — or has overrun twice `stopTimeout` — the signal is raised again when
   * nothing else listens for it: the process ends as it would have without a cluster, instead of
   * living on with whatever else keeps its event loop busy.
   */
  signals?: boolean;
  /** How often nodes report their load, in ms (default 500). */
  loadInterval?: number;
  /** Lifecycle events of the nodes (up, down, restart, gave-up), for logs and tests. */
  onEvent?: (event: ClusterEvent) => void;
}

/** A lifecycle event of one node of a cluster. */
export interface ClusterEvent {
  type: 'up' | 'down' | 'restart' | 'gave-up';
  node: string;
  /** The node's creation (`up`). */
  creation?: number;
  /** Why it went down (exit code or error). */
  reason?: string;
}

/** A node of a running cluster as the launcher sees it. */
export interface ClusterNodeInfo {
  name: string;
  index: number;
  up: boolean;
  creation: number;
  restarts: number;
  /** TCP acceptor (`host:port`, '' for none). */
  acceptor: string;
}

/**
 * A running cluster. Lifecycle: {@link startCluster} resolves once every node is up;
 * {@link Cluster.stop} (or SIGTERM, `await using`) stops every node gracefully, then ends what
 * did not stop within `stopTimeout`; idempotent. A node that ends on its own is restarted.
 */
export interface Cluster {
  /** A snapshot of the nodes. */
  nodes(): ClusterNodeInfo[];
  /**
   * Ends node `name` at once, as a crash would (thread terminated, process SIGKILLed): the
   * others get node-down, the launcher restarts it. ErrIncorrect for an unknown name.
   */
  kill(name: string): void;
  /** Resolves when node `name` is up with a creation other than `creation`. */
  restarted(name: string, creation: number): Promise<ClusterNodeInfo>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Slot {
  start: NodeStart;
  worker: Worker | null;
  child: ChildProcess | null;
  up: boolean;
  creation: number;
  host: string;
  port: number;
  restarts: number[];
  total: number;
  load: number;
  exited: Promise<void>;
  waiters: (() => void)[];
}

function nodeCount(n: ClusterOptions['nodes']): number {
  if (n === undefined || n === 'auto') return availableParallelism();
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw ErrIncorrect.with(`cluster nodes ${String(n)} ('auto' or 1..256)`);
  return n;
}

function moduleURL(m: string | URL | undefined): string | null {
  if (m === undefined) return null;
  if (m instanceof URL) return m.href;
  if (m.startsWith('file:')) return m;
  return pathToFileURL(isAbsolute(m) ? m : resolve(m)).href;
}

const WORKER = new URL('./worker.js', import.meta.url);

class ClusterImpl implements Cluster {
  readonly #slots: Slot[] = [];
  readonly #o: ClusterOptions;
  readonly #mode: ClusterMode;
  #stopping: Promise<void> | null = null;
  readonly #loadTimer: NodeJS.Timeout;
  readonly #onSignal = (signal: NodeJS.Signals): void => this.#signalled(signal);
  #startFailed: ((e: Error) => void) | null = null;

  constructor(o: ClusterOptions) {
    this.#o = o;
    this.#mode = o.mode ?? 'thread';
    if (this.#mode !== 'thread' && this.#mode !== 'process')
      throw ErrIncorrect.with(`cluster mode ${String(this.#mode)} ('thread' or 'process')`);
    if (o.transport !== undefined && o.transport !== 'inhost' && o.transport !== 'tcp')
      throw ErrIncorrect.with(`cluster transport ${String(o.transport)} ('inhost' or 'tcp')`);
    if (o.ringSize !== undefined) ByteRing.check(o.ringSize);
    const count = nodeCount(o.nodes);
    const prefix = o.name ?? 'core';
    const host = o.host ?? 'localhost';
    const base = o.node ?? {};
    // One cookie for all, or they could not connect to each other.
    const cookie = base.network?.cookie ?? randomBytes(16).toString('hex');
    const options: NodeOptions = { ...base, network: { ...base.network, cookie } };
    const loadInterval = o.loadInterval ?? 500;
    for (let i = 0; i < count; i++) {
      this.#slots.push({
        start: {
          name: `${prefix}${i + 1}@${host}`,
          index: i,
          size: count,
          mode: this.#mode,
          transport: this.#mode === 'thread' ? (o.transport ?? 'inhost') : 'tcp',
          ringSize: o.ringSize,
          inHostFrame: o.inHostFrame,
          module: moduleURL(o.module),
          options,
          args: o.args,
          afterCreation: 0,
          loadInterval,
        },
        worker: null,
        child: null,
        up: false,
        creation: 0,
        host: '',
        port: 0,
        restarts: [],
        total: 0,
        load: 0,
        exited: Promise.resolve(),
        waiters: [],
      });
    }
    this.#loadTimer = setInterval(() => this.#shareLoads(), loadInterval);
    this.#loadTimer.unref();
    if (o.signals !== false) {
      process.on('SIGTERM', this.#onSignal);
      process.on('SIGINT', this.#onSignal);
    }
  }

  /** Starts every node; resolves when all are up, rejects (everything stopped) when one fails. */
  async start(): Promise<void> {
    const failed = new Promise<never>((_, reject) => (this.#startFailed = reject));
    const ups = this.#slots.map((s) => new Promise<void>((r) => s.waiters.push(r)));
    try {
      for (const s of this.#slots) this.#launch(s);
      if (this.#slots[0]!.start.transport === 'inhost') {
        for (let i = 0; i < this.#slots.length; i++)
          for (let j = i + 1; j < this.#slots.length; j++) this.#pair(this.#slots[i]!, this.#slots[j]!);
      }
      await Promise.race([Promise.all(ups), failed]);
    } catch (e) {
      await this.stop();
      throw e;
    } finally {
      this.#startFailed = null;
    }
  }

  #send(s: Slot, m: ToNode, transfer?: MessagePort[]): void {
    try {
      if (s.worker !== null) s.worker.postMessage(m, transfer);
      else if (s.child?.connected === true) s.child.send(m);
    } catch {
      // a node that is ending: its exit is handled
    }
  }

  /** A control channel between two nodes (threads): the in-host transport's "address". */
  #pair(a: Slot, b: Slot): void {
    const { port1, port2 } = new MessageChannel();
    this.#send(a, { t: 'peer', name: b.start.name, port: port1 }, [port1]);
    this.#send(b, { t: 'peer', name: a.start.name, port: port2 }, [port2]);
  }

  #launch(s: Slot): void {
    let exited!: () => void;
    s.exited = new Promise((r) => (exited = r));
    const onExit = (why: string): void => {
      s.worker = null;
      s.child = null;
      exited();
      this.#exited(s, why);
    };
    if (this.#mode === 'thread') {
      let w: Worker;
      try {
        w = new Worker(WORKER, { workerData: s.start });
      } catch (e) {
        throw ErrIncorrect.with(`cluster node options: ${toError(e).message}`);
      }
      s.worker = w;
      let error = '';
      w.on('message', (m: FromNode) => this.#fromNode(s, m));
      w.on('error', (e) => (error = e.message));
      w.on('exit', (code) => onExit(error !== '' ? error : `exit code ${code}`));
    } else {
      const c = fork(fileURLToPath(WORKER), [], { serialization: 'advanced', stdio: 'inherit' });
      s.child = c;
      c.on('message', (m: FromNode) => this.#fromNode(s, m));
      c.on('error', () => undefined); // a failed send or spawn: 'exit' follows
      c.on('exit', (code, signal) => onExit(signal !== null ? `signal ${signal}` : `exit code ${code}`));
      c.send({ t: 'start', start: s.start });
    }
  }

  #fromNode(s: Slot, m: FromNode): void {
    switch (m.t) {
      case 'up': {
        s.up = true;
        s.creation = m.creation;
        s.host = m.host;
        s.port = m.port;
        for (const o of this.#slots) {
          if (o === s || !o.up) continue;
          this.#send(o, { t: 'route', name: m.name, host: m.host, port: m.port });
          this.#send(s, { t: 'route', name: o.start.name, host: o.host, port: o.port });
        }
        this.#o.onEvent?.({ type: 'up', node: m.name, creation: m.creation });
        for (const w of s.waiters.splice(0)) w();
        break;
      }
      case 'load':
        s.load = m.load;
        break;
      case 'failed':
        if (this.#startFailed !== null)
          this.#startFailed(new Error(`cluster node ${m.name} failed to start: ${m.message}`));
        break;
      case 'stopped':
        break;
    }
  }

  #exited(s: Slot, why: string): void {
    const wasUp = s.up;
    s.up = false;
    if (this.#stopping !== null) return;
    for (const o of this.#slots) if (o !== s && o.up) this.#send(o, { t: 'down', name: s.start.name });
    this.#o.onEvent?.({ type: 'down', node: s.start.name, reason: why });
    if (!wasUp && this.#startFailed !== null) {
      this.#startFailed(new Error(`cluster node ${s.start.name} ended during start: ${why}`));
      return;
    }
    const intensity = this.#o.restart?.intensity ?? 5;
    const period = this.#o.restart?.period ?? 5000;
    const now = Date.now();
    s.restarts = s.restarts.filter((t) => now - t < period);
    if (s.restarts.length >= intensity) {
      this.#o.onEvent?.({ type: 'gave-up', node: s.start.name, reason: why });
      return;
    }
    s.restarts.push(now);
    s.total++;
    s.start = { ...s.start, afterCreation: s.creation };
    this.#o.onEvent?.({ type: 'restart', node: s.start.name, reason: why });
    this.#launch(s);
    if (s.start.transport === 'inhost') for (const o of this.#slots) if (o !== s && o.worker !== null) this.#pair(s, o);
  }

  #shareLoads(): void {
    const loads: [string, number][] = this.#slots.filter((s) => s.up).map((s) => [s.start.name, s.load]);
    for (const s of this.#slots) if (s.up) this.#send(s, { t: 'loads', loads });
  }

  nodes(): ClusterNodeInfo[] {
    return this.#slots.map((s) => ({
      name: s.start.name,
      index: s.start.index,
      up: s.up,
      creation: s.creation,
      restarts: s.total,
      acceptor: s.port === 0 ? '' : `${s.host}:${s.port}`,
    }));
  }

  kill(name: string): void {
    const s = this.#slots.find((x) => x.start.name === name);
    if (s === undefined) throw ErrIncorrect.with(`no cluster node ${name}`);
    if (s.worker !== null) void s.worker.terminate();
    else s.child?.kill('SIGKILL');
  }

  restarted(name: string, creation: number): Promise<ClusterNodeInfo> {
    const s = this.#slots.find((x) => x.start.name === name);
    if (s === undefined) return rejected(ErrIncorrect.with(`no cluster node ${name}`), undefined, 'restarted');
    const info = (): ClusterNodeInfo => this.nodes()[s.start.index]!;
    return new Promise((resolve) => {
      const check = (): void => {
        if (s.up && s.creation !== creation) resolve(info());
        else s.waiters.push(check);
      };
      check();
    });
  }

  stop(): Promise<void> {
    return (this.#stopping ??= this.#stop());
  }

  /** SIGTERM/SIGINT: graceful stop, then the signal's default action unless someone else handles it. */
  #signalled(signal: NodeJS.Signals): void {
    const timeout = this.#o.stopTimeout ?? 10_000;
    // Stop overran its own bound (a node that even terminate() cannot end): end as Node would.
    const overrun = setTimeout(() => reraise(signal), 2 * timeout);
    overrun.unref();
    void this.stop().then(() => {
      clearTimeout(overrun);
      reraise(signal);
    });
  }

  async #stop(): Promise<void> {
    clearInterval(this.#loadTimer);
    process.off('SIGTERM', this.#onSignal);
    process.off('SIGINT', this.#onSignal);
    const timeout = this.#o.stopTimeout ?? 10_000;
    await Promise.all(
      this.#slots.map(async (s) => {
        if (s.worker === null && s.child === null) return;
        this.#send(s, { t: 'stop' });
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<void>((r) => {
          timer = setTimeout(() => {
            if (s.worker !== null) void s.worker.terminate();
            else s.child?.kill('SIGKILL');
            r();
          }, timeout);
        });
        await Promise.race([s.exited, late]);
        clearTimeout(timer);
        await s.exited;
      }),
    );
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** Raises `signal` again for Node's default action, unless the process has its own listener. */
function reraise(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/**
 * Starts a cluster of nodes on this host's cores (see {@link ClusterOptions}). Resolves once every
 * node is up and has run the module. Rejects with ErrIncorrect for bad options, or with the
 * error of a node that failed to start (the others are stopped first).
 */
export function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  // Safe to leave un-awaited (docs/actors.md, Returned Promises are safe to ignore).
  return ignorable(launchCluster(options), undefined, 'startCluster');
}

async function launchCluster(options: ClusterOptions = {}): Promise<Cluster> {
  if (options === null || typeof options !== 'object') throw ErrIncorrect.with('startCluster options');
  const c = new ClusterImpl(options);
  await c.start();
  return c;
}
