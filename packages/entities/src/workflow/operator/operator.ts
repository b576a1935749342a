// An operator's requests about workflows, answered by a node's entities manager for tools that do
// not import this package (the Observer, the MCP server): a call to the manager's registered name
// (`entities` by default) on the node with `{ '~entity': 'workflows', op, ... }`. The answer is
// JSON text (it crosses nodes as one string, whatever the records hold): `{ ok: true, value }`,
// or `{ ok: false, code, message }` for a refusal (ERR_WORKFLOW_NOT_FOUND, ERR_WORKFLOW_CLOSED,
// ERR_WORKFLOW_INCORRECT, ERR_WORKFLOW_UNSUPPORTED...). Each operation goes through the node's
// `entities.workflows`, so cancel, resume, reset, signal and update reach the instance's owner
// wherever it is (an update answers the body's answer: the operator's call waits for it).
// `terminate` ends an instance without its compensations; `batchStart` (with `dryRun`: a count;
// without, with the `confirm` count the operator saw, checked here), `batchDescribe` and
// `batchCancel` run batch operations (batch_client.ts).
// `stats` reads this node's workflow figures (metrics.ts) without the store: what the Observer's
// workflow charts sample each second; with `scope: 'cluster'` the manager asks every live member's
// `stats` too and answers their sum (a client-only node, which runs no instance, charts the
// cluster's figures: {@link ClusterStats}).
// `list` marks each running instance of its page whose step attempt waits for a queue slot on any
// live member with `queued` (queue, member, place, what holds it): the Observer's list shows it
// waiting, not running an attempt.

import { answerOperation } from '../../contract/operation_answer.js';
import type { WorkflowClient } from '../client/client.js';
import { ErrWorkflowIncorrect } from '../model/errors.js';
import type { WorkflowKindStats } from '../model/metrics.js';
import type { WorkflowStatus } from '../model/record.js';
import type { WorkflowQuery, WorkflowSearchPage } from '../client/search.js';
import type { WorkflowSummary } from '../client/listing.js';
import type { QueuedWork } from '../scheduling/queues.js';

/** The operations of {@link WorkflowOperation}. */
export const WORKFLOW_OPERATIONS = [
  'kinds',
  'list',
  'describe',
  'stats',
  'cancel',
  'resume',
  'reset',
  'signal',
  'update',
  'terminate',
  'batchStart',
  'batchDescribe',
  'batchCancel',
] as const;

/** A request to a node's entities manager about workflows (see the top of this file). */
export interface WorkflowOperation {
  readonly '~entity': 'workflows';
  readonly op: (typeof WORKFLOW_OPERATIONS)[number];
  /** The workflow kind's name (every op but `kinds`; for `stats`, omit it for every kind). */
  readonly workflow?: string;
  /** The instance's id (describe, cancel, resume, reset, signal). */
  readonly id?: string;
  /** list: a status filter, a page size, the previous page's `next` (`cursor`; `after` the same). */
  readonly status?: WorkflowStatus;
  readonly limit?: number;
  readonly cursor?: string;
  readonly after?: string;
  /** list: time ranges (epoch ms) and search attributes (workflow/client/search.ts); `workflow` absent: every kind. */
  readonly startedAfter?: number;
  readonly startedBefore?: number;
  readonly endedAfter?: number;
  readonly endedBefore?: number;
  readonly attributes?: Readonly<Record<string, string | number | boolean>>;
  /** stats: this node's figures (`'node'`, the default) or every live member's summed (`'cluster'`). */
  readonly scope?: 'node' | 'cluster';
  /** cancel, reset: why. */
  readonly reason?: string;
  /** reset: the operation the instance runs again from (WorkflowHandle.reset). */
  readonly toSeq?: number;
  /** signal: its name, payload and optional de-duplication id. */
  readonly name?: string;
  readonly payload?: unknown;
  readonly signalId?: string;
  /** update: its name (`name`), input, id and how long to wait for the answer, in ms (answers the body's answer). */
  readonly input?: unknown;
  readonly updateId?: string;
  readonly timeoutMs?: number;
  /**
   * batchStart (batch_client.ts): `action` ({ type, ... }), `dryRun`, `confirm`, `batchId`,
   * `pageSize`; its query is the list fields (`workflow` as the kind, status, time ranges,
   * attributes). batchDescribe, batchCancel: `batchId`. terminate: `workflow`, `id`, `reason`.
   */
  readonly action?: unknown;
  readonly dryRun?: boolean;
  /**
   * batchStart without `dryRun`: the count the operator confirmed (the dry run's `matched`),
   * required; refused with ERR_WORKFLOW_BATCH_COUNT_CHANGED when the query matches another now.
   */
  readonly confirm?: number;
  readonly batchId?: string;
  readonly pageSize?: number;
}

