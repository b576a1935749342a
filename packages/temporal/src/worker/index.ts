// `@ergo-ts/temporal/worker`: the shapes of `@temporalio/worker`.

export { Worker, type State, type WorkerOptions } from './worker.js';
export { NativeConnection, type ConnectionOptions as NativeConnectionOptions } from '../client/connection.js';
export { IllegalStateError } from '../common/failures.js';
