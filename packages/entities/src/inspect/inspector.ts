// The read-only inspection seam of the entities runtime: per node its shard table (the shards it
// owns, entities active per shard and kind), its active entities (kind, key, shard, fencing token,
// state version, idle time) and one entity's current state rendered JSON-safe and truncated. The
// Observer reaches it through the inspector protocol: the manager process answers `handleInspect`
// with the node's tables (and the shard tables of the other members, asked in the background), and
// every entity's host answers it with that entity's facts and state; `process_state` subscriptions
// of those PIDs deliver them each second, on this node or any other, Go switcher included.

import { ProcessID, type Atom, type Node, type PID } from 'ergo-ts';

import { ownerOfShard, shardOf } from '../contract/placement.js';
import type { EntitiesClock } from '../contract/clock.js';
import type { ProjectionStats } from './projections.js';
import type { EntitiesStats, InboxStats } from './stats.js';

/**
 * What inspection reads of a runtime (runtime/runtime.ts's Entities implements it): the seam
 * through which inspect/ sees the runtime without importing it.
 */
export interface InspectedRuntime {
  /** The node the runtime runs on (its name; the manager asks the other members' tables on it). */
  readonly node: Node;
  /** The runtime's clock: idle times are read on it. */
  readonly clock: EntitiesClock;
  /** Whether inspection shows entity states (EntitiesOptions.inspectState). */
  readonly inspectState: boolean;
  /** The runtime's figures now (members, shards, kinds): cheap, no store access. */
  stats(): EntitiesStats;
}

/** Bounds of what inspection renders. */
export const INSPECT_DEFAULTS = Object.freeze({
  /** Active entities listed per node (the most recently active first). */
  entities: 500,
  /** Characters of an entity's state rendering before it is cut. */
  stateChars: 16_384,
  /** How long the manager waits for another member's shard table, in ms. */
  memberTimeoutMs: 2000,
  /** The least time between two reads of an entity's pending reminders for its inspection, in ms. */
  remindersReadMs: 1000,
  /** Pending reminders listed per entity (the soonest due first). */
  reminders: 100,
});

/** One active entity of a node. */
export interface ActiveEntityInfo {
  readonly kind: string;
  readonly key: string;
  readonly shard: number;
  /** The activation's fencing token. */
  readonly token: number;
  /** The state's stored version. */
  readonly version: number;
  /** Milliseconds since it last handled a message or call. */
  readonly idleMs: number;
  /** Its host process (printed PID). */
  readonly pid: string;
}

/** The shards one node owns and the entities active on it per shard and kind. */
export interface ShardTable {
  readonly node: string;
  /** The shards this node owns by its view of the live members, ascending. */
  readonly owned: number[];
  /** shard → kind → active entities on this node (only shards with any). */
  readonly active: Record<string, Record<string, number>>;
  /** Why the table is missing (a member that did not answer), else absent. */
  readonly error?: string;
}

/** A node's entities as `inspectEntities` reports them. */
export interface EntitiesInspection {
  readonly node: string;
  /** The live members by this node's view (this node included). */
  readonly members: string[];
  /** How many shards keys map to. */
  readonly shards: number;
  /** The kinds this node hosts. */
  readonly kinds: string[];
  /** This node's shard table. */
  readonly table: ShardTable;
  /** Active entities per kind. */
  readonly activePerKind: Record<string, number>;
  /** Every active entity on this node. */
  readonly total: number;
  /** The first `limit` of them, most recently active first. */
  readonly entities: ActiveEntityInfo[];
  /** Whether entity states are shown (EntitiesOptions.inspectState). */
  readonly stateShown: boolean;
  /** The inbox sweeper's figures (absent when the store cannot list pending inboxes). */
  readonly inbox?: InboxStats;
  /** The reminder scheduler's counts (absent when the store keeps no reminders). */
  readonly reminders?: { readonly fired: number; readonly failed: number; readonly inFlight: number };
  /** The projections started on this node, by name. */
  readonly projections: readonly ProjectionStats[];
}

/** One entity's facts and state as its host reports them. */
export interface EntityInspection extends ActiveEntityInfo {
  readonly node: string;
  /** The state as JSON (truncated at `stateChars`), or null when the node hides states. */
  readonly state: string | null;
  /** Whether `state` was cut. */
  readonly truncated: boolean;
}

/** What a host shows of itself (runtime/host.ts registers one per activation). */
export interface HostView {
  readonly kind: string;
  readonly key: string;
  readonly pid: PID;
  token(): number;
  version(): number;
  lastActive(): number;
  state(): unknown;
}

