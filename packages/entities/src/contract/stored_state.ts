// What a store answers for a key: its latest snapshot and version (`load`), and the same with its
// key in a listing (`listStates`, the state index's rows). Apart from store.ts so the state index
// contract can name them without importing the store contract, which names the index.

/** The stored state of one key: the latest snapshot and the version it is at. */
export interface StoredState {
  /** The state as the codec decoded it (undefined: never written, or event-sourced with no snapshot). */
  readonly state: unknown;
  /** How many writes (or events) the key has had; 0 for a key never written. */
  readonly version: number;
}

/** One key of `EntityStore.listStates`: its stored state, as `EntityStore.load` answers it. */
export interface KeyState extends StoredState {
  readonly key: string;
}
