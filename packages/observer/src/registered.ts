// The `do` actions a registered process of the observed node answers, for the session: the
// Workflows and Dead letters pages' (the entities manager, workflows.ts) and the Tabs pages' (a
// tab gateway's inspector, tabs.ts). Each is one call and a JSON text answer (requests.ts,
// RegisteredCall); the session makes the call outside its handler (askRegistered).

import { ErrProcessUnknown, type Node } from 'ergo-ts';

import type { RegisteredCall, Target } from './requests.js';
import { QUEUES_ACTION, queuesCall } from './queues.js';
import { TABS_ACTION, tabsCall } from './tabs.js';
import { isEntitiesAction, workflowRequest } from './workflows.js';

/**
 * The call `do/<action>` makes, or null when no registered process answers `action`. Throws the
 * page's CommandError / ToolError for a malformed body or an action turned off.
 */
export function registeredCall(
  action: string,
  body: Record<string, unknown>,
  target: Target,
  tools: { workflowActions: boolean },
): RegisteredCall | null {
  if (isEntitiesAction(action)) return workflowRequest(body, target, tools, action);
  if (action === TABS_ACTION) return tabsCall(body, target);
  if (action === QUEUES_ACTION) return queuesCall(body, target);
  return null;
}

/**
 * Makes `call` from `node` and reads its answer: a refusal as `call.fail` says, no process under
 * the name as `call.absent` says when it is given.
 */
export async function askRegistered(node: Node, call: RegisteredCall, timeout: number): Promise<unknown> {
  let text: unknown;
  try {
    text = await node.call(call.to, call.request, { timeout, important: true });
  } catch (err) {
    if (call.absent !== undefined && (err as { code?: unknown } | null)?.code === ErrProcessUnknown.code)
      return call.absent();
    throw call.fail(err);
  }
  return call.answer(text);
}
