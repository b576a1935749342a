// The options of a call, a send or a durable send to an entity: in the contract so the entities
// client interface (kinds/entity.ts) and the runtime both name them.

/**
 * How long a call to an entity or a workflow waits when it names no timeout, ms: the runtime's
 * `callTimeoutMs` default, and what a workflow client's request riding through a store outage
 * keeps asking within. One value, so the two cannot drift apart.
 */
export const DEFAULT_CALL_TIMEOUT_MS = 5000;

/** Options of {@link Entities.call} and the other sends. */
export interface EntityCallOptions {
  /** How long to wait for the reply (or acknowledgement), activation and re-routing included, in ms. Default 5000. */
  readonly timeout?: number;
  /**
   * This call brings new work (a workflow start does): when the key is not active on its owner and
   * the owner is overloaded (a feature of its runtime says so: the workflow layer when its step
   * attempts wait in line), it is refused at once with ERR_ENTITY_OVERLOADED and a `retryAfterMs`,
   * before anything is activated or written, instead of adding to the overload. Default false.
   */
  readonly shed?: boolean;
}
