// MetaBase: a convenient base for meta process behaviours (the role Go's embedded
// gen.MetaProcess plays): it keeps the MetaProcess given to `init` and exposes it as `this.meta`,
// with default callbacks that log what nobody handles. Built-in metas (TCP, UDP, Port) extend it;
// so can yours (Web, SSE, WebSocket...).

import type { Log } from '../gen/log.js';
import type { MetaBehavior, MetaProcess } from '../gen/meta.js';
import type { PID } from '../gen/pid.js';
import type { SendTarget } from '../gen/process.js';
import type { MessageFor } from '../gen/protocol.js';
import type { Alias, Ref } from '../gen/ref.js';

/**
 * Base class of meta behaviours. Override `start` (attach I/O listeners; return a promise that
 * settles when the I/O is over), `handleMessage` / `handleCall` (what processes send to the
 * alias), `terminate` (close the I/O). `this.meta` is usable from `init` on; a subclass that
 * overrides `init` must call `super.init(meta)` first.
 */
export abstract class MetaBase implements MetaBehavior {
  #meta: MetaProcess | null = null;

  /** The MetaProcess (set by `init`); throws before init. */
  get meta(): MetaProcess {
    if (this.#meta === null) throw new Error('meta process is not initialised yet (use it from init on)');
    return this.#meta;
  }

  /** The meta's alias (its address). */
  get id(): Alias {
    return this.meta.id;
  }

  /** The meta's logging handle. */
  get log(): Log {
    return this.meta.log;
  }

  /** Keeps the MetaProcess. Return an Error (or throw) to make spawnMeta fail. */
  init(meta: MetaProcess): unknown {
    this.#meta = meta;
    return undefined;
  }

  /** Sends from the meta (with the parent's PID as sender). */
  send<T extends SendTarget>(to: T, message: MessageFor<T>): void {
    this.meta.send(to, message);
  }

  /** Runs once after spawn. Default: nothing (the meta lives until it is told to end). */
  start(): unknown {
    return undefined;
  }

  handleMessage(from: PID, _message: unknown): unknown {
    this.meta.log.warning('%s.handleMessage: unhandled message from %s', this.constructor.name, from.toString());
    return undefined;
  }

  handleCall(from: PID, _ref: Ref, _request: unknown): unknown {
    this.meta.log.warning('%s.handleCall: unhandled request from %s', this.constructor.name, from.toString());
    return undefined;
  }

  handleInspect(_from: PID, ..._items: string[]): Record<string, string> | Promise<Record<string, string>> {
    return {};
  }

  terminate(_reason: Error): unknown {
    return undefined;
  }
}
