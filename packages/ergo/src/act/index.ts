// ergo-ts/act: behaviours to extend.
export { BehaviorBase } from './base.js';
export { Actor, ACTOR_BATCH, type HandlerResult } from './actor.js';
