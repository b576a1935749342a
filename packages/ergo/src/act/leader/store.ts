// Stable storage for a leader actor's vote: Raft's safety needs a node to remember, across a
// restart, the highest term it knew and whom it voted for in it. Ergo keeps both in memory only;
// a LeaderStore is the opt-in that closes that gap (see docs/leader.md, "Restarts").

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { defineError, ErrIncorrect } from '../../gen/errors.js';

/**
 * The file of a {@link fileLeaderStore} could not be read or written (permissions, a directory
 * in the way, a full disk...): `cause` is the file system's error, the message names the file
 * and its `code` (EACCES, ENOTDIR, ENOSPC...). Thrown by `load` (the member's init fails) and by
 * `save` (the member stops with it as its reason: it does not vote on a state it could not keep).
 */
export const ErrLeaderStore = defineError('ERR_LEADER_STORE', 'leader state store failed');

/** The file system's `err` as ErrLeaderStore: what was done to which file, and the OS's words. */
function storeError(what: string, path: string, err: unknown): Error {
  // Node's message starts with the OS code ("EACCES: permission denied, open '…'").
  return ErrLeaderStore.with(`${what} ${path}: ${err instanceof Error ? err.message : String(err)}`, err);
}

/** What a leader actor must not forget: its term and the member it voted for in that term. */
export interface LeaderState {
  /** The highest term this member knew. */
  term: number;
  /** Member key voted for in `term` ('' = no vote yet). */
  votedFor: string;
}

/**
 * Where a leader actor keeps its {@link LeaderState}. `load` runs once in init; `save` runs,
 * synchronously, before the actor sends anything that depends on the new state (a vote, a vote
 * request), so a crash right after a send cannot lose the state that send promised. A `save`
 * that throws terminates the actor (it must not vote on a state it could not keep).
 */
export interface LeaderStore {
  /** The state saved last, or undefined when there is none (a first start). May throw: init fails. */
  load(): LeaderState | undefined;
  /** Keeps `state` durably before returning. May throw: the actor stops. */
  save(state: LeaderState): void;
}

/**
 * A {@link LeaderStore} in one JSON file: written to `<path>.tmp`, fsync'ed, then renamed over
 * `path` (atomic on POSIX file systems) and the directory fsync'ed, so a crash leaves the old or
 * the new state, never half; a `.tmp` left by a crash is ignored and overwritten. The directory
 * is created on the first save. A missing file (or directory) loads as no state; a file that is
 * not a `{term, votedFor}` JSON throws ErrIncorrect at load, one that cannot be read throws
 * {@link ErrLeaderStore} (the actor's init fails rather than vote with a forgotten state); a
 * save that fails throws ErrLeaderStore (the actor stops). ErrIncorrect for an empty `path`.
 */
export function fileLeaderStore(path: string): LeaderStore {
  if (typeof path !== 'string' || path === '') throw ErrIncorrect.with('fileLeaderStore needs a file path');
  return {
    load(): LeaderState | undefined {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw storeError('reading', path, e);
      }
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch {
        throw ErrIncorrect.with(`leader state file ${path} is not JSON`);
      }
      const s = v as Partial<LeaderState> | null;
      if (
        s === null ||
        typeof s !== 'object' ||
        !Number.isSafeInteger(s.term) ||
        (s.term as number) < 0 ||
        typeof s.votedFor !== 'string'
      )
        throw ErrIncorrect.with(`leader state file ${path} holds no {term, votedFor}`);
      return { term: s.term as number, votedFor: s.votedFor };
    },
    save(state: LeaderState): void {
      const dir = dirname(path);
      const tmp = `${path}.tmp`;
      try {
        mkdirSync(dir, { recursive: true });
        const fd = openSync(tmp, 'w');
        try {
          writeSync(fd, JSON.stringify({ term: state.term, votedFor: state.votedFor }));
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, path);
      } catch (e) {
        throw storeError('writing', path, e);
      }
      syncDir(dir);
    },
  };
}

/** Makes a rename in `dir` durable; best effort (some file systems cannot open a directory). */
function syncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // not supported here: the rename is still atomic, only its durability is the OS's
  } finally {
    closeSync(fd);
  }
}

/** A {@link LeaderStore} in memory (tests; or a node that must not touch the disk). */
export function memoryLeaderStore(initial?: LeaderState): LeaderStore & { state: LeaderState | undefined } {
  const store = {
    state: initial === undefined ? undefined : { ...initial },
    load: (): LeaderState | undefined => (store.state === undefined ? undefined : { ...store.state }),
    save: (s: LeaderState): void => {
      store.state = { ...s };
    },
  };
  return store;
}
