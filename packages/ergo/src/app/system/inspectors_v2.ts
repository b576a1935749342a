// Inspectors of the newer-core queries the v0.2 Observer uses, as they fit Node.js: a filtered
// process range (Go's), a sorted and paged process view (ergo-ts), the connection list, and a
// heap view built from V8's heap statistics instead of Go's pprof.

import type { PerformanceObserver } from 'node:perf_hooks';
import { nodePerfHooks, nodeV8 } from '../../lib/builtin.js';
import type { Event } from '../../gen/event.js';
import * as I from '../../gen/inspect.js';
import * as V from '../../gen/inspect_v2.js';
import { processStateString, type ProcessState } from '../../gen/priority.js';
import type { ProcessShortInfo } from '../../gen/process.js';
import { wireRemoteNodeInfo } from './convert.js';
import { Inspector } from './inspector.js';

/** Most rows a range, page or connection list returns. */
export const INSPECT_MAX_ROWS = 10_000;

/** The filters of a range or page query, normalised once. */
export interface ProcessFilter {
  name: string;
  behavior: string;
  application: string;
  state: string;
  minMailbox: number;
}

/** A filter from request fields (names compared case-insensitively as substrings). */
export function processFilter(r: {
  name: string;
  behavior: string;
  application: string;
  state: string;
  minMailbox: number | bigint;
}): ProcessFilter {
  return {
    name: String(r.name ?? '').toLowerCase(),
    behavior: String(r.behavior ?? '').toLowerCase(),
    application: String(r.application ?? '').toLowerCase(),
    state: String(r.state ?? '').toLowerCase(),
    minMailbox: Number(r.minMailbox ?? 0),
  };
}

/** Deterministic key of a filter (FNV-1a, as Go names its range inspectors). */
export function filterKey(parts: readonly unknown[]): string {
  const s = parts.map((p) => String(p)).join('|');
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i) & 0xff;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h.toString(16);
}

function matches(f: ProcessFilter, p: ProcessShortInfo): boolean {
  if (f.minMailbox > 0 && p.messagesMailbox < f.minMailbox) return false;
  if (f.name !== '' && !p.name.toLowerCase().includes(f.name)) return false;
  if (f.behavior !== '' && !p.behavior.toLowerCase().includes(f.behavior)) return false;
  if (f.application !== '' && !p.application.toLowerCase().includes(f.application)) return false;
  if (f.state !== '' && processStateString(p.state as ProcessState) !== f.state) return false;
  return true;
}

/** Publishes Go's process range: the first `limit` matching processes, by PID. */
export class ProcessRangeInspector extends Inspector {
  private filter!: ProcessFilter;
  private limit = 0;
  private key = '';
  protected override setup(filter: unknown, limit: unknown, key: unknown): void {
    this.filter = filter as ProcessFilter;
    this.limit = limit as number;
    this.key = key as string;
  }
  protected eventName(): string {
    return `inspect_process_range_${this.key}`;
  }
  protected response(event: Event): unknown {
    return new V.ResponseInspectProcessRange({ event });
  }
  protected snapshot(): unknown {
    const out: ProcessShortInfo[] = [];
    const f = this.filter;
    const limit = this.limit;
    // The table is walked in PID order (IdTable merges its loose survivors in): no sort needed.
    this.node.processRangeShortInfo((p) => {
      if (!matches(f, p)) return true;
      out.push(p);
      return out.length < limit;
    });
    return new I.MessageInspectProcessList({ node: this.node.name, processes: out.length > 0 ? out : null });
  }
}

type Key = (p: ProcessShortInfo) => number;
const SORT_KEYS: Record<string, Key> = {
  // A handler still running counts with the time it has taken so far.
  running: (p) => (p.handlerStartedAt ? p.runningTime + (Date.now() - p.handlerStartedAt) * 1e6 : p.runningTime),
  // The handler time measured on the thread only: a handler awaiting for minutes adds nothing.
  cpu: (p) => p.runningTime,
  messages: (p) => p.messagesIn + p.messagesOut,
  mailbox: (p) => p.messagesMailbox,
  uptime: (p) => p.uptime,
};

