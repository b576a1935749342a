// The core's bundle loaded as one classic script with a V8 code cache written after a warm-up
// (issue 64, item 2: the first connection of a fresh process). Node's compile cache writes V8's
// code of an ES module right after the module compiles, before it runs, so it holds only the
// functions V8 compiled eagerly: a fresh process still compiled about 520 functions lazily on
// its first connection, a third to a half of that connection's CPU. `vm.Script` can serialise
// its code at any time (`createCachedData`), and then holds every function compiled so far: this
// module writes it once the process made its first connection (or, for a process that never
// connects, when it exits), and later processes start with the connection's code compiled.
//
// The cache is one file per package version in Node's compile cache folder when the program
// turned Node's cache on (`module.enableCompileCache`, as ergo-ts's own entries do, or
// `NODE_COMPILE_CACHE`: one subfolder per Node version, V8 version and user), else in
// `<system temporary folder>/ergo-ts-code-cache/<Node version>-<arch>-<user id>`: it is on for
// a program that imports ergo-ts from its own entry too (the script compiled from source costs
// more than the ES modules did). `NODE_DISABLE_COMPILE_CACHE=1` turns it off with Node's,
// `ERGO_TS_DISABLE_CODE_CACHE=1` alone. V8 checks that a cache comes from the
// same V8 version and flags and a source of the same length, but not its bytes (a corrupted
// cache crashes the process), so the file carries a header: a magic number, the script's length
// and CRC-32 (another build of the same version is a miss, and the file is rewritten) and the
// payload's length and CRC-32. V8 runs a cache's code as it is, so a file that is not this user's
// or that others may write (the temporary folder is shared) is not used either; the cache is
// written with mode 0600 in a folder made 0700. A file that fails any check, or that V8 rejects,
// is ignored and replaced.

import diagnostics from 'node:diagnostics_channel';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import * as nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

/** The first 4 bytes of a cache file ("ERGC"); the last byte changes with the header's format. */
export const CODE_CACHE_MAGIC = 0x45524743;
const HEADER_BYTES = 24;

/** How far a cache's process had run when it wrote the cache. */
export const WarmStage = {
  /** The process exited without a connection: the cache holds the import's and start's code. */
  Started: 0,
  /** The process had made a connection: the cache holds the connection's code too. */
  Connected: 1,
} as const;
/** One of {@link WarmStage}'s values. */
export type WarmStage = (typeof WarmStage)[keyof typeof WarmStage];

/** What a cache file's header says, for a payload that passed its checks. */
export interface CodeCacheFile {
  stage: WarmStage;
  /** V8's serialised code. */
  data: Buffer;
}

/** What became of the code cache of a loaded script. */
export type CodeCacheStatus =
  /** No folder (Node's compile cache off, or this cache turned off), or no CRC-32 in this Node. */
  | 'off'
  /** No file yet. */
  | 'missing'
  /**
   * A file that failed the checks: corrupted, truncated, foreign, another build's, or one another
   * user could have written.
   */
  | 'invalid'
  /** A file V8 refused (another V8 version or flags). */
  | 'rejected'
  /** V8 used it. */
  | 'accepted';

/** A script loaded by {@link loadScript}. */
export interface LoadedScript {
  /** What the script's function put on `module.exports`. */
  exports: unknown;
  /** The cache file's path, or `undefined` when the cache is off. */
  cacheFile: string | undefined;
  status: CodeCacheStatus;
  /** The stage of the cache V8 used (when `status` is 'accepted'). */
  stage: WarmStage | undefined;
  /** Writes the script's code as compiled so far; false when the cache is off or the write failed. */
  save(stage: WarmStage): boolean;
}

/** The `crc32` of `node:zlib` (Node ≥ 22.2), or `undefined`. */
type Crc32 = (data: Uint8Array | string, value?: number) => number;

function loadCrc32(): Crc32 | undefined {
  const zlib = process.getBuiltinModule?.('node:zlib') as { crc32?: Crc32 } | undefined;
  return zlib?.crc32;
}

/**
 * A cache file's bytes: the header (magic, stage, the script's length and CRC-32, the payload's
 * length and CRC-32) and V8's payload.
 */
