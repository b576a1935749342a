// The Observer's web server: plain HTTP/1.1, or — with TLS — HTTP/2 that still answers HTTP/1.1
// clients (node:http2 with allowHTTP1). Over HTTP/2 every tab's event stream and commands share
// one connection, so the browser's six-connections-per-host limit of HTTP/1.1 no longer applies.

import http2 from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type https from 'node:https';
import type { Socket } from 'node:net';

import { WebServer, createWebServer } from 'ergo-ts/meta';

/** A request listener of node:http's shape (HTTP/2's compatibility objects are passed as such). */
export type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Listens on `host:port` and returns the server as the core's WebServer meta: HTTP/1.1 without
 * `tls`, HTTP/2 with HTTP/1.1 fallback with it. Rejects with the listen error (EADDRINUSE...).
 */
export async function listenWeb(
  host: string,
  port: number,
  listener: Listener,
  tls: https.ServerOptions | undefined,
): Promise<WebServer> {
  if (tls === undefined) return createWebServer({ host, port, handler: listener });
  const server = http2.createSecureServer({ ...(tls as http2.SecureServerOptions), allowHTTP1: true });
  // The WebServer meta ends every connection when it stops (node:http's closeAllConnections):
  // an HTTP/2 server has no such method, so it gets one over the TLS sockets it accepted.
  const sockets = new Set<Socket>();
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  Object.defineProperty(server, 'closeAllConnections', {
    value: () => {
      for (const s of sockets) s.destroy();
    },
  });
  const h2Listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.httpVersionMajor >= 2) withoutConnectionHeaders(res);
    listener(req, res);
  };
  const web = new WebServer(server as unknown as https.Server, host, true, h2Listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return web;
}

/**
 * HTTP/2 forbids connection-specific headers (`connection: keep-alive`, which the core's SSE
 * handler sets for HTTP/1.1): node drops them with a warning; they are dropped here silently.
 */
function withoutConnectionHeaders(res: ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (status: number, headers?: Record<string, unknown>) => ServerResponse;
  const patched = (status: number, ...rest: unknown[]): ServerResponse => {
    const headers = rest.find((r) => r !== null && typeof r === 'object') as Record<string, unknown> | undefined;
    if (headers === undefined) return writeHead(status);
    const clean: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(headers)) {
      const name = k.toLowerCase();
      if (name !== 'connection' && name !== 'keep-alive' && name !== 'transfer-encoding') clean[k] = v;
    }
    return writeHead(status, clean);
  };
  (res as unknown as { writeHead: typeof patched }).writeHead = patched;
}
