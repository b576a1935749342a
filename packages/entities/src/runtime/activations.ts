// The activations an entities runtime runs on its node (runtime.ts keeps one table): by kind and
// key, each with its fencing token, its host process and, for an event-sourced kind, how far it is
// behind its latest snapshot. The table asks activations to hand off (once each), stops them all
// at once when a drain runs late or the runtime stops, and tells a drain when the last one ended.
// The leases read it (leases.ts: which activations a lost lease ends).

import { TerminateReasonShutdown, type Node, type PID } from 'ergo-ts';

import type { EntityAddress } from '../kinds/entity.js';
import { hostName } from '../contract/ids.js';
import { HANDOFF } from './host_runtime.js';

/** One activation of this node. */
export interface ActiveEntry {
  /** Its fencing token. */
  readonly token: number;
  /** Its host process. */
  readonly pid: PID;
  /** An event-sourced activation's events after its latest snapshot (undefined: a state-mode kind). */
  readonly eventsSinceSnapshot: (() => number) | undefined;
  /** Whether its reminder `name`, due now, stands by for its end (absent: none does). */
  readonly standby?: ((name: string) => boolean) | undefined;
}

/** The activations of one runtime's node (see the top of this file). */
export class Activations {
  /** kind → key → activation. */
  readonly byKind = new Map<string, Map<string, ActiveEntry>>();
  readonly #node: Node;
  /** `kind/key` of activations asked to hand off and not ended yet. */
  readonly #handingOff = new Set<string>();
  #onEmpty: (() => void) | undefined;

  constructor(node: Node) {
    this.#node = node;
  }

  /** An activation started. */
  add(kind: string, key: string, entry: ActiveEntry): void {
    let keys = this.byKind.get(kind);
    if (keys === undefined) this.byKind.set(kind, (keys = new Map()));
    keys.set(key, entry);
  }

  /** Whether (kind, key) runs here. */
  /** The token of the activation of (kind, key) here, if one is registered. */
  tokenOf(kind: string, key: string): number | undefined {
    return this.byKind.get(kind)?.get(key)?.token;
  }

  has(kind: string, key: string): boolean {
    return this.byKind.get(kind)?.has(key) === true;
  }

  /** Whether (kind, key) runs here and says its reminder `name`, due now, stands by for its end. */
  standsBy(kind: string, key: string, name: string): boolean {
    return this.byKind.get(kind)?.get(key)?.standby?.(name) === true;
  }

  /** The activation of (kind, key) with `token` ended: removed, true (false: another one runs, or none). */
  remove(kind: string, key: string, token: number): boolean {
    const keys = this.byKind.get(kind);
    if (keys?.get(key)?.token !== token) return false;
    keys.delete(key);
    this.#handingOff.delete(`${kind}/${key}`);
    return true;
  }

  /** Tells a waiting {@link whenEmpty} when no activation is left. */
  settle(): void {
    if (this.#onEmpty !== undefined && this.count() === 0) this.#onEmpty();
  }

  /** How many activations run here. */
  count(): number {
    let n = 0;
    for (const keys of this.byKind.values()) n += keys.size;
    return n;
  }

  /** The entities active here. */
  list(): EntityAddress<unknown>[] {
    const out: EntityAddress<unknown>[] = [];
    for (const [kind, keys] of this.byKind) for (const key of keys.keys()) out.push({ kind, key });
    return out;
  }

  /** Resolves once no activation runs here. */
  whenEmpty(): Promise<void> {
    if (this.count() === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const prev = this.#onEmpty;
      this.#onEmpty = () => {
        prev?.();
        resolve();
      };
    });
  }

  /**
   * Asks one activation to hand off (handle what it was sent, then stop and release its lease).
   * Sent to its registered name, not its PID: an activation registers here from its init, and
   * the core knows a process by PID only once its init returned (a send to the PID is refused
   * until then), while its name is reserved before init and queues what is sent meanwhile. Sent
   * by PID, the hand-off of a key whose shard moved while it activated was dropped: the key stayed
   * here, holding its shard's lease, until it passivated.
   */
  handOff(kind: string, key: string): void {
    const k = `${kind}/${key}`;
    if (this.#handingOff.has(k)) return;
    this.#handingOff.add(k);
    try {
      this.#node.send(hostName(kind, key), HANDOFF);
    } catch {
      this.#handingOff.delete(k); // already gone
    }
  }

  /** Asks every activation whose key `leaves` to hand off. */
  handOffWhere(leaves: (key: string) => boolean): void {
    for (const [kind, keys] of this.byKind) for (const key of keys.keys()) if (leaves(key)) this.handOff(kind, key);
  }

  /**
   * Kills every activation (a stop past its abandon point, stop_budget.ts): an idle one ends at
   * once; one inside a handler ends when the handler returns or, at the latest, after the node's
   * kill grace (`killGraceMs`), its calls failed at once.
   */
  killAll(): void {
    for (const keys of this.byKind.values())
      for (const { pid } of keys.values()) {
        try {
          this.#node.kill(pid);
        } catch {
          // Already gone.
        }
      }
  }

  /** Stops every activation at once (shutdown exits). */
  exitAll(): void {
    for (const keys of this.byKind.values())
      for (const { pid } of keys.values()) {
        try {
          this.#node.sendExit(pid, TerminateReasonShutdown);
        } catch {
          // Already gone: its terminate has run or is running.
        }
      }
  }
}
