// The dead letters of the in-memory store (contract/dead_letters.ts has the rules; MemoryStore
// delegates its DeadLetterStore methods here). The rows live in a MemoryStoreData beside the
// store's other maps, so stores reopened on the same data share them. Every operation runs
// synchronously inside its call, so each is atomic as the SQL stores' transactions are.

import { ErrStaleToken } from '../contract/errors.js';
import {
  checkDeadLetterId,
  checkDeadLetterQuery,
  checkInboxFailure,
  type DeadLetter,
  type DeadLetterQuery,
  type InboxFailure,
  type InboxFailureResult,
} from '../contract/dead_letters.js';
import type { EntityId, InboxEntry } from '../contract/store.js';
import type { Values } from './sql_store.js';

/** One dead letter as kept (its message encoded by the store's codec). */
interface DeadRow {
  readonly kind: string;
  readonly key: string;
  readonly id: string;
  readonly message: string;
  readonly attempts: number;
  readonly error: string;
  readonly acceptedAt: number;
  readonly deadAt: number;
}

/** The failure counts and dead letters of one in-memory "database" (a field of MemoryStoreData). */
export class MemoryDeadLetterData {
  /** `kind\0key\0id` → failed attempts of an inbox message. */
  readonly attempts = new Map<string, number>();
  /** `kind\0key\0id` → dead letter, in the order they were moved (a Map keeps insertion order). */
  readonly dead = new Map<string, DeadRow>();
}

/** What the dead letters read and change of one key's rows (a MemoryKeyRows of memory_store.ts). */
interface KeyRows {
  readonly state: { readonly version: number } | undefined;
  readonly inbox: Map<string, string>;
  readonly acceptedAt: Map<string, number>;
  readonly processed: Map<string, number>;
}

/** What the dead letters read of the store: its rows, clock, codec and leases. */
export interface MemoryDeadLetterHost {
  readonly data: MemoryDeadLetterData;
  readonly values: Values;
  now(): number;
  /** The current token of a lease (0: never taken). */
  token(lease: EntityId): number;
  /** The rows of a key, if any. */
  rows(id: EntityId): KeyRows | undefined;
  /** The rows of a key, made empty when none exist. */
  rowsFor(id: EntityId): KeyRows;
}

/** The address of one message in {@link MemoryDeadLetterData}'s maps. */
export function messageAddress(kind: string, key: string, id: string): string {
  return `${kind}\0${key}\0${id}`;
}

/** The DeadLetterStore operations of a MemoryStore (each synchronous: the store wraps them). */
export class MemoryDeadLetters {
  readonly #h: MemoryDeadLetterHost;

  constructor(host: MemoryDeadLetterHost) {
    this.#h = host;
  }

  /** Whether (kind, key) has `id` in its dead letters (its enqueue is then a duplicate). */
  has(id: EntityId, messageId: string): boolean {
    return this.#h.data.dead.has(messageAddress(id.kind, id.key, messageId));
  }

  /** A message processed (or moved): its count is no longer needed. */
  forget(id: EntityId, messageId: string): void {
    this.#h.data.attempts.delete(messageAddress(id.kind, id.key, messageId));
  }

  inboxFailed(f: InboxFailure): InboxFailureResult {
    const error = checkInboxFailure(f);
    const fence = f.lease ?? { kind: f.kind, key: f.key };
    const current = this.#h.token(fence);
    if (current !== f.token) throw ErrStaleToken.with(`${f.kind}/${f.key}: token ${f.token}, current ${current}`);
    const rows = this.#h.rows(f);
    const at = messageAddress(f.kind, f.key, f.messageId);
    const message = rows?.inbox.get(f.messageId);
    if (rows === undefined || message === undefined) {
      this.#h.data.attempts.delete(at);
      return { attempts: 0, deadLettered: false };
    }
    const attempts = (this.#h.data.attempts.get(at) ?? 0) + 1;
    if (attempts < f.maxAttempts) {
      this.#h.data.attempts.set(at, attempts);
      return { attempts, deadLettered: false };
    }
    this.#h.data.attempts.delete(at);
    this.#h.data.dead.set(at, {
      kind: f.kind,
      key: f.key,
      id: f.messageId,
      message,
      attempts,
      error,
      acceptedAt: rows.acceptedAt.get(f.messageId) ?? 0,
      deadAt: this.#h.now(),
    });
    rows.inbox.delete(f.messageId);
    rows.acceptedAt.delete(f.messageId);
    return { attempts, deadLettered: true };
  }

  deadLetters(q: DeadLetterQuery): DeadLetter[] {
    checkDeadLetterQuery(q);
    const out: DeadLetter[] = [];
    for (const r of this.#h.data.dead.values()) {
      if (out.length >= q.limit) break;
      if (q.kind !== undefined && r.kind !== q.kind) continue;
      out.push({ ...r, message: this.#h.values.decode(r.message) });
    }
    return out;
  }

  retryDeadLetter(id: EntityId, messageId: string): InboxEntry | undefined {
    checkDeadLetterId(id, messageId);
    const at = messageAddress(id.kind, id.key, messageId);
    const r = this.#h.data.dead.get(at);
    if (r === undefined) return undefined;
    this.#h.data.dead.delete(at);
    const rows = this.#h.rowsFor(id);
    rows.inbox.set(messageId, r.message);
    rows.acceptedAt.set(messageId, this.#h.now());
    return { id: messageId, message: this.#h.values.decode(r.message) };
  }

  dropDeadLetter(id: EntityId, messageId: string): boolean {
    checkDeadLetterId(id, messageId);
    const at = messageAddress(id.kind, id.key, messageId);
    if (!this.#h.data.dead.delete(at)) return false;
    // Processed as of the key's version now: a later send of the id is a duplicate.
    const rows = this.#h.rowsFor(id);
    rows.processed.set(messageId, rows.state?.version ?? 0);
    return true;
  }
}
