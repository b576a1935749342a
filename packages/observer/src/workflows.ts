// The Workflows page's requests (@ergo-ts/entities' durable workflows), `do/workflows` with an
// `op`, and the Dead letters page's, `do/deadletters`: the session asks the entities manager of
// the node it observes (its registered name, `entities` unless the page names another) the
// operator request that manager answers for tools that do not import that package
// (`{ '~entity': 'workflows' | 'deadLetters', op, ... }`, a JSON text answer). Workflows' `kinds`,
// `list`, `describe` and `stats` (the counters the page's charts sample) and dead letters' `list`
// read (and a batch's `batchDescribe`, and `batchStart` with `dryRun`: a count); `cancel`,
// `resume`, `reset`, `signal`, `update`, `terminate`, `batchStart`, `batchCancel` and a dead
// letter's `retry` and `drop` act, so they
// are gated by the Observer's `workflowActions` option (403 `workflow_actions_disabled` when
// false), and are logged on the node as every action is (post.ts). A refusal keeps the engine's
// code (ERR_WORKFLOW_NOT_FOUND 404, ERR_WORKFLOW_INCORRECT 400, ERR_WORKFLOW_CLOSED 409,
// ERR_WORKFLOW_BATCH_COUNT_CHANGED 409, ERR_WORKFLOW_UNSUPPORTED 501, ERR_ENTITY_INCORRECT 400); a node without an entities runtime
// answers 404 `no_entities`.

import { ErrProcessUnknown, ProcessID, type Atom } from 'ergo-ts';

import { CommandError, type RegisteredCall, type Target } from './requests.js';
import { SCHEDULE_ACTION, SCHEDULE_FIELDS, SCHEDULE_STATUS, SCHEDULE_SUBJECT } from './schedules.js';
import { ToolError } from './tools.js';

/** The `do` action of the Workflows page. */
export const WORKFLOW_ACTION = 'workflows';
/** The `do` action of the Dead letters page. */
export const DEAD_LETTER_ACTION = 'deadletters';

/** Per `do` action: the manager's request subject, the operations that only read, those that act (gated by `workflowActions`). */
const SUBJECTS: Record<string, { subject: string; reads: Set<string>; writes: Set<string> }> = {
  [WORKFLOW_ACTION]: {
    subject: 'workflows',
    reads: new Set(['kinds', 'list', 'describe', 'stats', 'batchDescribe']),
    writes: new Set(['cancel', 'resume', 'reset', 'signal', 'update', 'terminate', 'batchStart', 'batchCancel']),
  },
  [DEAD_LETTER_ACTION]: { subject: 'deadLetters', reads: new Set(['list']), writes: new Set(['retry', 'drop']) },
  [SCHEDULE_ACTION]: SCHEDULE_SUBJECT,
};

/**
 * The longest an `update` waits at the node for the body's answer, in ms: under the session's call
 * timeout, so a late answer comes back as ERR_WORKFLOW_TIMEOUT naming the update's id (the page
 * asks again with it) rather than as the session's own timeout.
 */
export const UPDATE_WAIT_MS = 4000;

/** The entities manager's registered name unless the page names another. */
const DEFAULT_ENTITIES = 'entities';

/** HTTP status of each refusal the engine codes. */
const STATUS: Record<string, number> = {
  ERR_WORKFLOW_NOT_FOUND: 404,
  ERR_WORKFLOW_INCORRECT: 400,
  ERR_WORKFLOW_CLOSED: 409,
  ERR_WORKFLOW_UPDATE_REJECTED: 422,
  ERR_WORKFLOW_UPDATE_FAILED: 422,
  ERR_WORKFLOW_TIMEOUT: 504,
  ERR_WORKFLOW_UNSUPPORTED: 501,
  ERR_WORKFLOW_BATCH_COUNT_CHANGED: 409,
  ERR_ENTITY_INCORRECT: 400,
  ...SCHEDULE_STATUS,
};

/** The fields of an operation the manager reads (the rest of the body is dropped). */
const FIELDS = [
  ...['workflow', 'id', 'status', 'limit', 'after', 'reason', 'toSeq', 'name', 'payload', 'signalId', 'kind', 'key'],
  // stats: this node's figures or the cluster's ('node' | 'cluster').
  'scope',
  // list's search (the store's state index): a cursor, time ranges, search attributes.
  ...['cursor', 'startedAfter', 'startedBefore', 'endedAfter', 'endedBefore', 'attributes'],
  // Batch operations (pages/workflow_batch.tsx): what to do, a dry run, the count the operator
  // confirmed (the member refuses a start whose query matches another count now), the batch's id
  // and page size.
  ...['action', 'dryRun', 'confirm', 'batchId', 'pageSize'],
] as const;
/** The fields of an update besides `name` (its `timeoutMs` is the Observer's: {@link UPDATE_WAIT_MS}). */
const UPDATE_FIELDS = ['input', 'updateId'] as const;

