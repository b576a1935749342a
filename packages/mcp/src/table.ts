// The tool table: every tool this package has, by Go Ergo's groups (node, process, application,
// event, network, cron, registrar, debug, sampler, log level, action), then ours (log_tail,
// app_start, app_stop, and the operator's views of tools_ops.ts), and the workflow tools. The action tools run only with `actions: true`.

import { actionTools } from './actions.js';
import type { ToolContext } from './context.js';
import { McpToolError } from './errors.js';
import { checkedArgs, guarded } from './guard.js';
import { runTool } from './proxy.js';
import { appTools } from './tools_app.js';
import { debugTools } from './tools_debug.js';
import { logTools } from './tools_log.js';
import { networkTools } from './tools_network.js';
import { opsTools } from './tools_ops.js';
import { sampleTools } from './tools_sample.js';
import { scheduleTools } from './tools_schedules.js';
import { workflowTools } from './tools_workflow.js';
import { queueTools } from './tools_queues.js';
import { batchTools } from './tools_batch.js';
import { processTools, type ToolSpec } from './tools.js';

const byName = new Map<string, ToolSpec>();

/** A sampled tool runs as a client's call would: checked against its schema, proxied by `node`. */
async function sampled(ctx: ToolContext, tool: string, args: Record<string, unknown>): Promise<unknown> {
  const spec = byName.get(tool);
  if (spec === undefined) throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `no tool ${tool}`);
  return guarded(ctx, tool, () => runTool(ctx, spec, checkedArgs(spec, args)));
}

/** Every tool this package has (read-only first; the action tools run only with `actions: true`). */
export const allTools: readonly ToolSpec[] = [
  ...processTools,
  ...appTools,
  ...networkTools,
  ...debugTools,
  ...sampleTools(sampled, (name) => byName.get(name)),
  ...logTools,
  ...opsTools,
  ...actionTools,
  ...workflowTools,
  ...queueTools,
  ...batchTools,
  ...scheduleTools,
];
for (const t of allTools) byName.set(t.name, t);

/** The tool named `name`, or undefined. */
export function toolNamed(name: string): ToolSpec | undefined {
  return byName.get(name);
}
