// Node shutdown. Graceful: run the stop hooks before processes (applications, cron), send
// exit(shutdown) to every process as if from its parent (untrappable), wait for all of them
// (logging the pending ones every 5 s), run the hooks after processes (network: closing sockets
// after the last terminate packets; they may be async), then stop loggers. `shutdownTimeout`
// bounds the whole: when it passes, what is left is killed, hooks still pending are abandoned, and
// the stop rejects with ErrTimeout. Forced: terminate everything now, then the same end.
//
// Who waits is the node handle's business (handle.ts): the root handle's stop() returns the stop
// promise; a process's handle begins the stop and resolves at once.

import { ErrIncorrect, ErrNodeTerminated, ErrTimeout, TerminateReasonShutdown, toError } from '../gen/errors.js';
import { processStateString, type ProcessState } from '../gen/priority.js';
import { nodeStopChannel } from './diagnostics.js';
import type { NodeImpl } from './node.js';
import { forceTerminate } from './termination.js';
import { offStopSignals, onStopSignals, unrefTimer } from '../lib/host.js';

/** Default graceful shutdown limit (3 minutes). */
export const DEFAULT_SHUTDOWN_TIMEOUT = 180_000;
/** How often pending processes are logged during a graceful stop. */
export const PENDING_LOG_INTERVAL = 5_000;

/** Hooks other services register to be stopped with the node (applications, cron). */
export interface StopHook {
  /** Runs before processes get their exit signals. */
  beforeProcesses?(force: boolean): Promise<void> | void;
  /**
   * Runs after processes are gone (or were killed at the deadline); may be async: the stop waits
   * for it, within what is left of `shutdownTimeout`.
   */
  afterProcesses?(): Promise<void> | void;
}

/** The stop machinery of one node. */
export class Shutdown {
  private stopping: Promise<void> | null = null;
  private forced = false;
  private readonly stoppedWaiters: (() => void)[] = [];
  private emptyWaiters: (() => void)[] = [];
  private keepAlive: ReturnType<typeof setInterval> | null = null;
  readonly hooks: StopHook[] = [];
  private signalHandler: (() => void) | null = null;

  constructor(private readonly node: NodeImpl) {
    if (node.options.handleSignals) {
      this.signalHandler = () => {
        node.log.info('node %s is starting a graceful shutdown...', node.name);
        this.begin(false).catch(() => undefined);
      };
      onStopSignals(this.signalHandler);
    }
  }

  /**
   * Begins the stop (idempotent; a forced begin during a graceful stop forces it) and returns the
   * promise of its end, which rejects with ErrTimeout when `shutdownTimeout` passed. Never throws.
   */
  begin(force: boolean): Promise<void> {
    if (this.stopping === null) {
      this.stopping = this.run(force);
      // Stop is also awaited by wait(); avoid unhandled rejections when nobody awaits it.
      this.stopping.catch(() => undefined);
    } else if (force && !this.forced) {
      this.forceAll();
    }
    return this.stopping;
  }

