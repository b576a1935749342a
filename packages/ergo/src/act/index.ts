// ergo-ts/act: behaviours to extend.
export { BehaviorBase } from './base.js';
export { Actor, ACTOR_BATCH, type HandlerResult } from './actor.js';
export { Supervisor } from './supervisor.js';
export * from './supervisor_types.js';
export { Pool, ErrPoolEmpty, DEFAULT_POOL_SIZE, poolOptions, type PoolOptions } from './pool.js';
export { WebWorker, WEB_WORKER_BATCH, type WebMethodHandler } from './web_worker.js';
