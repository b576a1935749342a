// WebMux: routes requests by path to different handlers, the way Ergo's examples mount several
// WebHandlers on one http.ServeMux ("/" to one worker pool, "/api/" to another). A pattern that
// ends with '/' matches its whole subtree; any other pattern matches that exact path. The
// longest matching pattern wins; nothing matching answers 404.

import type { IncomingMessage, ServerResponse } from 'node:http';

import { ErrIncorrect, ErrTaken } from '../gen/errors.js';
import { answer, type WebRequestListener } from './web_handler.js';
import type { WebRequestHandler } from './web_server.js';

interface Route {
  pattern: string;
  subtree: boolean;
  listener: WebRequestListener;
}

/**
 * A path router with Go ServeMux's matching rules (patterns, no methods, no host part). Build it
 * before serving; adding routes later is allowed (they apply to the next requests). Give
 * `mux.listener` (or the mux itself) to {@link createWebServer}: the web server contains a route
 * that throws or rejects (logged, answered 500). The mux passes a route's throw or promise on to
 * its caller, so under your own `http.Server` that containment is yours.
 */
export class WebMux {
  /** The request listener to serve. */
  readonly listener: WebRequestListener;
  #routes: Route[] = [];
  #exact = new Map<string, WebRequestListener>();

  /** An empty mux: every path answers 404 until routes are added. */
  constructor() {
    this.listener = (req, res) => this.#route(req, res);
  }

  /**
   * Mounts `handler` at `pattern` ('/api/' = everything under /api/, '/health' = exactly that
   * path). ErrIncorrect for a pattern not starting with '/' or a bad handler; ErrTaken when the
   * pattern is already mounted. Returns the mux for chaining.
   */
  handle(pattern: string, handler: WebRequestHandler): this {
    if (typeof pattern !== 'string' || !pattern.startsWith('/'))
      throw ErrIncorrect.with(`mux pattern ${String(pattern)} (must start with '/')`);
    const listener =
      typeof handler === 'function'
        ? handler
        : handler !== null && typeof handler === 'object' && typeof handler.listener === 'function'
          ? handler.listener
          : null;
    if (listener === null) throw ErrIncorrect.with(`mux handler for ${pattern}`);
    const subtree = pattern.endsWith('/');
    if (subtree ? this.#routes.some((r) => r.pattern === pattern) : this.#exact.has(pattern))
      throw ErrTaken.with(`mux pattern ${pattern}`);
    if (subtree) {
      this.#routes.push({ pattern, subtree, listener });
      // longest first, so the first prefix that matches is the most specific one
      this.#routes.sort((a, b) => b.pattern.length - a.pattern.length);
    } else {
      this.#exact.set(pattern, listener);
    }
    return this;
  }

  /** The listener that would serve `path` (without query), or undefined. */
  match(path: string): WebRequestListener | undefined {
    const exact = this.#exact.get(path);
    if (exact !== undefined) return exact;
    const routes = this.#routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if (path.startsWith(r.pattern)) return r.listener;
      // '/api/' also serves '/api' (Go redirects; answering directly keeps it one round trip)
      if (path.length === r.pattern.length - 1 && r.pattern.startsWith(path)) return r.listener;
    }
    return undefined;
  }

  /** Returns what the route's listener returns, so a server can catch a rejected promise. */
  #route(req: IncomingMessage, res: ServerResponse): unknown {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const l = this.match(path);
    if (l === undefined) {
      answer(res, 404, 'Not Found');
      return undefined;
    }
    return l(req, res);
  }
}
