// The Queues page's requests (@ergo-ts/entities' workflow queues, docs/workflows.md "Queues"):
// `do/queues` with an `op`, asked of the entities manager of the node observed (its registered
// name, `entities` unless the page names another) with the requests that manager answers for
// other members and for MCP's `workflow_queues` (packages/entities/src/workflow/body/activities.ts):
// `queues` (`{ '~wfq': 'queues' }`: each queue this member knows with its limits, served here or
// not, attempts running here), `serves` (`{ '~wfq': 'serves' }`: the queues it serves, null for
// every one) and `waiting` (`{ '~wfq': 'waiting', queue? }`: the attempts waiting here for a slot,
// each with its position and what holds it). On a client-only node (which serves no queue and runs
// no step) the manager answers the members': `queues` each with `servedBy` (the members serving
// it), `running` summed over them and `served: false`, `waiting` every member's waiting attempts.
// The answer is the value itself (not a JSON text).
// Every op only reads: none is logged as an action (post.ts). A node without an entities runtime
// answers 404 `no_entities`.

import { ProcessID, type Atom } from 'ergo-ts';

import { CommandError, type RegisteredCall, type Target } from './requests.js';
import { workflowCallError } from './workflows.js';

/** The `do` action of the Queues page. */
export const QUEUES_ACTION = 'queues';

/** The ops of `do/queues` (each only reads). */
const OPS = new Set(['queues', 'serves', 'waiting']);

/**
 * The call a `do/queues` body makes (to the observed node's entities manager), and how its answer
 * reads. Throws a CommandError (400) for an unknown op, a malformed queue or entities name.
 */
export function queuesCall(body: Record<string, unknown>, target: Target): RegisteredCall {
  const op = body.op;
  if (typeof op !== 'string' || !OPS.has(op)) throw new CommandError(400, `op: one of ${[...OPS].join(', ')}`);
  const entities = body.entities ?? 'entities';
  if (typeof entities !== 'string' || entities === '')
    throw new CommandError(400, "entities: the entities manager's registered name");
  const request: Record<string, unknown> = { '~wfq': op };
  if (op === 'waiting' && body.queue !== undefined && body.queue !== null) {
    if (typeof body.queue !== 'string' || body.queue === '') throw new CommandError(400, "queue: a queue's name");
    request.queue = body.queue;
  }
  const node = target.node;
  return {
    to: new ProcessID(entities as Atom, node),
    request,
    // An older runtime that does not know `queues` refuses it: the page shows that refusal.
    answer: (value) => (Array.isArray(value) ? value : op === 'serves' ? null : []),
    fail: (err) => workflowCallError(node, err),
  };
}
