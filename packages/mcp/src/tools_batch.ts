// The batch tools (@ergo-ts/entities batch operations, workflow/client/batch_client.ts): through the
// entities manager's operator requests, as the other workflow tools. workflow_batch_count (a dry
// run: how many instances a query matches) and workflow_batch_describe (a batch's progress:
// matched, done, failed, skipped) read; workflow_batch_start, workflow_batch_cancel and
// workflow_terminate act, so they run only with `actions: true`. A batch start must repeat the
// dry run's count as `confirm` (the count the operator saw): a query that now matches another
// number is refused with ERR_MCP_BAD_ARGUMENT, nothing started; the start request carries it too,
// and the member refuses it (ERR_WORKFLOW_BATCH_COUNT_CHANGED) if the match changed in between.

import { z } from 'zod';

import { McpToolError } from './errors.js';
import type { ToolSpec } from './tools.js';
import { entitiesArg, instanceArgs, operate, workflowFilterArgs, workflowFilterFields } from './tools_workflow.js';

const queryArgs = {
  ...entitiesArg,
  workflow: z.string().min(1).optional().describe('Only this workflow kind; absent: every kind (batches aside)'),
  ...workflowFilterArgs,
  action: z
    .enum(['cancel', 'terminate', 'signal', 'resume', 'reset'])
    .describe('What to do to each instance (terminate: ends it without compensations; reset: from toSeq, default 0)'),
  reason: z.string().min(1).optional().describe('cancel, terminate, reset: why'),
  signal: z.string().min(1).optional().describe('signal: its name'),
  payload: z.unknown().optional().describe('signal: its payload (JSON)'),
  toSeq: z.number().int().min(0).optional().describe('reset: the operation to run again from (default 0)'),
};

/** The operator request fields of a batch query and action. */
function batchFields(args: Record<string, unknown>): Record<string, unknown> {
  const a = args.action as string;
  if (a === 'signal' && typeof args.signal !== 'string')
    throw new McpToolError('ERR_MCP_BAD_ARGUMENT', 'a signal batch needs signal (its name)');
  return {
    ...workflowFilterFields(args),
    action: {
      type: a,
      ...(args.reason === undefined ? {} : { reason: args.reason }),
      ...(a === 'signal' ? { name: args.signal, payload: args.payload } : {}),
      ...(a === 'reset' && args.toSeq !== undefined ? { toSeq: args.toSeq } : {}),
    },
  };
}

const batchIdArgs = {
  ...entitiesArg,
  batchId: z.string().min(1).describe('The batch id (workflow_batch_start gave it)'),
};

/** The batch tools (see the top of this file). */
export const batchTools: ToolSpec[] = [
  {
    name: 'workflow_batch_count',
    title: 'Batch dry run',
    description:
      'How many workflow instances a batch with this query would act on (a dry run: nothing is done); pass the count as confirm to workflow_batch_start',
    action: false,
    remote: 'inspector',
    shape: queryArgs,
    async run(ctx, args) {
      const { node, value } = await operate(ctx, args, 'batchStart', { ...batchFields(args), dryRun: true }, false);
      return { node, ...(value as object) };
    },
  },
  {
    name: 'workflow_batch_start',
    title: 'Start a batch',
    description:
      'Starts a batch: cancel, terminate, signal (once per instance), resume or reset every workflow instance the query matches, a page at a time, run by the cluster (it survives the loss of the member running it); confirm must equal the dry run count (workflow_batch_count); answers the batch id',
    action: true,
    remote: 'inspector',
    shape: {
      ...queryArgs,
      confirm: z.number().int().min(0).describe('The count workflow_batch_count answered for this query'),
      batchId: z.string().min(1).optional().describe('Its id (default a random UUID); a repeat starts nothing new'),
      pageSize: z.number().int().min(1).max(1000).optional().describe('Instances per page (default 100)'),
    },
    async run(ctx, args) {
      const fields = batchFields(args);
      const dry = await operate(ctx, args, 'batchStart', { ...fields, dryRun: true }, false);
      const matched = (dry.value as { matched: number }).matched;
      if (matched !== args.confirm)
        throw new McpToolError(
          'ERR_MCP_BAD_ARGUMENT',
          `confirm ${String(args.confirm)} is not the count the query matches now (${matched}): nothing started`,
        );
      const { node, value } = await operate(
        ctx,
        args,
        'batchStart',
        // The member checks it again as it starts: a match that changed since the count above is refused there.
        { ...fields, confirm: args.confirm, batchId: args.batchId, pageSize: args.pageSize },
        true,
      );
      return { node, ...(value as object) };
    },
  },
  {
    name: 'workflow_batch_describe',
    title: 'Batch progress',
    description:
      "A batch's status (running, completed, cancelled), its action and query, and its progress: expected (the count at its start), matched, done, failed, skipped, the first failures",
    action: false,
    remote: 'inspector',
    shape: batchIdArgs,
    async run(ctx, args) {
      const { node, value } = await operate(ctx, args, 'batchDescribe', { batchId: args.batchId }, false);
      return { node, ...(value as object) };
    },
  },
  {
    name: 'workflow_batch_cancel',
    title: 'Cancel a batch',
    description: 'Stops a batch between two instances (those it acted on stay so)',
    action: true,
    remote: 'inspector',
    shape: batchIdArgs,
    async run(ctx, args) {
      const { node, value } = await operate(ctx, args, 'batchCancel', { batchId: args.batchId }, true);
      return { node, batchId: args.batchId, result: value };
    },
  },
  {
    name: 'workflow_terminate',
    title: 'Terminate a workflow',
    description:
      'Ends a running workflow instance at once, cancelled with "terminated: <reason>", without running its compensations (prefer workflow_cancel); ERR_WORKFLOW_CLOSED once it completed or failed',
    action: true,
    remote: 'inspector',
    shape: { ...instanceArgs, reason: z.string().min(1).optional().describe('Why') },
    async run(ctx, args) {
      const fields = { workflow: args.workflow, id: args.id, reason: args.reason };
      const { node, value } = await operate(ctx, args, 'terminate', fields, true);
      return { node, workflow: args.workflow, id: args.id, result: value };
    },
  },
];
