// A patched deploy after a kill -9 mid-step (issue 89's fault checker: four charges applied twice
// under two keys). The member died while `charge` ran; nothing of it was journaled. The next deploy
// added `if (ctx.patched('audit')) await ctx.step('audit', …)` before the charge; the resumed
// instance found nothing at the charge's position, took the patch there and charged again two
// positions later — under another idempotency key, so the payment provider charged twice.
// Now `patched` answers false at a place an earlier run may have had an operation in flight that
// left no entry (right after a resumed journal's last ended operation): the older path runs, the
// charge keeps its position and its key. An instance that waited there (a pending sleep) takes the
// patch as before: nothing of the older code ran past its wait.
// On the test kit: the killed member's store is the record as it was mid-charge, written to a
// store the next deploy opens (what a kill -9 leaves behind); a clean deploy on the same store for
// the sleeping instance.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { TestClock } from 'ergo-ts/testing';

import { MemoryStore, defineWorkflow } from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';

const KIND = 'wf-patched-resume';
const HOUR = 3_600_000;

/** Every step run: which deploy ran it, for which instance, under which key. */
const ran: { v: string; id: string; step: string; key: string }[] = [];
let releaseCharge!: () => void;
const chargeReleased = new Promise<void>((r) => (releaseCharge = r));

/**
 * v1: reserve, (for ids starting `sleep`: a durable sleep of an hour), charge — whose first run
 * holds until the test releases it. v2 adds an `audit` step behind `ctx.patched('audit')` before
 * the charge.
 */
function version(v: 'v1' | 'v2') {
  return defineWorkflow(KIND, async (ctx) => {
    const step = (name: string): Promise<string> =>
      ctx.step(name, async (info) => {
        ran.push({ v, id: ctx.id, step: name, key: info.idempotencyKey });
        if (name === 'charge' && v === 'v1') await chargeReleased;
        return name;
      });
    await step('reserve');
    if (ctx.id.startsWith('sleep')) await ctx.sleep(HOUR);
    const audited = v === 'v2' && ctx.patched('audit');
    if (audited) await step('audit');
    await step('charge');
    return audited ? 'audited' : 'older path';
  });
}
const [V1, V2] = [version('v1'), version('v2')];

const runsOf = (id: string, step: string) => ran.filter((r) => r.id === id && r.step === step);

test('killed mid-step, resumed on code with a patch before that step: the older path runs, the step keeps its key', async () => {
  const clock = new TestClock();
  const before = new MemoryStore({ clock });
  const k1 = await startTestEntities({ kinds: [V1], store: before, clock, leaseTtlMs: HOUR });
  await k1.workflows.start(V1, 'crash1', undefined);
  await eventually(() => runsOf('crash1', 'charge').length === 1, 'the charge runs on the first deploy');
  // What a kill -9 leaves: the record as stored while the charge ran (reserve journaled, no charge).
  const left = await before.load({ kind: KIND, key: 'crash1' });
  const journal = (left.state as { journal: { t: string; n: string }[] }).journal;
  assert.deepEqual(
    journal.map((e) => `${e.t}:${e.n}`),
    ['step:reserve'],
  );
  releaseCharge();
  await k1.stop();
  await before.close();

  const after = new MemoryStore({ clock });
  const id = { kind: KIND, key: 'crash1' };
  const lease = await after.acquire({ ...id, owner: 'killed@host', ttlMs: HOUR });
  assert.ok(lease.acquired);
  await after.write({ ...id, token: lease.token, expectedVersion: 0, state: left.state });
  await after.release(id, lease.token);

  const k2 = await startTestEntities({ kinds: [V2], store: after, clock, leaseTtlMs: HOUR });
  try {
    const h = k2.workflows.handle(V2, 'crash1');
    await h.describe(); // activates it: its body resumes
    assert.equal(await h.advanceUntilDone(), 'older path');
    const charges = runsOf('crash1', 'charge');
    assert.equal(charges.length, 2, 'the charge in flight at the kill runs again (at least once)');
    assert.equal(charges[1]!.key, charges[0]!.key, 'under the key it had: the provider sees one charge');
    assert.equal(runsOf('crash1', 'audit').length, 0, 'the patch is not taken where the charge may have run');
    const { history } = await h.describe();
    assert.deepEqual(
      history.map((e) => `${e.t}:${e.n}`),
      ['step:reserve', 'step:charge'],
    );
  } finally {
    await k2.stop();
    await after.close();
  }
});

