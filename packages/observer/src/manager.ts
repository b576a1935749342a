// The manager (`observer_mgr`): owns the Observer's HTTP server and its SSE and POST handlers
// (the core's web and SSE metas), and the browser sessions: an opened event stream spawns a
// session process for it; a closed one ends that session. Requests first pass the Host check
// (DNS rebinding) and, for data, the bearer token.

import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { Actor, TerminateReasonShutdown, type PID } from 'ergo-ts';
import {
  MessageSSEConnect,
  MessageSSEDisconnect,
  SSEHandler,
  WebHandler,
  createWebServer,
  type WebServer,
} from 'ergo-ts/meta';

import { Assets } from './assets.js';
import {
  DEFAULT_OBSERVER_HEARTBEAT,
  DEFAULT_OBSERVER_HOST,
  DEFAULT_OBSERVER_MAX_SESSIONS,
  DEFAULT_OBSERVER_PORT,
  type ObserverOptions,
} from './options.js';
import { POST_POOL_NAME } from './post.js';
import { SESSION_ANSWER_TIMEOUT, SESSION_PREFIX, Session } from './session.js';

/** Registered name of the manager. */
export const MANAGER_NAME = 'observer_mgr';

/** Version string the UI shows. */
export const OBSERVER_VERSION = '0.1.0';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** What the manager tells its application once it listens. */
export interface ManagerArgs {
  options: ObserverOptions;
  onListen: (url: string) => void;
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
  /** Stream alias key → its session. */
  readonly #sessions = new Map<string, PID>();

  override async init(args: ManagerArgs): Promise<void> {
    const o = args.options;
    this.#maxSessions = o.maxSessions ?? DEFAULT_OBSERVER_MAX_SESSIONS;
    this.#first = o.node === undefined ? undefined : { ...o.node };
    const host = o.host ?? DEFAULT_OBSERVER_HOST;
    const allowed = o.allowedHosts ?? (LOOPBACK.has(host) ? [...LOOPBACK] : null);
    const token = o.token === undefined || o.token === '' ? null : digest(o.token);
    this.#sse = new SSEHandler({ heartbeat: o.heartbeat ?? DEFAULT_OBSERVER_HEARTBEAT, compression: true });
    // Longer than a worker's wait for its session, so the worker always writes the answer.
    const post = new WebHandler({ worker: POST_POOL_NAME, requestTimeout: SESSION_ANSWER_TIMEOUT + 5000 });
    const assets = new Assets();

    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      if (allowed !== null && !hostAllowed(req.headers.host, allowed)) {
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
      if (path === '/sse') {
        if (this.#sse.streams.size >= this.#maxSessions) {
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
    this.#server = await createWebServer({
      host,
      port: o.port ?? DEFAULT_OBSERVER_PORT,
      handler: listener,
      ...(o.tls === undefined ? {} : { tls: o.tls }),
    });
    this.spawnMeta(this.#sse);
    this.spawnMeta(post);
    this.spawnMeta(this.#server);
    this.log.info('observer listening on %s', this.#server.url);
    args.onListen(this.#server.url);
  }

  override async handleMessage(_from: PID, message: unknown): Promise<void> {
    if (message instanceof MessageSSEConnect) {
      const id = randomBytes(16).toString('hex');
      try {
        const pid = await this.spawnRegister(
          SESSION_PREFIX + id,
          Session,
          { linkParent: true },
          {
            id,
            stream: message.id,
            version: OBSERVER_VERSION,
            ...(this.#first === undefined ? {} : { node: this.#first }),
          },
        );
        this.#sessions.set(message.id.key, pid);
      } catch (err) {
        this.log.warning('observer session for %s not started: %s', message.id, err);
        this.sendExitMeta(message.id, TerminateReasonShutdown);
      }
    } else if (message instanceof MessageSSEDisconnect) {
      const pid = this.#sessions.get(message.id.key);
      if (pid === undefined) return;
      this.#sessions.delete(message.id.key);
      try {
        this.sendExit(pid, TerminateReasonShutdown);
      } catch {
        // already gone
      }
    }
  }

  override handleInspect(): Record<string, string> {
    return {
      url: this.#server.url,
      sessions: String(this.#sessions.size),
      streams: String(this.#sse.streams.size),
    };
  }
}

function hostAllowed(header: string | undefined, allowed: string[]): boolean {
  if (header === undefined) return false;
  const host = header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.split(':')[0]!;
  return allowed.includes(host.toLowerCase());
}
