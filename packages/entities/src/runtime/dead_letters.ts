// The operator's view of a runtime's dead letters (`entities.deadLetters`): the durable messages
// whose handler failed `inbox.maxAttempts` times, moved out of their key's inbox by the store
// (contract/dead_letters.ts). List them, move one back into its inbox (retry: the key's owner is
// handed it again, as redelivery does), or drop one (its id then counts as processed). Nothing here
// runs on an entity's path; each call is one store operation (plus, for a retry, one send).

import { ignorable, rejected } from 'ergo-ts';

import { ErrEntityIncorrect } from '../contract/errors.js';
import { answerOperation } from '../contract/operation_answer.js';
import {
  isDeadLetterStore,
  type DeadLetter,
  type DeadLetterStore,
  type InboxFailureResult,
  MAX_DEAD_LETTER_PAGE,
} from '../contract/dead_letters.js';
import type { EntityId, EntityStore } from '../contract/store.js';

/** What {@link DeadLetters.list} takes. */
export interface DeadLetterListOptions {
  /** Only this kind's (omit: every kind's). */
  readonly kind?: string;
  /** At most this many (1..10 000). Default 100. */
  readonly limit?: number;
}

/** What the operator view works with: the runtime's store, its `inbox.maxAttempts`, and its redelivery. */
export interface DeadLetterSettings {
  readonly store: EntityStore;
  readonly maxAttempts: number;
  /** Hands (kind, key) the message with `id` again (redelivery.ts): it is in the key's inbox. */
  redeliver(kind: string, key: string, id: string, message: unknown): void;
}

/** The dead letters of a runtime's store, for operators (`entities.deadLetters`). */
export class DeadLetters {
  readonly #s: DeadLetterSettings;

  /** @internal made by the runtime. */
  constructor(settings: DeadLetterSettings) {
    this.#s = settings;
  }

  /** The dead letters, the one moved first listed first. Rejects with ERR_ENTITY_INCORRECT on a store without them. */
  list(options: DeadLetterListOptions = {}): Promise<DeadLetter[]> {
    // Read inside #with: null options (or a getter that throws) reject with ERR_ENTITY_INCORRECT.
    return this.#with((s) => {
      if (typeof options !== 'object' || options === null)
        throw ErrEntityIncorrect.with(`deadLetters.list: options must be an object, got ${describe(options)}`);
      const { kind, limit } = options;
      return s.deadLetters({ ...(kind === undefined ? {} : { kind }), limit: limit ?? 100 });
    });
  }

  /**
   * Moves the dead letter `id` of `to` back to the end of its key's inbox (its count of failed
   * attempts at 0) and hands it to the key's owner again: resolves with true once it is back in
   * the inbox (handled then at least once, as any accepted message), false when there is no such
   * dead letter.
   */
  retry(to: EntityId, id: string): Promise<boolean> {
    return this.#with((s) => {
      const { kind, key } = addressOf(to, 'retry');
      return s.retryDeadLetter({ kind, key }, id).then((entry) => {
        if (entry === undefined) return false;
        this.#s.redeliver(kind, key, entry.id, entry.message);
        return true;
      });
    });
  }

  /**
   * Removes the dead letter `id` of `to` for good: its id counts as processed (a later send of it
   * is a duplicate). True, or false when there is no such dead letter.
   */
  drop(to: EntityId, id: string): Promise<boolean> {
    return this.#with((s) => s.dropDeadLetter(addressOf(to, 'drop'), id));
  }

  /** @internal the host's count of a failed attempt (undefined: the store keeps no dead letters). */
  failed(
    kind: string,
    key: string,
    fence: { readonly token: number; readonly lease?: EntityId | undefined },
    id: string,
    error: unknown,
  ): Promise<InboxFailureResult | undefined> {
    const s = this.#s.store;
    if (!isDeadLetterStore(s)) return Promise.resolve(undefined);
    return s.inboxFailed({
      kind,
      key,
      token: fence.token,
      ...(fence.lease === undefined ? {} : { lease: fence.lease }),
      messageId: id,
      error: describe(error),
      maxAttempts: this.#s.maxAttempts,
    });
  }

  /** Runs `fn` on the store as a Promise safe to leave un-awaited. */
  #with<T>(fn: (s: DeadLetterStore) => Promise<T>): Promise<T> {
    const s = this.#s.store;
    if (!isDeadLetterStore(s))
      return rejected(ErrEntityIncorrect.with(`the store ${s.name} keeps no dead letters`), undefined, 'deadLetters');
    try {
      return ignorable(fn(s), undefined, 'deadLetters');
    } catch (e) {
      // What reading the caller's arguments threw (a getter, a Proxy trap) gets the module's code.
      return rejected(coded(e), undefined, 'deadLetters');
    }
  }
}

