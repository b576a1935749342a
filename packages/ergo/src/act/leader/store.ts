// Stable storage for a leader actor's vote: Raft's safety needs a node to remember, across a
// restart, the highest term it knew and whom it voted for in it. Ergo keeps both in memory only;
// a LeaderStore is the opt-in that closes that gap (see docs/leader.md, "Restarts").

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrIncorrect } from '../../gen/errors.js';

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
 * `path` (atomic on POSIX file systems), so a crash leaves the old or the new state, never half.
 * A missing file loads as no state; an unreadable one throws ErrIncorrect at load (the actor's
 * init fails rather than vote with a forgotten state).
 */
export function fileLeaderStore(path: string): LeaderStore {
  return {
    load(): LeaderState | undefined {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
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
      mkdirSync(dirname(path), { recursive: true });
      const tmp = `${path}.tmp`;
      const fd = openSync(tmp, 'w');
      try {
        writeSync(fd, JSON.stringify({ term: state.term, votedFor: state.votedFor }));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    },
  };
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
