// Decoded atoms come from a bounded table of atoms read before (reader.ts atomText): whatever the
// table holds, every atom must decode to exactly its own text — many distinct atoms (more than
// the table's slots, so slots are shared and overwritten), ASCII and UTF-8, invalid UTF-8, atoms
// that differ in one byte or only in length, and the longest atom the table keeps and beyond.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { PID } from '../src/gen/pid.js';
import { ProcessID } from '../src/gen/processid.js';
import { EdfDecoder, EdfEncoder } from '../src/net/index.js';
import { rng } from './seeded_rng.js';

const enc = new EdfEncoder();
const dec = new EdfDecoder();

function roundTripNode(node: string): string {
  return (dec.decode(enc.encode(new PID(node, 1, 1))) as PID).node;
}

test('thousands of distinct atoms, decoded in shuffled order again and again, keep their text', () => {
  const r = rng(35);
  const names: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const len = 1 + Math.floor(r() * 40);
    let s = '';
    for (let j = 0; j < len; j++) s += String.fromCharCode(0x21 + Math.floor(r() * 94));
    names.push(s);
  }
  // Near misses: the same length with one byte changed, and prefixes.
  names.push('node@localhost', 'node@localhosu', 'node@localhos', 'Node@localhost', 'a', 'b');
  for (let round = 0; round < 3; round++) {
    const order = names.map((_, i) => i).sort(() => r() - 0.5);
    for (const i of order) assert.equal(roundTripNode(names[i]!), names[i]);
  }
});

test('UTF-8 atoms and long atoms keep their text; ASCII atoms of the same byte length are not confused with them', () => {
  const cases = [
    'nödé@hóst',
    'ünïcode',
    '名前@ホスト',
    'emoji😀@x',
    'x'.repeat(95),
    'y'.repeat(96),
    'z'.repeat(97),
    'w'.repeat(255),
  ];
  for (let round = 0; round < 2; round++) {
    for (const s of cases) {
      assert.equal(roundTripNode(s), s);
      // An ASCII atom with as many bytes as the UTF-8 one.
      const ascii = 'q'.repeat(Buffer.byteLength(s));
      assert.equal(roundTripNode(ascii), ascii);
    }
  }
});

test('an atom with invalid UTF-8 decodes with replacement characters and never stands in for an ASCII atom', () => {
  const bytes = enc.encode(new ProcessID('abcd', 'n@h'));
  const at = Buffer.from(bytes).indexOf(Buffer.from('abcd'));
  assert.ok(at > 0);
  const bad = Uint8Array.from(bytes);
  bad[at] = 0xff;
  for (let round = 0; round < 2; round++) {
    assert.equal((dec.decode(bad) as ProcessID).name, '\ufffdbcd');
    assert.equal((dec.decode(bytes) as ProcessID).name, 'abcd');
  }
});
