// Shared streams: one event stream per browser, however many tabs. A browser allows six HTTP/1.1
// connections per host, so a stream per tab leaves the seventh tab waiting for good. The UI opens
// one stream in a SharedWorker (`/sse?mux=1`); the manager names that stream with a random id (a
// `stream` frame) and spawns nothing yet. Each tab then asks for a session of its own on it
// (`POST /api/open {stream, tab}`): a full session as a tab's own stream has (its subscriptions,
// its switches, its `connected` frames and epochs), whose frames are written to the shared stream
// as `frame` events carrying `<tab> <type> <JSON>`, which the worker routes to that tab. A tab's
// commands go to its session as before (`X-Observer-Session`); a tab that goes away ends its
// session (`POST /api/close`, or the worker's liveness check); the stream's end ends them all.

import type { IncomingMessage, ServerResponse } from 'node:http';

import { readRequestBody } from 'ergo-ts/meta';

/** The SSE event type of every frame on a shared stream. */
export const MUX_FRAME = 'frame';

/** The SSE event type of the frame that names a shared stream (`{"stream": "<32 hex>"}`). */
export const MUX_STREAM = 'stream';

/** A tab's id on a shared stream (chosen by the browser's worker). */
export const MUX_TAB_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A shared stream's id (the manager's, random). */
export const MUX_STREAM_ID = /^[0-9a-f]{32}$/;

/** Largest body of an open or close command. */
const MUX_MAX_BODY = 4096;

/** Manager → itself: a tab asked for a session on the shared stream `stream`. */
export class MuxOpen {
  constructor(
    readonly stream: string,
    readonly tab: string,
  ) {}
}

/** Manager → itself: the tab of session `session` went away. */
export class MuxClose {
  constructor(readonly session: string) {}
}

/** Whether a stream request asks for a shared stream (`/sse?mux=1`). */
export function isMuxRequest(req: IncomingMessage | null): boolean {
  const url = req?.url ?? '';
  const q = url.indexOf('?');
  return q >= 0 && new URLSearchParams(url.slice(q + 1)).get('mux') === '1';
}

/** Answers a command with `{ok, error?}`, as the POST workers do. */
export function muxReply(res: ServerResponse, status: number, error: string | null): void {
  const body = JSON.stringify(error === null ? { ok: true, data: null } : { ok: false, error });
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
}

/** Reads a small JSON object body; null when it is too large, not JSON or not an object. */
export async function readMuxBody(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  const raw = await readRequestBody(req, MUX_MAX_BODY);
  if (raw === null) return null;
  try {
    const v: unknown = JSON.parse(raw.toString('utf8') || '{}');
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
