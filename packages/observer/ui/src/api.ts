// The browser side of the Observer's API: the tab's session on the event stream, whose
// `connected` frame gives the session id that every POST (`/api/...`) carries; frames are
// dispatched to the listeners of their type. The stream is the browser's one shared stream, held
// by a SharedWorker (worker.ts) for every tab of the origin, so any number of tabs load (HTTP/1.1
// allows six connections per host); without SharedWorker (or with `#own-stream` in the address)
// the tab opens an EventSource of its own. The bearer token (if the page was opened with `?token=`) is kept in
// sessionStorage and sent on: `?token=` for the stream, an Authorization header for the POSTs.

/** A JSON value from the server, read field by field. */
export type Json = any;

export interface NodeEntry {
  name: string;
  crc32: string;
  connected: boolean;
}

export interface Connected {
  sessionId: string;
  node: NodeEntry;
  self: string;
  nodes: NodeEntry[];
  version: string;
}

type Listener = (data: Json) => void;

function initialToken(): string {
  const url = new URL(location.href);
  const t = url.searchParams.get('token');
  if (t !== null) {
    sessionStorage.setItem('observer-token', t);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
    return t;
  }
  return sessionStorage.getItem('observer-token') ?? '';
}

/** How long a command waits for the tab's session (the stream's `connected` frame) before it fails. */
const SESSION_WAIT_MS = 30_000;

