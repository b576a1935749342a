// Preact hooks over the API: the session (re-rendered when it changes), a subscription whose
// last frame is the component's state, and a route taken from the location hash.

import { useEffect, useRef, useState } from 'preact/hooks';

import { api, type Json } from './api';

/** Re-renders on every change of the stream's status or the node list; returns the session id. */
export function useSession(): string {
  const [, set] = useState(0);
  const session = api.session;
  const status = api.status;
  const connected = api.connected;
  useEffect(() => {
    const off = api.onStatus(() => set((n) => n + 1));
    // Effects run after the paint (in a background tab, after throttled timers: seconds later):
    // a `connected` frame may have come in between, with nobody listening yet.
    if (api.session !== session || api.status !== status || api.connected !== connected) set((n) => n + 1);
    return off;
  }, []);
  return api.session;
}

/** Seconds without a frame after which a periodic subscription reads as stale (inspectors publish each second). */
export const STALE_AFTER = 6;

/** Subscription types whose frames are pushed when something happens, not each second. */
const PUSHED = new Set(['log']);

/**
 * Node-wide views: their subject lasts as long as the node, so when their event ends (its
 * inspector stopped: an idle race, a crash, a restart of system_inspect) the page asks again.
 * The others (a process, a meta process, a connection) end with their subject.
 */
const RENEWED = new Set([
  'node_info',
  'network_info',
  'process_page',
  'process_list',
  'application_list',
  'event_list',
  'heap',
  'log',
  'entities_find',
]);

/** How long a failed, ended or silent subscription waits before it is asked again (ms). */
export const RESUBSCRIBE_MS = 2000;

/** What the tab knows of one subscription a mounted component holds. */
export interface HeldSubscription {
  type: string;
  args: string;
  /** False for the types whose frames come when something happens (no silence is shown for them). */
  periodic: boolean;
  /** The subscribe was answered (accepted or refused). */
  answered: boolean;
  error: string | null;
  /** When its last few accepted frames came (Date.now(), oldest first). */
  frames: number[];
  /** Its last frame said the subject ended (a process, a meta process, a connection). */
  ended: boolean;
}

/**
 * Every subscription the mounted components hold now, as `observerSubscriptions` on the page's
 * global object: the browser tests wait on these frames (a page whose every subscription has
 * fresh ones is settled) instead of waiting a fixed period past {@link STALE_AFTER}.
 */
const held = new Set<HeldSubscription>();
(globalThis as { observerSubscriptions?: Set<HeldSubscription> }).observerSubscriptions = held;

/**
 * Subscribes to `type` with `args` while the component is mounted (again after a reconnect or a
 * node switch); `accept` picks this subscription's frames out of a shared type (process_info
 * frames of several processes...). Returns the last frame and what is wrong, if anything: the
 * subscribe error (it names the node and the request), or — for a periodic type whose frames
 * stopped — how long the node has been silent (a stopped, overloaded or unreachable node).
 * The answer of a subscribe made for an earlier node or args is ignored.
 */
