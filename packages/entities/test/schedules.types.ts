// Compile-time checks of workflow schedules (type-checked by the build, never run): a schedule's
// input is the workflow kind's input type, an overlap policy is one of the six, and `update` with
// the kind checks its input the same way.

import { defineWorkflow, type Entities, type OverlapPolicy, type ScheduleDescription } from '../src/index.js';

const Report = defineWorkflow(
  'types-sched-report',
  async (_ctx, input: { region: string; day?: number }) => input.region,
);

export async function typed(entities: Entities): Promise<ScheduleDescription> {
  const s = entities.workflows.schedules;
  // @ts-expect-error the input needs `region`
  await s.create(Report, 'a', { spec: { everyMs: 1000 }, input: { day: 1 } });
  // @ts-expect-error `region` is a string
  await s.create(Report, 'b', { spec: { everyMs: 1000 }, input: { region: 7 } });
  // @ts-expect-error not an overlap policy
  await s.create(Report, 'c', { spec: { everyMs: 1000 }, input: { region: 'eu' }, policies: { overlap: 'sometimes' } });
  // @ts-expect-error the kind's input type when the kind is given
  await s.update('d', { kind: Report, input: { region: false } });
  const policy: OverlapPolicy = 'bufferOne';
  await s.trigger('d', { overlap: policy });
  return s.create(Report, 'e', {
    spec: { cron: '0 2 * * *', timeZone: 'Europe/Paris', jitterMs: 1000 },
    input: { region: 'eu', day: 1 },
    policies: { overlap: 'terminateOther', catchupWindowMs: 60_000 },
  });
}
