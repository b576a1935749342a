// The `workflowQueues` option of `startEntities` (queues.ts runs the queues): the queues a member
// serves and their limits, and the check that refuses a bad one with ERR_WORKFLOW_INCORRECT naming
// the field.

import { describeThrown } from '../../contract/thrown.js';
import { ErrWorkflowIncorrect } from '../model/errors.js';
import { checkQueueName } from '../model/define.js';
import { readChecked } from '../model/bounds.js';

/** One queue's limits (every member must be given the same ones). */
export interface QueueLimits {
  /** At most this many attempts of the queue run at once across the cluster. Default: no limit. */
  readonly concurrency?: number;
  /** At most this many run at once on one member. Default: no limit. */
  readonly perMember?: number;
  /** At most `limit` attempts start in any `periodMs` window across the cluster. Default: no limit. */
  readonly rate?: { readonly limit: number; readonly periodMs: number };
}

/** The `workflowQueues` option of `startEntities`: the queues this member serves, and their limits. */
export interface WorkflowQueuesOptions {
  /**
   * The queues this member runs steps of (the default queue always included). Default: every
   * queue. A step of a queue not served here waits (visibly) on this member.
   */
  readonly serve?: readonly string[];
  /** The queues' limits, by name (the same on every member). */
  readonly queues?: Readonly<Record<string, QueueLimits>>;
  /** How often a step blocked by a cluster-wide limit asks the store again, in ms. Default 100. */
  readonly pollMs?: number;
}

const LIMIT_MAX = 2 ** 31 - 1;

function limitOf(where: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > LIMIT_MAX)
    throw ErrWorkflowIncorrect.with(`${where} must be an integer in 1..2^31-1, got ${describeThrown(v)}`);
  return v;
}

/**
 * Checks the `workflowQueues` option; throws ERR_WORKFLOW_INCORRECT naming the bad field (also for
 * options whose reading throws: a getter, a Proxy's trap). A queue named in `queues` is bounded as
 * a step's `queue` is (checkQueueName): a name no step can use would limit nothing.
 */
export function checkQueuesOptions(o: WorkflowQueuesOptions | undefined): void {
  readChecked('workflowQueues', () => readQueuesOptions(o));
}

function readQueuesOptions(o: WorkflowQueuesOptions | undefined): void {
  if (o === undefined) return;
  if (typeof o !== 'object' || o === null) throw ErrWorkflowIncorrect.with('workflowQueues must be an object');
  if (o.serve !== undefined) {
    if (!Array.isArray(o.serve)) throw ErrWorkflowIncorrect.with('workflowQueues.serve must be an array of names');
    for (const q of o.serve) checkQueueName('workflowQueues.serve', q);
  }
  limitOf('workflowQueues.pollMs', o.pollMs);
  const queues: unknown = o.queues ?? {};
  if (typeof queues !== 'object' || queues === null || Array.isArray(queues))
    throw ErrWorkflowIncorrect.with('workflowQueues.queues must be an object of limits by queue name');
  for (const [name, l] of Object.entries(queues as Record<string, QueueLimits>)) {
    checkQueueName('workflowQueues.queues', name);
    const at = `workflowQueues.queues.${name}`;
    if (typeof l !== 'object' || l === null) throw ErrWorkflowIncorrect.with(`${at} must be an object`);
    limitOf(`${at}.concurrency`, l.concurrency);
    limitOf(`${at}.perMember`, l.perMember);
    if (l.rate !== undefined) {
      if (typeof l.rate !== 'object' || l.rate === null)
        throw ErrWorkflowIncorrect.with(`${at}.rate must be { limit, periodMs }`);
      // Both required: undefined is checked as the bad value it is.
      limitOf(`${at}.rate.limit`, l.rate.limit ?? null);
      limitOf(`${at}.rate.periodMs`, l.rate.periodMs ?? null);
    }
  }
}
