// The workflow and dead-letter tools (@ergo-ts/entities): each asks the entities manager of the
// node it names (its registered name, `entities` by default) the operator request the manager
// answers for tools that do not import that package (`{ '~entity': 'workflows' | 'deadLetters',
// op, ... }`, a JSON text answer). workflow_list (a search of the store's index: kind, status, time
// ranges, search attributes, a cursor, counts per status), workflow_describe, workflow_stats and
// dead_letters read; workflow_cancel, workflow_resume, workflow_reset, workflow_signal,
// workflow_update, dead_letter_retry and dead_letter_drop act, so they run only with `actions: true`.
// A refusal keeps the engine's code (ERR_WORKFLOW_NOT_FOUND, ERR_WORKFLOW_CLOSED,
// ERR_WORKFLOW_INCORRECT, ERR_WORKFLOW_UNSUPPORTED, ERR_ENTITY_INCORRECT); a node without an
// entities runtime of that name answers ERR_MCP_UNSUPPORTED.

import { randomUUID } from 'node:crypto';

import { ErgoError, ErrProcessUnknown, ErrTimeout, ProcessID, type Atom } from 'ergo-ts';
import { z } from 'zod';

import type { ToolContext } from './context.js';
import { McpToolError } from './errors.js';
import { message, seconds } from './inspect.js';
import { common, timeoutOf, type ToolSpec } from './tools.js';

/** How much earlier than the tool's timeout an update's wait for its answer ends (so its ERR_WORKFLOW_TIMEOUT arrives). */
const UPDATE_ANSWER_MARGIN_MS = 500;

/** The entities manager's registered name when the tool is not told another (the runtime's default). */
export const DEFAULT_ENTITIES_NAME = 'entities';

const workflowArgs = {
  ...common,
  entities: z
    .string()
    .min(1)
    .optional()
    .describe(`Registered name of the entities runtime's manager (default ${DEFAULT_ENTITIES_NAME})`),
  workflow: z.string().min(1).describe('The workflow kind (its defineWorkflow name)'),
};

/** A time bound as a tool takes it: an ISO 8601 text or epoch ms. */
export const timeArg = z.union([z.string().min(1), z.number().int().min(0)]).optional();

/** `v` (ISO 8601 or epoch ms) in epoch ms; ERR_MCP_BAD_ARGUMENT for a text that is no time. */
export function epochMs(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  const ms = typeof v === 'number' ? v : Date.parse(String(v));
  if (!Number.isFinite(ms) || ms < 0)
    throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `${what}: ${JSON.stringify(v)} is not an ISO 8601 time or epoch ms`);
  return ms;
}

export const instanceArgs = { ...workflowArgs, id: z.string().min(1).describe('The workflow instance id') };

/**
 * The filter of a search of the store's index (workflow_list, the batch tools in tools_batch.ts)
 * beside the workflow kind, whose text each tool says its own way.
 */
export const workflowFilterArgs = {
  status: z.enum(['running', 'completed', 'failed', 'cancelled', 'timedOut']).optional().describe('Only this status'),
  attributes: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .optional()
    .describe('Search attributes that must all be equal, e.g. {"customer":"c-7"}'),
  startedAfter: timeArg.describe('Started after this time (ISO 8601 or epoch ms)'),
  startedBefore: timeArg.describe('Started before this time (ISO 8601 or epoch ms)'),
  endedAfter: timeArg.describe('Ended after this time (ISO 8601 or epoch ms)'),
  endedBefore: timeArg.describe('Ended before this time (ISO 8601 or epoch ms)'),
};

/** The operator request fields of a filter (kind and {@link workflowFilterArgs}); ERR_MCP_BAD_ARGUMENT for a bad time. */
export function workflowFilterFields(args: Record<string, unknown>): Record<string, unknown> {
  return {
    workflow: args.workflow,
    status: args.status,
    attributes: args.attributes,
    startedAfter: epochMs(args.startedAfter, 'startedAfter'),
    startedBefore: epochMs(args.startedBefore, 'startedBefore'),
    endedAfter: epochMs(args.endedAfter, 'endedAfter'),
    endedBefore: epochMs(args.endedBefore, 'endedBefore'),
  };
}

export const entitiesArg = { ...common, entities: workflowArgs.entities };

const letterArgs = {
  ...entitiesArg,
  kind: z.string().min(1).describe("The entity kind the message was sent to (a dead letter's kind)"),
  key: z.string().min(1).describe("The entity key (a dead letter's key)"),
  id: z.string().min(1).describe("The message id (a dead letter's id)"),
};

