// The cut phase's checker (bench/src/cluster/cut.ts) on planted histories, no process started:
// election safety must find two leaders in one term whoever saw them (the leaders themselves, or
// followers naming different ones), and must not flag a clean history with many terms, steps
// down and a cut-off leader's stale view; the voters' agreement must need every voter on one
// leader in one term. Without this the cluster run's "0 violations" could be a checker that
// never fires.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agreement, leaderViolations } from '../cluster/cut.js';
import type { LeaderObservation } from '../cluster/members.js';

let clock = 0;
const led = (node: string, term: number): LeaderObservation => ({
  obs: 'leader',
  node,
  term,
  leader: node,
  at: ++clock,
});
const follows = (node: string, term: number, leader = ''): LeaderObservation => ({
  obs: 'follower',
  node,
  term,
  leader,
  at: ++clock,
});

/** A clean silent cut: a leads term 2, is cut off and steps down, c leads 4, a follows c. */
const clean: LeaderObservation[] = [
  led('a', 2),
  ...['b', 'c', 'd', 'e'].map((n) => follows(n, 2, 'a')),
  follows('a', 2), // check-quorum: the cut-off leader steps down, keeping its term
  ...['b', 'c', 'd', 'e'].map((n) => follows(n, 2)), // its heartbeats stopped
  led('c', 4), // term 3 lost (split vote), nobody led it
  ...['b', 'd', 'e'].map((n) => follows(n, 4, 'c')),
  follows('a', 4, 'c'),
];

test('a clean history has no violation', () => {
  assert.deepEqual(leaderViolations(clean), []);
  assert.deepEqual(leaderViolations([]), []);
});

test('two nodes leading one term is a violation, whoever saw it', () => {
  // Both claim it.
  assert.deepEqual(leaderViolations([...clean, led('e', 4)]), [{ term: 4, leaders: ['c', 'e'] }]);
  // Only followers saw the second (its own report lost): still two leaders of term 2.
  assert.deepEqual(leaderViolations([...clean, follows('d', 2, 'b')]), [{ term: 2, leaders: ['a', 'b'] }]);
  // One count per term, in term order, however many saw it.
  const twice = [...clean, follows('b', 4, 'd'), led('d', 4), follows('e', 2, 'e'), led('e', 2)];
  assert.deepEqual(leaderViolations(twice), [
    { term: 2, leaders: ['a', 'e'] },
    { term: 4, leaders: ['c', 'd'] },
  ]);
});

test('the same leader seen again in its term, or leaders of different terms, are not violations', () => {
  assert.deepEqual(leaderViolations([led('a', 1), led('a', 1), follows('b', 1, 'a'), led('b', 2)]), []);
});

test('agreement needs every voter on one leader in one term', () => {
  const at = (o: LeaderObservation, t: number): LeaderObservation => ({ ...o, at: t });
  assert.deepEqual(agreement([at(led('c', 4), 10), at(follows('a', 4, 'c'), 30), at(follows('b', 4, 'c'), 20)]), {
    leader: 'c',
    term: 4,
    at: 30,
  });
  assert.equal(agreement([led('c', 4), undefined]), undefined, 'a voter that observed nothing');
  assert.equal(agreement([led('c', 4), follows('a', 4)]), undefined, 'a voter with no leader');
  assert.equal(agreement([led('c', 4), follows('a', 2, 'a')]), undefined, "the cut-off leader's stale view");
  assert.equal(agreement([led('c', 4), follows('a', 4, 'd')]), undefined, 'another leader');
});
