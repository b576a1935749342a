// The shared worker of every Observer tab of one origin (and token): it holds the browser's one
// event stream (`/sse?mux=1`) and routes its frames to the tabs. A browser allows six HTTP/1.1
// connections per host; a stream per tab left the seventh tab waiting for good.
//
// The server names the stream (a `stream` frame); the worker then asks for a session per tab
// (`POST /api/open {stream, tab}`), and every frame of that session comes as a `frame` event
// `<tab> <type> <JSON>`, posted to the tab's port as it is. Each tab keeps its own session: its
// subscriptions, switches and `connected` frames (hence its epochs) are its own, as with a stream
// of its own. When the stream breaks, every tab hears `connecting`; the new stream gets a new
// session for each tab (a new `connected` frame: the tab subscribes again). A leaving tab says
// bye; a tab gone without it (closed under load before its pagehide ran, crashed) releases the
// Web Lock it held, which the worker waits for. Tabs answer a ping every 10 s; one that missed
// three is taken for gone and its session ended (it gets a new one if it answers later): the
// fallback without Web Locks, and a frozen tab's fate.

/** What a tab posts to the worker. */
type FromTab = { kind: 'hello'; token: string; lock?: string } | { kind: 'bye' } | { kind: 'pong' };

interface Tab {
  id: string;
  port: MessagePort;
  session: string;
  /** Pings it has not answered. */
  missed: number;
  /** The Web Lock the tab holds while it lives (its hello names it), once the worker waits on it. */
  lock: string;
}

/** The worker's global scope, as far as it is used (the DOM library has no SharedWorker scope). */
const scope = globalThis as unknown as { onconnect: ((e: MessageEvent) => void) | null };

const PING_EVERY = 10_000;
/** Pings a tab may miss before it is taken for gone (a busy machine delays a tab's answers). */
const PINGS_MISSED = 3;

const tabs = new Map<string, Tab>();
let token = '';
let source: EventSource | null = null;
let stream = '';

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json', ...extra };
  if (token !== '') h.authorization = `Bearer ${token}`;
  return h;
}

function tell(tab: Tab, value: 'connecting' | 'closed', error = ''): void {
  tab.port.postMessage({ kind: 'status', status: value, error });
}

/** Asks for a session of `tab` on the current stream; its `connected` frame follows on the stream. */
function open(tab: Tab): void {
  if (stream === '') return;
  const on = stream;
  fetch('/api/open', { method: 'POST', headers: headers(), body: JSON.stringify({ stream: on, tab: tab.id }) }).then(
    async (res) => {
      if (res.ok || on !== stream) return;
      let error = `HTTP ${res.status}`;
      try {
        error = ((await res.json()) as { error?: string }).error ?? error;
      } catch {
        // not JSON
      }
      tell(tab, 'closed', error);
    },
    // The request did not get through (a busy or restarting server): again while it is current.
    () => {
      tell(tab, 'connecting');
      setTimeout(() => {
        if (on === stream && tabs.get(tab.id) === tab && tab.session === '') open(tab);
      }, 1000);
    },
  );
}

/** Ends the session of a tab that went away (a closed tab's own close may not have made it). */
function drop(tab: Tab): void {
  tabs.delete(tab.id);
  if (tab.session === '') return;
  closeSession(tab.session);
  tab.session = '';
}

/** Asks the server to end a session (a second close of an ended session changes nothing). */
function closeSession(session: string): void {
  void fetch('/api/close', {
    method: 'POST',
    headers: headers({ 'x-observer-session': session }),
    body: '{}',
  }).catch(() => undefined);
}

/**
 * Waits for the Web Lock `lock`, which the tab holds while its document lives: granted, the tab
 * is gone (closed, crashed, discarded, even when its pagehide never ran and its bye was lost) and
 * its session ends at once.
 */
function watch(tab: Tab, lock: string): void {
  tab.lock = lock;
  const locks = (navigator as { locks?: LockManager }).locks;
  if (locks === undefined) return;
  locks
    .request(lock, () => {
      if (tab.lock === lock) drop(tab);
    })
    .catch(() => undefined);
}

function connect(): void {
  if (source !== null) return;
  const s = new EventSource(token === '' ? '/sse?mux=1' : `/sse?mux=1&token=${encodeURIComponent(token)}`);
  source = s;
  s.addEventListener('stream', (e) => {
    stream = (JSON.parse((e as MessageEvent<string>).data) as { stream: string }).stream;
    for (const tab of tabs.values()) open(tab);
  });
  s.addEventListener('frame', (e) => {
    const d = (e as MessageEvent<string>).data;
    const i = d.indexOf(' ');
    const j = d.indexOf(' ', i + 1);
    if (i < 0 || j < 0) return;
    const tab = tabs.get(d.slice(0, i));
    const type = d.slice(i + 1, j);
    const json = d.slice(j + 1);
    if (tab === undefined) {
      // A tab that left while its session was being opened (a loaded server answers late): the
      // session's first frame comes for nobody, and nothing else would ever end it.
      if (type === 'connected') closeSession((JSON.parse(json) as { sessionId: string }).sessionId);
      return;
    }
    if (type === 'connected') tab.session = (JSON.parse(json) as { sessionId: string }).sessionId;
    tab.port.postMessage({ kind: 'frame', type, json });
  });
  s.onerror = () => {
    // Every session of the old stream has ended: the next stream frame opens new ones.
    stream = '';
    const closed = s.readyState === EventSource.CLOSED;
    if (closed) source = null;
    for (const tab of tabs.values()) {
      tab.session = '';
      tell(tab, closed ? 'closed' : 'connecting');
    }
  };
}

scope.onconnect = (e: MessageEvent) => {
  const port = e.ports[0]!;
  const tab: Tab = { id: crypto.randomUUID(), port, session: '', missed: 0, lock: '' };
  port.onmessage = (m: MessageEvent<FromTab>) => {
    const d = m.data;
    if (d.kind === 'bye') {
      // The worker ends the session too: the leaving page's own close (a keepalive fetch sent
      // while it unloads) may never reach the server, and once the tab is forgotten here no
      // missed ping would end it either. A second close of an ended session changes nothing.
      drop(tab);
      return;
    }
    tab.missed = 0;
    if (d.kind === 'hello' && token === '') token = d.token;
    if (d.kind === 'hello' && d.lock !== undefined && d.lock !== tab.lock) watch(tab, d.lock);
    // A new tab, or one taken for gone (frozen in the background) that is back: a new session.
    if (!tabs.has(tab.id)) {
      tabs.set(tab.id, tab);
      connect();
      if (stream !== '') open(tab);
      else tell(tab, source?.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
    }
  };
  port.start();
};

setInterval(() => {
  for (const tab of [...tabs.values()]) {
    if (tab.missed >= PINGS_MISSED) drop(tab);
    else {
      tab.missed++;
      tab.port.postMessage({ kind: 'ping' });
    }
  }
}, PING_EVERY);

export {};
