// The Go peer helper's contract with the tests that use it: an absent binary is a skip with a
// short reason, and a failure under CI=true.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { PEER_MISSING, peerBinary, requirePeer } from '../src/index.js';

function withEnv(vars: Record<string, string | undefined>, fn: () => void): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>): void => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) delete process.env[k];
      else process.env[k] = x;
    }
  };
  set(vars);
  try {
    fn();
  } finally {
    set(saved);
  }
}

test('an ERGO_PEER that is not an executable is named in the reason', () => {
  withEnv({ ERGO_PEER: '/nonexistent/ergo-peer' }, () => {
    assert.deepEqual(peerBinary(), { missing: 'ergo-peer not found at ERGO_PEER=/nonexistent/ergo-peer' });
  });
});

test('requirePeer: skips with the reason outside CI, throws under CI=true', () => {
  withEnv({ ERGO_PEER: '/nonexistent/ergo-peer', CI: undefined }, () => {
    let reason = '';
    assert.equal(
      requirePeer({
        skip: (m) => {
          reason = m;
        },
      }),
      undefined,
    );
    assert.match(reason, /ERGO_PEER=\/nonexistent/);
  });
  withEnv({ ERGO_PEER: '/nonexistent/ergo-peer', CI: 'true' }, () => {
    assert.throws(() => requirePeer({ skip: () => assert.fail('skipped under CI') }), /required under CI/);
  });
  assert.match(PEER_MISSING, /ERGO_PEER/);
});