/** A dead letter's address from `to` (ERR_ENTITY_INCORRECT when it is not an object). */
function addressOf(to: EntityId, what: string): EntityId {
  if (typeof to !== 'object' || to === null)
    throw ErrEntityIncorrect.with(`deadLetters.${what}: the address must be { kind, key }, got ${describe(to)}`);
  return { kind: to.kind, key: to.key };
}

/** `e` when it has a code, else ERR_ENTITY_INCORRECT saying what was thrown. */
function coded(e: unknown): Error {
  let code: unknown;
  try {
    code = (e as { code?: unknown } | null)?.code;
  } catch {
    code = undefined;
  }
  if (typeof code === 'string' && e instanceof Error) return e;
  return ErrEntityIncorrect.with(`deadLetters: an argument could not be read: ${describe(e)}`);
}

/** A thrown value as the text kept with a dead letter (any value, even one whose conversion throws). */
function describe(e: unknown): string {
  try {
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      return typeof code === 'string' ? `${code}: ${e.message}` : `${e.name}: ${e.message}`;
    }
    return String(e);
  } catch {
    return 'an unprintable value';
  }
}

/** The operations of {@link DeadLetterOperation}. */
export const DEAD_LETTER_OPERATIONS = ['list', 'retry', 'drop'] as const;

/**
 * An operator's request about dead letters, answered by a node's entities manager for tools that
 * do not import this package (the Observer, the MCP server): `{ '~entity': 'deadLetters', op }`
 * with `kind` and `limit` for `list`, `kind`, `key` and `id` for `retry` and `drop`. The answer is
 * JSON text, as for workflows: `{ ok: true, value }` or `{ ok: false, code, message }`.
 */
export interface DeadLetterOperation {
  readonly '~entity': 'deadLetters';
  readonly op: (typeof DEAD_LETTER_OPERATIONS)[number];
  readonly kind?: string;
  readonly key?: string;
  readonly id?: string;
  readonly limit?: number;
}

/** True when `v` is a dead-letter operation request (the fields are checked by {@link operateDeadLetters}). */
export function isDeadLetterOperation(v: unknown): v is DeadLetterOperation {
  return typeof v === 'object' && v !== null && (v as { '~entity'?: unknown })['~entity'] === 'deadLetters';
}

function field(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw ErrEntityIncorrect.with(`${what}: a non-empty string`);
  return v;
}

async function runDeadLetters(dl: DeadLetters, r: DeadLetterOperation): Promise<unknown> {
  switch (r.op) {
    case 'list': {
      const kind = r.kind === undefined || r.kind === null || r.kind === '' ? undefined : field(r.kind, 'kind');
      const limit = r.limit === undefined || r.limit === null ? undefined : r.limit;
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > MAX_DEAD_LETTER_PAGE))
        throw ErrEntityIncorrect.with(`limit: an integer 1..${MAX_DEAD_LETTER_PAGE}`);
      return dl.list({ ...(kind === undefined ? {} : { kind }), ...(limit === undefined ? {} : { limit }) });
    }
    case 'retry':
    case 'drop': {
      const to = { kind: field(r.kind, 'kind'), key: field(r.key, 'key') };
      const id = field(r.id, 'id');
      return r.op === 'retry' ? dl.retry(to, id) : dl.drop(to, id);
    }
    default:
      throw ErrEntityIncorrect.with(
        `unknown dead-letter operation ${JSON.stringify(r.op)}: one of ${DEAD_LETTER_OPERATIONS.join(', ')}`,
      );
  }
}

/** Runs `request` on `dl` and answers as {@link DeadLetterOperation} says (never rejects). */
export function operateDeadLetters(dl: DeadLetters, request: DeadLetterOperation): Promise<string> {
  return answerOperation(() => runDeadLetters(dl, request), 'ERR_ENTITY_OPERATION');
}
