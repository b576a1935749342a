// The package's subpaths share one copy of the framework: a name exported by two subpaths is the
// same class or value in both (`instanceof` and registrations work across them). Run on dist/src
// and, in the bundle pass, on the bundle, where every subpath is a view of the one core script.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import * as index from '../src/index.js';
import * as act from '../src/act/index.js';
import * as cluster from '../src/cluster/index.js';
import * as logger from '../src/logger/index.js';
import * as meta from '../src/meta/index.js';
import * as net from '../src/net/index.js';
import * as testing from '../src/testing/index.js';

// Two functions of one name on purpose: meta's wraps a certificate for meta processes, net's a
// node's key pair.
const DISTINCT = new Set(['createCertManager']);

test('a name exported by two subpaths is the same value in both', () => {
  const subpaths: Record<string, Record<string, unknown>> = { index, act, cluster, logger, meta, net, testing };
  let shared = 0;
  const names = Object.keys(subpaths);
  for (const [i, a] of names.entries())
    for (const b of names.slice(i + 1))
      for (const name of Object.keys(subpaths[a]!))
        if (name in subpaths[b]! && !DISTINCT.has(name)) {
          shared++;
          assert.equal(subpaths[a]![name], subpaths[b]![name], `${name} of ergo-ts/${a} and ergo-ts/${b}`);
        }
  assert.ok(shared > 0);
  assert.ok(new act.Actor() instanceof index.Actor);
});
