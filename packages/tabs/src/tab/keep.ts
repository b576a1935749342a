// Kept processes: what of a tab survives a page reload. A reload loses the page's heap, so a
// kept process keeps what Orleans and Akka persistence users expect: its identity (the same PID,
// the same registered name on the tab's node), the links and monitors other nodes hold on it
// (the gateway puts them back, reload.ts), and its state as the page last saved it. The page
// declares them in `joinGateway({ keep: { name: keep(Factory, { initial, save }) } })`; each is
// started with the node, its init given `initial` the first time and the saved state after a
// reload; `save(process)` reads the state at `pagehide` (and at `tab.save()`), encoded as tab
// frames are (wire.ts: PIDs, Maps, bytes... survive) into the page's `storage`
// (`sessionStorage`). On the new page each is spawned again under its old PID id
// (`spawnReserved`: the node keeps its creation and takes new ids far above the old page's).

import {
  Actor,
  MessageDownPID,
  PID,
  spawnReserved,
  toError,
  type InitArgs,
  type Log,
  type Node,
  type ProcessBehavior,
  type ProcessFactory,
  type ProcessOptions,
} from 'ergo-ts';
import { decodeValue, encodeValue } from '../wire.js';

/** Where a page keeps its tab across a reload (`sessionStorage` satisfies it). */
export interface TabStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** A process the tab keeps across page reloads: make one with {@link keep}. */
export interface KeepSpec<B extends ProcessBehavior = ProcessBehavior> {
  readonly factory: ProcessFactory<B>;
  /** The state its init gets when nothing was saved (its first start). */
  readonly initial: InitArgs<B>[0];
  /** The state to keep, read from the running process (at `pagehide` and `tab.save()`). */
  save(process: B): InitArgs<B>[0];
  /** Its spawn options. */
  readonly options?: ProcessOptions;
}

/**
 * A kept process of behaviour `factory`, whose init takes its state as its first argument:
 * `initial` on its first start, what `save` returned when the page was last saved after a
 * reload. The state must be a value tab frames carry (ERR_TAB_VALUE at save otherwise, logged,
 * the earlier save kept). Typed: an `initial` or a `save` that is not init's state is a compile
 * error.
 */
export function keep<B extends ProcessBehavior>(
  factory: ProcessFactory<B>,
  spec: { initial: InitArgs<B>[0]; save(process: B): InitArgs<B>[0]; options?: ProcessOptions },
): KeepSpec<B> {
  return { factory, initial: spec.initial, save: (p) => spec.save(p), options: spec.options };
}

/** What the page keeps under its storage key. */
export interface StoredTab {
  /** The session's resume (`TabNode.resume`). */
  resume: string;
  node: string;
  creation: number;
  /** Kept processes by name: their PID id and their state (tab-frame encoded, base64). */
  procs: Record<string, { id: number; state: string }>;
}

/** The stored tab under `key`, or null (none, or not one: logged). */
export function readStored(storage: TabStorage, key: string, log?: (why: string) => void): StoredTab | null {
  const text = storage.getItem(key);
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as StoredTab;
    if (typeof v.resume === 'string' && typeof v.node === 'string' && typeof v.procs === 'object' && v.procs !== null)
      return v;
  } catch {
    // Not ours: treated as nothing stored.
  }
  log?.(`storage key ${key} holds no tab`);
  return null;
}

/** The PIDs `stored` claims for its node (the kept processes of the page before the reload). */
export function claimsOf(stored: StoredTab): PID[] {
  return Object.values(stored.procs).map((r) => new PID(stored.node, r.id, stored.creation));
}

/** Watches the kept processes: their end (while the page lives) un-keeps them. */
class Keeper extends Actor {
  constructor(private readonly ended: (pid: PID) => void) {
    super();
  }
  override handleMessage(_from: PID, m: unknown): void {
    if (m instanceof MessageDownPID) this.ended(m.pid);
    else if (m instanceof PID) {
      try {
        this.monitorPID(m);
      } catch {
        this.ended(m); // gone already
      }
    }
  }
}

// Its name in the Observer's process list (a minified bundle renames the class).
Object.defineProperty(Keeper, 'name', { value: 'TabKeeper' });

/** The tab's kept processes (one per joinGateway). */
export class KeptProcesses {
  readonly pids = new Map<string, PID>();
  readonly #behaviors = new Map<string, ProcessBehavior>();
  #keeper: PID | null = null;
  /** The page is going (unload): processes that end now stay kept. */
  unloading = false;

