// Temporal's `Worker.create(...)` and `worker.run()`: the workflows (a module, or `workflowsPath`
// imported) become ergo-ts workflow kinds (`workflowKinds`), and `run()` starts the entities
// runtime that hosts them — and runs their activities as steps — on the connection's node and
// store, until `shutdown()` stops it (its instances are handed off or resumed by the next runtime
// from the store: nothing is lost). It hosts the schedules (`WorkflowSchedules`) too. One Worker
// runs per connection at a time.

import { pathToFileURL } from 'node:url';

import { startEntities, WorkflowSchedules, type Entities } from '@ergo-ts/entities';

import { loadDataConverter, type DataConverter } from '../common/data_converter.js';
import { msOptionalToNumber, type Duration } from '../common/duration.js';
import { ErrTemporalIncorrect, ErrTemporalNoConnection } from '../common/errors.js';
import { IllegalStateError } from '../common/failures.js';
import { Connection, type NativeConnection } from '../client/connection.js';
import type { ActivityTable } from '../workflow/activation.js';
import { workflowKinds } from '../workflow/driver.js';

/** What `Worker.create` takes (Temporal's `WorkerOptions`, the fields that apply; others are accepted). */
export interface WorkerOptions {
  /** The connection (default: the only one of the process). */
  connection?: NativeConnection | Connection;
  namespace?: string;
  taskQueue: string;
  /** The workflows: a module's exports (each function a workflow type). */
  workflows?: Readonly<Record<string, unknown>>;
  /** A module to import for its workflows (Temporal bundles it; here it is imported as it is). */
  workflowsPath?: string;
  activities?: object;
  /** How workflow arguments, results and failures are kept as payloads: give the Client the same. */
  dataConverter?: DataConverter;
  /** How long `shutdown()` lets the runtime hand off, at most (the runtime's `stopTimeoutMs`). */
  shutdownGraceTime?: Duration;
  /**
   * false: this Worker runs no activity (Temporal's option): each waits in the ergo-ts queue of its
   * task queue, which the runtime does not serve, until its schedule-to-start timeout (by default
   * its schedule-to-close) fails it with `TimeoutFailure` SCHEDULE_TO_START. Default true.
   */
  enableNonLocalActivities?: boolean;
  [other: string]: unknown;
}

/** A Worker's state (Temporal's `State`). */
export type State = 'INITIALIZED' | 'RUNNING' | 'STOPPING' | 'STOPPED' | 'FAILED';

/** Temporal's `Worker`. */
export class Worker {
  #state: State = 'INITIALIZED';
  #stop: (() => void) | undefined;
  #entities: Entities | undefined;

  private constructor(
    readonly options: WorkerOptions,
    readonly connection: Connection,
    readonly kinds: ReturnType<typeof workflowKinds>,
  ) {}

  /** Makes a Worker: imports `workflowsPath`, makes the kinds, registers them on the connection. */
  static async create(options: WorkerOptions): Promise<Worker> {
    if (options === null || typeof options !== 'object' || typeof options.taskQueue !== 'string')
      throw ErrTemporalIncorrect.with('Worker.create: options.taskQueue is required');
    const connection = options.connection ?? (await Connection.connect());
    if (connection.env.node === undefined && connection.env.entities === undefined)
      throw ErrTemporalNoConnection.with('Worker.create: the connection has no node');
    let workflows = options.workflows;
    if (workflows === undefined && options.workflowsPath !== undefined)
      workflows = (await import(pathToFileURL(options.workflowsPath).href)) as Record<string, unknown>;
    const kinds = workflowKinds(workflows ?? {}, {
      activities: (options.activities ?? {}) as ActivityTable,
      taskQueue: options.taskQueue,
      namespace: options.namespace ?? 'default',
      runsActivities: options.enableNonLocalActivities !== false,
      dataConverter: await loadDataConverter(options.dataConverter),
    });
    for (const k of kinds) connection.env.kinds.set(k.workflow.name, k);
    return new Worker(options, connection, kinds);
  }

  /** Its state. */
  getState(): State {
    return this.#state;
  }

  /**
   * Runs until `shutdown()`: starts the entities runtime hosting the kinds on the connection's
   * node and store (or uses the connection's own runtime). Rejects with IllegalStateError when it
   * ran before or another Worker runs on the connection.
   */
  async run(): Promise<void> {
    if (this.#state !== 'INITIALIZED') throw new IllegalStateError('Poller was already started');
    const env = this.connection.env;
    this.#state = 'RUNNING';
    const stopped = new Promise<void>((resolve) => {
      this.#stop = resolve;
    });
    if (!env.own) {
      if (env.entities !== undefined) {
        this.#state = 'FAILED';
        throw new IllegalStateError(`another Worker runs on connection ${env.address}: one Worker per connection`);
      }
      env.stopped = false; // calls wait for this runtime while it starts
      const grace = msOptionalToNumber(this.options.shutdownGraceTime, 'shutdownGraceTime');
      try {
        this.#entities = await startEntities(env.node!, {
          ...env.entitiesOptions,
          // No activity runs here: their queues are not served (the default queue always is).
          ...(this.options.enableNonLocalActivities === false
            ? { workflowQueues: { ...env.entitiesOptions?.workflowQueues, serve: [] } }
            : {}),
          store: env.store!,
          // Schedules are hosted beside the workflows (Temporal's server runs them).
          kinds: [...env.kinds.values(), WorkflowSchedules],
          ...(grace === undefined ? {} : { stopTimeoutMs: Math.max(1_000, grace) }),
        });
      } catch (err) {
        this.#state = 'FAILED';
        throw err;
      }
      env.attach(this.#entities);
    }
    await stopped;
    try {
      if (this.#entities !== undefined) {
        if (env.entities === this.#entities) env.attach(undefined);
        await this.#entities.stop();
      }
    } finally {
      this.#state = 'STOPPED';
    }
  }

  /** Runs until `promise` settles, then shuts down; resolves (or rejects) as `promise` does. */
  async runUntil<R>(promise: Promise<R> | (() => Promise<R>)): Promise<R> {
    const running = this.run();
    try {
      return await (typeof promise === 'function' ? promise() : promise);
    } finally {
      this.shutdown();
      await running;
    }
  }

  /** Stops the Worker: `run()` resolves once its runtime stopped. IllegalStateError when not running. */
  shutdown(): void {
    if (this.#state !== 'RUNNING') throw new IllegalStateError('Not running');
    this.#state = 'STOPPING';
    this.#stop?.();
  }
}
