// An operator's requests about workflow schedules, answered by a node's entities manager for tools
// that do not import this package (the MCP server, the Observer): a call to the manager's
// registered name with `{ '~entity': 'schedules', op, ... }`, answered with JSON text as the
// workflow operations are (operator.ts): `{ ok: true, value }` or `{ ok: false, code, message }`
// (ERR_SCHEDULE_NOT_FOUND, ERR_SCHEDULE_EXISTS, ERR_WORKFLOW_INCORRECT, ERR_WORKFLOW_UNSUPPORTED).
// Each operation goes through the node's `entities.workflows.schedules`.

import { answerOperation } from '../../contract/operation_answer.js';
import type { ScheduleClient } from '../client/schedules_client.js';
import { ErrWorkflowIncorrect } from '../model/errors.js';
import type { OverlapPolicy, SchedulePolicies, ScheduleSpec } from '../scheduling/schedules_spec.js';

/** The operations of {@link ScheduleOperation}. */
export const SCHEDULE_OPERATIONS = [
  'list',
  'describe',
  'create',
  'pause',
  'unpause',
  'trigger',
  'backfill',
  'update',
  'delete',
] as const;

/** A request to a node's entities manager about schedules (see the top of this file). */
export interface ScheduleOperation {
  readonly '~entity': 'schedules';
  readonly op: (typeof SCHEDULE_OPERATIONS)[number];
  /** The schedule's id (every op but `list`). */
  readonly id?: string;
  /** create: the workflow kind's name; list: only schedules of it. */
  readonly workflow?: string;
  /** list: 'active' or 'paused'; and at most `limit`. */
  readonly status?: 'active' | 'paused';
  readonly limit?: number;
  /** create, update: when, what input, how (ScheduleClient.create). */
  readonly spec?: ScheduleSpec;
  readonly input?: unknown;
  readonly policies?: SchedulePolicies;
  readonly paused?: boolean;
  /** create, pause, unpause, update: the note. */
  readonly note?: string;
  /** trigger, backfill: the overlap policy. */
  readonly overlap?: OverlapPolicy;
  /** backfill: the range, epoch ms. */
  readonly start?: number;
  readonly end?: number;
  /** describe: how many next times. */
  readonly next?: number;
}

/** True when `v` is a schedule operation request (the fields are checked by {@link operateSchedules}). */
export function isScheduleOperation(v: unknown): v is ScheduleOperation {
  return typeof v === 'object' && v !== null && (v as { '~entity'?: unknown })['~entity'] === 'schedules';
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw ErrWorkflowIncorrect.with(`${what}: a non-empty string`);
  return v;
}

/** `r` without its absent and null fields (a tool sends what its user filled in). */
function given<T extends object>(r: T): Partial<T> {
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;
}

async function run(client: ScheduleClient, req: ScheduleOperation): Promise<unknown> {
  const r = given(req);
  if (r.op === 'list')
    return client.list({
      ...(r.workflow === undefined ? {} : { workflow: r.workflow }),
      ...(r.status === undefined ? {} : { status: r.status }),
      ...(r.limit === undefined ? {} : { limit: r.limit }),
    });
  const id = str(r.id, 'id');
  switch (r.op) {
    case 'describe':
      return client.describe(id, r.next === undefined ? {} : { next: r.next });
    case 'create':
      return client.createOf(str(r.workflow, 'workflow'), id, {
        spec: r.spec as ScheduleSpec,
        input: r.input,
        ...(r.policies === undefined ? {} : { policies: r.policies }),
        ...(r.paused === undefined ? {} : { paused: r.paused }),
        ...(r.note === undefined ? {} : { note: r.note }),
      });
    case 'pause':
      return client.pause(id, r.note);
    case 'unpause':
      return client.unpause(id, r.note);
    case 'trigger':
      return client.trigger(id, r.overlap === undefined ? {} : { overlap: r.overlap });
    case 'backfill':
      return client.backfill(id, {
        start: r.start as number,
        end: r.end as number,
        ...(r.overlap === undefined ? {} : { overlap: r.overlap }),
      });
    case 'update':
      return client.update(id, {
        ...(r.spec === undefined ? {} : { spec: r.spec }),
        ...(r.policies === undefined ? {} : { policies: r.policies }),
        ...(r.input === undefined ? {} : { input: r.input }),
        ...(r.note === undefined ? {} : { note: r.note }),
      });
    case 'delete':
      return client.delete(id);
    case undefined:
    default:
      throw ErrWorkflowIncorrect.with(`unknown schedule operation ${JSON.stringify(r.op)}`);
  }
}

/** Runs `request` on `client` and answers as the top of this file says (never rejects). */
export function operateSchedules(client: ScheduleClient, request: ScheduleOperation): Promise<string> {
  return answerOperation(async () => {
    if (!(SCHEDULE_OPERATIONS as readonly string[]).includes(request.op))
      throw ErrWorkflowIncorrect.with(
        `unknown schedule operation ${JSON.stringify(request.op)}: one of ${SCHEDULE_OPERATIONS.join(', ')}`,
      );
    return run(client, request);
  }, 'ERR_SCHEDULE_OPERATION');
}
