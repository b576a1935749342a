// cronNextRun, the public seam over the cron engine (durable reminders keep their own schedule
// and ask it for the next run): strictly after the given instant, zones, macros, coded errors.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { cronNextRun } from '../src/index.js';

const at = (iso: string): number => Date.parse(iso);

test('cronNextRun: the first run minute strictly after the instant', () => {
  assert.equal(
    cronNextRun('*/15 * * * *', at('2025-01-01T10:07:30Z'), 'UTC')?.toISOString(),
    '2025-01-01T10:15:00.000Z',
  );
  // Exactly on a run minute: the next one, not the same.
  assert.equal(
    cronNextRun('*/15 * * * *', at('2025-01-01T10:15:00Z'), 'UTC')?.toISOString(),
    '2025-01-01T10:30:00.000Z',
  );
  assert.equal(
    cronNextRun('0 12 * * *', new Date('2025-03-01T12:00:00.001Z'), 'UTC')?.toISOString(),
    '2025-03-02T12:00:00.000Z',
  );
  // A macro, and a zone: 03:10 in Berlin (UTC+1 in January).
  assert.equal(
    cronNextRun('@daily', at('2025-01-01T00:00:00Z'), 'Europe/Berlin')?.toISOString(),
    '2025-01-01T02:10:00.000Z',
  );
  // February 30th never comes.
  assert.equal(cronNextRun('0 0 30 2 *', at('2025-01-01T00:00:00Z'), 'UTC'), null);
});

test('cronNextRun: a bad spec, zone or instant is refused with ERR_INCORRECT', () => {
  assert.throws(() => cronNextRun('61 * * * *', Date.now()), { code: 'ERR_INCORRECT' });
  assert.throws(() => cronNextRun('not cron', Date.now()), { code: 'ERR_INCORRECT' });
  assert.throws(() => cronNextRun('* * * * *', Date.now(), 'Mars/Olympus'), { code: 'ERR_INCORRECT' });
  assert.throws(() => cronNextRun('* * * * *', Number.NaN), { code: 'ERR_INCORRECT' });
});