/**
 * One workflow kind's counters on this node as `stats` answers them: {@link WorkflowKindStats}
 * without its histograms, its steps' figures added up (a chart samples these each second).
 */
export interface WorkflowStatsSample extends Pick<
  WorkflowKindStats,
  | 'started'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'blockedTotal'
  | 'open'
  | 'blocked'
  | 'outboxPending'
  | 'outboxOldestPendingMs'
> {
  /** Step attempts, retries and steps failed for good, over every step of the kind. */
  readonly stepAttempts: number;
  readonly stepRetries: number;
  readonly stepFailures: number;
  /** Signals accepted and queries asked, over every name. */
  readonly signals: number;
  readonly queries: number;
}

/** A kind's `stats` over the cluster: the members' samples summed (the oldest outbox age their largest). */
export interface ClusterStatsSample extends WorkflowStatsSample {
  /** The nodes whose figures are summed, sorted. */
  readonly nodes: readonly string[];
  /** The live members that did not answer (their figures are missing from the sum), sorted. */
  readonly missing: readonly string[];
}

/** How the manager reaches the other members for `stats` with `scope: 'cluster'`. */
export interface ClusterStats {
  /** This node's name. */
  readonly self: string;
  /** Whether this node is a member (a client-only node's own figures are not summed: it runs no instance). */
  readonly member: boolean;
  /** The live members by this node's view. */
  members(): readonly string[];
  /** Asks `node`'s entities manager `request` (a `stats` of its own figures): its JSON answer. */
  ask(node: string, request: WorkflowOperation): Promise<unknown>;
}

/** What the manager answers, parsed. */
export type WorkflowOperationReply =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** True when `v` is a workflow operation request (the fields are checked by {@link operateWorkflows}). */
export function isWorkflowOperation(v: unknown): v is WorkflowOperation {
  return typeof v === 'object' && v !== null && (v as { '~entity'?: unknown })['~entity'] === 'workflows';
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw ErrWorkflowIncorrect.with(`${what}: a non-empty string`);
  return v;
}

function optStr(v: unknown, what: string): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : str(v, what);
}

/** A list request's query (absent and null fields left out: a tool sends what its user filled in). */
function listQuery(r: WorkflowOperation): WorkflowQuery {
  const q: Record<string, unknown> = {};
  const kind = optStr(r.workflow, 'workflow');
  if (kind !== undefined) q.kind = kind;
  const cursor = optStr(r.cursor, 'cursor') ?? optStr(r.after, 'after');
  if (cursor !== undefined) q.cursor = cursor;
  for (const f of [
    'status',
    'limit',
    'startedAfter',
    'startedBefore',
    'endedAfter',
    'endedBefore',
    'attributes',
  ] as const)
    if ((r[f] as unknown) !== undefined && (r[f] as unknown) !== null && (r[f] as unknown) !== '') q[f] = r[f];
  return q as WorkflowQuery;
}

const sum = (r: Readonly<Record<string, number>>): number => Object.values(r).reduce((a, b) => a + b, 0);

function sampleOf(k: WorkflowKindStats): WorkflowStatsSample {
  const steps = Object.values(k.steps);
  return {
    started: k.started,
    completed: k.completed,
    failed: k.failed,
    cancelled: k.cancelled,
    blockedTotal: k.blockedTotal,
    open: k.open,
    blocked: k.blocked,
    stepAttempts: steps.reduce((a, s) => a + s.attempts, 0),
    stepRetries: steps.reduce((a, s) => a + s.retries, 0),
    stepFailures: steps.reduce((a, s) => a + s.failures, 0),
    outboxPending: k.outboxPending,
    outboxOldestPendingMs: k.outboxOldestPendingMs,
    signals: sum(k.signals),
    queries: sum(k.queries),
  };
}

/** `stats`: the kind's sample (ERR_WORKFLOW_INCORRECT for a kind this node does not host), or every kind's. */
function statsOf(
  figures: () => Readonly<Record<string, WorkflowKindStats>>,
  workflow: string | undefined,
): Record<string, WorkflowStatsSample> {
  const all = figures();
  if (workflow !== undefined) {
    const k = all[workflow];
    if (k === undefined)
      throw ErrWorkflowIncorrect.with(`this node hosts no workflow kind ${JSON.stringify(workflow)}`);
    return { [workflow]: sampleOf(k) };
  }
  return Object.fromEntries(Object.entries(all).map(([name, k]) => [name, sampleOf(k)]));
}

