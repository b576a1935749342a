// The Schedules page's requests (@ergo-ts/entities' workflow schedules, docs/workflows.md
// "Schedules"): `do/schedules` with an `op`, asked of the entities manager of the node observed as
// `{ '~entity': 'schedules', op, ... }` (the entities' workflow/operator/schedules_operator.ts), as the
// Workflows page's are (workflows.ts, which routes them). `list` and `describe` read; `pause`,
// `unpause`, `trigger`, `backfill`, `create`, `update` and `delete` act, gated by the Observer's
// `workflowActions` option as the workflow actions are. A refusal keeps the engine's code
// (ERR_SCHEDULE_NOT_FOUND 404, ERR_SCHEDULE_EXISTS 409, ERR_WORKFLOW_INCORRECT 400).

/** The `do` action of the Schedules page. */
export const SCHEDULE_ACTION = 'schedules';

/** The manager's request subject, the operations that only read, those that act. */
export const SCHEDULE_SUBJECT = {
  subject: 'schedules',
  reads: new Set(['list', 'describe']),
  writes: new Set(['create', 'pause', 'unpause', 'trigger', 'backfill', 'update', 'delete']),
};

/** HTTP status of the schedules' own refusals. */
export const SCHEDULE_STATUS: Readonly<Record<string, number>> = {
  ERR_SCHEDULE_NOT_FOUND: 404,
  ERR_SCHEDULE_EXISTS: 409,
};

/** The fields of a schedule operation the manager reads, beyond the workflow operations' own. */
export const SCHEDULE_FIELDS = [
  'note',
  'overlap',
  'start',
  'end',
  'next',
  'spec',
  'input',
  'policies',
  'paused',
] as const;
