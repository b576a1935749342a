// The workflow schedule tools (@ergo-ts/entities, docs/workflows.md "Schedules"): each asks the
// entities manager of the node it names `{ '~entity': 'schedules', op, ... }` (the entities'
// workflow/operator/schedules_operator.ts), as the workflow tools ask theirs (tools_workflow.ts).
// schedule_list and schedule_describe read; schedule_create, schedule_pause, schedule_unpause,
// schedule_trigger, schedule_backfill, schedule_update and schedule_delete act, so they run only
// with `actions: true`. A refusal keeps the engine's code (ERR_SCHEDULE_NOT_FOUND,
// ERR_SCHEDULE_EXISTS, ERR_WORKFLOW_INCORRECT, ERR_WORKFLOW_UNSUPPORTED).

import { z } from 'zod';

import type { ToolSpec } from './tools.js';
import { entitiesArg, epochMs, operatorTool } from './tools_workflow.js';

const OVERLAP = ['skip', 'bufferOne', 'bufferAll', 'cancelOther', 'terminateOther', 'allowAll'] as const;

const scheduleArgs = { ...entitiesArg, id: z.string().min(1).describe('The schedule id') };

const noteArg = z.string().max(1000).optional().describe('A note for operators (why)');

const specArg = z
  .object({
    cron: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A cron spec (five fields or a macro) in timeZone, or an interval as Temporal writes it: @every 1h30m[/15m]',
      ),
    everyMs: z.number().int().min(1000).optional().describe('An interval in ms (≥ 1000)'),
    offsetMs: z.number().int().min(0).optional().describe('With everyMs: the phase'),
    timeZone: z.string().min(1).optional().describe('An IANA time zone for cron (default UTC)'),
    jitterMs: z.number().int().min(0).optional().describe('Each run starts up to this many ms late'),
    startAt: z.number().int().min(0).optional().describe('No run before (epoch ms)'),
    endAt: z.number().int().min(0).optional().describe('No run after (epoch ms)'),
  })
  .describe('When runs are due: exactly one of cron and everyMs');

const policiesArg = z
  .object({
    overlap: z.enum(OVERLAP).optional().describe('While a run still runs (default skip)'),
    catchupWindowMs: z
      .number()
      .int()
      .min(1000)
      .optional()
      .describe('After downtime, runs at most this old still start (default one year)'),
  })
  .optional();

/** A tool that asks schedule `args.id` to `op` (an action), with `fields` from the arguments. */
function scheduleAction(
  op: string,
  title: string,
  description: string,
  shape: z.ZodRawShape,
  fields: (args: Record<string, unknown>) => Record<string, unknown>,
): ToolSpec {
  return operatorTool({
    name: `schedule_${op}`,
    title,
    description,
    action: true,
    shape: { ...scheduleArgs, ...shape },
    op,
    subject: 'schedules',
    fields: (a) => ({ id: a.id, ...fields(a) }),
    answer: (node, value, a) => ({ node, id: a.id, result: value }),
  });
}

/** The schedule tools (see the top of this file). */
export const scheduleTools: ToolSpec[] = [
  operatorTool({
    name: 'schedule_list',
    title: 'Workflow schedules',
    description:
      "Lists the workflow schedules (id, workflow, status active or paused, note, spec, overlap policy, counts of runs started, skipped, missed, failed, the last run), newest first, from the store's index: by workflow kind and status",
    action: false,
    shape: {
      ...entitiesArg,
      workflow: z.string().min(1).optional().describe('Only schedules starting this workflow kind'),
      status: z.enum(['active', 'paused']).optional().describe('Only active or only paused ones'),
      limit: z.number().int().min(1).max(1000).optional().describe('At most this many (default 100)'),
    },
    op: 'list',
    subject: 'schedules',
    fields: (a) => ({ workflow: a.workflow, status: a.status, limit: a.limit }),
    answer: (node, value) => ({ node, schedules: value }),
  }),
  operatorTool({
    name: 'schedule_describe',
    title: 'Workflow schedule',
    description:
      'One workflow schedule: its spec, input, policies, paused and note, counts, cursor (every nominal time at or before it was dealt with), running and buffered runs, the recent runs (nominal time, outcome, workflow id) and the next nominal times',
    action: false,
    shape: {
      ...scheduleArgs,
      next: z.number().int().min(0).max(100).optional().describe('How many next times (default 5)'),
    },
    op: 'describe',
    subject: 'schedules',
    fields: (a) => ({ id: a.id, next: a.next }),
    answer: (node, value) => ({ node, ...(value as object) }),
  }),
  scheduleAction(
    'create',
    'Create a workflow schedule',
    'Creates a schedule that starts the workflow kind with input at each time of spec (cron in a time zone, or an interval), each run under the id <scheduleId>-<nominal time>; ERR_SCHEDULE_EXISTS for an id in use',
    {
      workflow: z.string().min(1).describe('The workflow kind it starts'),
      spec: specArg,
      input: z.unknown().optional().describe('The input of every run (JSON)'),
      policies: policiesArg,
      paused: z.boolean().optional().describe('Created paused'),
      note: noteArg,
    },
    (a) => ({
      workflow: a.workflow,
      spec: a.spec,
      input: a.input,
      policies: a.policies,
      paused: a.paused,
      note: a.note,
    }),
  ),
  scheduleAction(
    'pause',
    'Pause a workflow schedule',
    'Pauses a schedule (no run starts on schedule; times passing while paused are not caught up), keeping the note',
    { note: noteArg },
    (a) => ({ note: a.note }),
  ),
  scheduleAction(
    'unpause',
    'Unpause a workflow schedule',
    'Unpauses a schedule: the next run is the first nominal time after now',
    { note: noteArg },
    (a) => ({ note: a.note }),
  ),
  scheduleAction(
    'trigger',
    'Trigger a workflow schedule now',
    "Starts one run now (its nominal time: now), under the schedule's overlap policy or the one given; answers its workflow id",
    { overlap: z.enum(OVERLAP).optional().describe("The overlap policy for this run (default the schedule's)") },
    (a) => ({ overlap: a.overlap }),
  ),
  scheduleAction(
    'backfill',
    'Backfill a workflow schedule',
    'Starts the runs of every nominal time in [start, end] (at most 1000; default overlap allowAll); a time whose run exists starts nothing new',
    {
      start: z.union([z.string().min(1), z.number().int().min(0)]).describe('From (ISO 8601 or epoch ms)'),
      end: z.union([z.string().min(1), z.number().int().min(0)]).describe('To, inclusive (ISO 8601 or epoch ms)'),
      overlap: z.enum(OVERLAP).optional().describe('The overlap policy of these runs (default allowAll)'),
    },
    (a) => ({ start: epochMs(a.start, 'start'), end: epochMs(a.end, 'end'), overlap: a.overlap }),
  ),
  scheduleAction(
    'update',
    'Update a workflow schedule',
    "Changes a schedule's spec, policies or input (what is absent stays); the next run counts from now",
    { spec: specArg.optional(), policies: policiesArg, input: z.unknown().optional(), note: noteArg },
    (a) => ({ spec: a.spec, policies: a.policies, input: a.input, note: a.note }),
  ),
  scheduleAction(
    'delete',
    'Delete a workflow schedule',
    'Deletes a schedule: no more runs (the runs it started go on)',
    {},
    () => ({}),
  ),
];