  constructor(
    private readonly node: Node,
    private readonly specs: Readonly<Record<string, KeepSpec>>,
    private readonly storage: TabStorage | undefined,
    private readonly key: string,
    private readonly meta: () => { resume: string; node: string; creation: number },
    private readonly sendKeep: (pid: PID, kept: boolean, name: string) => void,
    private readonly log: Log,
  ) {}

  /** A factory that notes the behaviour it makes (save reads it). */
  #factory(name: string, f: ProcessFactory): () => ProcessBehavior {
    return () => {
      const proto = (f as { prototype?: { processInit?: unknown } }).prototype;
      const b =
        proto !== undefined && typeof proto.processInit === 'function'
          ? new (f as new () => ProcessBehavior)()
          : (f as () => ProcessBehavior)();
      this.#behaviors.set(name, b);
      return b;
    };
  }

  /**
   * Starts every kept process: under its old PID when `accepted` (the gateway's welcome after a
   * reload) holds it, else afresh (its saved state, or `initial`). Rejects with the error of a
   * kept process that cannot start even afresh.
   */
  async start(stored: StoredTab | null, accepted: readonly unknown[]): Promise<void> {
    const specs = Object.entries(this.specs);
    // The keeper watches kept processes: a tab that keeps none runs none.
    if (specs.length > 0) this.#keeper = await this.node.spawn(() => new Keeper((pid) => this.#ended(pid)));
    for (const [name, spec] of specs) {
      const rec = stored?.procs[name];
      let state: unknown = spec.initial;
      let pid: PID | undefined;
      const make = this.#factory(name, spec.factory);
      if (rec !== undefined) {
        try {
          state = decodeValue(fromBase64(rec.state));
        } catch (e) {
          this.log.warning('tab: the saved state of %s is unreadable (%s): it starts afresh', name, toError(e).message);
        }
        const back = accepted.some((p) => p instanceof PID && p.id === rec.id && p.node === this.node.name);
        if (back)
          pid = await spawnReserved(this.node, rec.id, name, make, spec.options, state).catch((e: unknown) => {
            this.log.warning('tab: %s not put back under its PID: %s', name, toError(e).message);
            return undefined;
          });
      }
      if (pid === undefined) {
        pid = await this.node.spawnRegister(name, make, spec.options, state);
        this.sendKeep(pid, true, name);
      }
      this.pids.set(name, pid);
      this.node.send(this.#keeper!, pid);
    }
    this.save();
  }

  /** Writes the state of every kept process (and the tab's resume) to the storage. */
  save(): void {
    if (this.storage === undefined) return;
    const old = readStored(this.storage, this.key);
    const procs: StoredTab['procs'] = {};
    for (const [name, pid] of this.pids) {
      const b = this.#behaviors.get(name);
      const spec = this.specs[name];
      if (b === undefined || spec === undefined) continue;
      try {
        procs[name] = { id: pid.id, state: toBase64(encodeValue(spec.save(b))) };
      } catch (e) {
        this.log.warning('tab: kept process %s not saved: %s', name, toError(e).message);
        const prev = old?.procs[name];
        if (prev !== undefined && prev.id === pid.id) procs[name] = prev;
      }
    }
    this.#write({ ...this.meta(), procs });
  }

  #write(v: StoredTab): void {
    try {
      this.storage?.setItem(this.key, JSON.stringify(v));
    } catch (e) {
      this.log.warning('tab: storage refused the kept processes: %s', toError(e).message);
    }
  }

  /** A kept process ended while the page lives: it is kept no more. */
  #ended(pid: PID): void {
    if (this.unloading) return;
    for (const [name, p] of this.pids) {
      if (!p.equals(pid)) continue;
      this.pids.delete(name);
      this.#behaviors.delete(name);
      try {
        this.sendKeep(pid, false, name);
      } catch {
        // The session ended: nothing to un-keep at the gateway.
      }
      this.save();
      return;
    }
  }

  /** The tab left: nothing is kept for a later page. */
  clear(): void {
    try {
      this.storage?.removeItem(this.key);
    } catch {
      // Nothing stored to drop.
    }
  }
}

function toBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(t: string): Uint8Array {
  const s = atob(t);
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}
