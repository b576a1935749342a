// Chunking and tokenising for meta processes (ERGO-API meta rows "Chunking & keepalive", "Port
// text mode"; §5.19 related port_binary_test: a header frame and fixed-length frames from
// arbitrary read splits): the Chunker and TextScanner on their own, fed every split of a stream.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Chunker,
  splitLines,
  TextScanner,
  validateChunkOptions,
  type ChunkOptions,
  type SplitFunc,
} from '../src/meta/index.js';
import { throwsCode } from './lifecycle_helpers.js';

/** Feeds `stream` cut at `cuts` and returns the frames (as hex) or the error. */
function feed(options: ChunkOptions, stream: Buffer, cuts: number[]): { frames: string[]; error?: Error } {
  const c = new Chunker(options);
  const frames: string[] = [];
  let prev = 0;
  for (const at of [...cuts, stream.length]) {
    const err = c.push(Buffer.from(stream.subarray(prev, at)), (f) => frames.push(f.toString('hex')));
    if (err !== undefined) return { frames, error: err };
    prev = at;
  }
  return { frames };
}

/** Every way of cutting `stream` in two and three pieces must give the same frames. */
function everySplit(options: ChunkOptions, stream: Buffer, expected: string[]): void {
  assert.deepEqual(feed(options, stream, []).frames, expected, 'one read');
  for (let i = 1; i < stream.length; i++) {
    assert.deepEqual(feed(options, stream, [i]).frames, expected, `cut at ${i}`);
    for (let j = i + 1; j < stream.length; j++)
      assert.deepEqual(feed(options, stream, [i, j]).frames, expected, `cut at ${i},${j}`);
  }
  const bytes = [...Array(stream.length).keys()].slice(1);
  assert.deepEqual(feed(options, stream, bytes).frames, expected, 'byte by byte');
}

describe('meta chunking', () => {
  test('fixed length: 3-byte frames from any read split (port_binary_test TestPortBinaryFixedLength)', () => {
    everySplit({ enable: true, fixedLength: 3 }, Buffer.from('aaabbbccc'), ['616161', '626262', '636363']);
    // A trailing partial frame waits for the rest.
    assert.deepEqual(feed({ enable: true, fixedLength: 3 }, Buffer.from('aaab'), []).frames, ['616161']);
  });

  test('3-byte header, 1-byte length at offset 2, length without the header (TestPortBinaryWithHeader)', () => {
    const stream = Buffer.from([0xaa, 0xbb, 2, 1, 2, 0xaa, 0xbb, 0, 0xaa, 0xbb, 3, 7, 8, 9]);
    everySplit({ enable: true, headerSize: 3, headerLengthPosition: 2, headerLengthSize: 1 }, stream, [
      'aabb020102',
      'aabb00',
      'aabb03070809',
    ]);
  });

  test('2- and 4-byte big-endian lengths, with and without the header counted', () => {
    const two = Buffer.from([0, 3, 1, 2, 3, 0, 1, 9]);
    everySplit({ enable: true, headerSize: 2, headerLengthSize: 2 }, two, ['0003010203', '000109']);
    const twoIncl = Buffer.from([0, 5, 1, 2, 3, 0, 2]);
    everySplit({ enable: true, headerSize: 2, headerLengthSize: 2, headerLengthIncludesHeader: true }, twoIncl, [
      '0005010203',
      '0002',
    ]);
    const four = Buffer.from([9, 0, 0, 0, 2, 0xab, 0xcd, 9, 0, 0, 0, 0]);
    everySplit({ enable: true, headerSize: 5, headerLengthPosition: 1, headerLengthSize: 4 }, four, [
      '0900000002abcd',
      '0900000000',
    ]);
  });

  test('a large frame over many reads is copied once and comes out whole', () => {
    const body = Buffer.alloc(1 << 20, 7);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length);
    const stream = Buffer.concat([header, body, header, body]);
    const c = new Chunker({ enable: true, headerSize: 4, headerLengthSize: 4 });
    const sizes: number[] = [];
    for (let off = 0; off < stream.length; off += 65536)
      c.push(stream.subarray(off, off + 65536), (f) => sizes.push(f.length));
    assert.deepEqual(sizes, [body.length + 4, body.length + 4]);
    assert.equal(c.buffered, 0);
  });

  test('maxLength: a longer frame is an ERR_TOO_LARGE error, a length shorter than its header ERR_MALFORMED', () => {
    const r = feed({ enable: true, headerSize: 1, headerLengthSize: 1, maxLength: 10 }, Buffer.from([20, 1, 2]), []);
    assert.equal((r.error as { code?: string }).code, 'ERR_TOO_LARGE');
    const m = feed(
      { enable: true, headerSize: 2, headerLengthSize: 1, headerLengthIncludesHeader: true },
      Buffer.from([1, 0, 0]),
      [],
    );
    assert.equal((m.error as { code?: string }).code, 'ERR_MALFORMED');
  });

  test('options are checked like Ergo IsValid, naming the field', () => {
    validateChunkOptions({ enable: false, headerSize: 0 });
    validateChunkOptions({ enable: true, fixedLength: 4 });
    throwsCode(() => validateChunkOptions({ enable: true }), 'ERR_INCORRECT');
    throwsCode(() => validateChunkOptions({ enable: true, headerSize: 2, headerLengthSize: 3 as 4 }), 'ERR_INCORRECT');
    throwsCode(
      () => validateChunkOptions({ enable: true, headerSize: 2, headerLengthPosition: 1, headerLengthSize: 2 }),
      'ERR_INCORRECT',
    );
    throwsCode(() => validateChunkOptions({ enable: true, fixedLength: -1 }), 'ERR_INCORRECT');
  });
});

describe('meta text tokens', () => {
  const scan = (split: SplitFunc, parts: string[], max = 1024): { tokens: string[]; error?: Error } => {
    const s = new TextScanner(split, max);
    const tokens: string[] = [];
    for (const p of parts) {
      const err = s.push(Buffer.from(p), (t) => tokens.push(t.toString()));
      if (err !== undefined) return { tokens, error: err };
    }
    const err = s.end((t) => tokens.push(t.toString()));
    return err === undefined ? { tokens } : { tokens, error: err };
  };

  test('lines: \\n and \\r\\n endings, split anywhere, last line without an end', () => {
    assert.deepEqual(scan(splitLines, ['one\ntw', 'o\r\n', '\nthr', 'ee']).tokens, ['one', 'two', '', 'three']);
  });

  test('a custom split function (comma separated) and a token over the limit (ERR_TOO_LARGE)', () => {
    const commas: SplitFunc = (data, atEOF) => {
      const i = data.indexOf(44);
      if (i >= 0) return [i + 1, data.subarray(0, i)];
      return atEOF ? [data.length, data] : [0, null];
    };
    assert.deepEqual(scan(commas, ['a,b', 'b,c']).tokens, ['a', 'bb', 'c']);
    const r = scan(splitLines, ['x'.repeat(600), 'y'.repeat(600)], 1024);
    assert.equal((r.error as { code?: string }).code, 'ERR_TOO_LARGE');
  });
});