/** True if `a` comes before `b` in a descending-by-key page (ties: lower PID first). */
function before(key: Key, a: ProcessShortInfo, b: ProcessShortInfo): boolean {
  const ka = key(a);
  const kb = key(b);
  return ka !== kb ? ka > kb : a.pid.id < b.pid.id;
}

/**
 * The best `k` rows of a scan by `key`, without sorting the whole table: a bounded binary heap
 * whose root is the worst row kept (O(n log k)).
 */
export class TopK {
  private readonly heap: ProcessShortInfo[] = [];
  constructor(
    private readonly k: number,
    private readonly key: Key,
  ) {}

  offer(p: ProcessShortInfo): void {
    const h = this.heap;
    if (h.length < this.k) {
      h.push(p);
      this.up(h.length - 1);
    } else if (this.k > 0 && before(this.key, p, h[0]!)) {
      h[0] = p;
      this.down(0);
    }
  }

  /** The rows kept, best first. */
  sorted(): ProcessShortInfo[] {
    return this.heap.slice().sort((a, b) => (before(this.key, a, b) ? -1 : 1));
  }

  // A min-heap by page order: the root is the row that would be dropped first.
  private worse(i: number, j: number): boolean {
    return before(this.key, this.heap[j]!, this.heap[i]!);
  }
  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.worse(i, parent)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }
  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.worse(l, m)) m = l;
      if (r < h.length && this.worse(r, m)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

/** Publishes one sorted page of the matching processes (ergo-ts extension). */
export class ProcessPageInspector extends Inspector {
  private filter!: ProcessFilter;
  private sort = 'pid';
  private offset = 0;
  private limit = 100;
  private key = '';
  /** The PID cursor (`pid` order): rows start after this process id; 0 for none. */
  private cursor = 0;
  protected override setup(
    filter: unknown,
    sort: unknown,
    offset: unknown,
    limit: unknown,
    key: unknown,
    after: unknown,
  ): void {
    this.filter = filter as ProcessFilter;
    this.sort = sort as string;
    this.offset = offset as number;
    this.limit = limit as number;
    this.key = key as string;
    this.cursor = typeof after === 'number' ? after : 0;
  }
  protected eventName(): string {
    return `inspect_process_page_${this.key}`;
  }
  protected response(event: Event): unknown {
    return new V.ResponseInspectProcessPage({ event });
  }
  protected snapshot(): unknown {
    const f = this.filter;
    const from = this.offset;
    const to = from + this.limit;
    let total = 0;
    let page: ProcessShortInfo[];
    const key = SORT_KEYS[this.sort];
    let before = from;
    if (key === undefined && this.cursor > 0) {
      // After the cursor: the page is the next `limit` matches past it, whatever came or went.
      const after = this.cursor;
      page = [];
      before = 0;
      this.node.processRangeShortInfo((p) => {
        if (!matches(f, p)) return true;
        total++;
        if (p.pid.id <= after) before++;
        else if (page.length < this.limit) page.push(p);
        return true;
      });
    } else if (key === undefined) {
      // PID order is the table's walk order (IdTable): keep the rows of the page, count the rest.
      page = [];
      this.node.processRangeShortInfo((p) => {
        if (!matches(f, p)) return true;
        if (total >= from && total < to) page.push(p);
        total++;
        return true;
      });
    } else {
      const top = new TopK(to, key);
      this.node.processRangeShortInfo((p) => {
        if (!matches(f, p)) return true;
        total++;
        top.offer(p);
        return true;
      });
      page = top.sorted().slice(from, to);
    }
    return new V.MessageInspectProcessPage({
      node: this.node.name,
      total,
      offset: before,
      processes: page.length > 0 ? page : null,
    });
  }
}

/** Publishes the connection list (names containing `name`, at most `limit`, by name). */
export class ConnectionListInspector extends Inspector {
  private pattern = '';
  private limit = 100;
  private key = '';
  protected override setup(name: unknown, limit: unknown, key: unknown): void {
    this.pattern = String(name).toLowerCase();
    this.limit = limit as number;
    this.key = key as string;
  }
  protected eventName(): string {
    return `inspect_connection_list_${this.key}`;
  }
  protected response(event: Event): unknown {
    return new V.ResponseInspectConnectionList({ event });
  }
  protected snapshot(): unknown {
    const out: I.InspectRemoteNodeInfo[] = [];
    let names: string[] = [];
    try {
      names = this.node.network().nodes().slice().sort();
    } catch {
      names = []; // the network is off
    }
    for (const n of names) {
      if (out.length >= this.limit) break;
      if (this.pattern !== '' && !n.toLowerCase().includes(this.pattern)) continue;
      try {
        out.push(wireRemoteNodeInfo(this.node.network().node(n).info()));
      } catch {
        // disconnected meanwhile
      }
    }
    return new V.MessageInspectConnectionList({ node: this.node.name, connections: out.length > 0 ? out : null });
  }
}

/** Publishes the event list (filters and order of the newer core's event list). */
export class EventListInspector extends Inspector {
  private q!: V.RequestInspectEventList;
  private limit = 500;
  private key = '';
  protected override setup(q: unknown, limit: unknown, key: unknown): void {
    this.q = q as V.RequestInspectEventList;
    this.limit = limit as number;
    this.key = key as string;
  }
  protected eventName(): string {
    return `inspect_event_list_${this.key}`;
  }
  protected response(event: Event): unknown {
    return new V.ResponseInspectEventList({ event });
  }
  protected snapshot(): unknown {
    const q = this.q;
    const pattern = String(q.name ?? '').toLowerCase();
    const tri = (want: number, v: boolean): boolean => want === 0 || want > 0 === v;
    const minSubs = Number(q.minSubscribers ?? 0);
    let list = this.node.eventList();
    if (Number(q.timestamp) === -1) list = list.reverse();
    const out: V.InspectEventInfo[] = [];
    for (const e of list) {
      if (out.length >= this.limit) break;
      if (pattern !== '' && !e.event.name.toLowerCase().includes(pattern)) continue;
      if (!tri(Number(q.notify), e.notify) || !tri(Number(q.buffered), e.buffer > 0) || !tri(Number(q.open), false))
        continue;
      if (e.subscribers < minSubs) continue;
      out.push(e);
    }
    return new V.MessageInspectEventList({ node: this.node.name, events: out.length > 0 ? out : null });
  }
}

/** Publishes the V8 heap: one record per heap space, totals, and the GC share of wall time. */
export class HeapInspector extends Inspector {
  private pattern = '';
  private limit = 100;
  private key = '';
  private gcMs = 0;
  private since = performance.now();
  private gc: PerformanceObserver | null = null;
  protected override setup(name: unknown, limit: unknown, key: unknown): void {
    this.pattern = String(name).toLowerCase();
    this.limit = limit as number;
    this.key = key as string;
  }
  protected eventName(): string {
    return `inspect_heap_${this.key}`;
  }
  protected response(event: Event): unknown {
    return new V.ResponseInspectHeap({ event });
  }
  protected override started(): void {
    super.started();
    if (this.gc !== null) return;
    const { PerformanceObserver } = nodePerfHooks();
    this.gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.gcMs += e.duration;
    });
    this.gc.observe({ entryTypes: ['gc'] });
    this.since = performance.now();
    this.gcMs = 0;
  }
  protected override stopped(): void {
    this.gc?.disconnect();
    this.gc = null;
  }
  override terminate(): void {
    this.gc?.disconnect();
    this.gc = null;
  }
  protected snapshot(): unknown {
    const now = performance.now();
    const fraction = now > this.since ? Math.min(1, this.gcMs / (now - this.since)) : 0;
    this.since = now;
    this.gcMs = 0;
    const v8 = nodeV8();
    const records = v8
      .getHeapSpaceStatistics()
      .filter((s) => this.pattern === '' || s.space_name.toLowerCase().includes(this.pattern))
      .map((s) => ({
        inuseBytes: s.space_used_size,
        inuseObjects: 0,
        allocBytes: s.space_size,
        allocObjects: 0,
        freeObjects: 0,
        stack: [s.space_name],
      }))
      .sort((a, b) => b.inuseBytes - a.inuseBytes)
      .slice(0, this.limit);
    const h = v8.getHeapStatistics();
    return new V.MessageInspectHeap({
      node: this.node.name,
      records: records.length > 0 ? records : null,
      totalInuse: h.used_heap_size,
      totalObjects: 0,
      totalAlloc: h.total_heap_size,
      totalFree: h.total_heap_size - h.used_heap_size,
      gcCPUFraction: fraction,
    });
  }
}
