// SQLite liveness claims (contract/liveness.ts): processes sharing a SQLite file share a host, so
// a claim is a lock file beside the database (`<file>-live/<hash of owner>.lock`), itself a tiny
// SQLite database its owner holds an exclusive transaction on. SQLite locks with POSIX advisory
// locks, which the kernel drops when the holding process ends (kill -9 included) and keeps while
// it is only stopped (SIGSTOP): a probe that can take the lock knows the owner is gone. A file that
// is absent is no evidence (the owner never claimed, or its file was cleaned up long after).
// For ':memory:' stores (one process) a claim lives until it is released.

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

import type { LivenessClaim } from '../contract/liveness.js';

/** Lock files of owners gone for this long are removed by a later claim, in ms. */
const STALE_CLAIM_MS = 3_600_000;

interface LockDb {
  exec(sql: string): void;
  close(): void;
}
type LockDbCtor = new (path: string) => LockDb;

function lockDb(): LockDbCtor {
  return (createRequire(import.meta.url)('node:sqlite') as { DatabaseSync: LockDbCtor }).DatabaseSync;
}

/** Liveness claims of the SQLite store at `path` (see the top of this file). */
export class SqliteLiveness {
  readonly #dir: string | undefined;
  /** ':memory:' stores: the owners whose claims are held. */
  readonly #held = new Set<string>();
  /** ':memory:' stores: every owner that claimed. */
  readonly #claimed = new Set<string>();

  constructor(path: string) {
    this.#dir = path === ':memory:' ? undefined : `${path}-live`;
  }

  #file(owner: string): string {
    return join(this.#dir!, `${createHash('sha256').update(owner).digest('hex').slice(0, 40)}.lock`);
  }

  /** Takes the claim: the lock file's exclusive lock, held until {@link LivenessClaim.release}. */
  claim(owner: string): LivenessClaim {
    const never = new Promise<void>(() => undefined);
    if (this.#dir === undefined) {
      this.#held.add(owner);
      this.#claimed.add(owner);
      return {
        lost: never,
        release: () => {
          this.#held.delete(owner);
          return Promise.resolve();
        },
      };
    }
    mkdirSync(this.#dir, { recursive: true });
    this.#sweep();
    const file = this.#file(owner);
    const Db = lockDb();
    const db = new Db(file);
    try {
      // Rollback-journal mode: BEGIN EXCLUSIVE takes the file's exclusive lock at once.
      db.exec(
        'PRAGMA busy_timeout = 0; PRAGMA journal_mode = DELETE; PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE',
      );
    } catch (e) {
      db.close();
      throw e;
    }
    let released = false;
    return {
      lost: never,
      release: () => {
        if (released) return Promise.resolve();
        released = true;
        try {
          db.exec('ROLLBACK');
        } catch {
          // Closing drops the lock anyway.
        }
        db.close();
        try {
          unlinkSync(file);
        } catch {
          // Removed already.
        }
        return Promise.resolve();
      },
    };
  }

  /** Whether `owner` claimed and its lock is free now. */
  released(owner: string): boolean {
    if (this.#dir === undefined) return this.#claimed.has(owner) && !this.#held.has(owner);
    const file = this.#file(owner);
    if (!existsSync(file)) return false;
    return this.#free(file);
  }

  /** Tries the lock of `file` (taken and given back at once): true when no one holds it. */
  #free(file: string): boolean {
    const Db = lockDb();
    let db: LockDb;
    try {
      db = new Db(file);
    } catch {
      return false;
    }
    try {
      db.exec('PRAGMA busy_timeout = 0; BEGIN EXCLUSIVE');
      db.exec('ROLLBACK');
      return true;
    } catch {
      return false; // locked (held by a live owner), or unreadable: no evidence either way
    } finally {
      db.close();
    }
  }

  /** Removes the lock files of owners gone for long (each only when its lock is free). */
  #sweep(): void {
    const dir = this.#dir!;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    const old = Date.now() - STALE_CLAIM_MS;
    for (const n of names) {
      if (!n.endsWith('.lock')) continue;
      const f = join(dir, n);
      try {
        if (statSync(f).mtimeMs < old && this.#free(f)) unlinkSync(f);
      } catch {
        // Gone meanwhile.
      }
    }
  }
}