/** Which operator requests the manager answers (workflow/operator/operator.ts, runtime/dead_letters.ts, workflow/operator/schedules_operator.ts). */
export type Subject = 'workflows' | 'deadLetters' | 'schedules';

/** Asks the entities manager of the node `args.node` names; the answer's value, or its refusal as an error (tools_schedules.ts too). */
export async function operate(
  ctx: ToolContext,
  args: Record<string, unknown>,
  op: string,
  fields: Record<string, unknown>,
  action: boolean,
  subject: Subject = 'workflows',
): Promise<{ node: string; value: unknown }> {
  const what = subject === 'workflows' ? 'workflow' : subject === 'schedules' ? 'schedule' : 'dead-letter';
  const t = await ctx.reach(args.node as string | undefined);
  const timeout = timeoutOf(ctx, args);
  const name = typeof args.entities === 'string' ? args.entities : DEFAULT_ENTITIES_NAME;
  if (action) ctx.node.log.info('mcp: action %s %s %s on %s', what, op, JSON.stringify(fields), t.node);
  let text: unknown;
  try {
    text = await ctx.node.call(
      new ProcessID(name as Atom, t.node),
      // Absent fields left out: an undefined value does not cross to another node.
      { '~entity': subject, op, ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) },
      // Important: a node without the process answers at once (a Go node would let the call time out).
      { timeout, important: true },
    );
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === ErrTimeout.code)
      throw new McpToolError(
        'ERR_MCP_TIMEOUT',
        `${t.node}: the entities runtime did not answer within ${seconds(timeout)} s`,
      );
    if (code === ErrProcessUnknown.code)
      throw new McpToolError('ERR_MCP_UNSUPPORTED', `${t.node} runs no entities runtime named ${name}`);
    throw new McpToolError('ERR_MCP_REFUSED', `${t.node}: ${what} ${op} failed: ${message(err)}`);
  }
  let reply: { ok?: unknown; value?: unknown; code?: unknown; message?: unknown };
  try {
    reply = JSON.parse(String(text)) as typeof reply;
  } catch {
    throw new McpToolError('ERR_MCP_UNSUPPORTED', `${t.node}: ${name} does not answer ${what} requests`);
  }
  if (reply.ok === true) return { node: t.node, value: reply.value };
  if (typeof reply.code !== 'string')
    throw new McpToolError('ERR_MCP_UNSUPPORTED', `${t.node}: ${name} does not answer ${what} requests`);
  throw new ErgoError(reply.code, String(reply.message));
}

/** What {@link operatorTool} makes a tool of. */
export interface OperatorToolSpec extends Pick<ToolSpec, 'name' | 'title' | 'description' | 'action' | 'shape'> {
  /** The operator request it asks, of `subject`'s (default 'workflows'). */
  readonly op: string;
  readonly subject?: Subject;
  /** The request's fields from the tool's arguments. */
  fields(args: Record<string, unknown>): Record<string, unknown>;
  /** The tool's answer from the node that answered and the request's value. */
  answer(node: string, value: unknown, args: Record<string, unknown>): unknown;
}

/** A tool that asks one operator request of the entities manager ({@link operate}) and answers from its value. */
export function operatorTool(spec: OperatorToolSpec): ToolSpec {
  const { op, subject, fields, answer, ...tool } = spec;
  return {
    ...tool,
    remote: 'inspector',
    async run(ctx, args) {
      const { node, value } = await operate(ctx, args, op, fields(args), tool.action, subject);
      return answer(node, value, args);
    },
  };
}

/** `dead_letter_<op>`: an action on one dead letter (kind, key, id). */
function letterAction(op: 'retry' | 'drop', title: string, description: string): ToolSpec {
  const fields = (a: Record<string, unknown>) => ({ kind: a.kind, key: a.key, id: a.id });
  return operatorTool({
    name: `dead_letter_${op}`,
    title,
    description,
    action: true,
    shape: letterArgs,
    op,
    subject: 'deadLetters',
    fields,
    answer: (node, value, a) => ({ node, ...fields(a), result: value }),
  });
}

