// The application module of cluster.test.ts: runs on every node of the test clusters. Named
// processes: `echo` (answers calls with its node), `sink` (checks that each source's sequence
// arrives in order, answers `['wait', n]` once n messages arrived), `watcher` (monitors what it is
// told to and records the downs). `source` is enabled for remote spawn: it streams `count`
// numbered messages to a target in slices, so the node keeps serving other traffic meanwhile.
// `relay` calls or messages a target from its node, `collector` keeps what it is sent, `pool`
// (enabled for remote spawn) is a ClusterPool of Echo workers; `flagpool` one of FlagWorkers
// (which tell whether a call came important); `ticker` publishes the event `ticks` of its node
// and `tickpool` is a ClusterPool of Echo workers subscribed to it.

import {
  Actor,
  defineError,
  Event,
  isImportantRequest,
  MailboxKind,
  MessageDownNode,
  MessageDownProcessID,
  type MessageEvent,
  ProcessID,
  TerminateReasonNormal,
  type PID,
  type Process,
  type ProcessBehavior,
  type Ref,
} from '../src/index.js';
import { ClusterPool, type ClusterNode } from '../src/cluster/index.js';
import type { PoolOptions } from '../src/act/pool.js';

/** What an Echo answers `'fail'` with (a sentinel: decoded as itself on every node). */
export const ErrAppFailed = defineError('ERR_APP_FAILED', 'cluster test app: failed as asked');

class Echo extends Actor {
  override handleCall(from: PID, ref: Ref, req: unknown): unknown {
    if (req === 'fail') {
      this.sendResponseError(from, ref, ErrAppFailed);
      return undefined;
    }
    return [this.node.name, req];
  }
  /** `[reportTo, tag]`: tells `reportTo` where it ran and whom it got the message from. */
  override handleMessage(from: PID, m: unknown): void {
    if (!Array.isArray(m)) return;
    const [reportTo, tag] = m as [PID | ProcessID, number];
    this.send(reportTo, [this.node.name, tag, from]);
  }
  /** An event `[reportTo, tag]`: tells `reportTo` where it ran and that it came as an event. */
  override handleEvent(m: MessageEvent): void {
    const [reportTo, tag] = m.message as [ProcessID, number];
    this.send(reportTo, [this.node.name, tag, 'event']);
  }
}

/** Answers every call with its node and whether the call came important (it reads the raw mailbox). */
class FlagWorker implements ProcessBehavior {
  #p!: Process;
  processInit(process: Process): undefined {
    this.#p = process;
    return undefined;
  }
  processRun(): undefined {
    const mb = this.#p.mailbox();
    while (mb.take()) {
      if (mb.kind === MailboxKind.Request) {
        const extra = mb.extra;
        const ref = (Array.isArray(extra) ? extra[0] : extra) as Ref;
        this.#p.sendResponse(mb.from!, ref, [this.#p.node.name, isImportantRequest(extra)]);
      }
      mb.release();
    }
    return undefined;
  }
  processTerminate(): undefined {
    return undefined;
  }
}

/** Registers the event `ticks`; a call `[reportTo, n]` publishes n events `[reportTo, i]`. */
class Ticker extends Actor {
  token!: Ref;
  override init(): void {
    this.token = this.registerEvent('ticks');
  }
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    const [reportTo, n] = req as [ProcessID, number];
    for (let i = 0; i < n; i++) this.sendEvent('ticks', this.token, [reportTo, i]);
    return 'sent';
  }
}

/** Keeps every message; answers `n` (a count) with them once that many arrived. */
class Collector extends Actor {
  got: unknown[] = [];
  waiting: { from: PID; ref: Ref; n: number }[] = [];
  override handleMessage(_from: PID, m: unknown): void {
    this.got.push(m);
    this.waiting = this.waiting.filter((w) => {
      if (this.got.length < w.n) return true;
      this.sendResponse(w.from, w.ref, this.got.splice(0, w.n));
      return false;
    });
  }
  override handleCall(from: PID, ref: Ref, n: unknown): unknown {
    if (this.got.length >= (n as number)) return this.got.splice(0, n as number);
    this.waiting.push({ from, ref, n: n as number });
    return undefined;
  }
}