/** Runtime → its activations' views, by `kind/key`. */
const registry = new WeakMap<object, Map<string, HostView>>();
/** View → its runtime (an Entities: the host knows it as its HostRuntime). */
const runtimes = new WeakMap<HostView, InspectedRuntime>();

/** @internal runtime/host.ts: an activation is live. */
export function trackHost(rt: object, view: HostView): void {
  runtimes.set(view, rt as InspectedRuntime);
  let hosts = registry.get(rt);
  if (hosts === undefined) registry.set(rt, (hosts = new Map()));
  hosts.set(`${view.kind}/${view.key}`, view);
}

/** @internal runtime/host.ts: an activation ended. */
export function untrackHost(rt: object, view: HostView): void {
  const hosts = registry.get(rt);
  const id = `${view.kind}/${view.key}`;
  if (hosts?.get(id) === view) hosts.delete(id);
}

/** @internal The views of `rt`'s activations now (workflow/model/metrics.ts counts open instances in them). */
export function hostViews(rt: object): Iterable<HostView> {
  return registry.get(rt)?.values() ?? [];
}

function rowOf(v: HostView, shards: number, now: number): ActiveEntityInfo {
  return {
    kind: v.kind,
    key: v.key,
    shard: shardOf(v.key, shards),
    token: v.token(),
    version: v.version(),
    idleMs: Math.max(0, now - v.lastActive()),
    pid: String(v.pid),
  };
}

/** This node's shard table: the shards it owns and its active entities per shard and kind. */
export function nodeShardTable(rt: InspectedRuntime): ShardTable {
  const { node, members, shards } = rt.stats();
  const owned: number[] = [];
  for (let s = 0; s < shards; s++) if (ownerOfShard(s, members, shards) === node) owned.push(s);
  const active: Record<string, Record<string, number>> = {};
  for (const v of registry.get(rt)?.values() ?? []) {
    const per = (active[String(shardOf(v.key, shards))] ??= {});
    per[v.kind] = (per[v.kind] ?? 0) + 1;
  }
  return { node, owned, active };
}

/**
 * The entities of `rt`'s node: members, shard table, active entities per kind and the first
 * `limit` of them (most recently active first). Cheap: no store access, nothing leaves the node.
 */
export function nodeInspection(rt: InspectedRuntime, limit: number = INSPECT_DEFAULTS.entities): EntitiesInspection {
  const stats = rt.stats();
  const now = rt.clock.now();
  const views = [...(registry.get(rt)?.values() ?? [])];
  const activePerKind: Record<string, number> = {};
  for (const [kind, k] of Object.entries(stats.kinds)) activePerKind[kind] = k.active;
  // Rows only for those listed; a plain comparison (localeCompare is slow over thousands).
  const last = new Map(views.map((v) => [v, v.lastActive()]));
  const entities = views
    .sort(
      (a, b) => last.get(b)! - last.get(a)! || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.key < b.key ? -1 : 1),
    )
    .slice(0, Math.max(0, limit))
    .map((v) => rowOf(v, stats.shards, now));
  return {
    node: stats.node,
    members: [...stats.members],
    shards: stats.shards,
    kinds: Object.keys(stats.kinds),
    table: nodeShardTable(rt),
    activePerKind,
    total: views.length,
    entities,
    stateShown: rt.inspectState,
    ...(stats.inbox === undefined ? {} : { inbox: stats.inbox }),
    ...(stats.reminders === undefined
      ? {}
      : {
          reminders: {
            fired: stats.reminders.fired,
            failed: stats.reminders.failed,
            inFlight: stats.reminders.inFlight,
          },
        }),
    projections: stats.projections,
  };
}

/**
 * One entity active on `rt`'s node, with its state rendered by {@link renderState} (null when the
 * node hides states: EntitiesOptions.inspectState false); undefined when it is not active here.
 */
export function entityInspection(rt: InspectedRuntime, kind: string, key: string): EntityInspection | undefined {
  const v = registry.get(rt)?.get(`${kind}/${key}`);
  return v === undefined ? undefined : entityOf(rt, v);
}

function entityOf(rt: InspectedRuntime, v: HostView): EntityInspection {
  const row = rowOf(v, rt.stats().shards, rt.clock.now());
  const shown = rt.inspectState ? renderState(v.state()) : null;
  return { ...row, node: rt.node.name, state: shown?.text ?? null, truncated: shown?.truncated ?? false };
}