/** The kinds' samples summed over the nodes that gave them (see {@link ClusterStatsSample}). */
function summed(
  samples: readonly (readonly [string, Record<string, WorkflowStatsSample>])[],
  missing: readonly string[],
): Record<string, ClusterStatsSample> {
  type Sum = { -readonly [F in keyof WorkflowStatsSample]: number } & { nodes: string[]; missing: readonly string[] };
  const out: Record<string, Sum> = {};
  for (const [node, kinds] of samples)
    for (const [kind, x] of Object.entries(kinds)) {
      const t = (out[kind] ??= { ...x, outboxOldestPendingMs: 0, nodes: [], missing });
      if (t.nodes.length > 0) for (const f of SUMMED) (t as unknown as Record<string, number>)[f] = t[f] + x[f];
      t.outboxOldestPendingMs = Math.max(t.outboxOldestPendingMs, x.outboxOldestPendingMs);
      t.nodes.push(node);
    }
  for (const t of Object.values(out)) t.nodes.sort();
  return out;
}

/** The sample's figures summed over the nodes (all but the oldest outbox age). */
const SUMMED = [
  ...['started', 'completed', 'failed', 'cancelled', 'blockedTotal', 'open', 'blocked'],
  ...['stepAttempts', 'stepRetries', 'stepFailures', 'outboxPending', 'signals', 'queries'],
] as const satisfies readonly (keyof WorkflowStatsSample)[];

/** How long a member has to answer a cluster `stats`, ms: a paused one is left out, not waited for. */
const MEMBER_STATS_TIMEOUT_MS = 2000;

/** `stats` with `scope: 'cluster'`: this node's (a member's) and every other live member's, summed. */
async function clusterStatsOf(
  cluster: ClusterStats,
  figures: () => Readonly<Record<string, WorkflowKindStats>>,
  workflow: string | undefined,
): Promise<Record<string, ClusterStatsSample>> {
  const samples: (readonly [string, Record<string, WorkflowStatsSample>])[] = [];
  const missing: string[] = [];
  if (cluster.member) samples.push([cluster.self, localStats(figures, workflow)]);
  const others = [...new Set(cluster.members())].filter((m) => m !== cluster.self);
  const request: WorkflowOperation = {
    '~entity': 'workflows',
    op: 'stats',
    scope: 'node',
    ...(workflow === undefined ? {} : { workflow }),
  };
  await Promise.all(
    others.map(async (m) => {
      try {
        const reply = JSON.parse(String(await within(cluster.ask(m, request)))) as WorkflowOperationReply;
        if (reply.ok) samples.push([m, reply.value as Record<string, WorkflowStatsSample>]);
        // A member that hosts no such kind answers ERR_WORKFLOW_INCORRECT: it adds nothing.
        else if (reply.code !== 'ERR_WORKFLOW_INCORRECT') missing.push(m);
      } catch {
        missing.push(m);
      }
    }),
  );
  return summed(samples, missing.sort());
}