/** The workflow and dead-letter tools (see the top of this file). */
export const workflowTools: ToolSpec[] = [
  {
    name: 'workflow_list',
    title: 'Workflows',
    description:
      "Searches workflow instances in the store's index, newest first (id, workflow, status, startedAt, endedAt, runs, blocked, error, attributes), with counts per status of the filter: by workflow kind, status, start/end time range and search attributes (equality); pass the answer's next as cursor for the next page. Without workflow, searches every kind and also lists the workflow kinds the node hosts",
    action: false,
    remote: 'inspector',
    shape: {
      ...workflowArgs,
      workflow: z
        .string()
        .min(1)
        .optional()
        .describe('The workflow kind; absent: every kind (and the kinds are listed)'),
      ...workflowFilterArgs,
      limit: z.number().int().min(1).max(1000).optional().describe('At most this many (default 100, at most 1000)'),
      cursor: z.string().min(1).optional().describe("The previous page's next"),
      after: z.string().min(1).optional().describe('The same as cursor (older name)'),
    },
    async run(ctx, args) {
      const fields = {
        ...workflowFilterFields(args),
        limit: args.limit,
        cursor: args.cursor ?? args.after,
      };
      const { node, value } = await operate(ctx, args, 'list', fields, false);
      if (args.workflow !== undefined) return { node, workflow: args.workflow, ...(value as object) };
      const kinds = await operate(ctx, args, 'kinds', {}, false);
      return { node, workflows: kinds.value, ...(value as object) };
    },
  },
  {
    name: 'workflow_describe',
    title: 'Workflow instance',
    description:
      'One workflow instance as an operator sees it: status, input, output or error, its step history (journal, with times and attempts), pending timers, buffered signals, whether a body runs now',
    action: false,
    remote: 'inspector',
    shape: instanceArgs,
    async run(ctx, args) {
      const { node, value } = await operate(ctx, args, 'describe', { workflow: args.workflow, id: args.id }, false);
      return { node, ...(value as object) };
    },
  },
  {
    name: 'workflow_cancel',
    title: 'Cancel a workflow',
    description:
      'Cancels a running workflow instance: its pending operations fail with ERR_WORKFLOW_CANCELLED, its compensations may run, its children are cancelled; ERR_WORKFLOW_CLOSED once it completed or failed',
    action: true,
    remote: 'inspector',
    shape: {
      ...instanceArgs,
      reason: z.string().min(1).optional().describe('Why (default "cancelled by an operator")'),
    },
    async run(ctx, args) {
      const { node, value } = await operate(
        ctx,
        args,
        'cancel',
        { workflow: args.workflow, id: args.id, reason: args.reason },
        true,
      );
      return { node, workflow: args.workflow, id: args.id, result: value };
    },
  },
  {
    name: 'workflow_resume',
    title: 'Resume a workflow',
    description:
      "An operator's resume: a failed instance runs its failed steps again, a halted (diverged) one runs again; ERR_WORKFLOW_CLOSED once it completed or was cancelled",
    action: true,
    remote: 'inspector',
    shape: instanceArgs,
    async run(ctx, args) {
      const { node, value } = await operate(ctx, args, 'resume', { workflow: args.workflow, id: args.id }, true);
      return { node, workflow: args.workflow, id: args.id, result: value };
    },
  },
  {
    name: 'workflow_reset',
    title: 'Reset a workflow',
    description:
      "An operator's reset, as Temporal's: the instance, whatever its status, runs again from operation to_seq (a history entry's s; 0: from the start) on the current code; entries before it are replayed, operations from it run again under new idempotency keys (their effects happen again); its outcome and cancel are dropped, describe's resets lists the reset. ERR_WORKFLOW_INCORRECT for a to_seq past the journal's end + 1",
    action: true,
    remote: 'inspector',
    shape: {
      ...instanceArgs,
      to_seq: z
        .number()
        .int()
        .min(0)
        .describe("Run again from this operation (a history entry's s; 0: from the start)"),
      reason: z.string().min(1).optional().describe('Why (kept with the reset in describe’s resets)'),
    },
    async run(ctx, args) {
      const { node, value } = await operate(
        ctx,
        args,
        'reset',
        { workflow: args.workflow, id: args.id, toSeq: args.to_seq, reason: args.reason },
        true,
      );
      return { node, workflow: args.workflow, id: args.id, toSeq: args.to_seq, result: value };
    },
  },
  {
    name: 'workflow_stats',
    title: 'Workflow figures',
    description:
      "This node's workflow counters per kind since its entities runtime started (the ones @ergo-ts/metrics exports as ergo_workflow_*): instances started, completed, failed, cancelled, blocked; open and blocked now; step attempts, retries and failures; outbox pending and its oldest age (ms); signals and queries. Sample twice for rates",
    action: false,
    remote: 'inspector',
    shape: {
      ...workflowArgs,
      workflow: z.string().min(1).optional().describe('Only this kind (default: every kind)'),
      scope: z
        .enum(['node', 'cluster'])
        .optional()
        .describe(
          "'node' (default): this node's counters; 'cluster': every live member's summed by this node (a client-only node too), with the nodes summed and those that did not answer",
        ),
    },
    async run(ctx, args) {
      const { node, value } = await operate(ctx, args, 'stats', { workflow: args.workflow, scope: args.scope }, false);
      return { node, at: Date.now(), kinds: value };
    },
  },
  {
    name: 'workflow_signal',
    title: 'Signal a workflow',
    description:
      'Sends a declared signal with a JSON payload to a running instance (stored before it answers; kept until the body takes it); with signal_id a repeat is ignored (duplicate)',
    action: true,
    remote: 'inspector',
    shape: {
      ...instanceArgs,
      name: z.string().min(1).describe('The signal name (declared by the workflow)'),
      payload: z.unknown().describe('The payload (JSON; checked against the signal’s schema)'),
      signal_id: z.string().min(1).optional().describe('A de-duplication id'),
    },
    async run(ctx, args) {
      const { node, value } = await operate(
        ctx,
        args,
        'signal',
        {
          workflow: args.workflow,
          id: args.id,
          name: args.name,
          payload: args.payload ?? null,
          signalId: args.signal_id,
        },
        true,
      );
      return { node, workflow: args.workflow, id: args.id, result: value };
    },
  },
  {
    name: 'workflow_update',
    title: 'Update a workflow',
    description:
      "Sends a declared update with a JSON input to a running instance and waits for the body's answer (Temporal's Update): refused before anything is journaled when its schema or validator refuses the input (ERR_WORKFLOW_UPDATE_REJECTED) or the instance ended (ERR_WORKFLOW_CLOSED); ERR_WORKFLOW_UPDATE_FAILED when the body failed it. Idempotent by update_id: on ERR_WORKFLOW_TIMEOUT, ask again with the update_id the timeout names to get the answer, never a second run",
    action: true,
    remote: 'inspector',
    shape: {
      ...instanceArgs,
      name: z.string().min(1).describe('The update name (declared by the workflow)'),
      input: z.unknown().describe('The input (JSON; checked against the update’s schema and validator)'),
      update_id: z
        .string()
        .min(1)
        .max(256)
        .optional()
        .describe('The update id (default: a new UUID, answered in update_id): a repeat is answered, not run again'),
    },
    async run(ctx, args) {
      const updateId = typeof args.update_id === 'string' ? args.update_id : randomUUID();
      // The instance answers before the call's own timeout runs out: a timeout then names the id.
      const waitMs = Math.max(1, timeoutOf(ctx, args) - UPDATE_ANSWER_MARGIN_MS);
      const { node, value } = await operate(
        ctx,
        args,
        'update',
        {
          workflow: args.workflow,
          id: args.id,
          name: args.name,
          input: args.input ?? null,
          updateId,
          timeoutMs: waitMs,
        },
        true,
      );
      return { node, workflow: args.workflow, id: args.id, update_id: updateId, output: value };
    },
  },
  {
    name: 'dead_letters',
    title: 'Dead letters',
    description:
      'The durable messages set apart after inbox.maxAttempts failed attempts (entities.deadLetters), the one moved first listed first: kind, key, id, message, attempts, error (the last failure), acceptedAt, deadAt. Retry one with dead_letter_retry once the cause is fixed, or drop it with dead_letter_drop',
    action: false,
    remote: 'inspector',
    shape: {
      ...entitiesArg,
      kind: z.string().min(1).optional().describe("Only this entity kind's (default: every kind's)"),
      limit: z.number().int().min(1).max(10_000).optional().describe('At most this many (default 100)'),
    },
    async run(ctx, args) {
      const { node, value } = await operate(
        ctx,
        args,
        'list',
        { kind: args.kind, limit: args.limit },
        false,
        'deadLetters',
      );
      return { node, deadLetters: value };
    },
  },
  letterAction(
    'retry',
    'Retry a dead letter',
    'Moves a dead letter back to the end of its key’s inbox (its failed attempts at 0) and hands it to the key’s owner again: result true once it is back in the inbox, false when there is no such dead letter',
  ),
  letterAction(
    'drop',
    'Drop a dead letter',
    'Removes a dead letter for good: its id then counts as processed (a later send with it is a duplicate). Result true, or false when there is no such dead letter',
  ),
];
