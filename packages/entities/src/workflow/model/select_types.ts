// The shapes a `ctx.select` shares between the body's side (select.ts) and the instance's
// (select_waits.ts, and RunHost in run_host.ts): its checked branches, its outcome, the take the
// instance gives the body. Apart from select.ts so the run host names them without importing the
// machinery that imports it.

import type { AnyWorkflowKind } from './define.js';
import type { StoredError } from './errors.js';

/** A child handle's kind and id (ctx.startChild sets it; select waits for that child's end). */
export const CHILD_OF: unique symbol = Symbol('ergo.workflow.child');

/** @internal What a child handle carries for `ctx.select`. */
export interface ChildRef {
  readonly kind: AnyWorkflowKind;
  readonly id: string;
}

/** @internal One branch, checked: what the instance's select waits (select_waits.ts) need of it. */
export type SelectArm =
  | { readonly b: string; readonly signal: string }
  | { readonly b: string; readonly update: readonly string[] }
  | { readonly b: string; readonly sleep: number | { readonly until: Date | number } }
  | { readonly b: string; readonly child: ChildRef };

/** @internal A select's journaled outcome: the branch, and its value or (a child that failed) error. */
export interface SelectOutcome {
  readonly b: string;
  readonly v?: unknown;
  readonly e?: StoredError;
}

/** @internal What `RunHost.awaitSelect` gives the run: the outcome when decided, and ways to settle or stop. */
export interface SelectTake {
  readonly promise: Promise<SelectOutcome>;
  /** A child branch ended (its output, or the error it failed with): it wins unless another did. */
  settle(outcome: SelectOutcome): void;
  /** The body stopped waiting (a cancel, the run's end): what comes later is kept, not given to it. */
  drop(): void;
}
