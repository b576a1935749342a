// The workflow layer as a feature of the entities runtime (runtime/feature.ts): what it adds to
// every runtime it is plugged into (entities.ts plugs it into every `startEntities`). Its options
// (`workflowQueues`, `workflowRetention`), checked as the runtime is made; the queues' slots and
// the members serving them (scheduling/queues.ts, body/activities.ts); the requests it answers
// through the manager process — an operator's workflow and schedule operations (operator.ts,
// schedules_operator.ts) and another member's activity or queue question; at the start, the state
// index's backfill and the retention sweeper (retention.ts); at the stop, the queues' timers; and
// the workflow figures of `stats()`. The runtime names none of this.

import { describeThrown } from '../../contract/thrown.js';
import { hostViews } from '../../inspect/inspector.js';
import type { EntitiesFeature, FeatureHost } from '../../runtime/feature.js';
import {
  answerQueueRequest,
  callMember,
  isQueueRequest,
  ServingMembers,
  type QueueRequest,
} from '../body/activities.js';
import { checkMaxConcurrentSteps, registerStepPermits, stepPermitsOf } from '../body/step_permits.js';
import {
  admissionKey,
  checkRunLoadOption,
  DEFAULT_MAX_ACTIVE_RUNS,
  DEFAULT_MAX_WAITING_STARTS,
  registerRunLoad,
  runLoadOf,
} from '../body/run_load.js';
import { isWorkflowKind } from '../instance/define_workflow.js';
import { WorkflowClient } from '../client/client.js';
import { backfillIndexes } from '../client/search.js';
import { RETENTION_KIND } from '../model/batch_types.js';
import { workflowStatsOf } from '../model/metrics.js';
import { queuesOf, registerQueues, type WorkflowQueuesOptions } from '../scheduling/queues.js';
import { isWorkflowOperation, operateWorkflows, type WorkflowOperation } from './operator.js';
import { ensureRetention, retentionSettings, type RetentionSettings } from './retention.js';
import { isScheduleOperation, operateSchedules, type ScheduleOperation } from './schedules_operator.js';

/** The workflow layer's options of `startEntities` (part of `EntitiesOptions`). */
export interface WorkflowFeatureOptions {
  /**
   * The workflow queues this member serves and their limits (docs/workflows.md, "Queues"):
   * `{ serve: ['gpu'], queues: { gpu: { concurrency: 2, perMember: 1, rate: { limit: 10, periodMs: 1000 } } } }`.
   * Default: every queue served, none limited.
   */
  readonly workflowQueues?: WorkflowQueuesOptions;
  /**
   * The workflow retention sweeper's settings on this member (docs/workflows.md, "Retention"):
   * `{ everyMs: 600_000, batchSize: 500 }`, each over `RETENTION_DEFAULTS`. A member that hosts
   * `WorkflowRetention` runs the sweeper with them as it starts (a sweeper running with other
   * settings is started again with these). Bad values: ERR_WORKFLOW_INCORRECT.
   */
  readonly workflowRetention?: Partial<RetentionSettings>;
  /**
   * The step attempts this member runs at once, across its instances (as Temporal's
   * `maxConcurrentActivityTaskExecutions`). Default 100. More wait for a permit in the order they
   * asked, their `timeoutMs` and heartbeat window not started: a member offered more than it can
   * do keeps its attempts within their deadlines instead of timing them all out and retrying
   * them into the same crowd. A queue's limits (`workflowQueues`) apply before it. An integer
   * 1..2^31-1; anything else: ERR_WORKFLOW_INCORRECT.
   */
  readonly maxConcurrentSteps?: number;
  /**
   * The runs this member carries at once before it refuses new instances: a run counts from its
   * start or resume to its end, except while its body waits on a sleep, a signal, an update or a
   * select. Default 64. At the limit a start of a new instance routed here waits for room
   * (`maxWaitingStarts`) before anything is written, or is refused (`ERR_ENTITY_OVERLOADED` with
   * `retryAfterMs`, which the workflow client waits out and asks again within its timeout): a
   * member offered more than it can do completes at its pace instead of slowing every run it
   * holds. Running instances, their wakes, resumes and hand-offs are never held up by it.
   * An integer 1..2^31-1; anything else: ERR_WORKFLOW_INCORRECT.
   */
  readonly maxActiveRuns?: number;
  /**
   * The starts of new instances this member holds waiting for room when it carries
   * `maxActiveRuns`, in the order they came; each waits within its caller's timeout. Default
   * 1000; 0 refuses at once. Past it (or when the line would not reach a start within its
   * caller's timeout) a start is refused at once with `ERR_ENTITY_OVERLOADED` and `retryAfterMs`.
   * An integer 0..2^31-1; anything else: ERR_WORKFLOW_INCORRECT.
   */
  readonly maxWaitingStarts?: number;
}

