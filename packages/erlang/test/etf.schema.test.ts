// erlangSchema at run time: each builder accepts the terms this package decodes (values made by
// Erlang's own external format: termToBinary then binaryToTerm, so `"abc"` is a list of code
// points and `true` a boolean) and refuses others with the failing path; the builders nest in the
// core's `schema` builders and in a protocol, and the core's schemas (and any other Standard
// Schema) nest in them.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { PID, defineProtocol, firstIssue, formatPath, schema, type Atom, type StandardSchemaV1 } from 'ergo-ts';
import {
  ErlFloat,
  ErlImproperList,
  ErlTuple,
  atom,
  binaryToTerm,
  erlangSchema as erl,
  isTagged,
  termToBinary,
  tuple,
  type Term,
} from '../src/index.js';

/** `t` as this package decodes it from the wire. */
const wire = (t: Term): unknown => binaryToTerm(termToBinary(t));

/** A Standard Schema of another vendor (as zod's or valibot's): strings, with its own message. */
const foreignString: StandardSchemaV1<string> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: (v) => (typeof v === 'string' ? { value: v } : { issues: [{ message: 'not a string (test vendor)' }] }),
  },
};

/** The refusal of `value` by `s` as `path: message`, or 'ok'. */
function verdict(s: StandardSchemaV1, value: unknown): string {
  const i = firstIssue(s, value);
  return i === undefined ? 'ok' : `${formatPath(i.path)}: ${i.message}`;
}

test('atom: one, several, any; true and false are decoded as booleans', () => {
  assert.equal(verdict(erl.atom('ok'), wire(atom('ok'))), 'ok');
  assert.equal(verdict(erl.atom('ok'), wire(atom('error'))), '(root): expected atom ok, got atom error');
  assert.equal(verdict(erl.atom('ok'), wire('ok')), '(root): expected atom ok, got binary');
  assert.equal(verdict(erl.atom('ok', 'error'), wire(atom('error'))), 'ok');
  assert.equal(verdict(erl.atom(), wire(atom('anything'))), 'ok');
  assert.equal(verdict(erl.atom(), 1), '(root): expected an atom, got number');
  assert.equal(wire(atom('true')), true);
  assert.equal(verdict(erl.atom('true'), wire(atom('true'))), 'ok');
  assert.equal(verdict(erl.atom('true'), false), '(root): expected atom true, got atom false');
  assert.equal(verdict(erl.atom(), wire(false)), 'ok');
});

test('tuple: arity and each element, with its index in the path', () => {
  const add = erl.tuple(erl.atom('add'), schema.integer(), schema.integer());
  assert.equal(verdict(add, wire(tuple(atom('add'), 1, 2))), 'ok');
  assert.equal(verdict(add, wire(tuple(atom('add'), 1))), '(root): expected a tuple of 3, got tuple of 2');
  assert.equal(verdict(add, wire(tuple(atom('add'), 1, 2.5))), '[2]: expected integer, got number');
  assert.equal(verdict(add, wire([atom('add'), 1, 2])), '(root): expected a tuple of 3, got list');
  // nested, and another vendor's schema inside
  const nested = erl.tuple(erl.atom('ok'), erl.tuple(foreignString, erl.pid()));
  const pid = new PID('n@h' as Atom, 5, 1);
  assert.equal(verdict(nested, tuple(atom('ok'), tuple('x', pid))), 'ok');
  assert.equal(verdict(nested, tuple(atom('ok'), tuple(1, pid))), '[1][0]: not a string (test vendor)');
  assert.equal(verdict(nested, tuple(atom('ok'), tuple('x', 'p'))), '[1][1]: expected a pid, got string');
});

test('lists, improper lists, binaries, strings, numbers as decoded', () => {
  assert.equal(verdict(erl.list(erl.atom()), wire([atom('a'), atom('b')])), 'ok');
  assert.equal(verdict(erl.list(erl.atom()), wire([])), 'ok');
  assert.equal(verdict(erl.list(erl.atom()), wire([atom('a'), 1])), '[1]: expected an atom, got number');
  const imp = erl.improperList(erl.integer(), erl.atom('end'));
  assert.equal(verdict(imp, wire(new ErlImproperList([1, 2], atom('end')))), 'ok');
  assert.equal(verdict(imp, wire(new ErlImproperList([1], atom('stop')))), 'tail: expected atom end, got atom stop');
  assert.equal(verdict(imp, wire([1, 2])), '(root): expected an improper list, got list');
  // a JS string encodes as a binary; an Erlang string is a list of code points
  assert.equal(verdict(erl.binary(), wire('text')), 'ok');
  assert.equal(verdict(erl.utf8(), wire('tëxt')), 'ok');
  assert.equal(
    verdict(erl.utf8(), new Uint8Array([0xff, 0xfe])),
    '(root): expected a UTF-8 binary, got bytes that are not UTF-8',
  );
  const charlist = wire([97, 98, 99]);
  assert.deepEqual(charlist, [97, 98, 99]);
  assert.equal(verdict(erl.charlist(), charlist), 'ok');
  assert.equal(verdict(erl.charlist(), [97, -1]), '[1]: expected a code point, got number');
  assert.equal(verdict(erl.integer(), wire(2n ** 80n)), 'ok');
  assert.equal(verdict(erl.integer(), wire(1.5)), '(root): expected an integer, got number');
  assert.equal(verdict(erl.float(), wire(new ErlFloat(2))), 'ok');
  assert.equal(verdict(erl.float(), wire(2)), '(root): expected a float, got number');
});

test('in the core builders and a protocol; isTagged narrows by the first atom', () => {
  const obj = schema.object({ tag: erl.atom('a'), pair: erl.tuple(erl.atom(), erl.float()) });
  assert.equal(verdict(obj, { tag: atom('a'), pair: tuple(atom('x'), 1.5) }), 'ok');
  assert.equal(verdict(obj, { tag: atom('a'), pair: tuple(atom('x'), 1) }), 'pair[1]: expected a float, got number');
  const either = schema.union(erl.atom('stop'), erl.tuple(erl.atom('go'), erl.integer()));
  assert.equal(verdict(either, tuple(atom('go'), 1)), 'ok');
  const P = defineProtocol('erl-schema', {
    messages: { cast: erl.cast(erl.atom('reset')), info: erl.atom('tick') },
    calls: { get: { request: erl.tuple(erl.atom('get'), erl.atom()), reply: erl.integer() } },
  });
  assert.equal(P.checkMessage(wire(tuple(atom('$gen_cast'), atom('reset')))), undefined);
  assert.equal(P.checkMessage(wire(atom('tick'))), undefined);
  assert.notEqual(P.checkMessage(wire(tuple(atom('$gen_cast'), atom('other')))), undefined);
  const parsed = P.parseRequest(wire(tuple(atom('get'), atom('k'))));
  assert.ok(parsed.issue === undefined && parsed.value instanceof ErlTuple, 'delivered as decoded (no transform)');
  assert.notEqual(P.checkRequest(tuple(atom('get'), 'k')), undefined);
  assert.equal(isTagged(tuple(atom('get'), 1), 'get'), true);
  assert.equal(isTagged(tuple(atom('put'), 1), 'get'), false);
  assert.equal(isTagged(atom('get'), 'get'), false);
  assert.equal(isTagged(tuple(), 'get'), false);
});
