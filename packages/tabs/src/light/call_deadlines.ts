// The deadlines of a light tab's calls, under one timer. A timer per call (set, then cleared by
// its answer) cost about 1 µs of the ~20 µs a round trip spends in the tab's process (a CPU
// profile of the bench's echo on one core: the timer list's insert and unenroll, its ref toggle,
// the clock); the full tab's node has one timer for all its calls for the same reason
// (ergo-ts' node/calls.ts). Calls of one timeout expire in the order they were made, so each
// timeout keeps its calls in a FIFO: an answered call leaves from the front as its answer comes
// (answers in order leave the FIFO empty), an answered call behind an unanswered one waits there
// until that one goes. The one timer stays armed at the earliest deadline it was set for; when it
// fires it fails what has passed and is set again for the first call still waiting.

/** The calls of one timeout (ms): ids and deadlines in the order made, from `head` on. */
interface Fifo {
  ids: number[];
  at: number[];
  head: number;
}

/** Above this many answered entries at a FIFO's front it is compacted (they are never read). */
const COMPACT_AT = 1024;

/** Deadlines of calls by id, under one timer (see the file's header). */
export interface CallDeadlines {
  /** Call `id` fails after `timeoutMs` unless answered first. */
  add(id: number, timeoutMs: number): void;
  /** A call of `timeoutMs` was answered (or failed): what no longer waits leaves the front. */
  answered(timeoutMs: number): void;
  /** No more deadlines (the session ended: its calls were failed); `add` starts again. */
  stop(): void;
}

/**
 * Deadlines for calls whose state the caller keeps: `waiting(id)` says whether call `id` still
 * waits for its answer; `expire(id)` fails it with its timeout (after which `waiting(id)` is
 * false). A closure rather than a class: the light tab's bundle is counted (its minified
 * private fields cost bytes).
 */
export function callDeadlines(waiting: (id: number) => boolean, expire: (id: number) => void): CallDeadlines {
  const fifos = new Map<number, Fifo>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The deadline the timer is set for (Infinity: none). */
  let timerAt = Infinity;

  const arm = (at: number): void => {
    clearTimeout(timer);
    timerAt = at;
    // +1: a timer may fire a fraction of a millisecond early against performance.now(). At most
    // 2^31 - 1 ms (a longer timer runs at once): one that fires before its deadline is set again.
    timer = setTimeout(fire, Math.min(2 ** 31 - 1, Math.max(0, Math.ceil(at - performance.now()) + 1)));
  };

  const fire = (): void => {
    timer = undefined;
    timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [timeoutMs, q] of fifos) {
      while (q.head < q.ids.length && q.at[q.head]! <= now) {
        const id = q.ids[q.head++]!;
        // Its failure reaches `answered`, which moves the front on over what no longer waits.
        if (waiting(id)) expire(id);
      }
      trim(q);
      if (q.head < q.ids.length) next = Math.min(next, q.at[q.head]!);
      else fifos.delete(timeoutMs);
    }
    if (next < Infinity) arm(next);
  };

  return {
    add(id, timeoutMs) {
      let q = fifos.get(timeoutMs);
      if (q === undefined) fifos.set(timeoutMs, (q = { ids: [], at: [], head: 0 }));
      const at = performance.now() + timeoutMs;
      q.ids.push(id);
      q.at.push(at);
      if (at < timerAt) arm(at);
    },
    answered(timeoutMs) {
      const q = fifos.get(timeoutMs);
      if (q === undefined) return;
      while (q.head < q.ids.length && !waiting(q.ids[q.head]!)) q.head++;
      trim(q);
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
      timerAt = Infinity;
      fifos.clear();
    },
  };
}

/** Drops a FIFO's answered front: all of it when nothing waits, else once it grows large. */
function trim(q: Fifo): void {
  if (q.head === q.ids.length) {
    q.ids.length = 0;
    q.at.length = 0;
    q.head = 0;
  } else if (q.head >= COMPACT_AT && q.head * 2 >= q.ids.length) {
    q.ids.splice(0, q.head);
    q.at.splice(0, q.head);
    q.head = 0;
  }
}
