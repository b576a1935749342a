// The feature suite's harness shape (`temporalio/features`, harness/ts/harness.ts: `Feature`,
// `FeatureSource`, `Runner`, `retry`, `waitForEvent`, `getClient`), written for ergo-ts: a Runner
// makes a Client and a Worker on a connection (an ergo-ts node and store made by the suite's runner,
// run.ts) and runs one feature as Temporal's harness does — start the workflow (or the feature's
// own `execute`/`alternateRun`), then check its result. Imported by the feature files as
// `@temporalio/harness` once their imports are rewritten.

import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { Client } from '../client/client.js';
import { Connection } from '../client/connection.js';
import type { HistoryEvent, Payload } from '../client/history.js';
import type { WorkflowHandle, WorkflowStartOptions } from '../client/workflow_client.js';
import type { DataConverter } from '../common/data_converter.js';
import { IllegalStateError } from '../common/failures.js';
import { Worker, type WorkerOptions } from '../worker/worker.js';

export { Context } from '../activity/context.js';
/** gRPC's status codes, for features that import them from `@grpc/grpc-js`. */
export { GrpcStatus as status } from '../client/errors.js';

type Fn = (...args: any[]) => any;

/** A feature's options (the suite's `FeatureOptions`). */
export interface FeatureOptions {
  workflow?: Fn;
  activities?: Record<string, Fn>;
  workflowsPath?: string;
  workflowStartOptions?: Partial<WorkflowStartOptions>;
  workerOptions?: Partial<WorkerOptions>;
  /** Given to the feature's Client and Worker both, as the suite's harness does. */
  dataConverter?: DataConverter;
  execute?: (runner: Runner) => Promise<WorkflowHandle>;
  checkResult?: (runner: Runner, handle: WorkflowHandle) => Promise<void>;
  checkHistory?: (runner: Runner, handle: WorkflowHandle) => Promise<void>;
  alternateRun?: (runner: Runner) => Promise<void>;
}

/** One feature (the suite's `Feature`). */
export class Feature {
  constructor(readonly options: FeatureOptions) {}

  get activities(): Record<string, Fn> {
    return this.options.activities ?? {};
  }
}

/** Where a feature's file is (the suite's `FeatureSource`): `relDir` like `signal/basic`. */
export class FeatureSource {
  /** Every folder under `absDir` holding `file`. */
  static async findAll(absDir: string, file = 'feature.mts', root: string = absDir): Promise<FeatureSource[]> {
    const out: FeatureSource[] = [];
    for (const d of await readdir(absDir, { withFileTypes: true })) {
      if (d.name === file) out.push(new FeatureSource(relative(root, absDir).split(sep).join('/'), absDir, file));
      else if (d.isDirectory()) out.push(...(await FeatureSource.findAll(join(absDir, d.name), file, root)));
    }
    return out.sort((a, b) => a.relDir.localeCompare(b.relDir));
  }

  constructor(
    readonly relDir: string,
    readonly absDir: string,
    readonly file = 'feature.mts',
  ) {}

  /** The module's path. */
  get path(): string {
    return join(this.absDir, this.file);
  }

  /** Imports the feature's module and returns its `feature`. */
  async loadFeature(): Promise<Feature> {
    const m = (await import(pathToFileURL(this.path).href)) as { feature?: Feature };
    if (m.feature === undefined) throw new Error(`${this.relDir}: the module exports no feature`);
    return m.feature;
  }
}

/** What a Runner is given (the suite's `RunnerOptions`): `address` names the ergo-ts connection. */
export interface RunnerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  proxyUrl?: string;
  tlsConfig?: unknown;
}

let current: Runner | undefined;

/** The running feature's client (the suite's `getClient`, used by activities). */
export function getClient(): Client {
  if (current === undefined) throw new IllegalStateError('no feature runs');
  return current.client;
}

/** The running feature's connection. */
export function getConnection(): Connection {
  return getClient().connection;
}

/** Runs one feature (the suite's `Runner`). */
export class Runner {
  #worker: Worker;
  #run: Promise<void>;

  private constructor(
    readonly source: FeatureSource,
    readonly feature: Feature,
    readonly options: RunnerOptions,
    readonly client: Client,
    readonly workerOpts: WorkerOptions,
    worker: Worker,
  ) {
    this.#worker = worker;
    this.#run = worker.run();
    this.#run.catch(() => undefined); // raced in run(); a failure is reported there
  }

