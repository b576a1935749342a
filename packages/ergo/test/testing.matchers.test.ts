// The kit's value matching and failure rules on their own: deep matching with matchers at any
// depth, PIDs/Refs/Aliases by value, Errors by class, code and message; each matcher's accept and
// reject cases; failure rules (always, after N, once, pattern) and their call counts; the test
// clock's ordering of timers.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { Alias, ErrTaken, ErrTimeout, PID, Ref } from '../src/index.js';
import {
  EventLog,
  Failures,
  TestClock,
  anyAlias,
  anyPID,
  anyRef,
  anything,
  containing,
  equals,
  hasField,
  instanceOf,
  matches,
  satisfies,
  structureMatching,
} from '../src/testing/index.js';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('testing kit: matching', () => {
  test('plain values, arrays and objects compare deeply; matchers work at any depth', () => {
    assert.ok(matches(1, 1));
    assert.ok(!matches(1, '1'));
    assert.ok(matches(NaN, NaN));
    assert.ok(matches({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }));
    assert.ok(!matches({ a: 1 }, { a: 1, b: 2 }));
    assert.ok(matches({ a: anything(), b: [anyPID()] }, { a: 'x', b: [new PID('n', 1001, 1)] }));
    assert.ok(matches(new Point(1, 2), new Point(1, 2)));
    assert.ok(!matches(new Point(1, 2), { x: 1, y: 2 }), 'a class instance does not match a plain object');
    assert.ok(matches(new Map([[1, 2]]), new Map([[1, 2]])));
    assert.ok(matches(new Date(5), new Date(5)));
  });

  test('PIDs, Refs and Aliases by value; Errors by class, code and message', () => {
    assert.ok(matches(new PID('n', 1001, 1), new PID('n', 1001, 1)));
    assert.ok(!matches(new PID('n', 1001, 1), new PID('n', 1001, 2)));
    assert.ok(matches(new Ref('n', 1, [1, 2, 3]), new Ref('n', 1, [1, 2, 3])));
    assert.ok(!matches(new Ref('n', 1, [1, 2, 3]), new Alias('n', 1, [1, 2, 3])));
    assert.ok(matches(new Error('x'), new Error('x')));
    assert.ok(!matches(new Error('x'), new TypeError('x')));
    assert.ok(matches(ErrTaken, ErrTaken));
    assert.ok(!matches(ErrTaken, ErrTimeout));
  });

  test('each matcher accepts and rejects', () => {
    const pid = new PID('n', 1001, 1);
    assert.ok(anyPID().test(pid) && !anyPID().test('pid'));
    assert.ok(anyAlias().test(new Alias('n', 1, [1, 0, 0])) && !anyAlias().test(new Ref('n', 1, [1, 0, 0])));
    assert.ok(anyRef().test(new Ref('n', 1, [1, 0, 0])) && !anyRef().test(pid));
    assert.ok(instanceOf(Point).test(new Point(0, 0)) && !instanceOf(Point).test({}));
    assert.ok(satisfies((n: number) => n > 2).test(3) && !satisfies((n: number) => n > 2).test(1));
    assert.ok(
      !satisfies(() => {
        throw new Error('predicate bug');
      }).test(1),
      'a throwing predicate rejects',
    );
    assert.ok(equals([1, 2]).test([1, 2]) && !equals([1, 2]).test([2, 1]));
    assert.ok(
      hasField('x').test(new Point(1, 2)) &&
        hasField('x', 1).test(new Point(1, 2)) &&
        !hasField('x', 2).test(new Point(1, 2)),
    );
    assert.ok(!hasField('z').test(new Point(1, 2)));
    assert.ok(structureMatching(Point, { x: 1 }).test(new Point(1, 9)));
    assert.ok(!structureMatching(Point, { x: 1 }).test({ x: 1 }));
    assert.ok(structureMatching(undefined, { x: satisfies((v: number) => v < 5) }).test({ x: 1, y: 'ignored' }));
    assert.ok(containing('ell').test('hello') && !containing('xyz').test('hello'));
    assert.equal(structureMatching(Point, { x: anyPID() }).description, 'Point { x: any PID }');
  });
});

describe('testing kit: failure rules and the clock', () => {
  test('always, after N, once, pattern; counts include failed calls', () => {
    const events = new EventLog();
    const f = new Failures('process', events);
    assert.equal(f.check('send', []), undefined);
    f.setMethodFailure('send', new Error('always'));
    assert.equal(f.check('send', [])?.message, 'always');
    assert.equal(f.check('send', [])?.message, 'always');
    assert.equal(f.getMethodCallCount('send'), 3);

    f.setMethodFailureAfter('call', 2, new Error('third'));
    assert.equal(f.check('call', []), undefined);
    assert.equal(f.check('call', []), undefined);
    assert.equal(f.check('call', [])?.message, 'third');
    assert.equal(f.check('call', [])?.message, 'third');

    f.setMethodFailureOnce('spawn', new Error('once'));
    assert.equal(f.check('spawn', [])?.message, 'once');
    assert.equal(f.check('spawn', []), undefined);

    f.setMethodFailurePattern('link', 'worker', new Error('pattern'));
    assert.equal(f.check('link', ['supervisor']), undefined);
    assert.equal(f.check('link', ['worker7'])?.message, 'pattern');

    assert.equal(events.ofKind('failure').length, 6);
    f.clearMethodFailures();
    assert.equal(f.check('send', []), undefined);
    assert.equal(f.getMethodCallCount('send'), 1);
  });

  test('the clock fires timers in time order, including ones scheduled while advancing', () => {
    const clock = new TestClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@20'), 20);
    clock.setTimeout(() => {
      fired.push('a@10');
      clock.setTimeout(() => fired.push('c@15'), 5);
    }, 10);
    const cancelled = clock.setTimeout(() => fired.push('never'), 12);
    assert.equal(clock.clearTimeout(cancelled), true);
    clock.advance(30);
    assert.deepEqual(fired, ['a@10', 'c@15', 'b@20']);
    assert.equal(clock.now(), 30);
    clock.set(10); // back in time: nothing fires
    assert.equal(clock.now(), 10);
    assert.throws(() => clock.advance(-1), /invalid duration/);
    assert.equal(clock.pending(), 0);
  });
});
