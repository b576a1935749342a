// The node table's consistency rules (node_table.ts): the watch starts before the snapshot is
// read, so their changes overlap and arrive in either order. Whatever the order, the table ends
// as etcd is at the latest revision either has seen: a late snapshot cannot bring back a deleted
// node or an old port, and an event the snapshot already holds cannot undo a newer state.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import type { Atom, Route } from 'ergo-ts';
import { NodeTable } from '../src/node_table.js';

const a = 'a@h' as Atom;
const b = 'b@h' as Atom;
const c = 'c@h' as Atom;

function at(port: number): Route[] {
  return [
    {
      host: 'h',
      port,
      tls: false,
      handshakeVersion: { name: 'EHS', release: '1.0', license: 'MIT' },
      protoVersion: { name: 'EDP', release: '1.0', license: 'MIT' },
    },
  ];
}

const port = (t: NodeTable, n: Atom): number | undefined => t.routes(n)?.[0]?.port;

describe('NodeTable', () => {
  test('answers nothing until a snapshot is loaded, then the snapshot', () => {
    const t = new NodeTable();
    t.apply(a, at(1), 5);
    assert.equal(t.ready, false);
    assert.equal(t.routes(a), undefined, 'watch events alone are not a full view');
    assert.equal(t.names(), undefined, 'nor a list of the nodes');
    t.load([{ name: b, routes: at(2), revision: 3 }], 4);
    assert.equal(t.ready, true);
    assert.equal(port(t, b), 2);
    assert.equal(port(t, a), 1, 'a put after the snapshot revision stays');
    assert.equal(t.routes(c), undefined);
    assert.equal(t.size, 2);
    assert.deepEqual(t.names()?.sort(), [a, b]);
  });

  test('a delete the watch delivered before a late snapshot is not undone by it', () => {
    const t = new NodeTable();
    t.apply(a, null, 9); // a deleted at 9; the snapshot (read at 8) still has it
    t.load([{ name: a, routes: at(1), revision: 7 }], 8);
    assert.equal(t.routes(a), undefined);
    assert.equal(t.size, 0);
    assert.deepEqual(t.names(), [], 'a delete is not listed');
  });

  test('a newer put beats an older snapshot row; an older event cannot undo the snapshot', () => {
    const t = new NodeTable();
    t.apply(a, at(5), 12); // a restarted on port 5 at 12
    t.apply(b, at(6), 3); // an event the snapshot holds too
    t.load(
      [
        { name: a, routes: at(1), revision: 7 },
        { name: b, routes: at(7), revision: 10 },
      ],
      11,
    );
    assert.equal(port(t, a), 5);
    assert.equal(port(t, b), 7);
    // Events at or below the snapshot's revision, delivered after it: already in it.
    t.apply(b, null, 11);
    t.apply(b, at(8), 4);
    assert.equal(port(t, b), 7);
    // Later changes apply in the watch's order.
    t.apply(b, null, 13);
    assert.equal(t.routes(b), undefined);
    assert.deepEqual(t.names(), [a]);
    t.apply(b, at(9), 14);
    assert.equal(port(t, b), 9);
  });

  test('before a snapshot, of two events for one node the newer wins whatever their order', () => {
    const t = new NodeTable();
    t.apply(a, at(2), 20);
    t.apply(a, at(1), 15);
    t.apply(c, null, 30);
    t.apply(c, at(3), 25);
    t.load([{ name: c, routes: at(3), revision: 25 }], 18);
    assert.equal(port(t, a), 2);
    assert.equal(t.routes(c), undefined, 'the delete at 30 is newer than the put at 25');
    assert.deepEqual(t.names(), [a], 'nor is a tombstone the snapshot did not hold');
  });

  test('invalidate: unanswering until the next snapshot, which replaces what was held', () => {
    const t = new NodeTable();
    t.load(
      [
        { name: a, routes: at(1), revision: 2 },
        { name: b, routes: at(2), revision: 2 },
      ],
      2,
    );
    t.invalidate();
    assert.equal(t.ready, false);
    assert.equal(t.routes(a), undefined);
    t.apply(c, at(3), 40); // the new watch's event, ahead of its snapshot
    t.load([{ name: a, routes: at(4), revision: 30 }], 35); // b went while no watch ran
    assert.equal(port(t, a), 4);
    assert.equal(t.routes(b), undefined);
    assert.equal(port(t, c), 3);
  });

  test('routes are copies: a caller changing them changes nothing held', () => {
    const t = new NodeTable();
    t.load([{ name: a, routes: at(1), revision: 1 }], 1);
    const r = t.routes(a)!;
    r[0]!.port = 99;
    r[0]!.handshakeVersion.release = 'x';
    assert.equal(port(t, a), 1);
    assert.equal(t.routes(a)![0]!.handshakeVersion.release, '1.0');
  });

  test('a revision that is not a safe integer is ignored', () => {
    const t = new NodeTable();
    t.load([], 1);
    t.apply(a, at(1), Number('x'));
    t.load([], Number.NaN);
    assert.equal(t.routes(a), undefined);
    assert.equal(t.ready, true);
  });
});
