// The manager (`observer_mgr`): owns the Observer's HTTP server and its SSE and POST handlers
// (the core's web and SSE metas), and the browser sessions: an opened event stream spawns a
// session process for it; a closed one ends that session. Requests first pass the Host check
// (DNS rebinding) and, for data, the bearer token.

import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { Actor, TerminateReasonShutdown, type Alias, type PID } from 'ergo-ts';
import {
  MessageSSE,
  MessageSSEConnect,
  MessageSSEDisconnect,
  SSEHandler,
  WebHandler,
  type WebServer,
} from 'ergo-ts/meta';

import { Assets } from './assets.js';
import { detach } from './detach.js';
import {
  DEFAULT_OBSERVER_HEARTBEAT,
  DEFAULT_OBSERVER_HOST,
  DEFAULT_OBSERVER_MAX_SESSIONS,
  DEFAULT_OBSERVER_PORT,
  type ObserverOptions,
} from './options.js';
import { POST_POOL_NAME } from './post.js';
import { Session } from './session.js';
import { SESSION_ANSWER_TIMEOUT, SESSION_PREFIX } from './session_protocol.js';
import {
  MUX_STREAM,
  MUX_STREAM_ID,
  MUX_TAB_ID,
  MuxClose,
  MuxOpen,
  isMuxRequest,
  muxReply,
  readMuxBody,
} from './mux.js';
import { listenWeb } from './listen.js';

/** Registered name of the manager. */
export const MANAGER_NAME = 'observer_mgr';

/** Version string the UI shows. */
export const OBSERVER_VERSION = '0.1.0';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** What the manager tells its application once it listens. */
export interface ManagerArgs {
  options: ObserverOptions;
  onListen: (url: string) => void;
  /** Registered name of the application's History process, or null when it keeps none. */
  history?: string | null;
}

/** A shared stream (mux.ts): its id, its alias and the sessions of its tabs by session id. */
interface Shared {
  id: string;
  alias: Alias;
  tabs: Map<string, PID>;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The token a request carries: `Authorization: Bearer`, or `?token=` (EventSource sets no header). */
function requestToken(req: IncomingMessage): string {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7).trim();
  const q = (req.url ?? '').indexOf('?');
  if (q < 0) return '';
  return new URLSearchParams((req.url ?? '').slice(q + 1)).get('token') ?? '';
}

/** The manager process; its `handleInspect` reports `url`, `sessions` and `streams`. */
export class Manager extends Actor {
  #server!: WebServer;
  #sse!: SSEHandler;
  #maxSessions = DEFAULT_OBSERVER_MAX_SESSIONS;
  #first: Record<string, unknown> | undefined;
  /** Stream alias key → its session (a stream of one tab). */
  readonly #sessions = new Map<string, PID>();
  /** Stream alias key → a shared stream (one per browser, its tabs' sessions on it). */
  readonly #shared = new Map<string, Shared>();
  /** Shared stream id → its alias key. */
  readonly #sharedById = new Map<string, string>();
  /** Session id of a tab on a shared stream → that stream's alias key. */
  readonly #tabs = new Map<string, string>();
  #history: string | null = null;
  /** The process tools sessions may use (mailboxPeek, messageTrace, workflowActions: on unless set false). */
  #tools = { mailboxPeek: true, messageTrace: true, workflowActions: true };