/** How long a member has to say what waits for a queue slot there, for an operator's `list` (polled each second). */
const LIST_QUEUED_WAIT_MS = 2000;

/** Each runtime's workflow client, made at its first use. */
const clients = new WeakMap<FeatureHost, WorkflowClient>();

/**
 * The workflow client of runtime `rt` (`Entities.workflows`): one per runtime, made at its first
 * use; it starts and drives the instances of the runtime's cluster.
 */
export function workflowsOf(rt: FeatureHost): WorkflowClient {
  let client = clients.get(rt);
  if (client === undefined) {
    client = new WorkflowClient(rt, { store: rt.store, kinds: () => rt.kinds() });
    clients.set(rt, client);
  }
  return client;
}

/** The workflow layer, plugged into a runtime (see the top of this file). */
export const workflowFeature: EntitiesFeature<WorkflowFeatureOptions> = {
  name: 'workflows',
  attach(rt, options) {
    const retention = retentionSettings(options.workflowRetention);
    registerStepPermits(rt, checkMaxConcurrentSteps(options.maxConcurrentSteps));
    registerRunLoad(
      rt,
      checkRunLoadOption(options, 'maxActiveRuns', DEFAULT_MAX_ACTIVE_RUNS, 1),
      checkRunLoadOption(options, 'maxWaitingStarts', DEFAULT_MAX_WAITING_STARTS, 0),
    );
    // Activities are asked of the members serving their queue, through their managers.
    const asked = { node: rt.node, manager: rt.managerName, members: () => rt.members() };
    const serving = new ServingMembers(asked);
    registerQueues(
      rt,
      {
        store: rt.store,
        owner: rt.owner,
        leaseTtlMs: rt.leaseTtlMs,
        log: rt.node.log,
        kind: (name) => rt.kind(name),
        findServer: (queue) => serving.find(queue),
        call: (member, request, timeoutMs) => callMember(asked, member, request as QueueRequest, timeoutMs),
        node: rt.node.name,
        members: () => rt.members(),
        client: rt.role === 'client',
      },
      options.workflowQueues,
    );
    return {
      requests: [
        {
          matches: isWorkflowOperation,
          answer: (request, cluster) =>
            operateWorkflows(
              workflowsOf(rt),
              request as WorkflowOperation,
              () => rt.stats().workflows,
              cluster,
              // What waits for a queue slot on the members: `list` shows those instances as waiting.
              async () => (await queuesOf(rt)?.waitingEverywhere(undefined, LIST_QUEUED_WAIT_MS)) ?? [],
            ),
        },
        { matches: isQueueRequest, answer: (request) => answerQueueRequest(rt, request as QueueRequest) },
        {
          matches: isScheduleOperation,
          answer: (request) => operateSchedules(workflowsOf(rt).schedules, request as ScheduleOperation),
        },
      ],
      start() {
        if (rt.role !== 'member') return;
        // Keys saved before the store had a state index get their rows (client/search.ts).
        backfillIndexes(rt.store, rt.kinds()).catch((err: unknown) =>
          rt.log('entities: the state index backfill failed (the next search tries again): %s', describeThrown(err)),
        );
        // The retention sweeper, when this member hosts it: started if not running.
        if (rt.kind(RETENTION_KIND) !== undefined)
          ensureRetention(
            workflowsOf(rt),
            retention,
            (f, ...a) => rt.log(f, ...a),
            () => rt.stopping(),
          );
      },
      stop() {
        queuesOf(rt)?.stop();
      },
      overloaded(kind) {
        // A new instance is refused while this member's step attempts wait in a line as long as
        // the attempts it runs (body/step_permits.ts): admitted work keeps its pace.
        return isWorkflowKind(rt.kind(kind)) ? stepPermitsOf(rt)?.overloaded() : undefined;
      },
      admit(kind, key, waitMs, leftMs) {
        // A new instance waits for room among this member's working runs (body/run_load.ts).
        return isWorkflowKind(rt.kind(kind))
          ? runLoadOf(rt)?.admit(admissionKey(kind, key), waitMs, undefined, leftMs)
          : undefined;
      },
      stats(now) {
        const workflows = workflowStatsOf(rt, hostViews(rt), rt.kinds(), now);
        const load = runLoadOf(rt);
        const permits = stepPermitsOf(rt);
        if (rt.role !== 'member' || load === undefined || permits === undefined) return { workflows };
        const hasWorkflows = rt.kinds().some((k) => isWorkflowKind(k));
        if (!hasWorkflows) return { workflows };
        return {
          workflows,
          workflowLoad: {
            ...load.snapshot(),
            stepsRunning: permits.running,
            stepsWaiting: permits.waiting,
            maxConcurrentSteps: permits.limit,
          },
        };
      },
    };
  },
};
