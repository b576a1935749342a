// A call that reached a live activation, which ended before it answered, is no new work: the
// owner it is routed to next must not refuse it as overloaded (ERR_ENTITY_OVERLOADED says nothing
// was done, and a start may have been written). The workflow fault checker's overload mode found
// starts answered "overloaded" that had been stored (issue 89): the activation handed off between
// taking the start and answering, and the call's next activation was shed.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { ErrNoConnection, ErrProcessUnknown, type Node } from 'ergo-ts';

import { isUndelivered } from '../src/contract/undelivered.js';

import type { ActivateReply } from '../src/runtime/manager_protocol.js';
import { Router, type RoutedRuntime } from '../src/runtime/routing.js';

/** A runtime of one member whose activations are told by `activate` (shed: whether it was asked to shed). */
function runtime(activate: (shed: boolean) => ActivateReply): RoutedRuntime {
  // A log that logs nothing (routing logs a refusal it hands back at debug level).
  const log = new Proxy({}, { get: (_t, p) => (p === 'level' ? () => 'error' : () => undefined) });
  const node = { name: 'n1@h', log } as unknown as Node;
  return {
    node,
    ownerOf: () => 'n1@h',
    members: () => ['n1@h'],
    membership: { heardLeaving: () => undefined, leaseEnded: () => undefined, holding: () => false },
    activateLocal: (_kind, _key, shed) => Promise.resolve(activate(shed === true)),
    // The scripted attempts below say whether a process is there: routing always calls first.
    activeHere: () => true,
  };
}

const overloaded = (shed: boolean): ActivateReply =>
  (shed ? { ok: false, holder: '', expiresAt: 0, overloaded: 500 } : { ok: true }) as ActivateReply;

test('a call whose attempt reached an activation that ended before answering is not shed by the next activation: it is done, not refused ERR_ENTITY_OVERLOADED', async () => {
  const router = new Router(runtime(overloaded), 5, 'mgr');
  // The first activation is not shed (the owner had room then); every later one would be.
  let activations = 0;
  const rt = runtime((shed) => (++activations === 1 ? ({ ok: true } as ActivateReply) : overloaded(shed)));
  const r2 = new Router(rt, 5, 'mgr');
  // Attempt 1: no process yet; attempt 2: delivered, and the activation ended before it answered;
  // attempt 3: no process again (the key is not active now); attempt 4: answered.
  const answers = ['unknown', 'unknown', 'unknown', 'done'];
  const out = await r2.guard('call', { kind: 'k', key: 'a' }, { timeout: 5000, shed: true }, () => {
    const a = answers.shift()!;
    return a === 'done' ? Promise.resolve('created') : Promise.reject(ErrProcessUnknown.with('gone'));
  });
  assert.equal(out, 'created');
  assert.equal(activations, 2);
  // New work — no attempt reached an activation yet — is still shed at once.
  const refused = await router
    .guard('call', { kind: 'k', key: 'b' }, { timeout: 5000, shed: true }, () =>
      Promise.reject(ErrProcessUnknown.with('none')),
    )
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.equal((refused as { code?: unknown }).code, 'ERR_ENTITY_OVERLOADED');
  assert.equal((refused as { retryAfterMs?: unknown }).retryAfterMs, 500);
  router.stop();
  r2.stop();
});

test('a key with no activation on this node is activated before it is called: no attempt meets a missing process', async () => {
  let active = false;
  let activations = 0;
  const rt: RoutedRuntime = {
    ...runtime(() => ({ ok: true }) as ActivateReply),
    activateLocal: () => {
      activations++;
      active = true;
      return Promise.resolve({ ok: true } as ActivateReply);
    },
    activeHere: () => active,
  };
  const router = new Router(rt, 5, 'mgr');
  const attempts: boolean[] = [];
  const out = await router.guard('call', { kind: 'k', key: 'a' }, { timeout: 5000 }, () => {
    attempts.push(active);
    return active ? Promise.resolve('answered') : Promise.reject(ErrProcessUnknown.with('not there'));
  });
  assert.equal(out, 'answered');
  assert.deepEqual(attempts, [true], 'one attempt, made once the key was active');
  assert.equal(activations, 1);
  // Active already: called at once, no activation asked.
  assert.equal(
    await router.guard('call', { kind: 'k', key: 'a' }, { timeout: 5000 }, () => Promise.resolve('again')),
    'again',
  );
  assert.equal(activations, 1);
  router.stop();
});

test('a call whose attempt was in flight when its connection was lost is not shed by the next activation, and what it gives up with is not marked undelivered', async () => {
  let activations = 0;
  const rt: RoutedRuntime = {
    ...runtime(() => ({ ok: true }) as ActivateReply),
    activateLocal: (_kind, _key, shed) => {
      activations++;
      return Promise.resolve(overloaded(shed === true));
    },
    activeHere: () => true,
  };
  const router = new Router(rt, 5, 'mgr');
  // Attempt 1: sent, and its connection lost before the answer (it may have run); attempt 2: no
  // process (the key moved on): the activation asked for it must not be shed.
  const answers = ['lost', 'unknown', 'done'];
  const out = await router.guard('call', { kind: 'k', key: 'c' }, { timeout: 5000, shed: true }, () => {
    const a = answers.shift()!;
    if (a === 'done') return Promise.resolve('created');
    return Promise.reject(a === 'lost' ? ErrNoConnection.with('n1@h') : ErrProcessUnknown.with('gone'));
  });
  assert.equal(out, 'created');
  assert.equal(activations, 1, 'one activation, not shed');
  // Every attempt found no process and the owner refused new work: nothing ran, marked so.
  const never = await router
    .guard('call', { kind: 'k', key: 'd' }, { timeout: 5000, shed: true }, () =>
      Promise.reject(ErrProcessUnknown.with('none')),
    )
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.equal((never as { code?: unknown }).code, 'ERR_ENTITY_OVERLOADED');
  assert.equal(isUndelivered(never), true);
  router.stop();
});