  private async run(force: boolean): Promise<void> {
    const node = this.node;
    node.markStopping();
    this.removeSignals();
    // Processes still inside an async init are not in the table (nothing would wait for them):
    // their spawns fail now and what they reserved (a name) is released.
    for (const abort of [...node.pendingInits.values()]) abort(ErrNodeTerminated.with(node.name));
    const timeout = node.options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
    let timer: ReturnType<typeof setTimeout> | null = null;
    // Not unref'd: an awaited stop must reach its deadline (kill the rest, reject with ErrTimeout)
    // even when a stuck process or hook holds nothing that keeps the event loop alive.
    const expired = new Promise<typeof EXPIRED>((resolve) => {
      timer = setTimeout(() => resolve(EXPIRED), timeout);
    });
    let failure: Error | null = null;
    const timedOut = (what: string): Error =>
      ErrTimeout.with(`graceful shutdown of ${node.name} did not finish in ${timeout} ms (${what})`);
    try {
      for (const h of this.hooks) {
        if (h.beforeProcesses === undefined) continue;
        if ((await this.bounded(() => h.beforeProcesses!(force), expired)) === EXPIRED) {
          failure ??= timedOut('a stop hook before processes was still running');
          break;
        }
      }
      if (force) this.forceAll();
      else for (const p of [...node.processes.values()]) node.shutdownExit(p, TerminateReasonShutdown);

      if (node.processes.size > 0) {
        const ticker = setInterval(() => this.logPending(), PENDING_LOG_INTERVAL);
        unrefTimer(ticker);
        const empty = new Promise<void>((resolve) => {
          this.emptyWaiters.push(resolve);
          this.check();
        });
        const r = await Promise.race([empty, expired]);
        clearInterval(ticker);
        if (r === EXPIRED) {
          this.logPending();
          failure ??= timedOut('remaining processes were killed');
          this.forceAll();
        }
      }
      for (const h of this.hooks) {
        if (h.afterProcesses === undefined) continue;
        if ((await this.bounded(() => h.afterProcesses!(), expired)) === EXPIRED) {
          failure ??= timedOut('a stop hook after processes was abandoned');
          break;
        }
      }
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
    node.events.dropNodeEvents(TerminateReasonShutdown);
    node.calls.failAll(ErrNodeTerminated.with(node.name));
    node.logRegistry.terminateAll();
    node.markStopped();
    if (nodeStopChannel.hasSubscribers) nodeStopChannel.publish({ node: node.name, forced: this.forced });
    this.releaseWaiters();
    if (failure !== null) throw failure;
  }

  /** Runs a hook, logging its failure; resolves EXPIRED when the deadline comes first. */
  private async bounded(
    hook: () => Promise<void> | void,
    expired: Promise<typeof EXPIRED>,
  ): Promise<void | typeof EXPIRED> {
    const node = this.node;
    const failed = (e: unknown): void => {
      node.log.error('stop hook failed: %s', toError(e).message);
    };
    let r: Promise<void> | void;
    try {
      r = hook();
    } catch (e) {
      failed(e);
      return;
    }
    if (r === undefined || r === null || typeof (r as { then?: unknown }).then !== 'function') return;
    return Promise.race([Promise.resolve(r).then(undefined, failed), expired]);
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
      offStopSignals(this.signalHandler);
      this.signalHandler = null;
    }
  }

  /**
   * Resolves when the node has stopped (at once when it has). While a node runs and someone waits
   * here, the OS process stays alive (a ref'd keep-alive timer, dropped when the node stops), as
   * Go's `node.Wait()` blocks: `await node.wait()` as the last line of a server keeps it serving.
   */
  wait(): Promise<void> {
    if (!this.node.isAlive()) return Promise.resolve();
    return new Promise<void>((resolve) => this.addWaiter(resolve));
  }

  /**
   * Like wait(); rejects with ErrTimeout after `ms`, ErrNodeTerminated if already stopped, and
   * ErrIncorrect unless `ms` is an integer of milliseconds from 0 to 2^31-1.
   */
  waitWithTimeout(ms: number): Promise<void> {
    if (!(Number.isInteger(ms) && ms >= 0 && ms <= MAX_TIMER_MS)) {
      return Promise.reject(
        ErrIncorrect.with(
          `waitWithTimeout(${typeof ms === 'number' ? ms : typeof ms}): the timeout must be an integer of milliseconds from 0 to 2^31-1`,
        ),
      );
    }
    if (!this.node.isAlive()) return Promise.reject(ErrNodeTerminated.with(this.node.name));
    return new Promise<void>((resolve, reject) => {
      let waiter: (() => void) | null = null;
      const timer = setTimeout(() => {
        this.removeWaiter(waiter!);
        reject(ErrTimeout.with(`node ${this.node.name} did not stop in ${ms} ms`));
      }, ms);
      waiter = () => {
        clearTimeout(timer);
        resolve();
      };
      this.addWaiter(waiter);
    });
  }

  private addWaiter(w: () => void): void {
    this.stoppedWaiters.push(w);
    // Something keeps the OS process alive while anyone waits for this node.
    this.keepAlive ??= setInterval(noop, KEEP_ALIVE_INTERVAL);
  }

  private removeWaiter(w: () => void): void {
    const i = this.stoppedWaiters.indexOf(w);
    if (i >= 0) this.stoppedWaiters.splice(i, 1);
    if (this.stoppedWaiters.length === 0) this.dropKeepAlive();
  }

  private releaseWaiters(): void {
    this.dropKeepAlive();
    for (const w of this.stoppedWaiters.splice(0)) w();
  }

  private dropKeepAlive(): void {
    if (this.keepAlive !== null) {
      clearInterval(this.keepAlive);
      this.keepAlive = null;
    }
  }
}

const EXPIRED: unique symbol = Symbol('expired');
const MAX_TIMER_MS = 2 ** 31 - 1;
/** The keep-alive timer never does anything; a long interval costs nothing. */
const KEEP_ALIVE_INTERVAL = 2 ** 31 - 1;
function noop(): void {}