class Sink extends Actor {
  received = 0;
  violations = 0;
  last = new Map<number, number>();
  waiting: { from: PID; ref: Ref; n: number }[] = [];
  override handleMessage(_from: PID, m: unknown): void {
    if (!Array.isArray(m)) return;
    const [src, seq] = m as [number, number];
    const prev = this.last.get(src) ?? -1;
    if (seq !== prev + 1) this.violations++;
    this.last.set(src, seq);
    this.received++;
    this.waiting = this.waiting.filter((w) => {
      if (this.received < w.n) return true;
      this.sendResponse(w.from, w.ref, [this.received, this.violations]);
      return false;
    });
  }
  override handleCall(from: PID, ref: Ref, req: unknown): unknown {
    const [op, n] = req as [string, number];
    if (op !== 'wait') return undefined;
    if (this.received >= n) return [this.received, this.violations];
    this.waiting.push({ from, ref, n });
    return undefined;
  }
}

class Source extends Actor {
  to!: ProcessID;
  id = 0;
  seq = 0;
  count = 0;
  connected = false;
  override init(to: ProcessID, count: number, id: number): void {
    this.to = to;
    this.count = count;
    this.id = id;
    this.send(this.pid, 'more');
  }
  override handleMessage(_from?: PID, m?: unknown): Promise<undefined> | Error | undefined {
    // A source whose target's node went down stops (as an application would): its remaining
    // messages must not stream into the node's next incarnation.
    if (m instanceof MessageDownNode) return TerminateReasonNormal;
    // The first slice waits for the connection (made eagerly by the cluster, maybe not yet up).
    if (this.seq === 0 && !this.connected) {
      this.connected = true;
      return this.node
        .network()
        .getNode(this.to.node)
        .then(() => {
          this.monitorNode(this.to.node);
          return this.handleMessage() as undefined;
        });
    }
    const end = Math.min(this.count, this.seq + 500);
    while (this.seq < end) this.send(this.to, [this.id, this.seq++]);
    if (this.seq < this.count) this.send(this.pid, 'more');
    return undefined;
  }
}

class Watcher extends Actor {
  downs: string[] = [];
  waiting: { from: PID; ref: Ref; n: number }[] = [];
  override handleMessage(_from: PID, m: unknown): void {
    if (m instanceof MessageDownProcessID) this.downs.push(`process ${m.processID.name}: ${m.reason.message}`);
    else if (m instanceof MessageDownNode) this.downs.push(`node ${m.name}`);
    else return;
    this.waiting = this.waiting.filter((w) => {
      if (this.downs.length < w.n) return true;
      this.sendResponse(w.from, w.ref, this.downs);
      return false;
    });
  }
  override handleCall(from: PID, ref: Ref, req: unknown): unknown {
    const [op, arg] = req as [string, string | number];
    if (op === 'watch') {
      this.monitor(new ProcessID('sink', arg as string));
      this.monitorNode(arg as string);
      return 'ok';
    }
    if (this.downs.length >= (arg as number)) return this.downs;
    this.waiting.push({ from, ref, n: arg as number });
    return undefined;
  }
}

/**
 * Calls `target` `count` times from inside the cluster and returns the answers; with a third
 * element `reportTo`, sends it `count` messages `[reportTo, i]` instead and returns its own PID;
 * with `'fail'` there, calls it `count` times with `'fail'` and returns the errors' codes.
 * `['important', target]` sends it an important message and returns 'delivered' or the error's code;
 * `['calls', target, count, important]` makes `count` calls, important or not, and returns the answers.
 */
