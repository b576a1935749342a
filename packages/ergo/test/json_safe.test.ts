// The JSON-safe walk (gen/json_safe.ts) that the Observer and the MCP tools print values with, and
// the parsers of printed PIDs and aliases: each form the walk promises, the depth guard, the two
// orders of a value's own toJSON, and the parsers' refusals.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Alias,
  atom,
  Event,
  JSON_SAFE_MAX_DEPTH,
  parsePrintedAlias,
  parsePrintedPID,
  PID,
  printedNodeCRC,
  ProcessID,
  Ref,
  toJSONSafe,
} from '../src/index.js';

const node = atom('json@localhost');
const other = atom('other@localhost');

class Holder {
  readonly pid = new PID(node, 1001, 7);
  readonly count = 3n;
  readonly skip = (): void => undefined;
  readonly missing = undefined;
}

describe('toJSONSafe', () => {
  test('primitives: strings, booleans, numbers, bigints, null-likes', () => {
    assert.equal(toJSONSafe('a'), 'a');
    assert.equal(toJSONSafe(true), true);
    assert.equal(toJSONSafe(1.5), 1.5);
    assert.equal(toJSONSafe(Infinity), 'Infinity');
    assert.equal(toJSONSafe(NaN), 'NaN');
    assert.equal(toJSONSafe(42n), 42);
    assert.equal(toJSONSafe(2n ** 60n), '1152921504606846976');
    assert.equal(toJSONSafe(-(2n ** 60n)), '-1152921504606846976');
    assert.equal(toJSONSafe(null), null);
    assert.equal(toJSONSafe(undefined), null);
    assert.equal(
      toJSONSafe(() => 1),
      null,
    );
    assert.equal(toJSONSafe(Symbol('s')), null);
  });

  test('identifiers print as Ergo prints them', () => {
    const pid = new PID(node, 1001, 7);
    const ref = new Ref(node, 7, [1, 2, 3]);
    const alias = new Alias(node, 7, [4, 5, 6]);
    const ev = new Event(atom('news'), node);
    const pn = new ProcessID(atom('web'), node);
    const crc = printedNodeCRC(node);
    assert.deepEqual(toJSONSafe([pid, ref, alias, ev, pn]), [
      `<${crc}.0.1001>`,
      `Ref#<${crc}.1.2.3>`,
      `Alias#<${crc}.4.5.6>`,
      String(ev),
      `<${crc}.web>`,
    ]);
  });

  test('containers, errors, dates, bytes and class instances', () => {
    const when = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    const value = new Map<unknown, unknown>([
      ['list', [1, 'two']],
      [7, new Set(['x'])],
      ['error', new Error('boom')],
      ['when', when],
      ['bytes', new Uint8Array([1, 2, 3])],
      ['holder', new Holder()],
    ]);
    assert.deepEqual(toJSONSafe(value), {
      list: [1, 'two'],
      7: ['x'],
      error: 'boom',
      when: '2026-01-02T03:04:05.000Z',
      bytes: 'AQID',
      holder: { pid: `<${printedNodeCRC(node)}.0.1001>`, count: 3 },
    });
  });

  test('a Buffer is base64, or its own toJSON when that comes first', () => {
    const b = Buffer.from([1, 2, 3]);
    assert.equal(toJSONSafe(b), 'AQID');
    assert.deepEqual(toJSONSafe(b, { ownToJSONFirst: true }), { type: 'Buffer', data: [1, 2, 3] });
    assert.equal(toJSONSafe(new Date(0), { ownToJSONFirst: true }), '1970-01-01T00:00:00.000Z');
  });

  test('an error with its own toJSON: the message, unless toJSON comes first', () => {
    const e = Object.assign(new Error('plain'), { toJSON: () => ({ code: 'E1' }) });
    assert.equal(toJSONSafe(e), 'plain');
    assert.deepEqual(toJSONSafe(e, { ownToJSONFirst: true }), { code: 'E1' });
  });

  test('nesting deeper than JSON_SAFE_MAX_DEPTH is cut, cycles end', () => {
    const cyclic: { self?: unknown; n: number } = { n: 1 };
    cyclic.self = cyclic;
    let out = toJSONSafe(cyclic) as { self?: unknown; n: number };
    let levels = 0;
    while (typeof out === 'object') {
      levels++;
      out = out.self as { self?: unknown; n: number };
    }
    assert.equal(out, '…');
    assert.equal(levels, JSON_SAFE_MAX_DEPTH);
    assert.equal(toJSONSafe({ a: 1 }, undefined, JSON_SAFE_MAX_DEPTH), '…');
    assert.equal(toJSONSafe('leaf', undefined, JSON_SAFE_MAX_DEPTH), 'leaf');
  });

  test('the result survives JSON.stringify and leaves the value alone', () => {
    const value = { big: 2n ** 64n, m: new Map([['k', 1n]]) };
    assert.equal(JSON.stringify(toJSONSafe(value)), '{"big":"18446744073709551616","m":{"k":1}}');
    assert.equal(value.m.get('k'), 1n);
  });
});

describe('printed identifiers read back', () => {
  test('a PID round-trips through its printed form', () => {
    const pid = new PID(node, 2 ** 33 + 5, 9);
    const back = parsePrintedPID(` ${String(pid)} `, node, 9);
    assert.ok(back !== null && back.equals(pid));
  });

  test('a PID of another node, another form or no string is refused', () => {
    const pid = new PID(node, 1001, 9);
    assert.equal(parsePrintedPID(String(pid), other, 9), null);
    assert.equal(parsePrintedPID('<0.1001>', node, 9), null);
    assert.equal(parsePrintedPID(1001, node, 9), null);
    assert.equal(parsePrintedPID(`<${printedNodeCRC(node)}.4294967296.0>`, node, 9), null);
  });

  test('an alias round-trips; others are refused', () => {
    const alias = new Alias(node, 9, [1, 2, 3]);
    const back = parsePrintedAlias(String(alias), node, 9);
    assert.ok(back !== null && back.equals(alias));
    assert.equal(parsePrintedAlias(String(alias), other, 9), null);
    assert.equal(parsePrintedAlias(String(new Ref(node, 9, [1, 2, 3])), node, 9), null);
    assert.equal(parsePrintedAlias(null, node, 9), null);
  });

  test('printedNodeCRC is the CRC a PID prints', () => {
    assert.equal(printedNodeCRC(node), String(new PID(node, 0, 0)).slice(1, 9));
    assert.match(printedNodeCRC(node), /^[0-9A-F]{8}$/);
  });
});