export function useSubscription(
  type: string,
  args: Json,
  accept: (data: Json) => boolean = () => true,
  enabled = true,
): [Json | null, string | null] {
  const session = useSession();
  const node = api.connected?.node.name ?? '';
  const epoch = api.epoch;
  const [data, setData] = useState<Json | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [since, setSince] = useState(0);
  const [now, setNow] = useState(0);
  const key = JSON.stringify(args);
  // A retry asks again for the same subscription: it keeps the last frame, error and silence.
  const [attempt, setAttempt] = useState(0);
  const asked = useRef({ what: '', at: 0, frameAt: 0 });
  useEffect(() => {
    if (session === '' || !enabled) return undefined;
    let live = true;
    const what = `${session} ${node} ${epoch} ${type} ${key}`;
    const mine = asked.current;
    mine.at = Date.now();
    if (mine.what !== what) {
      mine.what = what;
      mine.frameAt = mine.at;
      setData(null);
      setError(null);
      setSince(mine.at);
    }
    let retry: ReturnType<typeof setTimeout> | undefined;
    const again = (): void => {
      if (live && retry === undefined) retry = setTimeout(() => live && setAttempt((n) => n + 1), RESUBSCRIBE_MS);
    };
    const mark: HeldSubscription = {
      type,
      args: key,
      periodic: !PUSHED.has(type),
      answered: false,
      error: null,
      frames: [],
      ended: false,
    };
    held.add(mark);
    const off = api.on(type, (d) => {
      if (!accept(d)) return;
      // The event of a node-wide view ended while the node runs: subscribe again.
      if (d.terminated === true && RENEWED.has(type)) return again();
      mine.frameAt = Date.now();
      mark.frames = [...mark.frames.slice(-3), mine.frameAt];
      mark.ended = d.terminated === true;
      setData(d);
      setSince(mine.frameAt);
    });
    // Shared with any other component of the tab holding the same type + args (see api.hold).
    const { subscribed, release } = api.hold(type, args);
    subscribed.then(
      () => {
        mark.answered = true;
        if (live) setError(null);
      },
      (e: Error) => {
        mark.answered = true;
        mark.error = e.message;
        if (!live) return;
        setError(e.message);
        // A refusal that may pass (a slow or restarting node): ask again while mounted.
        if (RENEWED.has(type)) again();
      },
    );
    // Each second while mounted: a silence of STALE_AFTER seconds or more re-renders (it shows,
    // and its count of seconds grows); a long one asks again (at most once per such silence: a
    // slow node is not asked more often than it could answer). While frames come, the frames
    // re-render the component and the clock does not: a page whose data is unchanged stays still.
    const long = 2 * STALE_AFTER * 1000;
    const timer = PUSHED.has(type)
      ? undefined
      : setInterval(() => {
          const t = Date.now();
          if (t - mine.frameAt >= STALE_AFTER * 1000) setNow(t);
          if (RENEWED.has(type) && t - mine.frameAt >= long && t - mine.at >= long) again();
        }, 1000);
    return () => {
      live = false;
      held.delete(mark);
      off();
      clearInterval(timer);
      clearTimeout(retry);
      release();
    };
  }, [session, node, epoch, type, key, enabled, attempt]);
  if (error !== null || !enabled || PUSHED.has(type) || since === 0) return [data, error];
  const silent = Math.floor((Math.max(now, Date.now()) - since) / 1000);
  if (silent < STALE_AFTER) return [data, null];
  const why =
    "the node is stopped, overloaded or unreachable, or what it sends does not decode here (see the log of the Observer's node)";
  return [
    data,
    data === null
      ? `no ${type} data from ${node} after ${silent} s: ${why}`
      : `no ${type} update from ${node} for ${silent} s: ${why} (showing its last data)`,
  ];
}

/**
 * The observed node's framework (`ergo-ts 0.1.0`, `Ergo Framework 3.2.0`), or null until known
 * (it subscribes to node_info meanwhile). An ergo-ts node answers the inspector protocol's
 * ergo-ts additions (event list, heap, process pages); a Go Ergo 3.2 node never answers them.
 */
export function useFramework(): string | null {
  const known = api.framework;
  const [data] = useSubscription('node_info', {}, () => true, known === null);
  const f = data?.info?.framework;
  return known ?? (f ? `${f.name ?? ''} ${f.release ?? ''}`.trim() : null);
}

/** Whether a framework name is ergo-ts's. */
export const isErgoTS = (framework: string | null): boolean => /ergo-ts/i.test(framework ?? '');

/** Every frame of `type` goes to `fn` while mounted (the log, the runtime samples). */
export function useFrames(type: string, fn: (data: Json) => void): void {
  useEffect(() => api.on(type, fn), [type, fn]);
}

