// Identifiers (issue 2, item 4): Atom, PID, ProcessID, Ref (deadline, isAlive), Alias, Event,
// Env names. Value equality, stable map keys, and Ergo's printed forms (CRC32 of the node name
// with Ergo's table; the expected checksums are real Go outputs).

import { strict as assert } from 'node:assert';
import { after, describe, test } from 'node:test';

import {
  Alias,
  atom,
  atomCRC32,
  atomHost,
  atomString,
  envName,
  ErrIncorrect,
  Event,
  isError,
  PID,
  ProcessID,
  Ref,
  type Node,
} from '../src/index.js';
import { crc32Hex } from '../src/lib/crc32.js';
import { quietNode, probe, thrown } from './helpers.js';

describe('Atom', () => {
  test('CRC32 with Ergo table matches Go', () => {
    assert.equal(atomCRC32(atom('a@localhost')), '2887105A');
    assert.equal(atomCRC32(atom('b@localhost')), '3BA2E807');
    assert.equal(atomCRC32(atom('spec@localhost')), '8D2BA23B');
    // Cached path gives the same answer.
    assert.equal(atomCRC32(atom('a@localhost')), '2887105A');
    // Go returns "" for an empty atom.
    assert.equal(crc32Hex(''), '');
    // Always 8 upper-case hex digits.
    for (const n of ['x', 'node@host', 'äöü@ünïcode', 'z'.repeat(255)]) assert.match(atomCRC32(n), /^[0-9A-F]{8}$/);
  });

  test('printed in single quotes, host part', () => {
    assert.equal(atomString(atom('abc')), "'abc'");
    assert.equal(atomHost(atom('demo@localhost')), 'localhost');
    assert.equal(atomHost(atom('nohost')), '');
    assert.equal(atomHost(atom('a@b@c')), '');
    // An atom is a plain string at run time: value equality and map keys for free.
    const m = new Map<string, number>([[atom('x'), 1]]);
    assert.equal(m.get('x'), 1);
  });
});

describe('PID', () => {
  test('prints as Ergo does: <CRC32(node).hi32.lo32>', () => {
    assert.equal(new PID(atom('a@localhost'), 1001, 1700000000).toString(), '<2887105A.0.1001>');
    assert.equal(new PID(atom('b@localhost'), 1, 1).toString(), '<3BA2E807.0.1>');
    assert.equal(new PID(atom('spec@localhost'), 2 ** 32 + 7, 1).toString(), '<8D2BA23B.1.7>');
    // Go formats both halves as int32.
    assert.equal(new PID(atom('a@localhost'), 0x80000000, 1).toString(), '<2887105A.0.-2147483648>');
    assert.equal(JSON.stringify({ p: new PID(atom('a@localhost'), 1001, 5) }), '{"p":"<2887105A.0.1001>"}');
  });

  test('value equality and stable map keys', () => {
    const a = new PID(atom('a@localhost'), 1001, 100);
    const b = new PID(atom('a@localhost'), 1001, 100);
    assert.notEqual(a, b);
    assert.ok(a.equals(b) && b.equals(a));
    assert.equal(a.key, b.key);
    assert.equal(a.key, a.key, 'key is stable');
    assert.ok(!a.equals(new PID(atom('a@localhost'), 1002, 100)), 'id differs');
    assert.ok(!a.equals(new PID(atom('a@localhost'), 1001, 101)), 'creation (incarnation) differs');
    assert.ok(!a.equals(new PID(atom('b@localhost'), 1001, 100)), 'node differs');
    assert.ok(!a.equals({ node: 'a@localhost', id: 1001, creation: 100 }), 'plain object is not a PID');
    assert.notEqual(a.key, new PID(atom('a@localhost'), 1001, 101).key);
    // Keys of different id kinds never collide.
    const keys = new Set([
      a.key,
      new ProcessID(atom('1001'), atom('a@localhost')).key,
      new Ref(atom('a@localhost'), 100, [1001, 0, 0]).key,
      new Alias(atom('a@localhost'), 100, [1001, 0, 0]).key,
      new Event(atom('1001'), atom('a@localhost')).key,
    ]);
    assert.equal(keys.size, 5);
    const m = new Map<string, string>();
    m.set(a.key, 'x');
    assert.equal(m.get(b.key), 'x');
  });
});

describe('ProcessID', () => {
  test('printed <CRC32(node).name>, empty node means local', () => {
    assert.equal(new ProcessID(atom('worker'), atom('a@localhost')).toString(), '<2887105A.worker>');
    assert.equal(new ProcessID(atom('worker')).toString(), '<.worker>');
    assert.equal(new ProcessID(atom('worker')).node, '');
  });
  test('value equality and keys', () => {
    const a = new ProcessID(atom('w'), atom('a@localhost'));
    const b = new ProcessID(atom('w'), atom('a@localhost'));
    assert.ok(a.equals(b));
    assert.equal(a.key, b.key);
    assert.ok(!a.equals(new ProcessID(atom('w'), atom('b@localhost'))));
    assert.ok(!a.equals(new ProcessID(atom('v'), atom('a@localhost'))));
    assert.notEqual(a.key, new ProcessID(atom('w')).key);
  });
});

