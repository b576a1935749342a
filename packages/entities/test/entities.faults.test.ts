// The entities safety checker (faults.ts), short: a few randomised rounds of kill -9 + restart,
// silent isolation and silent partitions across network-namespace test hosts (three entity nodes,
// each in its own host, and the PostgreSQL store in a fourth), with durable messages re-sent until
// acknowledged; then zero violations: no two accepted writers of one key, no overlapping tokens,
// no state version going backwards, no acknowledged message lost or applied twice. The checker
// itself is shown to fail on each kind of violation. The long run (≥ 200 rounds) is
// scripts/entities-faults.mjs. Needs root, ip/nft and PostgreSQL: skips without (fails under CI=true).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { requireHosts, requirePostgres } from '@ergo-ts/test-support';

import { check, runFaults, type LoggedEvent } from './faults.js';

const ev = (event: 'written' | 'activated', key: string, token: number, version: number): LoggedEvent => ({
  event,
  key,
  token,
  version,
  kind: 'ledger',
  node: 'n',
  source: `n#${token}`,
});

test('the checker fails on two writers at one version, overlapping tokens, a version going back, a lost or doubled message', () => {
  const ok = check(
    [ev('activated', 'k', 1, 0), ev('written', 'k', 1, 1), ev('activated', 'k', 2, 1), ev('written', 'k', 2, 2)],
    new Set(['a']),
    { k: { ids: ['a'], version: 2, inbox: [] } },
  );
  assert.deepEqual(ok, { violations: [], writes: 2, activations: 2 });
  const clean = { k: { ids: [], version: 9, inbox: [] } };
  const two = check([ev('written', 'k', 1, 1), ev('written', 'k', 2, 1)], new Set(), clean);
  assert.match(two.violations.join(), /two accepted writes at version 1/);
  const overlap = check([ev('written', 'k', 2, 1), ev('written', 'k', 1, 2)], new Set(), clean);
  assert.match(overlap.violations.join(), /overlapping tokens/);
  const back = check([ev('written', 'k', 1, 3), ev('activated', 'k', 2, 2)], new Set(), clean);
  assert.match(back.violations.join(), /went backwards/);
  const below = check([ev('written', 'k', 1, 3)], new Set(), { k: { ids: [], version: 2, inbox: [] } });
  assert.match(below.violations.join(), /below accepted version 3/);
  const lost = check([], new Set(['x', 'y']), { k: { ids: ['x'], version: 1, inbox: [] } });
  assert.deepEqual(lost.violations, ['acknowledged message y was lost']);
  const pending = check([], new Set(['y']), { k: { ids: [], version: 0, inbox: ['y'] } });
  assert.deepEqual(pending.violations, []);
  const twice = check([], new Set(['x']), { k: { ids: ['x', 'x'], version: 2, inbox: [] } });
  assert.deepEqual(twice.violations, ['message x was applied 2 times']);
});

test('randomised kill -9, isolation and partitions across test hosts with a shared PostgreSQL: no violation', async (t) => {
  if (!requireHosts(t) || !requirePostgres(t)) return;
  const report = await runFaults({ rounds: 4, progress: (l) => console.log(`# ${l}`) });
  console.log(`# ${JSON.stringify(report)}`);
  assert.deepEqual(report.violations, [], `seed ${report.seed}`);
  assert.ok(report.acked > 0, 'messages were acknowledged during the faults');
  assert.ok(report.writes > 0 && report.activations > 0, 'writes and activations were logged');
});