/** The hash route: `#/process/<pid>` → ['process', '<pid>']. */
export function useRoute(): string[] {
  const read = (): string[] => {
    const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    return parts[0] === '' ? ['info'] : parts;
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = (): void => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** Goes to a route (`go('process', pid)`). */
export function go(...parts: string[]): void {
  location.hash = '#/' + parts.map(encodeURIComponent).join('/');
}

/** Samples a chart keeps: ten minutes of one a second (the node's history comes prefilled). */
export const SERIES_SIZE = 600;

/** A ring of rows (time + values) that a chart draws, oldest first. */
export class Series {
  readonly t: number[] = [];
  readonly v: number[][];
  /** Bumped by every change of the rows: a chart draws again only when it moved. */
  version = 0;
  constructor(
    readonly names: string[],
    readonly size = SERIES_SIZE,
  ) {
    this.v = names.map(() => []);
  }
  /**
   * Puts earlier rows (the node's history, oldest first) before the rows it has: those not older
   * than its first row are left out, and the oldest go when it is full.
   */
  prepend(rows: [number, number[]][]): void {
    const first = this.t[0] ?? Infinity;
    const older = rows.filter(([t]) => t < first).slice(-this.size);
    this.t.unshift(...older.map(([t]) => t));
    this.v.forEach((a, i) => a.unshift(...older.map(([, values]) => values[i] ?? 0)));
    const extra = this.t.length - this.size;
    if (extra > 0) {
      this.t.splice(0, extra);
      for (const a of this.v) a.splice(0, extra);
    }
    if (older.length > 0) this.version++;
  }
  push(t: number, values: number[]): void {
    this.t.push(t);
    values.forEach((x, i) => this.v[i]!.push(x));
    if (this.t.length > this.size) {
      this.t.shift();
      for (const a of this.v) a.shift();
    }
    this.version++;
  }
}

/** The node page's charts (see pages/info.tsx). */
export interface NodeCharts {
  procs: Series;
  mem: Series;
  cpu: Series;
  loop: Series;
  delay: Series;
}

/**
 * Prefills the node page's charts with the node's history (the figures the Observer kept since it
 * started, for the node it runs on), then calls `filled`. Each `history` frame brings what this
 * page was not sent yet (the whole history the first time); the charts are drawn from every
 * sample the tab kept (`api.nodeHistory`).
 */
export function useNodeHistory(charts: NodeCharts, filled: () => void): void {
  useEffect(
    () =>
      api.on('history', () => {
        const samples = api.nodeHistory;
        const rows = (f: (s: Json) => number[]): [number, number[]][] => samples.map(({ t, s }) => [t, f(s)]);
        charts.procs.prepend(rows((s) => [s.processesTotal, s.processesRunning]));
        charts.mem.prepend(rows((s) => [s.memoryUsed, s.memoryAlloc]));
        charts.cpu.prepend(rows((s) => [s.cpuUser, s.cpuSystem]));
        charts.loop.prepend(rows((s) => [s.elu * 100]));
        charts.delay.prepend(rows((s) => [s.delayMean, s.delayMax]));
        filled();
      }),
    [charts, filled],
  );
}

/**
 * Prefills a connection page's charts (messages and bytes per second) with the traffic the node
 * kept of connection `node`, then calls `filled`. Each `connection_history` frame brings what
 * this tab was not sent yet; the charts are drawn from every sample the tab kept
 * (`api.connectionHistory`).
 */
export function useConnectionHistory(node: string, charts: { msgs: Series; bytes: Series }, filled: () => void): void {
  useEffect(
    () =>
      api.on('connection_history', (h: Json) => {
        if (h.node !== node) return;
        const samples = api.connectionHistory.get(node) ?? [];
        charts.msgs.prepend(samples.map(({ t, s }) => [t, [s.messagesIn, s.messagesOut]]));
        charts.bytes.prepend(samples.map(({ t, s }) => [t, [s.bytesIn, s.bytesOut]]));
        filled();
      }),
    [node, charts, filled],
  );
}

/**
 * Asks `do/<action>` with `args` once a second while mounted and `enabled` (and at once when
 * `args` or `again` change): its last answer, or the last refusal's text (null once an answer
 * came). `onAnswer` sees each answer as it comes (a chart samples there). The pages that read
 * what a node answers only when asked (workflows, dead letters) use it.
 */
export function usePolled(
  action: string,
  args: Json,
  enabled = true,
  again = 0,
  onAnswer?: (data: Json) => void,
): [Json, string | null] {
  const [data, setData] = useState<Json>(null);
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify(args);
  const seen = useRef(onAnswer);
  seen.current = onAnswer;
  useEffect(() => {
    if (!enabled) return undefined;
    let live = true;
    const ask = (): void => {
      api.do(action, args).then(
        (d: Json) => {
          if (!live) return;
          seen.current?.(d);
          setData(d);
          setError(null);
        },
        (e: Error) => live && setError(e.message),
      );
    };
    ask();
    const timer = setInterval(ask, 1000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [action, key, enabled, again]);
  return [data, error];
}
