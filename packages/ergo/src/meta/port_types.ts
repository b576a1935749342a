// Port (external program) messages and options (Ergo's meta/port_types.go). The port meta sends
// MessagePortStart once the program runs, its stdout as MessagePortText (text mode) or
// MessagePortData (binary mode), its stderr as MessagePortError, and MessagePortTerminate when
// it exited; a process writes to the program's stdin by sending MessagePortText or
// MessagePortData to the port's alias.

import type { Atom } from '../gen/atom.js';
import type { Alias } from '../gen/ref.js';
import type { ChunkOptions } from './chunk.js';
import type { SplitFunc } from './split.js';

/** The program started. */
export class MessagePortStart {
  constructor(
    readonly id: Alias,
    readonly tag: string,
  ) {}
}

/**
 * The program is over (it exited, or the meta ended and killed it). `exitCode` is its exit code,
 * or null when a signal ended it (`signal`, e.g. "SIGKILL"). Port extension: Ergo's message has
 * only `id` and `tag`.
 */
export class MessagePortTerminate {
  constructor(
    readonly id: Alias,
    readonly tag: string,
    readonly exitCode: number | null = null,
    readonly signal: string | null = null,
  ) {}
}

/** One stdout token (text mode); sent to the alias, its text is written to stdin as is. */
export class MessagePortText {
  constructor(
    readonly id: Alias | undefined,
    readonly tag: string,
    readonly text: string,
  ) {}
}

/** Stdout bytes or one chunk (binary mode); sent to the alias, its data is written to stdin. */
export class MessagePortData {
  constructor(
    readonly id: Alias | undefined,
    readonly tag: string,
    readonly data: Uint8Array,
  ) {}
}

/** One stderr token (always text), as an Error whose message is the text. */
export class MessagePortError {
  constructor(
    readonly id: Alias,
    readonly tag: string,
    readonly error: Error,
  ) {}
}

/** Binary mode of a port (Ergo's PortBinaryOptions). */
export interface PortBinaryOptions {
  enable: boolean;
  /** Largest MessagePortData of a raw read (longer reads are cut). Default 8192. */
  readBufferSize?: number;
  /** Reassemble stdout into frames (one MessagePortData per frame). */
  readChunk?: ChunkOptions;
  /** Bytes written to stdin when nothing was written for the period (needs a non-zero period). */
  writeBufferKeepAlive?: Uint8Array;
  writeBufferKeepAlivePeriod?: number;
}

/** Options of `createPort`. */
export interface PortOptions {
  /** The program (looked up in PATH). */
  cmd: string;
  args?: string[];
  /** Env entries for the program (added last). */
  env?: Record<string, string | number | boolean>;
  /** Pass the parent process' env to the program (names as the framework stores them: upper case). */
  enableEnvMeta?: boolean;
  /** Pass this OS process' env to the program. Without any env option the program inherits it. */
  enableEnvOS?: boolean;
  /** Working directory of the program. */
  cwd?: string;
  /** Copied into every message, to tell several ports apart. */
  tag?: string;
  /** Name of the process that gets the messages (default: the spawning process). */
  process?: Atom | string;
  /**
   * How stdout is cut into MessagePortText (text mode; default: lines). Called outside any actor:
   * a throw (or a bad result) ends the port — the program is killed, the error logged, the meta
   * ends with ErrIncorrect — and nothing else.
   */
  splitFuncStdout?: SplitFunc;
  /** How stderr is cut into MessagePortError (default: lines). A throw ends the port, as above. */
  splitFuncStderr?: SplitFunc;
  /** Largest text token; a longer one ends the port with ErrTooLarge. Default 65536. */
  maxTokenSize?: number;
  /** Binary mode for stdout. */
  binary?: PortBinaryOptions;
  /** Back-pressure: stdout/stderr reading pauses while the process has this many records waiting. Default 1024; 0 = off. */
  readQueueLimit?: number;
}
