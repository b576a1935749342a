// The dead letters of the SQLite store (contract/dead_letters.ts has the rules): the inbox's
// `attempts` column counts each message's failed attempts, and `entity_dead_letters` keeps the
// messages moved out of their inbox. SqliteStore migrates the file in `open` and delegates its
// DeadLetterStore methods here, each one synchronous transaction of its own (group-committed).

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

type SqlValue = string | number | bigint | null | Uint8Array;
interface Statement {
  run(...params: SqlValue[]): { changes: number | bigint };
  get(...params: SqlValue[]): Record<string, SqlValue> | undefined;
  all(...params: SqlValue[]): Record<string, SqlValue>[];
}
interface Database {
  exec(sql: string): void;
  prepare(sql: string): Statement;
}

/**
 * Adds the inbox's failure count and the dead-letter table when missing (a file an earlier version
 * wrote), inside `open`'s migration transaction.
 */
export function migrateDeadLetters(db: Database): void {
  const inbox = new Set(
    db
      .prepare('PRAGMA table_info(entity_inbox)')
      .all()
      .map((c) => String(c.name)),
  );
  if (!inbox.has('attempts')) db.exec('ALTER TABLE entity_inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0');
  db.exec(`CREATE TABLE IF NOT EXISTS entity_dead_letters (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, key TEXT NOT NULL, id TEXT NOT NULL,
  message TEXT NOT NULL, attempts INTEGER NOT NULL, error TEXT NOT NULL, accepted_at INTEGER NOT NULL,
  dead_at INTEGER NOT NULL, UNIQUE (kind, key, id))`);
}

/** What the SQLite store lends: its statements' compiler, its transaction and its codec. */
export interface SqliteDeadLetterHost {
  prepare(sql: string): Statement;
  tx<T>(fn: () => T): T;
  readonly values: Values;
}

const COLUMNS = 'kind, key, id, message, attempts, error, accepted_at, dead_at';

/** The dead-letter operations on one SQLite database (synchronous: SqliteStore wraps them in Promises). */
export class SqliteDeadLetters {
  readonly #h: SqliteDeadLetterHost;
  readonly #q: Record<string, Statement>;

  constructor(host: SqliteDeadLetterHost) {
    this.#h = host;
    const p = (sql: string): Statement => host.prepare(sql);
    this.#q = {
      token: p('SELECT token FROM entity_leases WHERE kind = ? AND key = ?'),
      count: p(
        'UPDATE entity_inbox SET attempts = attempts + 1 WHERE kind = ? AND key = ? AND id = ? ' +
          'RETURNING attempts, message, accepted_at',
      ),
      move: p(`INSERT INTO entity_dead_letters (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      inboxDel: p('DELETE FROM entity_inbox WHERE kind = ? AND key = ? AND id = ?'),
      has: p('SELECT 1 AS one FROM entity_dead_letters WHERE kind = ? AND key = ? AND id = ?'),
      all: p(`SELECT ${COLUMNS} FROM entity_dead_letters ORDER BY seq LIMIT ?`),
      ofKind: p(`SELECT ${COLUMNS} FROM entity_dead_letters WHERE kind = ? ORDER BY seq LIMIT ?`),
      take: p('DELETE FROM entity_dead_letters WHERE kind = ? AND key = ? AND id = ? RETURNING message'),
      inboxPut: p('INSERT OR IGNORE INTO entity_inbox (kind, key, id, message, accepted_at) VALUES (?, ?, ?, ?, ?)'),
      version: p('SELECT version FROM entity_state WHERE kind = ? AND key = ?'),
      processedPut: p('INSERT OR IGNORE INTO entity_processed (kind, key, id, version) VALUES (?, ?, ?, ?)'),
    };
  }

  /** Whether (kind, key) has `id` in its dead letters (inside the caller's transaction). */
  has(id: EntityId, messageId: string): boolean {
    return this.#q.has!.get(id.kind, id.key, messageId) !== undefined;
  }

  inboxFailed(f: InboxFailure): InboxFailureResult {
    const error = checkInboxFailure(f);
    const fence = f.lease ?? { kind: f.kind, key: f.key };
    return this.#h.tx(() => {
      const current = Number(this.#q.token!.get(fence.kind, fence.key)?.token ?? 0);
      if (current !== f.token) throw ErrStaleToken.with(`${f.kind}/${f.key}: token ${f.token}, current ${current}`);
      const row = this.#q.count!.get(f.kind, f.key, f.messageId);
      if (row === undefined) return { attempts: 0, deadLettered: false };
      const attempts = Number(row.attempts);
      if (attempts < f.maxAttempts) return { attempts, deadLettered: false };
      const m = [f.kind, f.key, f.messageId, String(row.message), attempts, error, Number(row.accepted_at)] as const;
      this.#q.move!.run(...m, Date.now());
      this.#q.inboxDel!.run(f.kind, f.key, f.messageId);
      return { attempts, deadLettered: true };
    });
  }

  deadLetters(q: DeadLetterQuery): DeadLetter[] {
    checkDeadLetterQuery(q);
    const rows = q.kind === undefined ? this.#q.all!.all(q.limit) : this.#q.ofKind!.all(q.kind, q.limit);
    return rows.map((r) => ({
      kind: String(r.kind),
      key: String(r.key),
      id: String(r.id),
      message: this.#h.values.decode(String(r.message)),
      attempts: Number(r.attempts),
      error: String(r.error),
      acceptedAt: Number(r.accepted_at),
      deadAt: Number(r.dead_at),
    }));
  }

  retryDeadLetter(id: EntityId, messageId: string): InboxEntry | undefined {
    checkDeadLetterId(id, messageId);
    return this.#h.tx(() => {
      const row = this.#q.take!.get(id.kind, id.key, messageId);
      if (row === undefined) return undefined;
      this.#q.inboxPut!.run(id.kind, id.key, messageId, String(row.message), Date.now());
      return { id: messageId, message: this.#h.values.decode(String(row.message)) };
    });
  }

  dropDeadLetter(id: EntityId, messageId: string): boolean {
    checkDeadLetterId(id, messageId);
    return this.#h.tx(() => {
      if (this.#q.take!.get(id.kind, id.key, messageId) === undefined) return false;
      // Processed as of the key's version now: a later send of the id is a duplicate.
      const version = Number(this.#q.version!.get(id.kind, id.key)?.version ?? 0);
      this.#q.processedPut!.run(id.kind, id.key, messageId, version);
      return true;
    });
  }
}
