// What a store keeps for poison messages: a durable message whose handler keeps failing. Each inbox
// message counts the failed attempts at handling it; at the runtime's `inbox.maxAttempts` the
// message leaves the inbox for the key's dead letters (so the key activates again and handles the
// messages after it), where an operator lists it, moves it back into the inbox (retry), or drops
// it. The three stores of this package implement it (MemoryStore, SqliteStore, PostgresStore).
//
// Rules every implementation keeps (the conformance suite checks them):
// - inboxFailed is fenced as a state write is: accepted only with the key's current token (or its
//   shard lease's), refused with ERR_ENTITY_STALE_TOKEN and nothing changed otherwise; a message no
//   longer in the inbox (handled, or moved already) changes nothing and answers attempts 0;
// - counting and moving are one transaction: a message is in the inbox or in the dead letters,
//   never in both, never in neither;
// - enqueue answers 'duplicate' for an id in the key's dead letters (a sender's retry does not
//   bring a poison message back);
// - retryDeadLetter moves the message back to the end of the inbox with its count at 0;
//   dropDeadLetter removes it and records its id as processed (a later send of it is a duplicate).

import { ErrEntityIncorrect } from './errors.js';
import { checkId, type EntityId } from './ids.js';
import type { InboxEntry } from './store.js';

/** The attempts at handling one inbox message before it moves to the dead letters, by default. */
export const DEFAULT_MAX_ATTEMPTS = 10;

/** The longest error text a store keeps with a failed attempt (longer ones are cut). */
export const MAX_DEAD_LETTER_ERROR = 2000;

/** The largest page of {@link DeadLetterStore.deadLetters}. */
export const MAX_DEAD_LETTER_PAGE = 10_000;

/** A failed attempt at handling an inbox message ({@link DeadLetterStore.inboxFailed}). */
export interface InboxFailure extends EntityId {
  /** The activation's fencing token. */
  readonly token: number;
  /** The lease `token` was taken on when it is not the key's own (`leaseScope: 'shard'`). */
  readonly lease?: EntityId;
  /** The message's id. */
  readonly messageId: string;
  /** What the handler threw, as text (cut at {@link MAX_DEAD_LETTER_ERROR} characters). */
  readonly error: string;
  /** At this many attempts (counting this one) the message moves to the dead letters. */
  readonly maxAttempts: number;
}

/** What {@link DeadLetterStore.inboxFailed} answers. */
export interface InboxFailureResult {
  /** The message's failed attempts so far, this one included (0: it is no longer in the inbox). */
  readonly attempts: number;
  /** True when this attempt moved it to the dead letters. */
  readonly deadLettered: boolean;
}

/** A message moved out of its key's inbox after {@link InboxFailure.maxAttempts} failed attempts. */
export interface DeadLetter extends EntityId {
  /** The message's id. */
  readonly id: string;
  /** The message as the codec decoded it. */
  readonly message: unknown;
  /** Its failed attempts. */
  readonly attempts: number;
  /** What the last attempt threw, as text. */
  readonly error: string;
  /** When it was accepted into the inbox, epoch ms (the store's clock; 0: unknown). */
  readonly acceptedAt: number;
  /** When it moved to the dead letters, epoch ms (the store's clock). */
  readonly deadAt: number;
}

/** Which dead letters {@link DeadLetterStore.deadLetters} lists. */
export interface DeadLetterQuery {
  /** Only this kind's (omit: every kind's). */
  readonly kind?: string;
  /** At most this many (1..{@link MAX_DEAD_LETTER_PAGE}). */
  readonly limit: number;
}

/** A store that keeps poison messages apart (see the top of this file). */
export interface DeadLetterStore {
  /** Counts a failed attempt at handling an inbox message; at `maxAttempts` moves it to the dead letters. */
  inboxFailed(failure: InboxFailure): Promise<InboxFailureResult>;
  /** The dead letters, the one moved first listed first. */
  deadLetters(query: DeadLetterQuery): Promise<DeadLetter[]>;
  /** Moves a dead letter back to the end of its key's inbox (count 0): the message moved, or undefined when there is none. */
  retryDeadLetter(id: EntityId, messageId: string): Promise<InboxEntry | undefined>;
  /** Removes a dead letter, its id recorded as processed: true, or false when there is none. */
  dropDeadLetter(id: EntityId, messageId: string): Promise<boolean>;
}

/** True when `store` keeps dead letters. */
export function isDeadLetterStore(store: object): store is DeadLetterStore {
  const s = store as Partial<DeadLetterStore>;
  return (
    typeof s.inboxFailed === 'function' &&
    typeof s.deadLetters === 'function' &&
    typeof s.retryDeadLetter === 'function' &&
    typeof s.dropDeadLetter === 'function'
  );
}

/** Checks an {@link InboxFailure} (ERR_ENTITY_INCORRECT) and answers its error text, cut to the longest kept. */
export function checkInboxFailure(f: InboxFailure): string {
  checkId(f);
  if (f.lease !== undefined) checkId(f.lease);
  if (!Number.isSafeInteger(f.token) || f.token < 1)
    throw ErrEntityIncorrect.with(`a fencing token must be a positive integer, got ${String(f.token)}`);
  checkMessageId(f.messageId);
  if (!Number.isInteger(f.maxAttempts) || f.maxAttempts < 1 || f.maxAttempts > 2 ** 31 - 1)
    throw ErrEntityIncorrect.with(`maxAttempts must be an integer in 1..2^31-1, got ${String(f.maxAttempts)}`);
  const error = typeof f.error === 'string' ? f.error : '';
  return error.length > MAX_DEAD_LETTER_ERROR ? error.slice(0, MAX_DEAD_LETTER_ERROR) : error;
}

/** Checks a {@link DeadLetterQuery} (ERR_ENTITY_INCORRECT). */
export function checkDeadLetterQuery(q: DeadLetterQuery): void {
  if (q === null || typeof q !== 'object') throw ErrEntityIncorrect.with('a dead-letter query must be an object');
  if (q.kind !== undefined && (typeof q.kind !== 'string' || q.kind === ''))
    throw ErrEntityIncorrect.with('a dead-letter query kind must be a non-empty string');
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_DEAD_LETTER_PAGE)
    throw ErrEntityIncorrect.with(
      `a dead-letter query limit must be an integer in 1..${MAX_DEAD_LETTER_PAGE}, got ${String(q.limit)}`,
    );
}

/** Checks a dead letter's address (ERR_ENTITY_INCORRECT). */
export function checkDeadLetterId(id: EntityId, messageId: string): void {
  if (id === null || typeof id !== 'object')
    throw ErrEntityIncorrect.with('a dead letter address must be { kind, key }');
  checkId(id);
  checkMessageId(messageId);
}

function checkMessageId(messageId: string): void {
  if (typeof messageId !== 'string' || messageId === '')
    throw ErrEntityIncorrect.with('a message id must be a non-empty string');
}
