// What a joined tab costs the gateway for its life: its session, never what only its join needed.
// The join's request (what `admit` saw, its headers a few hundred bytes) is gone once the tab is
// in, although closures made for the session outlive the join (a closure keeps the scope of the
// function that made it).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { gatewayNode, tabOf } from './helpers.js';
import { Board } from './protocols.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test("a joined tab's session keeps nothing of its join's request", async (t) => {
  const seen: WeakRef<object>[] = [];
  const { gw } = await gatewayNode(t, {
    admit: (_token, request) => {
      seen.push(new WeakRef(request), new WeakRef(request.headers));
      return { names: { board: Board } };
    },
  });
  const tab = await tabOf(t, gw);
  assert.ok(tab.connected);
  assert.equal(gw.tabs().length, 1);
  gc();
  assert.equal(seen.length, 2);
  assert.deepEqual(
    seen.map((r) => r.deref() === undefined),
    [true, true],
  );
});