  override async init(args: ManagerArgs): Promise<void> {
    const o = args.options;
    this.#maxSessions = o.maxSessions ?? DEFAULT_OBSERVER_MAX_SESSIONS;
    this.#first = o.node === undefined ? undefined : { ...o.node };
    this.#history = args.history ?? null;
    this.#tools = {
      mailboxPeek: o.mailboxPeek !== false,
      messageTrace: o.messageTrace !== false,
      workflowActions: o.workflowActions !== false,
    };
    const host = o.host ?? DEFAULT_OBSERVER_HOST;
    const allowed = o.allowedHosts ?? (LOOPBACK.has(host) ? [...LOOPBACK] : null);
    const token = o.token === undefined || o.token === '' ? null : digest(o.token);
    this.#sse = new SSEHandler({ heartbeat: o.heartbeat ?? DEFAULT_OBSERVER_HEARTBEAT, compression: true });
    // Longer than a worker's wait for its session, so the worker always writes the answer.
    const post = new WebHandler({ worker: POST_POOL_NAME, requestTimeout: SESSION_ANSWER_TIMEOUT + 5000 });
    const assets = new Assets();

    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      // HTTP/2 names the host in `:authority` (a browser sends no Host header over it).
      const authority = req.headers.host ?? req.headers[':authority'];
      if (allowed !== null && !hostAllowed(typeof authority === 'string' ? authority : undefined, allowed)) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('host not allowed');
        return;
      }
      const path = (req.url ?? '/').split('?')[0]!;
      const data = path === '/sse' || path.startsWith('/api/');
      if (data && token !== null && !timingSafeEqual(digest(requestToken(req)), token)) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
        res.end(JSON.stringify({ ok: false, error: 'a valid bearer token is required' }));
        return;
      }
      if (path === '/api/open' || path === '/api/close') {
        detach(() => this.#muxCommand(path, req, res), 'a mux command', this.log, {
          error: () => muxReply(res, 400, 'request body aborted'),
        });
      } else if (path === '/sse') {
        if (
          this.#sse.streams.size >= this.#maxSessions ||
          (!isMuxRequest(req) && this.#sessionCount() >= this.#maxSessions)
        ) {
          res.writeHead(503, { 'content-type': 'text/plain' }).end('too many observer sessions');
          return;
        }
        this.#sse.listener(req, res);
      } else if (path.startsWith('/api/')) {
        if (req.method !== 'POST') {
          res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: false, error: 'POST only' }));
          return;
        }
        post.listener(req, res);
      } else {
        assets.serve(req, res);
      }
    };
    this.#server = await listenWeb(host, o.port ?? DEFAULT_OBSERVER_PORT, listener, o.tls);
    this.spawnMeta(this.#sse);
    this.spawnMeta(post);
    this.spawnMeta(this.#server);
    this.log.info('observer listening on %s', this.#server.url);
    args.onListen(this.#server.url);
  }

  /** The number of sessions (tabs) at once: own streams and tabs on shared streams. */
  #sessionCount(): number {
    return this.#sessions.size + this.#tabs.size;
  }

  /** `POST /api/open {stream, tab}`: a session for a tab on a shared stream; `/api/close`: its end. */
  async #muxCommand(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: 'POST only' }));
      return;
    }
    if (path === '/api/close') {
      const session = req.headers['x-observer-session'];
      if (typeof session !== 'string' || !/^[0-9a-f]{32}$/.test(session)) {
        muxReply(res, 401, 'X-Observer-Session header missing or malformed');
        return;
      }
      req.resume();
      this.node.send(this.pid, new MuxClose(session));
      muxReply(res, 200, null);
      return;
    }
    const body = await readMuxBody(req);
    if (body === null) {
      muxReply(res, 400, 'body: a JSON object of at most 4096 bytes is required');
      return;
    }
    const { stream, tab } = body;
    if (typeof stream !== 'string' || !MUX_STREAM_ID.test(stream)) {
      muxReply(res, 400, 'stream: the id of a shared stream (32 hex digits) is required');
      return;
    }
    if (typeof tab !== 'string' || !MUX_TAB_ID.test(tab)) {
      muxReply(res, 400, 'tab: 1 to 64 letters, digits, - or _ are required');
      return;
    }
    // Read outside the process: the maps change only in its handlers, and nothing runs between.
    if (!this.#sharedById.has(stream)) {
      muxReply(res, 404, 'unknown stream');
      return;
    }
    if (this.#sessionCount() >= this.#maxSessions) {
      muxReply(res, 503, 'too many observer sessions');
      return;
    }
    this.node.send(this.pid, new MuxOpen(stream, tab));
    muxReply(res, 202, null);
  }

  /** Spawns a session writing to `stream` (for `tab` when the stream is shared); its PID, or null. */
  async #spawnSession(stream: Alias, tab: string | null): Promise<{ id: string; pid: PID } | null> {
    const id = randomBytes(16).toString('hex');
    try {
      const pid = await this.spawnRegister(
        SESSION_PREFIX + id,
        Session,
        { linkParent: true },
        {
          id,
          stream,
          version: OBSERVER_VERSION,
          history: this.#history,
          tools: this.#tools,
          ...(tab === null ? {} : { tab }),
          ...(this.#first === undefined ? {} : { node: this.#first }),
        },
      );
      return { id, pid };
    } catch (err) {
      this.log.warning('observer session for %s not started: %s', stream, err);
      return null;
    }
  }

  #endSession(pid: PID): void {
    try {
      this.sendExit(pid, TerminateReasonShutdown);
    } catch {
      // already gone
    }
  }

  override async handleMessage(_from: PID, message: unknown): Promise<void> {
    if (message instanceof MuxOpen) {
      const key = this.#sharedById.get(message.stream);
      const shared = key === undefined ? undefined : this.#shared.get(key);
      if (shared === undefined) return;
      const s = await this.#spawnSession(shared.alias, message.tab);
      if (s === null) return;
      // The stream may have closed while the session started.
      if (this.#shared.get(key!) !== shared) {
        this.#endSession(s.pid);
        return;
      }
      shared.tabs.set(s.id, s.pid);
      this.#tabs.set(s.id, key!);
    } else if (message instanceof MuxClose) {
      const key = this.#tabs.get(message.session);
      if (key === undefined) return;
      this.#tabs.delete(message.session);
      const pid = this.#shared.get(key)?.tabs.get(message.session);
      this.#shared.get(key)?.tabs.delete(message.session);
      if (pid !== undefined) this.#endSession(pid);
    } else if (message instanceof MessageSSEConnect && isMuxRequest(message.request)) {
      const id = randomBytes(16).toString('hex');
      this.#shared.set(message.id.key, { id, alias: message.id, tabs: new Map() });
      this.#sharedById.set(id, message.id.key);
      try {
        this.send(message.id, new MessageSSE({ event: MUX_STREAM, data: JSON.stringify({ stream: id }) }));
      } catch {
        // closed at once: its disconnect cleans up
      }
    } else if (message instanceof MessageSSEDisconnect && this.#shared.has(message.id.key)) {
      const shared = this.#shared.get(message.id.key)!;
      this.#shared.delete(message.id.key);
      this.#sharedById.delete(shared.id);
      for (const [id, pid] of shared.tabs) {
        this.#tabs.delete(id);
        this.#endSession(pid);
      }
    } else if (message instanceof MessageSSEConnect) {
      const s = await this.#spawnSession(message.id, null);
      if (s === null) this.sendExitMeta(message.id, TerminateReasonShutdown);
      else this.#sessions.set(message.id.key, s.pid);
    } else if (message instanceof MessageSSEDisconnect) {
      const pid = this.#sessions.get(message.id.key);
      if (pid === undefined) return;
      this.#sessions.delete(message.id.key);
      this.#endSession(pid);
    }
  }

  override handleInspect(): Record<string, string> {
    return {
      url: this.#server.url,
      sessions: String(this.#sessionCount()),
      shared_streams: String(this.#shared.size),
      streams: String(this.#sse.streams.size),
    };
  }
}

function hostAllowed(header: string | undefined, allowed: string[]): boolean {
  if (header === undefined) return false;
  const host = header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.split(':')[0]!;
  return allowed.includes(host.toLowerCase());
}
