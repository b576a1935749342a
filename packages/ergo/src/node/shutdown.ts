// Node shutdown. Graceful: exit(shutdown) to every process as if from its parent (untrappable),
// wait for all of them (logging the pending ones every 5 s), and after `shutdownTimeout` kill
// what is left and reject. Forced: terminate everything now. A process that stops its own node
// and awaits it is released once every other process has ended, so it cannot deadlock.

import { ErrNodeTerminated, ErrTimeout, TerminateReasonShutdown } from '../gen/errors.js';
import { processStateString, type ProcessState } from '../gen/priority.js';
import { nodeStopChannel } from './diagnostics.js';
import type { NodeImpl } from './node.js';
import { forceTerminate } from './termination.js';
import type { ProcessImpl } from './process.js';

/** Default graceful shutdown limit (3 minutes). */
export const DEFAULT_SHUTDOWN_TIMEOUT = 180_000;
/** How often pending processes are logged during a graceful stop. */
export const PENDING_LOG_INTERVAL = 5_000;

/** Hooks other services register to be stopped with the node (applications, cron). */
export interface StopHook {
  /** Runs before processes get their exit signals. */
  beforeProcesses?(force: boolean): Promise<void> | void;
  /** Runs after processes are gone. */
  afterProcesses?(): void;
}

/** The stop machinery of one node. */
export class Shutdown {
  private stopping: Promise<void> | null = null;
  private forced = false;
  private readonly stoppedWaiters: (() => void)[] = [];
  private emptyWaiters: (() => void)[] = [];
  readonly hooks: StopHook[] = [];
  private signalHandler: (() => void) | null = null;

  constructor(private readonly node: NodeImpl) {
    if (node.options.handleSignals) {
      this.signalHandler = () => {
        node.log.info('node %s is starting a graceful shutdown...', node.name);
        node.stop().catch(() => undefined);
      };
      process.once('SIGTERM', this.signalHandler);
      process.once('SIGINT', this.signalHandler);
    }
  }

  stop(force: boolean): Promise<void> {
    const caller = this.callerProcess();
    if (this.stopping === null) {
      this.stopping = this.run(force);
      // Stop is also awaited by wait(); avoid unhandled rejections when nobody awaits it.
      this.stopping.catch(() => undefined);
    } else if (force && !this.forced) {
      this.forceAll();
    }
    // A process cannot wait for its own end (nor can its supervisor or application wait for it
    // while it waits): its stop() resolves as soon as the stop has begun. It ends with its
    // shutdown exit once its handler returns.
    if (caller !== null) return Promise.resolve();
    return this.stopping;
  }

  /**
   * The process whose code calls stop(), if any: the one the scheduler runs right now, or one
   * suspended in an async handler that read `this.node` in the current microtask burst (a
   * handler continuing after an await). The second is a guess: outside code calling stop() in
   * that same burst is taken for that process (its stop() then resolves early).
   */
  private callerProcess(): ProcessImpl | null {
    const node = this.node;
    const current = node.scheduler.current as ProcessImpl | null;
    if (current !== null && current.nodeImpl === node && node.processes.has(current.pid.id)) return current;
    const p = node.accessor;
    return p !== null && p.suspended && node.processes.has(p.pid.id) ? p : null;
  }

  private async run(force: boolean): Promise<void> {
    const node = this.node;
    node.markStopping();
    this.removeSignals();
    // Processes still inside an async init are not in the table (nothing would wait for them):
    // their spawns fail now and what they reserved (a name) is released.
    for (const abort of [...node.pendingInits.values()]) abort(ErrNodeTerminated.with(node.name));
    for (const h of this.hooks) {
      try {
        await h.beforeProcesses?.(force);
      } catch (e) {
        node.log.error('stop hook failed: %s', String(e));
      }
    }
    if (force) this.forceAll();
    else for (const p of [...node.processes.values()]) node.shutdownExit(p, TerminateReasonShutdown);

    let failure: Error | null = null;
    if (node.processes.size > 0) {
      const timeout = node.options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
      const ticker = setInterval(() => this.logPending(), PENDING_LOG_INTERVAL);
      ticker.unref();
      let timer: ReturnType<typeof setTimeout> | null = null;
      const expired = new Promise<boolean>((resolve) => {
        // Not unref'd: an awaited stop must reach its deadline (kill the rest, reject with
        // ErrTimeout) even when a stuck process holds nothing that keeps the event loop alive.
        timer = setTimeout(() => resolve(true), timeout);
      });
      const empty = new Promise<boolean>((resolve) => {
        this.emptyWaiters.push(() => resolve(false));
        this.check();
      });
      const timedOut = await Promise.race([empty, expired]);
      clearInterval(ticker);
      if (timer !== null) clearTimeout(timer);
      if (timedOut) {
        this.logPending();
        failure = ErrTimeout.with(`graceful shutdown of ${node.name} did not finish in ${timeout} ms; remaining processes were killed`);
        this.forceAll();
      }
    }
    for (const h of this.hooks) {
      try {
        h.afterProcesses?.();
      } catch (e) {
        node.log.error('stop hook failed: %s', String(e));
      }
    }
    node.events.dropNodeEvents(TerminateReasonShutdown);
    node.calls.failAll(ErrNodeTerminated.with(node.name));
    node.logRegistry.terminateAll();
    node.markStopped();
    if (nodeStopChannel.hasSubscribers) nodeStopChannel.publish({ node: node.name, forced: this.forced });
    for (const w of this.stoppedWaiters.splice(0)) w();
    if (failure !== null) throw failure;
  }

  private forceAll(): void {
    this.forced = true;
    for (const p of [...this.node.processes.values()]) forceTerminate(this.node, p);
    this.check();
  }

  /** Called whenever a process leaves the table during a stop. */
  check(): void {
    const left = this.node.processes.size;
    if (left === 0) for (const w of this.emptyWaiters.splice(0)) w();
  }

  private logPending(): void {
    const node = this.node;
    for (const p of node.processes.values()) {
      const q = p.mb.lengths();
      node.log.warning(
        'shutdown: waiting for %s%s (state %s, queues urgent %d system %d main %d log %d)',
        p.pid.toString(),
        p.name !== '' ? ` '${p.name}'` : '',
        processStateString(p.st as ProcessState),
        q.urgent,
        q.system,
        q.main,
        q.log,
      );
    }
  }

  private removeSignals(): void {
    if (this.signalHandler !== null) {
      process.removeListener('SIGTERM', this.signalHandler);
      process.removeListener('SIGINT', this.signalHandler);
      this.signalHandler = null;
    }
  }

  wait(): Promise<void> {
    if (!this.node.isAlive()) return Promise.resolve();
    return new Promise<void>((resolve) => this.stoppedWaiters.push(resolve));
  }

  waitWithTimeout(ms: number): Promise<void> {
    if (!this.node.isAlive()) return Promise.reject(ErrNodeTerminated.with(this.node.name));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(ErrTimeout.with(`node did not stop in ${ms} ms`)), ms);
      this.stoppedWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
