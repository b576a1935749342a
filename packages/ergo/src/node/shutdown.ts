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
  /** Processes excluded from the wait (callers of stop from inside a process). */
  private readonly callers = new Set<ProcessImpl>();
  private readonly callerWaiters = new Map<ProcessImpl, () => void>();
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
    // The caller is the process running a handler right now, or the one that just read
    // `this.node` (a handler continuing after an await).
    const caller = (this.node.scheduler.current as ProcessImpl | null) ?? this.node.accessor;
    if (this.stopping === null) {
      this.stopping = this.run(force);
      // Stop is also awaited by wait(); avoid unhandled rejections when nobody awaits it.
      this.stopping.catch(() => undefined);
    } else if (force && !this.forced) {
      this.forceAll();
    }
    if (caller !== null && caller.nodeImpl === this.node && this.node.processes.has(caller.pid.id)) {
      return this.releaseCaller(caller);
    }
    return this.stopping;
  }

  /** For a process stopping its own node: resolves when it is the only one left. */
  private releaseCaller(caller: ProcessImpl): Promise<void> {
    this.callers.add(caller);
    return new Promise<void>((resolve) => {
      this.callerWaiters.set(caller, resolve);
      this.check();
    });
  }

  private async run(force: boolean): Promise<void> {
    const node = this.node;
    node.markStopping();
    this.removeSignals();
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
    if (this.callers.size > 0) {
      let others = left;
      for (const c of this.callers) if (this.node.processes.has(c.pid.id)) others--;
      if (others === 0) {
        for (const [c, w] of this.callerWaiters) {
          this.callerWaiters.delete(c);
          w();
        }
      }
    }
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