/**
 * `value` as JSON text, safe for any value: bigints as strings, Maps as objects, Sets and typed
 * arrays as arrays, functions and symbols as their description, cycles as "[cycle]"; cut at
 * `maxChars` characters (then `truncated`).
 */
export function renderState(
  value: unknown,
  maxChars: number = INSPECT_DEFAULTS.stateChars,
): { text: string; truncated: boolean } {
  const seen = new WeakSet<object>();
  let text: string;
  try {
    text =
      JSON.stringify(
        value,
        function (this: unknown, _k: string, v: unknown): unknown {
          if (typeof v === 'bigint') return `${v}n`;
          if (typeof v === 'function') return `[function ${v.name}]`;
          if (typeof v === 'symbol') return String(v);
          if (typeof v !== 'object' || v === null) return v;
          if (seen.has(v)) return '[cycle]';
          seen.add(v);
          if (v instanceof Map) return Object.fromEntries([...v].map(([mk, mv]) => [String(mk), mv]));
          if (v instanceof Set) return [...v];
          if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<unknown>);
          return v;
        },
        2,
      ) ?? 'null';
  } catch (err) {
    text = JSON.stringify(`[not renderable: ${err instanceof Error ? err.message : String(err)}]`);
  }
  if (text.length <= maxChars) return { text, truncated: false };
  return { text: text.slice(0, Math.max(0, maxChars)), truncated: true };
}

/** The request a manager answers with its node's shard table (JSON text). */
export interface InspectRequest {
  readonly '~entity': 'inspect';
}

/** True when `v` is an {@link InspectRequest}. */
export function isInspectRequest(v: unknown): v is InspectRequest {
  return typeof v === 'object' && v !== null && (v as { '~entity'?: unknown })['~entity'] === 'inspect';
}

/**
 * @internal The manager's side of inspection: its `handleInspect` map (`entities: 'manager'`,
 * `info`: this node's {@link EntitiesInspection}, `cluster`: every live member's
 * {@link ShardTable}, all as JSON). Other members' tables are asked in the background and the
 * last answers shown, so an inspection never waits on another node.
 */
export class ManagerInspector {
  #tables = new Map<string, ShardTable>();
  #asking = false;

  constructor(
    private readonly rt: InspectedRuntime,
    private readonly managerName: string,
  ) {}

  /** The manager's handleInspect map. */
  inspect(): Record<string, string> {
    const info = nodeInspection(this.rt);
    this.#refresh(info.members);
    const cluster = info.members.map(
      (m) =>
        (m === info.node ? info.table : this.#tables.get(m)) ?? { node: m, owned: [], active: {}, error: 'asking…' },
    );
    return {
      entities: 'manager',
      node: info.node,
      total: String(info.total),
      info: JSON.stringify(info),
      cluster: JSON.stringify(cluster),
    };
  }

  #refresh(members: string[]): void {
    if (this.#asking) return;
    const others = members.filter((m) => m !== this.rt.node.name);
    for (const m of this.#tables.keys()) if (!others.includes(m)) this.#tables.delete(m);
    if (others.length === 0) return;
    this.#asking = true;
    const ask = async (m: string): Promise<void> => {
      let table: ShardTable;
      try {
        const r = await this.rt.node.call(
          new ProcessID(this.managerName as Atom, m as Atom),
          { '~entity': 'inspect' },
          {
            timeout: INSPECT_DEFAULTS.memberTimeoutMs,
          },
        );
        table =
          typeof r === 'string' ? (JSON.parse(r) as ShardTable) : { node: m, owned: [], active: {}, error: 'no table' };
      } catch (err) {
        table = { node: m, owned: [], active: {}, error: err instanceof Error ? err.message : String(err) };
      }
      this.#tables.set(m, table);
    };
    void Promise.all(others.map(ask)).finally(() => {
      this.#asking = false;
    });
  }
}

/** @internal A host's handleInspect map: its {@link EntityInspection} as strings (empty before it is tracked). */
export function hostInspect(view: HostView): Record<string, string> {
  const rt = runtimes.get(view);
  if (rt === undefined) return {};
  const e = entityOf(rt, view);
  const out: Record<string, string> = {
    entity: `${e.kind}/${e.key}`,
    kind: e.kind,
    key: e.key,
    shard: String(e.shard),
    token: String(e.token),
    version: String(e.version),
    idleMs: String(e.idleMs),
  };
  if (e.state === null) out.state_hidden = 'true';
  else {
    out.state = e.state;
    if (e.truncated) out.state_truncated = 'true';
  }
  return out;
}
