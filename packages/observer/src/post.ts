// POST commands: a pool of web workers (Ergo v0.2's `observer_post_pool`). Each request names its
// session (`X-Observer-Session`), carries a JSON body (1 MiB at most), and is forwarded to that
// session as a call; the answer is `{ok, error?, data?}` with 200, 400 (a bad command), 401 (no
// session header), 404 (an unknown path or session), 413 (too large), 502 / 504 (the observed node
// failed or did not answer: the message names the node and the request) or 500.

import type { IncomingMessage, ServerResponse } from 'node:http';

import { ErrProcessUnknown, ErrTimeout, Pool, WebWorker, type PID, type PoolOptions } from 'ergo-ts';
import { readRequestBody } from 'ergo-ts/meta';

import { OBSERVER_MAX_BODY } from './options.js';
import { isEntitiesRead } from './workflows.js';
import { SESSION_ANSWER_TIMEOUT, SESSION_PREFIX, SessionCommand, SessionReply } from './session_protocol.js';

/** Registered name of the POST pool. */
export const POST_POOL_NAME = 'observer_post_pool';

const SESSION_ID = /^[0-9a-f]{32}$/;

function reply(
  res: ServerResponse,
  status: number,
  error: string | null,
  data: unknown = null,
  code: string | null = null,
): void {
  const body = JSON.stringify(
    error === null ? { ok: true, data } : code === null ? { ok: false, error } : { ok: false, error, code },
  );
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
}

/** The `do` actions that only read (see handlePost's log). */
const READ_ACTIONS = new Set(['crashes', 'tabs', 'log_search', 'queues']);

function isRead(action: string, body: Record<string, unknown>): boolean {
  return READ_ACTIONS.has(action) || isEntitiesRead(action, body);
}

/** One POST worker: parses the command and calls the session it names. */
export class PostWorker extends WebWorker {
  override async handlePost(_from: PID, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const session = req.headers['x-observer-session'];
    if (typeof session !== 'string' || !SESSION_ID.test(session)) {
      reply(res, 401, 'X-Observer-Session header missing or malformed');
      return;
    }
    const path = (req.url ?? '').split('?')[0]!;
    const m = /^\/api\/(subscribe|unsubscribe|switch|do\/([a-z_]+))$/.exec(path);
    if (m === null) {
      reply(res, 404, `unknown command ${path}`);
      return;
    }
    let raw: Buffer | null;
    try {
      raw = await readRequestBody(req, OBSERVER_MAX_BODY);
    } catch {
      // The client went away mid-body: nobody reads an answer, but end the response cleanly.
      reply(res, 400, 'request body aborted');
      return;
    }
    if (raw === null) {
      reply(res, 413, `body larger than ${OBSERVER_MAX_BODY} bytes`);
      return;
    }
    const text = raw.toString('utf8');
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      reply(res, 400, 'body: not JSON');
      return;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      reply(res, 400, 'body: a JSON object is required');
      return;
    }
    const op = m[2] === undefined ? m[1]! : 'do';
    const command = new SessionCommand(op, m[2] ?? '', body as Record<string, unknown>);
    let answer: unknown;
    try {
      // The session answers every command within its own time limits (naming the node and the
      // request that failed); this wait only ends a session that is itself stuck.
      answer = await this.call(SESSION_PREFIX + session, command, { timeout: SESSION_ANSWER_TIMEOUT });
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (code === ErrProcessUnknown.code || (err instanceof Error && /unknown/i.test(err.message))) {
        reply(res, 404, 'unknown session');
        return;
      }
      const late = code === ErrTimeout.code;
      reply(
        res,
        late ? 504 : 500,
        late
          ? `the Observer session did not answer ${op} within ${SESSION_ANSWER_TIMEOUT / 1000} s`
          : err instanceof Error
            ? err.message
            : String(err),
      );
      return;
    }
    if (!(answer instanceof SessionReply)) {
      reply(res, 500, 'the session did not answer');
      return;
    }
    // Every action is on the record of the Observer's node too (a Go node logs none itself); the
    // target and settings only, never a message's content. Reads a page polls each second (the
    // workflows' list and charts, the dead letters, a crash) are no actions: not logged.
    if (op === 'do' && !isRead(m[2]!, body as Record<string, unknown>)) {
      const b = body as Record<string, unknown>;
      const what = [
        'pid',
        'alias',
        'target',
        'level',
        'reason',
        'priority',
        'limit',
        'rate',
        'count',
        'seconds',
        'app',
        'mode',
        'force',
        'application',
        'max_processes',
        'process',
        'text',
        'op',
        'workflow',
        'id',
        'toSeq',
        'kind',
        'key',
      ]
        .filter((k) => b[k] !== undefined)
        .map((k) => `${k}=${String(b[k]).slice(0, 120)}`)
        .join(' ');
      this.log.info('observer action %s %s (session %s): %d', m[2], what, session.slice(0, 8), answer.status);
    }
    reply(res, answer.status, answer.status === 200 ? null : (answer.error ?? 'failed'), answer.data, answer.code);
  }
}

/** The pool of {@link PostWorker}s. */
export class PostPool extends Pool {
  override init(size: number): PoolOptions {
    return { poolSize: size, workerFactory: PostWorker };
  }
}
