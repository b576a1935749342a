// An operator's requests about workflows, answered by a node's entities manager for tools that do
// not import this package (the Observer, the MCP server): a call to the manager's registered name
// (`entities` by default) on the node with `{ '~entity': 'workflows', op, ... }`. The answer is
// JSON text (it crosses nodes as one string, whatever the records hold): `{ ok: true, value }`,
// or `{ ok: false, code, message }` for a refusal (ERR_WORKFLOW_NOT_FOUND, ERR_WORKFLOW_CLOSED,
// ERR_WORKFLOW_INCORRECT, ERR_WORKFLOW_UNSUPPORTED...). Each operation goes through the node's
// `entities.workflows`, so cancel, resume, reset, signal and update reach the instance's owner
// wherever it is (an update answers the body's answer: the operator's call waits for it).

import type { WorkflowClient } from './client.js';
import { ErrWorkflowIncorrect } from './errors.js';
import type { WorkflowStatus } from './record.js';
import type { WorkflowQuery } from './search.js';

/** The operations of {@link WorkflowOperation}. */
export const WORKFLOW_OPERATIONS = [
  'kinds',
  'list',
  'describe',
  'cancel',
  'resume',
  'reset',
  'signal',
  'update',
] as const;

/** A request to a node's entities manager about workflows (see the top of this file). */
export interface WorkflowOperation {
  readonly '~entity': 'workflows';
  readonly op: (typeof WORKFLOW_OPERATIONS)[number];
  /** The workflow kind's name (every op but `kinds`). */
  readonly workflow?: string;
  /** The instance's id (describe, cancel, resume, reset, signal). */
  readonly id?: string;
  /** list: a status filter, a page size, the previous page's `next` (`cursor`; `after` the same). */
  readonly status?: WorkflowStatus;
  readonly limit?: number;
  readonly cursor?: string;
  readonly after?: string;
  /** list: time ranges (epoch ms) and search attributes (workflow/search.ts); `workflow` absent: every kind. */
  readonly startedAfter?: number;
  readonly startedBefore?: number;
  readonly endedAfter?: number;
  readonly endedBefore?: number;
  readonly attributes?: Readonly<Record<string, string | number | boolean>>;
  /** cancel, reset: why. */
  readonly reason?: string;
  /** reset: the operation the instance runs again from (WorkflowHandle.reset). */
  readonly toSeq?: number;
  /** signal: its name, payload and optional de-duplication id. */
  readonly name?: string;
  readonly payload?: unknown;
  readonly signalId?: string;
  /** update: its name (`name`), input, id and how long to wait for the answer, in ms (answers the body's answer). */
  readonly input?: unknown;
  readonly updateId?: string;
  readonly timeoutMs?: number;
}

/** What the manager answers, parsed. */
export type WorkflowOperationReply =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** True when `v` is a workflow operation request (the fields are checked by {@link operateWorkflows}). */
export function isWorkflowOperation(v: unknown): v is WorkflowOperation {
  return typeof v === 'object' && v !== null && (v as { '~entity'?: unknown })['~entity'] === 'workflows';
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw ErrWorkflowIncorrect.with(`${what}: a non-empty string`);
  return v;
}

function optStr(v: unknown, what: string): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : str(v, what);
}

/** A list request's query (absent and null fields left out: a tool sends what its user filled in). */
function listQuery(r: WorkflowOperation): WorkflowQuery {
  const q: Record<string, unknown> = {};
  const kind = optStr(r.workflow, 'workflow');
  if (kind !== undefined) q.kind = kind;
  const cursor = optStr(r.cursor, 'cursor') ?? optStr(r.after, 'after');
  if (cursor !== undefined) q.cursor = cursor;
  for (const f of [
    'status',
    'limit',
    'startedAfter',
    'startedBefore',
    'endedAfter',
    'endedBefore',
    'attributes',
  ] as const)
    if ((r[f] as unknown) !== undefined && (r[f] as unknown) !== null && (r[f] as unknown) !== '') q[f] = r[f];
  return q as WorkflowQuery;
}

async function run(client: WorkflowClient, r: WorkflowOperation): Promise<unknown> {
  if (r.op === 'kinds') return client.kinds();
  if (r.op === 'list') return client.list(listQuery(r));
  const h = client.handleOf(str(r.workflow, 'workflow'), str(r.id, 'id'));
  switch (r.op) {
    case 'describe':
      return h.describe();
    case 'cancel':
      return h.cancel(optStr(r.reason, 'reason') ?? 'cancelled by an operator');
    case 'resume':
      return h.resume();
    case 'reset': {
      const reason = optStr(r.reason, 'reason');
      return h.reset({ toSeq: r.toSeq as number, ...(reason === undefined ? {} : { reason }) });
    }
    case 'signal': {
      const id = optStr(r.signalId, 'signalId');
      return h.signal(str(r.name, 'name') as never, r.payload as never, id === undefined ? {} : { id });
    }
    case 'update': {
      const updateId = optStr(r.updateId, 'updateId');
      const t = r.timeoutMs;
      if (t !== undefined && t !== null && (typeof t !== 'number' || !(t > 0)))
        throw ErrWorkflowIncorrect.with('timeoutMs: a number > 0');
      return h.update(str(r.name, 'name') as never, r.input as never, {
        ...(updateId === undefined ? {} : { updateId }),
        ...(typeof t === 'number' ? { timeoutMs: t } : {}),
      });
    }
    default:
      throw ErrWorkflowIncorrect.with(`unknown workflow operation ${JSON.stringify(r.op)}`);
  }
}

/** JSON of `v` (a bigint as its digits, an Error as its name, message and code). */
function json(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}

/** Runs `request` on `client` and answers as the top of this file says (never rejects). */
export async function operateWorkflows(client: WorkflowClient, request: WorkflowOperation): Promise<string> {
  try {
    if (!(WORKFLOW_OPERATIONS as readonly string[]).includes(request.op))
      throw ErrWorkflowIncorrect.with(
        `unknown workflow operation ${JSON.stringify(request.op)}: one of ${WORKFLOW_OPERATIONS.join(', ')}`,
      );
    return json({ ok: true, value: (await run(client, request)) ?? null });
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    return json({
      ok: false,
      code: typeof code === 'string' ? code : 'ERR_WORKFLOW_OPERATION',
      message: err instanceof Error ? err.message : String(err),
    });
  }
}
