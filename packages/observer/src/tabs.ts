// The Tabs page's requests (browser tabs as nodes, @ergo-ts/tabs): `do/tabs` with an `op`. The
// session asks the registered process `tabs_inspect` of the node it observes, which a tab gateway
// runs (docs/browser-gateway.md "In the Observer"), with the plain request that process answers
// tools that do not import @ergo-ts/tabs: `{ '~tabs': 'list' }` (the gateway's tabs: label,
// connected or away, frames and bytes in and out, queued, refused, peers),
// `{ '~tabs': 'processes', tab, limit }` and `{ '~tabs': 'process', tab, id }` (a tab's processes
// and mailboxes, which the gateway asks of the tab's own inspector under its own deadline). The
// answer is a JSON text, `{ ok: true, value }` or `{ ok: false, code, message }`; a refusal keeps
// its code (ERR_TAB_INSPECT 502, ERR_TIMEOUT 504, ERR_TAB_NOT_GRANTED 403). A node without a
// gateway answers 404 `no_tabs`; `probe` answers `{ gateway }` (200 either way: the page asks it on
// every node to show its Tabs link). Every op only reads: none is logged as an action (post.ts).

import { ErrProcessUnknown, ProcessID, type Atom } from 'ergo-ts';

import { CommandError, type RegisteredCall, type Target } from './requests.js';
import { ToolError } from './tools.js';

/** The `do` action of the Tabs pages. */
export const TABS_ACTION = 'tabs';

/** The registered name of a tab gateway's inspector (`TABS_INSPECT` of @ergo-ts/tabs). */
export const TABS_INSPECT = 'tabs_inspect';

/** Most processes a tab node's page asks for. */
const PROCESSES_MAX = 1000;

/** HTTP status of each refusal the gateway codes. */
const STATUS: Record<string, number> = {
  ERR_TAB_INSPECT: 502,
  ERR_TIMEOUT: 504,
  ERR_TAB_NOT_GRANTED: 403,
};

/**
 * The call a `do/tabs` body makes (to the observed node's `tabs_inspect`), and how its answer
 * reads. Throws a CommandError (400) for an unknown op or a malformed tab / limit / id.
 */
export function tabsCall(body: Record<string, unknown>, target: Target): RegisteredCall {
  const op = body.op;
  if (op === 'probe')
    return {
      to: new ProcessID(TABS_INSPECT as Atom, target.node),
      request: { '~tabs': 'list' },
      answer: (text) => (tabsAnswer(target.node, text), { gateway: true }),
      fail: (err) => (err instanceof Error ? err : new Error(String(err))),
      absent: () => ({ gateway: false }),
    };
  const request: Record<string, unknown> = { '~tabs': op };
  if (op !== 'list') {
    if (op !== 'processes' && op !== 'process')
      throw new CommandError(400, 'op: one of probe, list, processes, process');
    if (typeof body.tab !== 'string' || body.tab === '') throw new CommandError(400, "tab: a tab's node name");
    request.tab = body.tab;
    if (op === 'processes') {
      const limit = body.limit ?? 200;
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > PROCESSES_MAX)
        throw new CommandError(400, `limit: 1..${PROCESSES_MAX}`);
      request.limit = limit;
    } else {
      if (typeof body.id !== 'number' || !Number.isSafeInteger(body.id))
        throw new CommandError(400, "id: a PID's id (a number)");
      request.id = body.id;
    }
  }
  const node = target.node;
  return {
    to: new ProcessID(TABS_INSPECT as Atom, node),
    request,
    answer: (text) => tabsAnswer(node, text),
    fail: (err) =>
      (err as { code?: unknown } | null)?.code === ErrProcessUnknown.code
        ? new ToolError(404, 'no_tabs', `${node} runs no tab gateway`)
        : err instanceof Error
          ? err
          : new Error(String(err)),
  };
}

/** The gateway's answer as the page's data, or the refusal it says. */
export function tabsAnswer(node: string, text: unknown): unknown {
  let reply: { ok?: unknown; value?: unknown; code?: unknown; message?: unknown };
  try {
    reply = JSON.parse(String(text)) as typeof reply;
  } catch {
    throw new ToolError(502, 'no_tabs', `${node}: ${TABS_INSPECT} does not answer tab requests`);
  }
  if (reply === null || typeof reply !== 'object')
    throw new ToolError(502, 'no_tabs', `${node}: ${TABS_INSPECT} does not answer tab requests`);
  if (reply.ok === true) return reply.value ?? null;
  const code = typeof reply.code === 'string' ? reply.code : 'ERR_TAB_INSPECT';
  throw new ToolError(STATUS[code] ?? 500, code, String(reply.message));
}