test('an instance waiting in a durable sleep at the deploy takes the patch after its sleep, as before', async () => {
  const clock = new TestClock();
  const store = new MemoryStore({ clock });
  const k1 = await startTestEntities({ kinds: [V1], store, clock, leaseTtlMs: HOUR });
  await k1.workflows.start(V1, 'sleep1', undefined);
  await k1.workflows.runUntilIdle();
  const { history } = await k1.workflows.handle(V1, 'sleep1').describe();
  assert.deepEqual(
    history.map((e) => `${e.t}:${e.n}:${e.done === true}`),
    ['step:reserve:true', 'sleep::false'],
  );
  await k1.stop();

  const k2 = await startTestEntities({ kinds: [V2], store, clock, leaseTtlMs: HOUR });
  try {
    const h = k2.workflows.handle(V2, 'sleep1');
    assert.equal(await h.advanceUntilDone(), 'audited');
    assert.equal(runsOf('sleep1', 'audit').length, 1);
    assert.equal(runsOf('sleep1', 'charge').length, 1);
    const done = await h.describe();
    assert.deepEqual(
      done.history.map((e) => `${e.t}:${e.n}`),
      ['step:reserve', 'sleep:', 'patch:audit', 'step:audit', 'step:charge'],
    );
  } finally {
    await k2.stop();
    await store.close();
  }
});

test('a run that took a patch saves its marker before the patched path sends an effect: killed inside that step, it resumes on the patched path', async () => {
  const clock = new TestClock();
  const before = new MemoryStore({ clock });
  let releaseAudit!: () => void;
  const auditReleased = new Promise<void>((r) => (releaseAudit = r));
  const audits: string[] = [];
  const V2Held = defineWorkflow(KIND, async (ctx) => {
    await ctx.step('reserve', () => 'reserve');
    const audited = ctx.patched('audit');
    if (audited)
      await ctx.step('audit', async (info) => {
        audits.push(info.idempotencyKey);
        if (audits.length === 1) await auditReleased;
        return 'audit';
      });
    await ctx.step('charge', () => 'charge');
    return audited ? 'audited' : 'older path';
  });
  const k1 = await startTestEntities({ kinds: [V2Held], store: before, clock, leaseTtlMs: HOUR });
  await k1.workflows.start(V2Held, 'marker1', undefined);
  await eventually(() => audits.length === 1, 'the patched step runs');
  // What a kill -9 leaves while the audit runs: its marker is in the stored journal.
  const left = await before.load({ kind: KIND, key: 'marker1' });
  const journal = (left.state as { journal: { t: string; n: string }[] }).journal;
  assert.deepEqual(
    journal.map((e) => `${e.t}:${e.n}`),
    ['step:reserve', 'patch:audit'],
  );
  releaseAudit();
  await k1.stop();
  await before.close();

  const after = new MemoryStore({ clock });
  const id = { kind: KIND, key: 'marker1' };
  const lease = await after.acquire({ ...id, owner: 'killed@host', ttlMs: HOUR });
  await after.write({ ...id, token: lease.acquired ? lease.token : 0, expectedVersion: 0, state: left.state });
  if (lease.acquired) await after.release(id, lease.token);
  const k2 = await startTestEntities({ kinds: [V2Held], store: after, clock, leaseTtlMs: HOUR });
  try {
    const h = k2.workflows.handle(V2Held, 'marker1');
    await h.describe();
    assert.equal(await h.advanceUntilDone(), 'audited');
    assert.equal(audits.length, 2);
    assert.equal(audits[1], audits[0], 'the audit again under its key');
  } finally {
    await k2.stop();
    await after.close();
  }
});
