// The ETF codec against a real Erlang/OTP: a corpus of terms (test/erl/etf_corpus.erl) is
// written by term_to_binary (OTP's default tags, minor_version 2, compressed); every binary must
// decode to the same term, re-encode to exactly OTP's minor_version 2 bytes, and what this codec
// writes — from decoded terms and from terms built in TypeScript — must binary_to_term back in
// erl to a term exactly equal (=:=) to the original.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ErlBitString,
  ErlFloat,
  ErlImproperList,
  ErlMap,
  ErlPid,
  ErlRef,
  ErlPort,
  ErlExport,
  ErlFun,
  atom,
  binaryToTerm,
  termEqual,
  termKey,
  termToBinary,
  tuple,
  type Term,
} from '../src/index.js';
import { compileErl, evalErl, haveTool, tempDir } from './erl_helpers.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
const unhex = (s: string): Buffer => Buffer.from(s, 'hex');

/** Terms built in TypeScript that must equal corpus entries (index → value). */
const BUILT: Record<number, Term> = {
  0: atom('ok'),
  1: true,
  2: false,
  3: atom('undefined'),
  4: atom(''),
  5: [],
  7: 255,
  8: 256,
  9: -1,
  12: 2147483648,
  13: -2147483649,
  14: Number.MAX_SAFE_INTEGER,
  15: 2n ** 53n,
  16: -(2n ** 70n),
  17: 2n ** 2100n,
  18: -(2n ** 2100n),
  19: 1.5,
  20: new ErlFloat(1),
  21: new ErlFloat(-0),
  22: new ErlFloat(1e300),
  23: Math.PI,
  25: 'x',
  26: new Uint8Array(0),
  27: new ErlBitString(Uint8Array.of(0xa0), 3),
  28: new ErlBitString(Uint8Array.of(1, 2, 3, 0x40), 4),
  29: new ErlBitString(Uint8Array.of(0x80), 1),
  30: [97, 98, 99],
  31: [1000],
  33: new ErlImproperList([atom('a')], atom('b')),
  34: new ErlImproperList([1, 2], 3),
  35: [[]],
  37: Array.from({ length: 300 }, (_, i) => i + 1),
  38: new Array<number>(70000).fill(7),
  39: [...'привет'].map((c) => c.codePointAt(0)!),
  40: tuple(),
  41: tuple(atom('ok'), 'x'),
  43: new ErlMap(),
  44: { a: 1 },
  45: new ErlMap([[tuple(atom('x'), atom('y')), 1]]),
  46: new ErlMap([
    [[1], 2],
    [new ErlMap([[atom('a'), atom('b')]]), atom('c')],
    ['k', [atom('v')]],
  ] as [Term, Term][]),
  47: new ErlMap(Array.from({ length: 40 }, (_, i) => [i + 1, (i + 1) * (i + 1)] as [Term, Term])),
  48: atom('a'.repeat(255)),
  49: atom('привет_λ'),
  50: atom('UPPER case'),
  51: new ErlExport('lists', 'reverse', 1),
};

test('term corpus: OTP binaries decode, re-encode byte for byte, and erl reads back what we write', async (t) => {
  if (!haveTool(t, 'erl') || !haveTool(t, 'erlc')) return;
  const tmp = tempDir('etf-otp-');
  try {
    compileErl(tmp.dir, 'etf_corpus');
    const out = await evalErl('etf_corpus:dump(), halt().', { pa: [tmp.dir] });
    const rows = out
      .split('\n')
      .filter((l) => l.startsWith('T '))
      .map((l) => {
        const [, i, minor2, plain, compressed] = l.split(' ');
        return { i: Number(i), minor2: unhex(minor2!), plain: unhex(plain!), compressed: unhex(compressed!) };
      });
    assert.ok(out.includes('END'), 'dump finished');
    assert.equal(rows.length, 60, 'corpus size');

    const back: string[] = [];
    const kinds = new Set<string>();
    for (const row of rows) {
      const term = binaryToTerm(row.minor2);
      // OTP's default form (ATOM_EXT atoms) and its compressed form decode to the same term
      assert.ok(termEqual(binaryToTerm(row.plain), term), `#${row.i}: default-tag form decodes equal`);
      assert.ok(termEqual(binaryToTerm(row.compressed), term), `#${row.i}: compressed form decodes equal`);
      // our encoder writes exactly what OTP writes with minor_version 2
      assert.equal(hex(termToBinary(term)), hex(row.minor2), `#${row.i}: re-encoded bytes equal OTP's`);
      const built = BUILT[row.i];
      if (built !== undefined) {
        assert.ok(termEqual(term, built), `#${row.i}: decodes to the TypeScript value ${termKey(built).slice(0, 80)}`);
        back.push(`${row.i} ${hex(row.minor2)} ${hex(termToBinary(built))}`);
      }
      back.push(`${row.i} ${hex(row.minor2)} ${hex(termToBinary(term, { compressed: true }))}`);
      kinds.add(kindOf(term));
    }
    for (const k of [
      'ErlPid',
      'ErlRef',
      'ErlPort',
      'ErlFun',
      'ErlExport',
      'ErlBitString',
      'ErlImproperList',
      'ErlMap',
      'bigint',
      'ErlFloat',
    ]) {
      assert.ok(kinds.has(k), `corpus covers ${k}`);
    }
    const file = join(tmp.dir, 'back.txt');
    writeFileSync(file, back.join('\n') + '\n');
    const check = await evalErl(`etf_corpus:check("${file}"), halt().`, { pa: [tmp.dir] });
    const bad = check.split('\n').filter((l) => l.startsWith('BAD'));
    assert.deepEqual(bad, [], 'erl decodes every binary we wrote to the original term');
    assert.equal(check.split('\n').filter((l) => l.startsWith('OK')).length, back.length);
  } finally {
    tmp.remove();
  }
});

function kindOf(t: Term): string {
  if (typeof t === 'bigint') return 'bigint';
  if (t instanceof ErlPid) return 'ErlPid';
  if (t instanceof ErlRef) return 'ErlRef';
  if (t instanceof ErlPort) return 'ErlPort';
  if (t instanceof ErlFun) return 'ErlFun';
  if (t instanceof ErlExport) return 'ErlExport';
  if (t instanceof ErlBitString) return 'ErlBitString';
  if (t instanceof ErlImproperList) return 'ErlImproperList';
  if (t instanceof ErlMap) return 'ErlMap';
  if (t instanceof ErlFloat) return 'ErlFloat';
  return typeof t;
}
