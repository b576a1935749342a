// What an operator sees of the projections a node runs (`Entities.stats().projections`, the
// Observer's Entities page, `@ergo-ts/metrics`, MCP's `process_inspect` of the entities manager):
// per projection started on the node, whether it runs here or stands by, its fencing token, the
// offset it reached, the events it handled, whether its last read found it caught up, when it
// last handled an event, and its failures. projection/start.ts registers each projection it
// starts here (a floor above, so it calls down); the runtime and inspection read the registry by
// node, which needs no store access: every figure is what the runner itself keeps.

import type { Node } from 'ergo-ts';

/** How a projection delivers its events. */
export type ProjectionMode = 'each' | 'process' | 'exactly-once';

/** One projection as the node that started it sees it (see {@link projectionsOf}). */
export interface ProjectionStats {
  /** The projection's name (its offset's and lease's key). */
  readonly name: string;
  /** The event-sourced kind it follows, and its tag when it follows one tag only. */
  readonly kind: string;
  readonly tag?: string;
  /** `each` (a function), `process` (a call to a process), `exactly-once` (a batch in the read model's transaction). */
  readonly mode: ProjectionMode;
  /** Whether one member at a time runs it (started with `cluster`, or exactly once). */
  readonly singleton: boolean;
  /** Whether it runs on this node now (a singleton's standby: false). */
  readonly running: boolean;
  /** The fencing token it last ran under here (0: unfenced, or never ran here). */
  readonly token: number;
  /** The offset of the last event handled here. */
  readonly offset: number;
  /** Events handled here since it started. */
  readonly delivered: number;
  /** Whether its last read of the journal found less than a batch (nothing waits behind it then). */
  readonly caughtUp: boolean;
  /** When it last handled an event here (Unix ms; 0: never). */
  readonly lastHandledAt: number;
  /** Reads and deliveries that failed here since it started (each is tried again). */
  readonly failures: number;
  /** The last failure's text (absent: none yet). */
  readonly lastError?: string;
}

/** A started projection's view: its stats now. */
export type ProjectionView = () => ProjectionStats;

/** Node → the projections started on it. */
const started = new WeakMap<Node, Set<ProjectionView>>();

/** @internal projection/start.ts: a projection started on `node`. */
export function trackProjection(node: Node, view: ProjectionView): void {
  let views = started.get(node);
  if (views === undefined) started.set(node, (views = new Set()));
  views.add(view);
}

/** @internal projection/start.ts: a projection's process ended. */
export function untrackProjection(node: Node, view: ProjectionView): void {
  started.get(node)?.delete(view);
}

/**
 * The projections started on `node` and not stopped, by name: the figures each runner keeps (no
 * store access). A singleton started on every member is listed on each, `running` on one of them.
 */
export function projectionsOf(node: Node): ProjectionStats[] {
  return [...(started.get(node) ?? [])]
    .map((v) => v())
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