export function encodeCodeCache(
  crc32: Crc32,
  script: { length: number; crc: number },
  stage: WarmStage,
  data: Uint8Array,
): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + data.length);
  out.writeUInt32LE(CODE_CACHE_MAGIC, 0);
  out.writeUInt32LE(stage, 4);
  out.writeUInt32LE(script.length, 8);
  out.writeUInt32LE(script.crc >>> 0, 12);
  out.writeUInt32LE(data.length, 16);
  out.writeUInt32LE(crc32(data) >>> 0, 20);
  out.set(data, HEADER_BYTES);
  return out;
}

/**
 * The payload of a cache file written for `script`, or `undefined` when the file is not one: a
 * wrong magic number, another script's length or CRC-32, a payload whose length or CRC-32 differs
 * from the header's (truncated or corrupted).
 */
export function decodeCodeCache(
  crc32: Crc32,
  script: { length: number; crc: number },
  file: Buffer,
): CodeCacheFile | undefined {
  if (file.length < HEADER_BYTES || file.readUInt32LE(0) !== CODE_CACHE_MAGIC) return undefined;
  const stage = file.readUInt32LE(4);
  if (stage !== WarmStage.Started && stage !== WarmStage.Connected) return undefined;
  if (file.readUInt32LE(8) !== script.length || file.readUInt32LE(12) !== script.crc >>> 0) return undefined;
  const data = file.subarray(HEADER_BYTES);
  if (file.readUInt32LE(16) !== data.length || file.readUInt32LE(20) !== crc32(data) >>> 0) return undefined;
  return { stage: stage as WarmStage, data };
}

/**
 * The folder of the code cache: Node's compile cache folder when on, else one of ergo-ts's in the
 * system's temporary folder; `undefined` when turned off.
 */
export function codeCacheDir(): string | undefined {
  const env = process.env;
  if (env['ERGO_TS_DISABLE_CODE_CACHE'] === '1' || env['NODE_DISABLE_COMPILE_CACHE'] === '1') return undefined;
  const node = nodeModule.getCompileCacheDir?.();
  if (node !== undefined) return node;
  const user = process.getuid?.() ?? 0;
  return join(tmpdir(), 'ergo-ts-code-cache', `${process.version}-${process.arch}-${user}`);
}

/**
 * Compiles and runs the script at `path`, whose source is a function expression
 * `(function (exports, require, module, __filename, __dirname, importMetaUrl) { ... })`, with the
 * code cache `cacheDir/name.v8cache` when `cacheDir` is given. Dynamic `import()` in the script
 * goes to Node's ES module loader.
 */
