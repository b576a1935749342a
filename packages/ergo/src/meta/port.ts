// An external program as a meta process (Ergo's meta/port.go). `start` launches it with pipes;
// stdout becomes MessagePortText tokens (text mode) or MessagePortData reads/chunks (binary mode),
// stderr becomes MessagePortError tokens, and MessagePortText/MessagePortData sent to the alias
// are written to stdin. When the program exits the process gets MessagePortTerminate (with the
// exit code or signal) and the meta ends normally; when the meta ends first (exit signal, its
// parent ending) the program is killed (SIGKILL). Node reaps every child, so none is left a
// zombie.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Readable } from 'node:stream';

import { ErrIncorrect, isNormalReason, toError } from '../gen/errors.js';
import type { PID } from '../gen/pid.js';
import type { SendTarget } from '../gen/process.js';
import { MetaBase } from './base.js';
import {
  MessagePortData,
  MessagePortError,
  MessagePortStart,
  MessagePortTerminate,
  MessagePortText,
  type PortOptions,
} from './port_types.js';
import { ByteSplitter, DEFAULT_READ_QUEUE_LIMIT, FlowControl, nonNegative, positiveInt } from './reader.js';
import { DEFAULT_MAX_TOKEN_SIZE, splitLines, TextScanner } from './split.js';

/** Default read buffer of binary mode (Ergo's 8192). */
export const DEFAULT_PORT_READ_BUFFER_SIZE = 8192;

/** The meta behaviour of one external program. */
export class Port extends MetaBase {
  private child: ChildProcessWithoutNullStreams | null = null;
  private target: SendTarget | null = null;
  private finish: ((reason: Error | undefined) => void) | null = null;
  private flows: FlowControl[] = [];
  private keepAliveTimer: ReturnType<typeof setInterval> | null = null;
  private lastWrite = Date.now();
  private failed = false;
  private bytesIn = 0;
  private bytesOut = 0;
  private readonly tag: string;

  /** Use createPort (it checks the options). */
  constructor(private readonly options: PortOptions) {
    super();
    this.tag = options.tag ?? '';
  }

  /** The program's OS pid once started (undefined before, or when it failed to start). */
  get osPid(): number | undefined {
    return this.child?.pid;
  }

  private environment(): NodeJS.ProcessEnv | undefined {
    const o = this.options;
    if (!o.enableEnvOS && !o.enableEnvMeta && o.env === undefined) return undefined;
    const env: NodeJS.ProcessEnv = {};
    if (o.enableEnvOS) Object.assign(env, process.env);
    if (o.enableEnvMeta) for (const [k, v] of Object.entries(this.meta.envList())) env[k] = String(v);
    if (o.env !== undefined) for (const [k, v] of Object.entries(o.env)) env[k] = String(v);
    return env;
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.log.error('port %s (%s) ends: %s', this.tag, this.options.cmd, err.message);
    this.kill();
    this.finish?.(err);
  }

  private kill(): void {
    const c = this.child;
    if (c !== null && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  private sendOrFail(message: unknown): void {
    if (this.failed) return;
    try {
      this.meta.send(this.target!, message);
    } catch (e) {
      this.fail(toError(e));
    }
  }

  /** Launches the program; the meta ends when it is over. */
  override start(): Promise<Error | undefined> {
    const o = this.options;
    const meta = this.meta;
    this.target = o.process !== undefined && o.process !== '' ? o.process : meta.parent;
    return new Promise<Error | undefined>((resolve) => {
      this.finish = resolve;
      let child: ChildProcessWithoutNullStreams;
      try {
        child = spawn(o.cmd, o.args ?? [], { env: this.environment(), cwd: o.cwd, stdio: 'pipe', windowsHide: true });
      } catch (e) {
        resolve(toError(e));
        return;
      }
      this.child = child;
      let spawned = false;
      child.on('error', (e: Error) => {
        if (!spawned) {
          this.log.error('unable to start %s: %s', o.cmd, e.message);
          resolve(e);
        } else this.log.warning('port %s: %s', o.cmd, e.message);
      });
      // stdin closing early (the program exited) is not an error of ours; a read error on the
      // output pipes ends in 'close' too. Each needs a listener, or it would be uncaught.
      child.stdin.on('error', (e: Error) => this.log.debug('stdin of %s: %s', o.cmd, e.message));
      child.stdout.on('error', (e: Error) => this.log.debug('stdout of %s: %s', o.cmd, e.message));
      child.stderr.on('error', (e: Error) => this.log.debug('stderr of %s: %s', o.cmd, e.message));
      child.on('spawn', () => {
        spawned = true;
        this.sendOrFail(new MessagePortStart(meta.id, this.tag));
        if (this.failed) return;
        this.readStdout(child.stdout);
        this.readText(child.stderr, o.splitFuncStderr, (t) => new MessagePortError(meta.id, this.tag, new Error(t)));
        this.startKeepAlive();
      });
      child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
        if (!spawned) return;
        for (const f of this.flows) f.stop();
        try {
          meta.send(this.target!, new MessagePortTerminate(meta.id, this.tag, code, signal));
        } catch (e) {
          this.log.debug('unable to send MessagePortTerminate to %s: %s', String(this.target), toError(e).message);
        }
        resolve(undefined);
      });
    });
  }

  private watch(stream: Readable): FlowControl {
    const f = new FlowControl(this.meta, stream, this.target!, this.options.readQueueLimit ?? DEFAULT_READ_QUEUE_LIMIT);
    this.flows.push(f);
    return f;
  }

