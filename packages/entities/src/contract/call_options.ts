// The options of a call, a send or a durable send to an entity: in the contract so the entities
// client interface (kinds/entity.ts) and the runtime both name them.

/** Options of {@link Entities.call} and the other sends. */
export interface EntityCallOptions {
  /** How long to wait for the reply (or acknowledgement), activation and re-routing included, in ms. Default 5000. */
  readonly timeout?: number;
}