/** The connection of this tab to its Observer. */
export class ObserverAPI {
  readonly token = initialToken();
  session = '';
  connected: Connected | null = null;
  /**
   * Bumped by every `connected` frame: the session dropped every subscription when it wrote it
   * (a switch, even to the node already observed), so each subscription is made again.
   */
  epoch = 0;
  /** The observed node's framework (`ergo-ts 0.1.0`, `Ergo Framework 3.2.0`), once a node_info frame told. */
  framework: string | null = null;
  status: 'connecting' | 'open' | 'closed' = 'connecting';
  /**
   * The node's figures its `history` frames brought, oldest first, with the browser's clock (s):
   * the session sends each sample once, so the node page draws them again from here.
   */
  nodeHistory: { t: number; s: Json }[] = [];
  /** The same for each connection (its `connection_history` frames), by node name. */
  connectionHistory = new Map<string, { t: number; s: Json }[]>();
  /**
   * The node's log records its `log_history` frames brought, by record number (`seq`): each is
   * sent once, so the log page lists them again from here, of the levels it shows.
   */
  logHistory: Json[] = [];
  #source: EventSource | null = null;
  /** Numbers the subscriptions: an unsubscribe names the one it ends (POSTs arrive in any order). */
  #subId = 0;
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #statusListeners = new Set<() => void>();
  readonly #types = [
    'connected',
    'cluster_update',
    'node_meta',
    'node_info',
    'runtime',
    'process_list',
    'process_info',
    'process_state',
    'meta_info',
    'meta_state',
    'network_info',
    'connection_info',
    'application_list',
    'application_tree',
    'log',
    'event_list',
    'process_page',
    'connection_list',
    'heap',
    'history',
    'connection_history',
    'log_history',
    'entities_find',
    'trace',
    'trace_end',
  ];
  #port: MessagePort | null = null;
  /** Type + args → the components holding that subscription and the newest id posted for it. */
  readonly #shared = new Map<string, { session: string; epoch: number; holders: Set<number>; id: number }>();

  /** Opens the tab's session: on the shared stream when the browser has SharedWorker. */
  open(): void {
    if (typeof SharedWorker === 'function' && !location.hash.includes('own-stream')) this.#openShared();
    else this.#openOwn();
  }

  #openShared(): void {
    const worker = new SharedWorker('/worker.js', { name: `observer ${this.token}` });
    const port = worker.port;
    this.#port = port;
    port.onmessage = (e: MessageEvent) => {
      const m = e.data as { kind: string; type?: string; json?: string; status?: string; error?: string };
      if (m.kind === 'frame') this.#frame(m.type ?? '', m.json ?? '');
      else if (m.kind === 'ping') port.postMessage({ kind: 'pong' });
      else if (m.kind === 'status') {
        this.status = m.status === 'closed' ? 'closed' : 'connecting';
        this.session = '';
        this.#notifyStatus();
      }
    };
    port.start();
    // The tab holds a Web Lock of its own for as long as its document lives, and tells the worker
    // its name: the worker's request for it is granted when the tab is gone, however it went
    // (closed without pagehide, crashed, discarded) - the one signal a closed tab cannot lose.
    // Without Web Locks the worker's pings find gone tabs (30-40 s).
    const locks = (navigator as { locks?: LockManager }).locks;
    if (locks === undefined) port.postMessage({ kind: 'hello', token: this.token });
    else {
      const lock = `ergo-observer-tab-${crypto.randomUUID()}`;
      void locks.request(lock, () => {
        port.postMessage({ kind: 'hello', token: this.token, lock });
        return new Promise<never>(() => undefined);
      });
    }
    // Leaving ends this tab's session at once (the worker's ping would, 10-20 s later).
    addEventListener('pagehide', () => {
      if (this.session !== '') {
        const headers: Record<string, string> = { 'x-observer-session': this.session };
        if (this.token !== '') headers.authorization = `Bearer ${this.token}`;
        void fetch('/api/close', { method: 'POST', headers, body: '{}', keepalive: true }).catch(() => undefined);
      }
      this.session = '';
      port.postMessage({ kind: 'bye' });
    });
    // Back from the page cache: a new session.
    addEventListener('pageshow', (e) => {
      if ((e as PageTransitionEvent).persisted) port.postMessage({ kind: 'hello', token: this.token });
    });
  }

  #openOwn(): void {
    const url = this.token === '' ? '/sse' : `/sse?token=${encodeURIComponent(this.token)}`;
    const source = new EventSource(url);
    this.#source = source;
    for (const type of this.#types) {
      source.addEventListener(type, (e) => this.#frame(type, (e as MessageEvent<string>).data));
    }
    source.onerror = () => {
      // The server ended the stream (or the node stopped): every reconnect is a new session.
      this.status = source.readyState === EventSource.CLOSED ? 'closed' : 'connecting';
      this.session = '';
      this.#notifyStatus();
    };
  }

  /** One frame of this tab's session. */
  #frame(type: string, text: string): void {
    let data: Json;
    try {
      data = JSON.parse(text);
    } catch {
      return;
    }
    if (type === 'node_info' && data?.info?.framework && data.info.name === this.connected?.node.name) {
      this.framework = `${data.info.framework.name ?? ''} ${data.info.framework.release ?? ''}`.trim();
    }
    if (type === 'history') this.nodeHistory = keepSamples(this.nodeHistory, data, data?.samples);
    if (type === 'connection_history' && typeof data?.node === 'string')
      this.connectionHistory.set(
        data.node,
        keepSamples(this.connectionHistory.get(data.node) ?? [], data, data.samples),
      );
    if (type === 'log_history') this.#keepLog(data);
    if (type === 'connected') {
      this.nodeHistory = [];
      this.connectionHistory = new Map();
      this.logHistory = [];
      // Every subscription of the session ended with its last page: their holds post nothing.
      this.#shared.clear();
      this.connected = data as Connected;
      this.epoch++;
      this.framework = null;
      this.session = this.connected.sessionId;
      this.status = 'open';
      this.#notifyStatus();
    } else if (type === 'cluster_update' && this.connected !== null) {
      this.connected = { ...this.connected, nodes: data.nodes };
      this.#notifyStatus();
    }
    for (const l of this.#listeners.get(type) ?? []) l(data);
  }

  /**
   * Adds a `log_history` frame's records to the kept ones, in record order (a level the page
   * showed only now brings older records), each once, at most {@link LOG_KEPT} of them.
   */
  #keepLog(h: Json): void {
    const records: Json[] = Array.isArray(h?.records) ? h.records : [];
    if (records.length === 0) return;
    const known = new Set(this.logHistory.map((r) => r.seq));
    const all = [...this.logHistory, ...records.filter((r) => !known.has(r.seq))].sort(
      (a, b) => Number(a.seq) - Number(b.seq),
    );
    this.logHistory = all.length > LOG_KEPT ? all.slice(all.length - LOG_KEPT) : all;
  }

  /** Closes the stream, or leaves the shared one (the session ends on the server). */
  close(): void {
    this.#source?.close();
    this.#source = null;
    this.#port?.postMessage({ kind: 'bye' });
    this.#port = null;
  }

  on(type: string, l: Listener): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) this.#listeners.set(type, (set = new Set()));
    set.add(l);
    return () => set!.delete(l);
  }

  /** The session, once the stream has given one (at once when it has); rejects after {@link SESSION_WAIT_MS}. */
  #sessionReady(): Promise<string> {
    if (this.session !== '') return Promise.resolve(this.session);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error('not connected to the Observer yet (its event stream has not opened): try again'));
      }, SESSION_WAIT_MS);
      const off = this.onStatus(() => {
        if (this.session === '') return;
        clearTimeout(timer);
        off();
        resolve(this.session);
      });
    });
  }

  onStatus(l: () => void): () => void {
    this.#statusListeners.add(l);
    return () => this.#statusListeners.delete(l);
  }

  #notifyStatus(): void {
    for (const l of this.#statusListeners) l();
  }

  /**
   * POSTs a command; resolves with `data`, rejects with the server's error text. `waitSession`: a
   * user's command made before the stream's `connected` frame (a click right after the page
   * loads, or while the stream reconnects) waits for the session instead of going without one,
   * which the server refuses. Subscriptions do not wait: every `connected` frame makes them again.
   */
  async post(path: string, body: Json, waitSession = false): Promise<Json> {
    const session = waitSession ? await this.#sessionReady() : this.session;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-observer-session': session };
    if (this.token !== '') headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(`/api/${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    let answer: Json;
    try {
      answer = await res.json();
    } catch {
      throw new Error(`HTTP ${res.status}`);
    }
    if (!answer.ok) {
      // `code`: a stable reason the page can tell (e.g. mailbox_peek_disabled).
      throw Object.assign(new Error(answer.error ?? `HTTP ${res.status}`), { code: answer.code });
    }
    return answer.data;
  }

  /**
   * Takes a hold of the subscription `type` + `args` for one holder (a mounted component): the
   * subscribe is posted (a new id, so the node replays its last frame for this holder), and the
   * session ends the subscription only when `release` lets go of the last hold. The session keeps
   * one subscription per key (an unsubscribe whose id is not the newest is superseded), so two
   * components of one page showing the same process share it: one leaving must not end the other's.
   * Holds taken before a `connected` frame (the session dropped every subscription then) post nothing
   * when they let go.
   */
  hold(type: string, args: Json = {}): { subscribed: Promise<Json>; release: () => void } {
    const key = `${type} ${JSON.stringify(args)}`;
    let shared = this.#shared.get(key);
    if (shared === undefined || shared.session !== this.session || shared.epoch !== this.epoch) {
      shared = { session: this.session, epoch: this.epoch, holders: new Set(), id: 0 };
      this.#shared.set(key, shared);
    }
    const entry = shared;
    const id = this.nextSubscription();
    entry.id = id;
    entry.holders.add(id);
    const subscribed = this.subscribe(type, args, id);
    const release = (): void => {
      if (!entry.holders.delete(id) || entry.holders.size > 0) return;
      if (this.#shared.get(key) === entry) this.#shared.delete(key);
      if (entry.session === this.session && entry.epoch === this.epoch) void this.unsubscribe(type, args, entry.id);
    };
    return { subscribed, release };
  }

  /** Subscribes; `id` (from {@link nextSubscription}) is what {@link unsubscribe} names later. */
  subscribe(type: string, args: Json = {}, id?: number): Promise<Json> {
    return this.post('subscribe', { type, args, id });
  }

  /** Ends the subscription `id` (and only it: a newer one of the same kind stays). */
  unsubscribe(type: string, args: Json = {}, id?: number): Promise<Json> {
    return this.post('unsubscribe', { type, args, id }).catch(() => undefined);
  }

  nextSubscription(): number {
    return ++this.#subId;
  }

  do(action: string, args: Json): Promise<Json> {
    return this.post(`do/${action}`, args, true);
  }
}

/** Log records a tab keeps of the node's history (the log page keeps at most as many lines). */
export const LOG_KEPT = 20000;

/**
 * Adds a history frame's samples (those newer than the kept ones, stamped with the browser's
 * clock in seconds) to `kept`; at most an hour of them.
 */
function keepSamples(kept: { t: number; s: Json }[], h: Json, samples: Json): { t: number; s: Json }[] {
  const shift = Date.now() - Number(h?.now ?? Date.now());
  const newest = kept[kept.length - 1]?.t ?? -Infinity;
  for (const s of Array.isArray(samples) ? samples : []) {
    const t = (Number(s.t) + shift) / 1000;
    if (t > newest) kept.push({ t, s });
  }
  if (kept.length > 3600) kept.splice(0, kept.length - 3600);
  return kept;
}

export const api = new ObserverAPI();