  private readStdout(stdout: Readable): void {
    const b = this.options.binary;
    if (b?.enable) {
      const id = this.meta.id;
      const splitter = new ByteSplitter(b.readBufferSize ?? DEFAULT_PORT_READ_BUFFER_SIZE, b.readChunk);
      const emit = (piece: Buffer): void => this.sendOrFail(new MessagePortData(id, this.tag, piece));
      const flow = this.watch(stdout);
      stdout.on('data', (data: Buffer) => {
        if (this.failed) return;
        this.bytesIn += data.length;
        const err = splitter.push(data, emit);
        if (err !== undefined) this.fail(err);
        else flow.check();
      });
      return;
    }
    this.readText(stdout, this.options.splitFuncStdout, (t) => new MessagePortText(this.meta.id, this.tag, t));
  }

  private readText(stream: Readable, split: PortOptions['splitFuncStdout'], make: (text: string) => unknown): void {
    const scanner = new TextScanner(split ?? splitLines, this.options.maxTokenSize ?? DEFAULT_MAX_TOKEN_SIZE);
    const emit = (token: Buffer): void => this.sendOrFail(make(token.toString('utf8')));
    const flow = this.watch(stream);
    stream.on('data', (data: Buffer) => {
      if (this.failed) return;
      this.bytesIn += data.length;
      const err = scanner.push(data, emit);
      if (err !== undefined) this.fail(err);
      else flow.check();
    });
    stream.on('end', () => {
      if (this.failed) return;
      const err = scanner.end(emit);
      if (err !== undefined) this.fail(err);
    });
  }

  private startKeepAlive(): void {
    const b = this.options.binary;
    const bytes = b?.writeBufferKeepAlive;
    const period = b?.writeBufferKeepAlivePeriod ?? 0;
    if (!b?.enable || bytes === undefined || bytes.length === 0 || period <= 0) return;
    this.keepAliveTimer = setInterval(() => {
      const stdin = this.child?.stdin;
      if (stdin === undefined || Date.now() - this.lastWrite < period || !stdin.writable) return;
      this.lastWrite = Date.now();
      stdin.write(bytes);
    }, period);
    this.keepAliveTimer.unref();
  }

  /** MessagePortText / MessagePortData sent to the alias: written to stdin (waits for 'drain' when full). */
  override handleMessage(from: PID, message: unknown): unknown {
    let data: Uint8Array | string;
    if (message instanceof MessagePortText && typeof message.text === 'string') data = message.text;
    else if (message instanceof MessagePortData && message.data instanceof Uint8Array) data = message.data;
    else {
      this.log.error('unsupported message from %s. ignored', from.toString());
      return undefined;
    }
    const stdin = this.child?.stdin;
    if (stdin === undefined || !stdin.writable) {
      this.log.warning('write to the stdin of %s dropped: it is closed', this.options.cmd);
      return undefined;
    }
    this.bytesOut += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    this.lastWrite = Date.now();
    if (stdin.write(data)) return undefined;
    return new Promise<undefined>((resolve) => {
      const done = (): void => {
        stdin.off('drain', done);
        stdin.off('close', done);
        resolve(undefined);
      };
      stdin.on('drain', done);
      stdin.on('close', done);
    });
  }

  override handleCall(): unknown {
    return undefined;
  }

  override handleInspect(): Record<string, string> {
    const o = this.options;
    return {
      tag: this.tag,
      cmd: o.cmd,
      args: JSON.stringify(o.args ?? []),
      pid: String(this.child?.pid ?? ''),
      binary: String(o.binary?.enable === true),
      'binary.read_chunk': String(o.binary?.readChunk?.enable === true),
      pwd: o.cwd ?? process.cwd(),
      bytesIn: String(this.bytesIn),
      bytesOut: String(this.bytesOut),
      paused: String(this.flows.some((f) => f.paused)),
    };
  }

  /** Kills the program if it still runs (MessagePortTerminate follows when it is reaped). */
  override terminate(reason: Error): void {
    if (this.keepAliveTimer !== null) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = null;
    this.kill();
    this.child?.stdin.destroy();
    for (const f of this.flows) f.stop();
    if (!isNormalReason(reason)) this.log.error('terminated abnormally: %s', reason.message);
  }
}

/**
 * Checks the options and returns a port's meta behaviour; spawn it with `spawnMeta` to launch
 * the program. Throws ErrIncorrect naming a bad option (empty cmd, chunking, keepalive without a
 * period...).
 */
export function createPort(options: PortOptions): Port {
  if (options === null || typeof options !== 'object' || typeof options.cmd !== 'string' || options.cmd === '') {
    throw ErrIncorrect.with('empty cmd option');
  }
  if (options.args !== undefined && (!Array.isArray(options.args) || options.args.some((a) => typeof a !== 'string'))) {
    throw ErrIncorrect.with('args must be a list of strings');
  }
  positiveInt(options.maxTokenSize, 'maxTokenSize', DEFAULT_MAX_TOKEN_SIZE);
  nonNegative(options.readQueueLimit, 'readQueueLimit', DEFAULT_READ_QUEUE_LIMIT);
  for (const f of [options.splitFuncStdout, options.splitFuncStderr]) {
    if (f !== undefined && typeof f !== 'function') throw ErrIncorrect.with('a split function must be a function');
  }
  const b = options.binary;
  if (b?.enable) {
    positiveInt(b.readBufferSize, 'binary.readBufferSize', DEFAULT_PORT_READ_BUFFER_SIZE);
    if (
      b.writeBufferKeepAlive !== undefined &&
      b.writeBufferKeepAlive.length > 0 &&
      !((b.writeBufferKeepAlivePeriod ?? 0) > 0)
    ) {
      throw ErrIncorrect.with('enabled writeBufferKeepAlive with zero period');
    }
    new ByteSplitter(1, b.readChunk);
  }
  return new Port(options);
}
