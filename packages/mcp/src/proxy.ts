// Running a tool where its `node` argument says. This node: the tool itself. Another node: first
// the cluster proxy, as Go Ergo's (the call goes to that node's MCP application, which runs the
// tool there with its own rules: a read-only server there refuses actions); when that node runs
// none (a Go node, an ergo-ts node without the application), a tool that can ask the node's
// inspector does so, and the others say why they cannot (ERR_MCP_UNSUPPORTED).

import { ErrProcessUnknown, ErrTimeout, ProcessID, type Atom } from 'ergo-ts';

import type { ToolContext } from './context.js';
import { McpToolError } from './errors.js';
import { checkedArgs, codeOf, guarded } from './guard.js';
import { message, seconds } from './inspect.js';
import { toJSONText } from './json.js';
import { PROXY_NAME, parseProxyRequest, proxyAnswer, proxyRequest, readProxyAnswer } from './proxy_protocol.js';
import { timeoutOf, withDeadline, type ToolSpec } from './tools.js';

/** Milliseconds a node's "no MCP application here" is remembered (not asked on every call). */
const NO_PROXY_MEMORY = 10_000;

const noProxy = new WeakMap<ToolContext, Map<string, number>>();

/** Runs `spec` with `args` where `args.node` says (see the file comment). */
export async function runTool(ctx: ToolContext, spec: ToolSpec, args: Record<string, unknown>): Promise<unknown> {
  const name = args.node;
  if (typeof name !== 'string' || name === '' || name === ctx.node.name) return spec.run(ctx, args);
  // One time limit for the whole call: the dial, the proxy's try and the tool's own questions.
  const bound = withDeadline(args, Date.now() + timeoutOf(ctx, args));
  const t = await ctx.reach(name, timeoutOf(ctx, bound));
  const timeout = timeoutOf(ctx, bound);
  let memory = noProxy.get(ctx);
  if (memory === undefined) noProxy.set(ctx, (memory = new Map()));
  const since = memory.get(t.node);
  if (since === undefined || Date.now() - since > NO_PROXY_MEMORY) {
    let answer: unknown;
    try {
      // Important delivery: a node without the process answers ErrProcessUnknown at once (a Go
      // node otherwise drops a call to an unknown name, and the call would wait its time out).
      answer = await ctx.node.call(new ProcessID(PROXY_NAME, t.node as Atom), proxyRequest(spec.name, args), {
        timeout,
        important: true,
      });
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (code === ErrTimeout.code)
        throw new McpToolError('ERR_MCP_TIMEOUT', `${t.node} did not answer ${spec.name} within ${seconds(timeout)} s`);
      if (code !== ErrProcessUnknown.code)
        throw new McpToolError('ERR_MCP_UNREACHABLE', `${spec.name} on ${t.node} failed: ${message(err)}`);
      memory.set(t.node, Date.now());
      answer = undefined;
    }
    if (answer !== undefined) {
      memory.delete(t.node);
      return readProxyAnswer(t.node, answer);
    }
  }
  if (spec.remote === 'none')
    throw new McpToolError(
      'ERR_MCP_UNSUPPORTED',
      `${t.node} runs no MCP application (${PROXY_NAME}), and ${spec.name} reads only the node it runs on: start the MCP application there (agent: true is enough)`,
    );
  return spec.run(ctx, bound);
}

/**
 * Answers a proxied call (`request` from another node's MCP server) with `tools`, on this node;
 * null when `request` is not one. Actions run only where this server enables them.
 */
export async function answerProxied(
  ctx: ToolContext,
  tools: readonly ToolSpec[],
  request: unknown,
): Promise<string | null> {
  const call = parseProxyRequest(request);
  if (call === null) return null;
  const spec = tools.find((s) => s.name === call.tool);
  if (spec === undefined) return proxyAnswer(false, `no tool ${call.tool} here`, 'ERR_MCP_UNSUPPORTED');
  if (spec.action && !ctx.actions)
    return proxyAnswer(false, `${call.tool} is disabled on ${ctx.node.name} (actions: false)`, 'ERR_MCP_REFUSED');
  try {
    // Checked here too: the node that sent it may be anything that has the cookie.
    const text = await guarded(ctx, spec.name, async () =>
      toJSONText(await spec.run(ctx, checkedArgs(spec, call.args))),
    );
    return proxyAnswer(true, text);
  } catch (err) {
    return proxyAnswer(false, message(err), codeOf(err) ?? 'ERR_MCP_INTERNAL');
  }
}
