// "Arm every client process, then wait until each says it has the publish": the step every
// broadcast row of the tabs suites takes (suites/tabs.ts, tabs_load.ts, tabs_cluster.ts and the
// floor beside it, tabs_floor.ts). A client process is told the publish's sequence number first
// (`arm`, answered `armed`), so it counts its tabs' copies of that publish only, and tells the
// bench unasked (`got`) once all of them have it.

/**
 * A client process as the helper needs it: asks over its IPC, and takes unasked replies (`R`: the
 * replies it sends, a `got` among them).
 */
export interface Armable<R extends { op: string }> {
  /** Sends `{ op: 'arm', seq }` and resolves at its `armed` answer. */
  ask(req: { op: 'arm'; seq: number }, op: 'armed'): Promise<unknown>;
  /** The handler of the replies it sends unasked (a `got` among them). */
  onReply: ((r: R) => void) | null;
}

/** What {@link armAll} gives once every client is armed. */
export interface Armed {
  /** Resolves when the last client process said `got` for the publish. */
  readonly heard: Promise<void>;
}

/**
 * Arms every one of `clients` for publish `seq`; resolves once all are armed (publish then) with
 * the promise of the moment the last of them said `got` for it (wrapped: an async function
 * returning a bare promise would wait for it). Each client's `onReply` is replaced.
 */
export async function armAll<R extends { op: string }>(clients: readonly Armable<R>[], seq: number): Promise<Armed> {
  await Promise.all(clients.map((c) => c.ask({ op: 'arm', seq }, 'armed')));
  let left = clients.length;
  const heard = new Promise<void>((resolve) => {
    if (left === 0) return resolve();
    for (const c of clients)
      c.onReply = (r) => {
        if (r.op === 'got' && (r as { seq?: number }).seq === seq && --left === 0) resolve();
      };
  });
  return { heard };
}