  /** Loads the feature, connects, and starts its Worker. */
  static async create(source: FeatureSource, options: RunnerOptions): Promise<Runner> {
    const feature = await source.loadFeature();
    const connection = await Connection.connect({ address: options.address });
    const dataConverter = feature.options.dataConverter;
    const client = new Client({
      connection,
      namespace: options.namespace,
      ...(dataConverter === undefined ? {} : { dataConverter }),
    });
    const workerOpts: WorkerOptions = {
      connection,
      ...(dataConverter === undefined ? {} : { dataConverter }),
      namespace: options.namespace,
      workflowsPath: feature.options.workflowsPath ?? source.path,
      activities: feature.activities,
      taskQueue: options.taskQueue,
      ...feature.options.workerOptions,
    };
    const worker = await Worker.create(workerOpts);
    const r = new Runner(source, feature, options, client, workerOpts, worker);
    current = r;
    return r;
  }

  get worker(): Worker {
    return this.#worker;
  }

  get workerRunPromise(): Promise<void> {
    return this.#run;
  }

  /** Runs the feature: its `alternateRun`, or start + check, raced against the Worker's run. */
  async run(): Promise<void> {
    if (this.feature.options.alternateRun !== undefined) return this.feature.options.alternateRun(this);
    return Promise.race([this.#run, this.#runWorkflow()]);
  }

  async #runWorkflow(): Promise<void> {
    const handle =
      this.feature.options.execute !== undefined
        ? await this.feature.options.execute(this)
        : await this.executeSingleParameterlessWorkflow();
    await this.checkWorkflowResults(handle);
  }

  /** The feature's result and history checks (default: wait for the result). */
  async checkWorkflowResults(handle: WorkflowHandle): Promise<void> {
    if (this.feature.options.checkResult !== undefined) await this.feature.options.checkResult(this, handle);
    else await this.waitForRunResult(handle);
    if (this.feature.options.checkHistory !== undefined) await this.feature.options.checkHistory(this, handle);
  }

  /** Stops the Worker and starts a new one with the same options. */
  async restartWorker(): Promise<void> {
    this.#worker = await Worker.create(this.workerOpts);
    this.#run = this.#worker.run();
    this.#run.catch(() => undefined);
  }

  executeSingleParameterlessWorkflow(): Promise<WorkflowHandle> {
    return this.executeParameterlessWorkflow(this.feature.options.workflow ?? 'workflow');
  }

  executeParameterlessWorkflow(workflow: Fn | string): Promise<WorkflowHandle> {
    return this.client.workflow.start(workflow, {
      taskQueue: this.options.taskQueue,
      workflowId: `${this.source.relDir}-${randomUUID()}`,
      workflowExecutionTimeout: 60_000,
      ...this.feature.options.workflowStartOptions,
    });
  }

  waitForRunResult(handle: WorkflowHandle): Promise<any> {
    return handle.result();
  }

  /** Stops the Worker. */
  async close(): Promise<void> {
    try {
      this.#worker.shutdown();
    } catch (err) {
      if (!(err instanceof IllegalStateError)) throw err;
    }
    await this.#run.catch(() => undefined);
    if (current === this) current = undefined;
  }

  /** The workflow's journal as history events (client/history.ts). */
  async getHistoryEvents(handle: WorkflowHandle): Promise<HistoryEvent[]> {
    return (await handle.fetchHistory()).events;
  }

  async getWorkflowResultPayload(handle: WorkflowHandle): Promise<Payload | undefined> {
    const e = (await this.getHistoryEvents(handle)).find((x) => x.workflowExecutionCompletedEventAttributes);
    return e?.workflowExecutionCompletedEventAttributes?.result.payloads[0];
  }

  async getWorkflowArgumentPayload(handle: WorkflowHandle): Promise<Payload | undefined> {
    const e = (await this.getHistoryEvents(handle)).find((x) => x.workflowExecutionStartedEventAttributes);
    return e?.workflowExecutionStartedEventAttributes?.input.payloads[0];
  }
}

/** Calls `fn` until it returns true, `retries` times, `duration` ms apart (the suite's `retry`). */
export async function retry(fn: () => Promise<boolean>, retries = 3, duration = 1000): Promise<boolean> {
  for (let i = 0; i < retries; i++) {
    if (await fn()) return true;
    await sleep(duration);
  }
  return false;
}

/** Polls `getEvents` until an event matches (the suite's `waitForEvent`). */
export async function waitForEvent(
  getEvents: () => Promise<HistoryEvent[]>,
  predicate: (event: HistoryEvent) => boolean,
  timeout = 30_000,
  pollInterval = 100,
): Promise<HistoryEvent> {
  const start = Date.now();
  while (Date.now() - start < timeout) {
    const found = (await getEvents()).find(predicate);
    if (found !== undefined) return found;
    await sleep(pollInterval);
  }
  throw new Error(`Event not found within ${timeout}ms`);
}
