// The workflow queue tool (@ergo-ts/entities' queues, docs/workflows.md "Queues"): workflow_queues
// asks the entities manager of the node it names (its registered name, `entities` by default)
// which queues that member serves and what waits there for a slot (`{ '~wfq': 'serves' }` and
// `{ '~wfq': 'waiting', queue }`, and each queue's limits with `{ '~wfq': 'queues' }`, answered by packages/entities/src/workflow/body/activities.ts). It only
// reads. A node without an entities runtime of that name answers ERR_MCP_UNSUPPORTED.

import { ErrProcessUnknown, ErrTimeout, ProcessID, type Atom } from 'ergo-ts';
import { z } from 'zod';

import type { ToolContext } from './context.js';
import { McpToolError } from './errors.js';
import { message, seconds } from './inspect.js';
import { common, timeoutOf, type ToolSpec } from './tools.js';
import { DEFAULT_ENTITIES_NAME } from './tools_workflow.js';

/** Asks `request` of the entities manager of the node `args.node` names. */
async function ask(
  ctx: ToolContext,
  args: Record<string, unknown>,
  request: unknown,
): Promise<{ node: string; value: unknown }> {
  const t = await ctx.reach(args.node as string | undefined);
  const timeout = timeoutOf(ctx, args);
  const name = typeof args.entities === 'string' ? args.entities : DEFAULT_ENTITIES_NAME;
  try {
    const value = await ctx.node.call(new ProcessID(name as Atom, t.node), request, { timeout, important: true });
    return { node: t.node, value };
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === ErrTimeout.code)
      throw new McpToolError(
        'ERR_MCP_TIMEOUT',
        `${t.node}: the entities runtime did not answer within ${seconds(timeout)} s`,
      );
    if (code === ErrProcessUnknown.code)
      throw new McpToolError('ERR_MCP_UNSUPPORTED', `${t.node} runs no entities runtime named ${name}`);
    throw new McpToolError('ERR_MCP_UNSUPPORTED', `${t.node}: ${name} does not answer queue requests: ${message(err)}`);
  }
}

/** The workflow queue tools. */
export const queueTools: ToolSpec[] = [
  {
    name: 'workflow_queues',
    title: 'Workflow queues',
    description:
      'A member\'s workflow queues: the queues it serves (\'every queue\' when it serves all), each queue it knows with its limits (concurrency, perMember, rate), whether it serves it and how many attempts run under it there, and the step attempts waiting there for a slot — each with its queue, position, priority, workflow kind and id, step, attempt, since (epoch ms) and what holds it ("waiting for queue gpu: the concurrency limit (2) is reached", "… no live member serves it"). Ask each member for the whole cluster',
    action: false,
    remote: 'inspector',
    shape: {
      ...common,
      entities: z
        .string()
        .min(1)
        .optional()
        .describe(`Registered name of the entities runtime's manager (default ${DEFAULT_ENTITIES_NAME})`),
      queue: z.string().min(1).optional().describe('Only this queue (default: every queue)'),
    },
    async run(ctx, args) {
      const serves = await ask(ctx, args, { '~wfq': 'serves' });
      const queue = typeof args.queue === 'string' ? args.queue : undefined;
      const { value } = await ask(ctx, args, { '~wfq': 'waiting', ...(queue === undefined ? {} : { queue }) });
      // Each queue's limits and what runs under it here (an older runtime answers none).
      const known = (await ask(ctx, args, { '~wfq': 'queues' }).catch(() => ({ value: [] }))).value;
      const queues = (Array.isArray(known) ? (known as { name?: unknown }[]) : []).filter(
        (q) => queue === undefined || q.name === queue,
      );
      return {
        node: serves.node,
        serves: Array.isArray(serves.value) ? serves.value : 'every queue',
        queues,
        waiting: Array.isArray(value) ? value : [],
      };
    },
  },
];