export function loadScript(path: string, name: string, cacheDir: string | undefined): LoadedScript {
  const source = readFileSync(path, 'utf8');
  // Node maps the stack traces of a script's code only for modules and for code from strings.
  if (process.sourceMapsEnabled) return evaluated(path, source);
  const crc32 = cacheDir === undefined ? undefined : loadCrc32();
  const cacheFile = crc32 === undefined ? undefined : join(cacheDir!, `${name}.v8cache`);
  const scriptId = { length: source.length, crc: crc32 === undefined ? 0 : crc32(source) };
  let status: CodeCacheStatus = cacheFile === undefined ? 'off' : 'missing';
  let cached: CodeCacheFile | undefined;
  if (cacheFile !== undefined) {
    let bytes: Buffer | undefined;
    let fd: number | undefined;
    try {
      fd = openSync(cacheFile, 'r');
      bytes = ownFile(fstatSync(fd)) ? readFileSync(fd) : Buffer.alloc(0);
    } catch {
      // no file (or unreadable): compiled from source, written later
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    if (bytes !== undefined) {
      cached = decodeCodeCache(crc32!, scriptId, bytes);
      if (cached === undefined) status = 'invalid';
    }
  }
  const script = new vm.Script(source, {
    filename: path,
    ...(cached === undefined ? {} : { cachedData: cached.data }),
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (cached !== undefined) status = script.cachedDataRejected === true ? 'rejected' : 'accepted';
  const fn = script.runInThisContext() as ScriptFunction;
  const exports = run(fn, path);
  const save = (stage: WarmStage): boolean => {
    if (cacheFile === undefined) return false;
    const { threadId } = process.getBuiltinModule('node:worker_threads');
    const tmp = `${cacheFile}.${process.pid}.${threadId}.tmp`;
    try {
      mkdirSync(cacheDir!, { recursive: true, mode: 0o700 });
      writeFileSync(tmp, encodeCodeCache(crc32!, scriptId, stage, script.createCachedData()), { mode: 0o600 });
      renameSync(tmp, cacheFile);
      return true;
    } catch {
      try {
        unlinkSync(tmp);
      } catch {
        // nothing written
      }
      return false;
    }
  };
  return {
    exports,
    cacheFile,
    status,
    stage: status === 'accepted' ? cached!.stage : undefined,
    save,
  };
}

/**
 * True when a cache file is this user's and no one else may write it: V8 runs a cache's code
 * as it is, so a file another user could have written (the temporary folder is shared) is not
 * used. Where there are no user ids (Windows), every file is.
 */
function ownFile(stat: Stats): boolean {
  const uid = process.getuid?.();
  return uid === undefined || (stat.uid === uid && (stat.mode & 0o022) === 0);
}

/** The function a script's source evaluates to. */
type ScriptFunction = (...args: unknown[]) => void;

/** Calls a script's function as CommonJS calls a module's, and returns its `module.exports`. */
function run(fn: ScriptFunction, path: string): unknown {
  const module = { exports: {} as unknown };
  const url = pathToFileURL(path).href;
  fn.call(module.exports, module.exports, nodeModule.createRequire(path), module, path, dirname(path), url);
  return module.exports;
}

/**
 * The script run as code from a string named by its file URL (`sourceURL`), without a code cache:
 * with source maps on (`--enable-source-maps`), Node then maps its stack traces to the TypeScript.
 */
function evaluated(path: string, source: string): LoadedScript {
  const fn = (0, eval)(`${source}\n//# sourceURL=${pathToFileURL(path).href}`) as ScriptFunction;
  return { exports: run(fn, path), cacheFile: undefined, status: 'off', stage: undefined, save: () => false };
}

/** The diagnostics channel a connection's coming up is published on (connection_table.ts). */
const CONNECT_CHANNEL = 'ergo-ts:network:connect';

/**
 * Writes `loaded`'s code cache when it lacks the connection's code: a second after the process's
 * first connection comes up (or at exit, if sooner); and when there was no usable cache at all,
 * also `startedAfterMs` after this call (and at exit), unless another process wrote one meanwhile —
 * so on a host where many nodes start at once and none has connected yet (a cluster's first
 * start), the nodes started a moment later already load compiled code. Nothing when the cache is
 * off or already holds a connection's code. The returned Promise settles once the early write was
 * made or skipped (at once when there is none to make); it never rejects.
 */
export function saveAfterWarmUp(loaded: LoadedScript, startedAfterMs = 1000): Promise<void> {
  const cacheFile = loaded.cacheFile;
  if (cacheFile === undefined || loaded.stage === WarmStage.Connected) return Promise.resolve();
  const loadedAt = Date.now();
  // What the file holds as far as this process knows: written by it, found at load, or newer.
  let held: WarmStage | undefined = loaded.stage;
  let connected = false;
  const save = (stage: WarmStage): void => {
    if (held !== undefined && held >= stage) return;
    held = stage;
    if (stage === WarmStage.Connected) process.off('exit', atExit);
    loaded.save(stage);
  };
  const atExit = (): void => save(connected ? WarmStage.Connected : WarmStage.Started);
  const onConnect = (): void => {
    diagnostics.unsubscribe(CONNECT_CHANNEL, onConnect);
    connected = true;
    setTimeout(() => save(WarmStage.Connected), 1000).unref();
  };
  diagnostics.subscribe(CONNECT_CHANNEL, onConnect);
  process.on('exit', atExit);
  if (held !== undefined) return Promise.resolve();
  return new Promise<void>((done) => {
    setTimeout(() => {
      if (!connected && !writtenSince(cacheFile, loadedAt)) save(WarmStage.Started);
      done();
    }, startedAfterMs).unref();
  });
}

/** True when `file` was written at or after `since` (by another process: this one has not yet). */
function writtenSince(file: string, since: number): boolean {
  try {
    return statSync(file).mtimeMs >= since;
  } catch {
    return false;
  }
}
