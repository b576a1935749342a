// Temporal's `Client`: `client.workflow` and `client.schedule` on one connection, and
// `withDeadline` (a deadline for the calls made inside it, as Temporal's gRPC deadline).

import { AsyncLocalStorage } from 'node:async_hooks';

import { loadDataConverter, type DataConverter, type LoadedDataConverter } from '../common/data_converter.js';
import { ErrTemporalIncorrect } from '../common/errors.js';
import type { Connection } from './connection.js';
import { ScheduleClient } from './schedule_client.js';
import { WorkflowClient } from './workflow_client.js';
import { WorkflowService } from './workflow_service.js';

/** What `new Client(...)` takes (Temporal's `ClientOptions`; `interceptors` are not used). */
export interface ClientOptions {
  connection: Connection;
  namespace?: string;
  /** How workflow arguments, results and failures are kept as payloads: give the Worker the same. */
  dataConverter?: DataConverter;
  identity?: string;
  interceptors?: unknown;
}

const deadlines = new AsyncLocalStorage<number>();

/** Temporal's `Client`. */
export class Client {
  /** Starting, signalling, querying, updating and ending workflows. */
  readonly workflow: WorkflowClient;
  /** Schedules. */
  readonly schedule: ScheduleClient;
  readonly connection: Connection;
  /** The raw calls of Temporal's `WorkflowService` answered here (`listWorkflowExecutions`). */
  readonly workflowService: WorkflowService;

  constructor(readonly options: ClientOptions) {
    if (options === null || typeof options !== 'object' || options.connection === undefined)
      throw ErrTemporalIncorrect.with('new Client: options.connection is required (Connection.connect)');
    this.connection = options.connection;
    const deadline = (): number | undefined => deadlines.getStore();
    // Loaded on the first call that needs it (its modules are imported): a bad one rejects that call.
    let loaded: Promise<LoadedDataConverter> | undefined;
    const converter = (): Promise<LoadedDataConverter> => (loaded ??= loadDataConverter(options.dataConverter));
    this.workflow = new WorkflowClient(options.connection, deadline, converter);
    this.schedule = new ScheduleClient({ connection: options.connection });
    this.workflowService = new WorkflowService(this.workflow);
  }

  /** Runs `fn` with `deadline` on every call it makes: past it a call rejects with a ServiceError (DEADLINE_EXCEEDED). */
  withDeadline<R>(deadline: number | Date, fn: () => Promise<R>): Promise<R> {
    const ms = deadline instanceof Date ? deadline.getTime() : deadline;
    return deadlines.run(ms, fn);
  }
}