describe('Ref and Alias', () => {
  test('printed Ref#<CRC.id0.id1.id2> and Alias#<...>', () => {
    assert.equal(new Ref(atom('a@localhost'), 1, [5, 6, 7]).toString(), 'Ref#<2887105A.5.6.7>');
    assert.equal(new Alias(atom('b@localhost'), 1, [5, 0, 0]).toString(), 'Alias#<3BA2E807.5.0.0>');
    assert.equal(JSON.stringify(new Ref(atom('a@localhost'), 1, [1, 2, 3])), '"Ref#<2887105A.1.2.3>"');
  });

  test('value equality; a Ref never equals an Alias with the same fields', () => {
    const r1 = new Ref(atom('a@localhost'), 9, [1, 2, 3]);
    const r2 = new Ref(atom('a@localhost'), 9, [1, 2, 3]);
    const al = new Alias(atom('a@localhost'), 9, [1, 2, 3]);
    assert.ok(r1.equals(r2));
    assert.equal(r1.key, r2.key);
    assert.ok(!r1.equals(al));
    assert.ok(!al.equals(r1));
    assert.notEqual(r1.key, al.key);
    assert.ok(!r1.equals(new Ref(atom('a@localhost'), 10, [1, 2, 3])), 'creation differs');
    for (let i = 0; i < 3; i++) {
      const id: [number, number, number] = [1, 2, 3];
      id[i]! += 1;
      const other = new Ref(atom('a@localhost'), 9, id);
      assert.ok(!r1.equals(other), `id[${i}] differs`);
      assert.notEqual(r1.key, other.key);
    }
  });

  test('deadline and isAlive', () => {
    const now = Math.floor(Date.now() / 1000);
    const none = new Ref(atom('a@localhost'), 1, [1, 0, 0]);
    assert.equal(none.deadline(), 0);
    assert.ok(none.isAlive(), 'no deadline: alive');
    const future = new Ref(atom('a@localhost'), 1, [1, 0, now + 60]);
    assert.equal(future.deadline(), now + 60);
    assert.ok(future.isAlive());
    assert.ok(future.isAlive(now + 60), 'alive at the deadline second (Go: now > deadline is dead)');
    assert.ok(!future.isAlive(now + 61));
    const past = new Ref(atom('a@localhost'), 1, [1, 0, now - 5]);
    assert.ok(!past.isAlive());
  });
});

describe('Event', () => {
  test('printed Event#<CRC:name>, value equality', () => {
    const e = new Event(atom('prices'), atom('a@localhost'));
    assert.equal(e.toString(), 'Event#<2887105A:prices>');
    assert.ok(e.equals(new Event(atom('prices'), atom('a@localhost'))));
    assert.equal(e.key, new Event(atom('prices'), atom('a@localhost')).key);
    assert.ok(!e.equals(new Event(atom('prices'), atom('b@localhost'))));
    assert.ok(!e.equals(new ProcessID(atom('prices'), atom('a@localhost'))));
  });
});

describe('Env names', () => {
  test('upper-cased, so case-insensitive', () => {
    assert.equal(envName('db_Url'), 'DB_URL');
    assert.equal(envName('DB_URL'), envName('db_url'));
  });
});

describe('ids made by a node', () => {
  let node: Node;
  after(() => node?.stopForce());

  test('core PID, spawned PIDs from 1001, refs unique, makeRefWithDeadline', async () => {
    node = await quietNode({}, undefined, 'spec@localhost');
    assert.equal(node.pid.id, 1);
    assert.equal(node.pid.node, 'spec@localhost');
    assert.equal(node.creation, node.pid.creation);
    assert.equal(node.pid.toString(), '<8D2BA23B.0.1>');
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(node.creation - now) <= 1, 'creation is the start time in Unix seconds');

    const p1 = await node.spawn(probe());
    const p2 = await node.spawn(probe());
    assert.equal(p1.id, 1001);
    assert.equal(p2.id, 1002);
    assert.equal(p1.toString(), '<8D2BA23B.0.1001>');
    assert.equal(p1.creation, node.creation);

    const r1 = node.makeRef();
    const r2 = node.makeRef();
    assert.ok(!r1.equals(r2));
    assert.equal(r1.node, node.name);
    assert.equal(r1.creation, node.creation);
    assert.equal(r1.deadline(), 0);
    assert.match(r1.toString(), /^Ref#<8D2BA23B\.\d+\.\d+\.0>$/);

    const rd = node.makeRefWithDeadline(now + 30);
    assert.equal(rd.deadline(), now + 30);
    assert.ok(rd.isAlive());
    for (const bad of [now - 1, 0, -5]) {
      const e = thrown(() => node.makeRefWithDeadline(bad), 'ERR_INCORRECT');
      assert.ok(isError(e, ErrIncorrect));
    }
  });
});