/** `p`, or a rejection after {@link MEMBER_STATS_TIMEOUT_MS}. */
function within<T>(p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer')), MEMBER_STATS_TIMEOUT_MS);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** This node's samples of `workflow` (none when it hosts no such kind), or of every kind. */
function localStats(
  figures: () => Readonly<Record<string, WorkflowKindStats>>,
  workflow: string | undefined,
): Record<string, WorkflowStatsSample> {
  try {
    return statsOf(figures, workflow);
  } catch {
    return {};
  }
}

/** An instance as the operator's `list` answers it: a running one waiting for a queue slot says where. */
export interface ListedWorkflow extends WorkflowSummary {
  /** Its step attempts waiting for a queue slot (absent: none), each on its member, in its place. */
  readonly queued?: readonly Omit<QueuedWork, 'kind' | 'id'>[];
}

/** `page` with its running instances that wait for a queue slot marked (`queued`): asked only when it has running ones. */
async function listed(
  page: WorkflowSearchPage,
  queued: (() => Promise<readonly QueuedWork[]>) | undefined,
): Promise<WorkflowSearchPage & { readonly items: readonly ListedWorkflow[] }> {
  if (queued === undefined || !page.items.some((w) => w.status === 'running')) return page;
  const byInstance = new Map<string, Omit<QueuedWork, 'kind' | 'id'>[]>();
  for (const { kind, id, ...w } of await queued().catch(() => [])) {
    const key = JSON.stringify([kind, id]);
    byInstance.set(key, [...(byInstance.get(key) ?? []), w]);
  }
  const items = page.items.map((w) => {
    const q = w.status === 'running' ? byInstance.get(JSON.stringify([w.workflow, w.id])) : undefined;
    return q === undefined ? w : { ...w, queued: q };
  });
  return { ...page, items };
}

async function run(
  client: WorkflowClient,
  r: WorkflowOperation,
  figures: () => Readonly<Record<string, WorkflowKindStats>>,
  cluster: ClusterStats | undefined,
  queued?: () => Promise<readonly QueuedWork[]>,
): Promise<unknown> {
  if (r.op === 'kinds') return client.kinds();
  if (r.op === 'stats') {
    const scope = r.scope ?? 'node';
    if (scope !== 'node' && scope !== 'cluster')
      throw ErrWorkflowIncorrect.with(`scope: 'node' or 'cluster', got ${JSON.stringify(scope)}`);
    const workflow = optStr(r.workflow, 'workflow');
    if (scope === 'cluster' && cluster !== undefined) return clusterStatsOf(cluster, figures, workflow);
    return statsOf(figures, workflow);
  }
  if (r.op === 'list') return listed(await client.list(listQuery(r)), queued);
  if (r.op === 'batchStart') {
    const { cursor: _c, limit: _l, ...query } = listQuery(r);
    const id = optStr(r.batchId, 'batchId');
    // An operator's start acts on the count they confirmed, checked here where it starts: the
    // Observer's page and the MCP tool send it; a request without it is refused, not run as asked.
    if (r.dryRun !== true && r.confirm === undefined)
      throw ErrWorkflowIncorrect.with("batchStart: confirm is the count the operator confirmed (a dry run's matched)");
    // Passed as given: the client checks each by type (a dryRun of 'true' is refused, not a batch).
    return client.batch.start({
      query,
      action: r.action as never,
      ...(r.dryRun === undefined ? {} : { dryRun: r.dryRun }),
      ...(r.confirm === undefined ? {} : { confirm: r.confirm }),
      ...(id === undefined ? {} : { id }),
      ...(r.pageSize === undefined ? {} : { pageSize: r.pageSize }),
    });
  }
  if (r.op === 'batchDescribe') return client.batch.describe(str(r.batchId, 'batchId'));
  if (r.op === 'batchCancel') return client.batch.cancel(str(r.batchId, 'batchId'));
  const h = client.handleOf(str(r.workflow, 'workflow'), str(r.id, 'id'));
  switch (r.op) {
    case 'describe':
      return h.describe();
    case 'cancel':
      return h.cancel(optStr(r.reason, 'reason') ?? 'cancelled by an operator');
    case 'resume':
      return h.resume();
    case 'terminate':
      return h.terminate(optStr(r.reason, 'reason') ?? 'by an operator');
    case 'reset': {
      const reason = optStr(r.reason, 'reason');
      return h.reset({ toSeq: r.toSeq as number, ...(reason === undefined ? {} : { reason }) });
    }
    case 'signal': {
      const id = optStr(r.signalId, 'signalId');
      return h.signal(str(r.name, 'name') as never, r.payload as never, id === undefined ? {} : { id });
    }
    case 'update': {
      const updateId = optStr(r.updateId, 'updateId');
      const t = r.timeoutMs;
      if (t !== undefined && t !== null && (typeof t !== 'number' || !(t > 0)))
        throw ErrWorkflowIncorrect.with('timeoutMs: a number > 0');
      return h.update(str(r.name, 'name') as never, r.input as never, {
        ...(updateId === undefined ? {} : { updateId }),
        ...(typeof t === 'number' ? { timeoutMs: t } : {}),
      });
    }
    default:
      throw ErrWorkflowIncorrect.with(`unknown workflow operation ${JSON.stringify(r.op)}`);
  }
}

/**
 * Runs `request` on `client` and answers as the top of this file says (never rejects); `figures`
 * reads this node's workflow counters (`Entities.stats().workflows`) for `stats`, `cluster`
 * reaches the other members for `stats` with `scope: 'cluster'` (without it: this node's);
 * `queued` lists the attempts waiting for a queue slot on every live member, which `list` marks
 * its running instances with (without it: none marked).
 */
export function operateWorkflows(
  client: WorkflowClient,
  request: WorkflowOperation,
  figures: () => Readonly<Record<string, WorkflowKindStats>> = () => ({}),
  cluster?: ClusterStats,
  queued?: () => Promise<readonly QueuedWork[]>,
): Promise<string> {
  return answerOperation(async () => {
    if (typeof request !== 'object' || request === null)
      throw ErrWorkflowIncorrect.with('a workflow operation must be an object');
    if (!(WORKFLOW_OPERATIONS as readonly string[]).includes(request.op))
      throw ErrWorkflowIncorrect.with(
        `unknown workflow operation ${JSON.stringify(request.op)}: one of ${WORKFLOW_OPERATIONS.join(', ')}`,
      );
    return run(client, request, figures, cluster, queued);
  }, 'ERR_WORKFLOW_OPERATION');
}
