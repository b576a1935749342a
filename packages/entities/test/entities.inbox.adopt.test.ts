// A durable message accepted into a key's inbox by an activation that lost the key (another took
// it over) must still be handled by the activation that has it — not left in the inbox until the
// key's next activation, which for an entity that never passivates is never. The safety checker
// (faults.ts) found it as reminders that never fired and order timeouts that never came, after a
// node isolated from the others (but not from the shared SQLite file) had accepted their fires:
// its writes were refused as stale, and the owner's activation, told 'duplicate' by the inbox,
// never read it again. Two cases on the test kit (no database, the test clock):
//   - the owner's activation is told 'duplicate' for an id still in the inbox: it handles it;
//   - an activation whose write was refused ends with a message it accepted unhandled: the runtime
//     sends it again to the key, whose next activation handles it (once).
// Both fail without the fix (the message stays in the inbox; waitForEvent times out).

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { UnhandledWatch } from '@ergo-ts/test-support';

import { startTestEntities, type TestEntities } from '../src/testing/index.js';
import { EsLedger, Ledger } from './faults_kinds.js';

const watch = new UnhandledWatch('inbox adoption');
before(() => watch.start());
after(() => watch.stop());

async function kit(t: { after(fn: () => Promise<void>): void }): Promise<TestEntities> {
  const k = await startTestEntities({ leaseScope: 'key', kinds: [Ledger, EsLedger] });
  t.after(() => k.stop());
  return k;
}

/** The handle of `key` of either ledger (one type for both: they share their protocol and state). */
const handle = (k: TestEntities, kind: typeof Ledger | typeof EsLedger, key: string) =>
  kind === Ledger ? k.entity(Ledger, key) : k.entity(EsLedger, key);

for (const kind of [Ledger, EsLedger]) {
  test(`${kind.name}: told 'duplicate' of a message still in its inbox, the owner's activation handles it, once`, async (t) => {
    const k = await kit(t);
    const l = handle(k, kind, 'a');
    await l.activate();
    // What an activation that had lost the key accepted, after this one had read the inbox.
    assert.equal(await k.store.enqueue({ kind: kind.name, key: 'a' }, 'x1', { id: 'x1' }), 'accepted');
    const mark = k.events().length;
    // The sender's retry reaches the owner: the store says 'duplicate'.
    assert.equal(await k.entities.sendDurable(l.address, { id: 'x1' }, 'x1'), 'duplicate');
    await k.waitForEvent({ event: 'written', kind: kind.name, key: 'a' }, { since: mark });
    assert.deepEqual(await l.inbox(), []);
    assert.equal(await l.processed('x1'), true);
    assert.deepEqual((await l.activation())?.state, { ids: ['x1'], fired: [] });
    // Once: another duplicate changes nothing.
    assert.equal(await l.sendDurable({ id: 'x1' }, 'x1'), 'duplicate');
    assert.deepEqual((await l.restart()).state, { ids: ['x1'], fired: [] });
  });

  test(`${kind.name}: a message accepted by an activation whose write was then refused is sent to the key again and handled once`, async (t) => {
    const k = await kit(t);
    const l = handle(k, kind, 'b');
    await l.activate();
    const taker = await l.takeOver();
    // Accepted into the inbox by the stale activation, whose write of it is then refused: it ends.
    await assert.rejects(l.sendDurable({ id: 'y1' }, 'y1'), { code: 'ERR_ENTITY_TEST_ENDED' });
    assert.deepEqual(
      (await l.inbox()).map((m) => m.id),
      ['y1'],
    );
    // The taker goes away; the runtime's next try (a second later on the test clock) activates the
    // key, which handles it.
    await taker.release();
    const mark = k.events().length;
    k.advanceTime(1000);
    await k.waitForEvent({ event: 'written', kind: kind.name, key: 'b' }, { since: mark });
    assert.deepEqual(await l.inbox(), []);
    assert.deepEqual((await l.activation())?.state, { ids: ['y1'], fired: [] });
  });
}