class Relay extends Actor {
  override async handleCall(_from: PID, _ref: Ref, req: unknown): Promise<unknown> {
    if (Array.isArray(req) && req[0] === 'important') {
      try {
        await this.sendImportant(req[1] as ProcessID, 'important');
        return 'delivered';
      } catch (e) {
        return (e as { code?: string }).code ?? String(e);
      }
    }
    if (Array.isArray(req) && req[0] === 'spawnOn') {
      // Remote spawn by the enabled factory (typed), and by a factory never enabled (refused).
      const pid: PID = await self!.spawnOn(req[1] as string, Echo, {});
      const refused = await self!.spawnLeastLoaded(Collector).then(
        () => 'spawned',
        (e: unknown) => (e as { code?: string }).code,
      );
      return [pid, refused];
    }
    if (Array.isArray(req) && req[0] === 'calls') {
      const [, target, count, important] = req as [string, PID, number, boolean];
      const out: unknown[] = [];
      for (let i = 0; i < count; i++) out.push(await this.call(target, i, { important }));
      return out;
    }
    const [target, count, reportTo] = req as [PID | ProcessID, number, ProcessID | 'fail' | undefined];
    if (reportTo === 'fail') {
      // Each call must fail: the codes of the errors it failed with.
      const codes: string[] = [];
      for (let i = 0; i < count; i++)
        await this.call(target, 'fail').then(
          () => codes.push('answered'),
          (e: unknown) => codes.push(String((e as { code?: string }).code)),
        );
      return codes;
    }
    if (reportTo !== undefined) {
      for (let i = 0; i < count; i++) this.send(target, [reportTo, i]);
      return this.pid;
    }
    const out: unknown[] = [];
    for (let i = 0; i < count; i++) out.push(await this.call(target, i));
    return out;
  }
}

let self: ClusterNode | null = null;

/** Two Echo workers per node, spread over the `nodes` nodes once they are all up. */
class Spread extends ClusterPool {
  override async init(nodes = 2): Promise<PoolOptions> {
    await self!.whenUp(nodes);
    return { poolSize: 2 * nodes, workerFactory: Echo };
  }
}

/** Two FlagWorkers per node. */
class FlagSpread extends ClusterPool {
  override async init(nodes = 2): Promise<PoolOptions> {
    await self!.whenUp(nodes);
    return { poolSize: 2 * nodes, workerFactory: FlagWorker };
  }
}

/** Two Echo workers per node, the pool subscribed to the `ticks` of node `of` (its Ticker). */
class TickSpread extends ClusterPool {
  override async init(nodes: number, of: string): Promise<PoolOptions> {
    await self!.whenUp(nodes);
    await this.monitorEvent(new Event('ticks', of));
    return { poolSize: 2 * nodes, workerFactory: Echo };
  }
}

export default async function app(cluster: ClusterNode): Promise<void> {
  cluster.enableSpawn('source', Source);
  cluster.enableSpawn('echo', Echo);
  await cluster.node.spawnRegister('echo', Echo);
  await cluster.node.spawnRegister('sink', Sink);
  await cluster.node.spawnRegister('watcher', Watcher);
  await cluster.node.spawnRegister('relay', Relay);
  await cluster.node.spawnRegister('collector', Collector);
  self = cluster;
  cluster.enableSpawn('pool', Spread);
  cluster.enableSpawn('flag', FlagWorker);
  cluster.enableSpawn('flagpool', FlagSpread);
  cluster.enableSpawn('tickpool', TickSpread);
  await cluster.node.spawnRegister('ticker', Ticker);
  // `args: { spin: i }`: node i, once up, never gives its event loop back (a stuck node that
  // cannot even read the launcher's stop).
  // `spinning` (an Int32Array on a SharedArrayBuffer) is set to 1 as the spin begins.
  const a = cluster.args as { spin?: number; spinning?: Int32Array } | undefined;
  if (a?.spin === cluster.index)
    setTimeout(() => {
      if (a.spinning !== undefined) {
        Atomics.store(a.spinning, 0, 1);
        Atomics.notify(a.spinning, 0);
      }
      for (;;) Math.random();
    }, 0);
}
