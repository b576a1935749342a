// The core script's code cache (src/lib/code_cache.ts): a cache file is used only when its header
// matches the script and its payload's CRC-32 (V8 itself does not check the payload's bytes: a
// corrupted one crashes the process), another build's or another V8's is replaced, the cache is
// written after a warm-up (the first connection, or the exit of a process with no cache), and
// it can be turned off. Each load runs in a fresh process, as a node's does.

import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { after, test } from 'node:test';

import { CODE_CACHE_MAGIC, decodeCodeCache, encodeCodeCache, WarmStage } from '../src/lib/code_cache.js';

const LOADER = new URL('../src/lib/code_cache.js', import.meta.url).href;
const work = mkdtempSync(join(tmpdir(), 'ergo-code-cache-'));
after(() => rmSync(work, { recursive: true, force: true }));

const SCRIPT_A =
  '(function (exports, require, module, __filename, __dirname, __importMetaUrl) { "use strict";\n' +
  'exports.answer = function answer() { return 42; };\nexports.url = __importMetaUrl;\n})\n';
// The same length as SCRIPT_A (V8's own check of the source is its length): another build.
const SCRIPT_B = SCRIPT_A.replace('return 42', 'return 43');

interface Loaded {
  status: string;
  stage: number | null;
  answer: number;
  url: string;
  /** With `early`: whether the cache file existed once the early write was made or skipped. */
  early: boolean | null;
}

/** Loads `script` with the cache in `dir` in a fresh process; `warm` arms the warm-up save. */
async function load(
  script: string,
  dir: string | undefined,
  opts: { warm?: boolean; early?: boolean; connect?: boolean; env?: NodeJS.ProcessEnv; flags?: string[] } = {},
): Promise<Loaded> {
  const code = [
    `import diagnostics from 'node:diagnostics_channel';`,
    `const { codeCacheDir, loadScript, saveAfterWarmUp } = await import(${JSON.stringify(LOADER)});`,
    `const dir = ${dir === undefined ? 'codeCacheDir()' : JSON.stringify(dir)};`,
    `const l = loadScript(${JSON.stringify(script)}, 'test', dir);`,
    opts.warm === true ? 'saveAfterWarmUp(l);' : '',
    // The early write made or skipped, the file as it is then (before this process's exit write).
    opts.early === true
      ? // Its timer does not hold a process open: this one holds it until the write was made or skipped.
        `const hold = setInterval(() => {}, 1 << 30); await saveAfterWarmUp(l, 0); clearInterval(hold);` +
        ` const { existsSync } = await import('node:fs'); const early = existsSync(l.cacheFile);`
      : 'const early = null;',
    opts.connect === true ? `diagnostics.channel('ergo-ts:network:connect').publish({});` : '',
    `console.log(JSON.stringify({ status: l.status, stage: l.stage ?? null, answer: l.exports.answer(), url: l.exports.url, early }));`,
  ].join('\n');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...(opts.flags ?? []), '--input-type=module', '-e', code],
    { env: { ...process.env, NODE_COMPILE_CACHE: undefined, ...opts.env } },
  );
  return JSON.parse(stdout.trim()) as Loaded;
}

function scriptFile(name: string, text: string): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

test("a cache file round-trips, and a corrupted, truncated, foreign or other script's file is refused", () => {
  const script = { length: SCRIPT_A.length, crc: crc32(SCRIPT_A) };
  const payload = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff);
  const file = encodeCodeCache(crc32, script, WarmStage.Connected, payload);
  assert.equal(file.readUInt32LE(0), CODE_CACHE_MAGIC);
  const back = decodeCodeCache(crc32, script, file);
  assert.ok(back !== undefined);
  assert.equal(back.stage, WarmStage.Connected);
  assert.deepEqual(new Uint8Array(back.data), payload);

  const flipped = Buffer.from(file);
  flipped[flipped.length - 10]! ^= 0x40;
  assert.equal(decodeCodeCache(crc32, script, flipped), undefined, 'a payload byte changed');
  assert.equal(decodeCodeCache(crc32, script, file.subarray(0, file.length - 1)), undefined, 'truncated');
  assert.equal(decodeCodeCache(crc32, script, file.subarray(0, 10)), undefined, 'shorter than a header');
  assert.equal(decodeCodeCache(crc32, { ...script, crc: crc32(SCRIPT_B) }, file), undefined, 'another build');
  assert.equal(decodeCodeCache(crc32, { ...script, length: script.length + 1 }, file), undefined, 'another length');
  assert.equal(decodeCodeCache(crc32, script, Buffer.from(payload)), undefined, 'not a cache file');
  const badStage = Buffer.from(file);
  badStage.writeUInt32LE(7, 4);
  assert.equal(decodeCodeCache(crc32, script, badStage), undefined, 'an unknown stage');
});