/** Whether a `do/workflows` or `do/deadletters` body only reads (polled each second: not logged as an action). */
export function isEntitiesRead(action: string, body: Record<string, unknown>): boolean {
  return (SUBJECTS[action]?.reads.has(String(body.op)) ?? false) || isDryRun(action, body);
}

/** A batch start with `dryRun`: it only counts (a read, allowed while `workflowActions` is off). */
function isDryRun(action: string, body: Record<string, unknown>): boolean {
  return action === WORKFLOW_ACTION && body.op === 'batchStart' && body.dryRun === true;
}

/** Whether `action` is a `do` action this file answers (`workflows`, `deadletters`). */
export function isEntitiesAction(action: string): boolean {
  return Object.hasOwn(SUBJECTS, action);
}

/**
 * The call a `do/workflows` or `do/deadletters` body makes: to whom, and the request. Throws a
 * CommandError (400) for an unknown op, a ToolError (403) for an action while `workflowActions`
 * is off.
 */
export function workflowCall(
  body: Record<string, unknown>,
  target: Target,
  actions: boolean,
  action: string = WORKFLOW_ACTION,
): { to: ProcessID; request: Record<string, unknown>; op: string } {
  const { subject, reads, writes } = SUBJECTS[action] ?? SUBJECTS[WORKFLOW_ACTION]!;
  const op = body.op;
  if (typeof op !== 'string' || (!reads.has(op) && !writes.has(op)))
    throw new CommandError(400, `op: one of ${[...reads, ...writes].join(', ')}`);
  if (writes.has(op) && !actions && !isDryRun(action, body))
    throw new ToolError(
      403,
      'workflow_actions_disabled',
      'workflow actions are turned off on this Observer (workflowActions: false)',
    );
  const entities = body.entities ?? DEFAULT_ENTITIES;
  if (typeof entities !== 'string' || entities === '')
    throw new CommandError(400, "entities: the entities manager's registered name");
  const request: Record<string, unknown> = { '~entity': subject, op };
  // Absent fields stay out: an undefined value does not cross to another node.
  for (const f of FIELDS) if (body[f] !== undefined && body[f] !== null) request[f] = body[f];
  if (subject === 'schedules')
    for (const f of SCHEDULE_FIELDS) if (body[f] !== undefined && body[f] !== null) request[f] = body[f];
  if (subject === 'workflows' && op === 'update') updateFields(body, request);
  return { to: new ProcessID(entities as Atom, target.node), request, op };
}

/** The answer of the manager as the page's data, or the refusal it says (see the top of this file). */
export function workflowAnswer(node: string, text: unknown): unknown {
  let reply: { ok?: unknown; value?: unknown; code?: unknown; message?: unknown };
  try {
    reply = JSON.parse(String(text)) as typeof reply;
  } catch {
    throw new ToolError(502, 'no_workflows', `${node}: the entities manager does not answer workflow requests`);
  }
  if (reply.ok === true) return reply.value;
  const code = typeof reply.code === 'string' ? reply.code : 'ERR_WORKFLOW_OPERATION';
  throw new ToolError(STATUS[code] ?? 500, code, String(reply.message));
}

/** {@link workflowCall} with how the manager's answer reads. */
export function workflowRequest(
  body: Record<string, unknown>,
  target: Target,
  tools: { workflowActions: boolean },
  action: string,
): RegisteredCall {
  const { to, request } = workflowCall(body, target, tools.workflowActions, action);
  return {
    to,
    request,
    answer: (text) => workflowAnswer(target.node, text),
    fail: (err) => workflowCallError(target.node, err),
  };
}

/** What a failed call to the manager tells the page. */
export function workflowCallError(node: string, err: unknown): Error {
  if ((err as { code?: unknown } | null)?.code === ErrProcessUnknown.code)
    return new ToolError(404, 'no_entities', `${node} runs no entities runtime`);
  return err instanceof Error ? err : new Error(String(err));
}

/** An update's own fields: its input (null when absent: JSON has no undefined) and id, and the wait. */
function updateFields(body: Record<string, unknown>, request: Record<string, unknown>): void {
  for (const f of UPDATE_FIELDS) if (body[f] !== undefined) request[f] = body[f];
  request.input ??= null;
  request.timeoutMs = UPDATE_WAIT_MS;
}