test('the cache is written after the warm-up, used by the next process, and replaced when invalid', async () => {
  const dir = mkdtempSync(join(work, 'cache-'));
  const cacheFile = join(dir, 'test.v8cache');
  const a = scriptFile('a.cjs', SCRIPT_A);

  // No file: the script runs from source; a process that never connects writes at its exit.
  const first = await load(a, dir, { warm: true });
  assert.deepEqual([first.status, first.answer], ['missing', 42]);
  assert.match(first.url, /^file:.*a\.cjs$/);
  const started = await load(a, dir, { warm: true });
  assert.deepEqual([started.status, started.stage], ['accepted', WarmStage.Started]);

  // A process that connects replaces a cache without the connection's code; then it is kept.
  const connected = await load(a, dir, { warm: true, connect: true });
  assert.deepEqual([connected.status, connected.stage], ['accepted', WarmStage.Started]);
  const kept = statSync(cacheFile).mtimeMs;
  const used = await load(a, dir, { warm: true, connect: true });
  assert.deepEqual([used.status, used.stage, used.answer], ['accepted', WarmStage.Connected, 42]);
  assert.equal(statSync(cacheFile).mtimeMs, kept, 'a cache with the connection is not rewritten');

  // A corrupted payload: refused (V8 would crash on it), the script still runs, the file is replaced.
  const bytes = readFileSync(cacheFile);
  bytes[bytes.length >> 1]! ^= 0xff;
  writeFileSync(cacheFile, bytes);
  const corrupted = await load(a, dir, { warm: true });
  assert.deepEqual([corrupted.status, corrupted.answer], ['invalid', 42]);
  assert.equal((await load(a, dir)).status, 'accepted');

  // Another build of the script at the same path, of the same length: a miss, then its own cache.
  writeFileSync(a, SCRIPT_B);
  const rebuilt = await load(a, dir, { warm: true });
  assert.deepEqual([rebuilt.status, rebuilt.answer], ['invalid', 43]);
  assert.deepEqual([(await load(a, dir)).status, (await load(a, dir)).answer], ['accepted', 43]);

  // A file others may write: not used (V8 would run what they put there), then replaced by one
  // only this user may write.
  chmodSync(cacheFile, 0o666);
  assert.equal((await load(a, dir, { warm: true })).status, 'invalid');
  assert.equal(statSync(cacheFile).mode & 0o777, 0o600);
  assert.equal((await load(a, dir)).status, 'accepted');

  // A file that is not a cache at all.
  writeFileSync(cacheFile, 'not a code cache');
  assert.deepEqual([(await load(a, dir, { warm: true })).status, (await load(a, dir)).status], ['invalid', 'accepted']);
});

test('a process that found no cache writes one soon after its start, not only at its exit', async () => {
  const dir = mkdtempSync(join(work, 'early-'));
  const a = scriptFile('early.cjs', SCRIPT_A);
  // Running, not yet connected: the early write is there before the process ends.
  const first = await load(a, dir, { early: true });
  assert.deepEqual([first.status, first.early], ['missing', true]);
  const next = await load(a, dir, { early: true });
  assert.deepEqual([next.status, next.stage], ['accepted', WarmStage.Started]);
  // A file already holding a usable cache: no early write to make (it stays as the load found it).
  const kept = statSync(join(dir, 'test.v8cache')).mtimeMs;
  await load(a, dir, { early: true });
  assert.equal(statSync(join(dir, 'test.v8cache')).mtimeMs, kept);
});

test('a cache V8 refuses (other V8 flags) is replaced', async () => {
  const dir = mkdtempSync(join(work, 'flags-'));
  const a = scriptFile('flags.cjs', SCRIPT_A);
  assert.equal((await load(a, dir, { warm: true, flags: ['--no-lazy'] })).status, 'missing');
  const other = await load(a, dir, { warm: true });
  assert.deepEqual([other.status, other.answer], ['rejected', 42]);
  assert.equal((await load(a, dir)).status, 'accepted');
});

test("the cache follows Node's compile cache folder, else its own, and can be turned off", async () => {
  const dir = mkdtempSync(join(work, 'node-'));
  const a = scriptFile('off.cjs', SCRIPT_A);
  // Node's compile cache off in the process: ergo-ts's folder in the temporary folder.
  const own = { TMPDIR: mkdtempSync(join(work, 'tmp-')) };
  assert.equal((await load(a, undefined, { warm: true, env: own })).status, 'missing');
  assert.equal((await load(a, undefined, { env: own })).status, 'accepted');
  assert.equal(readdirSync(join(own.TMPDIR, 'ergo-ts-code-cache')).length, 1);
  // The folder Node's compile cache uses (`NODE_COMPILE_CACHE`).
  const on = { NODE_COMPILE_CACHE: dir };
  assert.equal((await load(a, undefined, { warm: true, env: on })).status, 'missing');
  assert.equal((await load(a, undefined, { env: on })).status, 'accepted');
  assert.equal((await load(a, undefined, { env: { ...on, ERGO_TS_DISABLE_CODE_CACHE: '1' } })).status, 'off');
  assert.equal((await load(a, undefined, { env: { ...own, NODE_DISABLE_COMPILE_CACHE: '1' } })).status, 'off');
  // With source maps on, the script is run so that Node maps its stack traces: no cache.
  assert.equal((await load(a, undefined, { env: on, flags: ['--enable-source-maps'] })).status, 'off');
});
