// What the workflow record and the run's host keep of updates (updates.ts holds the machinery):
// an accepted update as the record stores it, a pending one as `describe()` shows it, what a run
// waits on, and the check of a definition's `updates`. Apart from updates.ts so that the record,
// the definition and the run host name them without importing the machinery that imports them.

import type { StandardSchemaV1 } from 'ergo-ts';

import { ErrWorkflowIncorrect, type StoredError } from './errors.js';

/** An accepted update as the record keeps it. */
export interface UpdateState {
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
  /** When it was accepted, epoch ms. */
  readonly at: number;
  /** The `ctx.update` operation that took it (absent: not taken yet). */
  readonly s?: number;
  /** Its answer, once the body gave it: a value, or the error of `fail`. */
  readonly out?: { readonly v?: unknown; readonly e?: StoredError; readonly at: number };
}

/** An update accepted and not answered yet, as `describe()` shows it. */
export interface PendingUpdate {
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
  /** When it was accepted, epoch ms. */
  readonly at: number;
  /** The operation of the body that took it (absent: not taken yet). */
  readonly taken?: number;
}

/** Checks a definition's `updates` (ERR_WORKFLOW_INCORRECT for a bad one). */
export function checkUpdates(workflow: string, updates: unknown): void {
  if (updates === undefined) return;
  if (typeof updates !== 'object' || updates === null)
    throw ErrWorkflowIncorrect.with(`workflow ${workflow}: updates must be an object`);
  for (const [name, u] of Object.entries(updates)) {
    const d = u as { input?: unknown; output?: unknown; validate?: unknown } | null;
    if (!isSchema(d?.input) || !isSchema(d?.output))
      throw ErrWorkflowIncorrect.with(`workflow ${workflow}: update ${name} needs an input and an output schema`);
    if (d.validate !== undefined && typeof d.validate !== 'function')
      throw ErrWorkflowIncorrect.with(`workflow ${workflow}: update ${name}: validate must be a function`);
  }
}

function isSchema(v: unknown): v is StandardSchemaV1 {
  return typeof v === 'object' && v !== null && typeof (v as { '~standard'?: unknown })['~standard'] === 'object';
}

/** A taken update: its id, name and input (the `ctx.update` entry's value). */
export interface Taken {
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
}

/** What `RunHost.awaitUpdate` gives the run: the update when it comes, and a way to stop waiting. */
export interface UpdateTake {
  readonly promise: Promise<Taken>;
  /** The body stopped waiting (a cancel, the run's end): a later update is kept, not given to it. */
  drop(): void;
}

/** Answered updates an instance keeps (the newest), to answer a repeat of their id from the record. */
export const MAX_ANSWERED_UPDATES = 1024;

/** The longest update id, in UTF-16 code units. */
export const MAX_UPDATE_ID_LENGTH = 256;

/** What the instance answers an update request: the answer, or `pending` when the wait ran out first. */
export type UpdateReply =
  | { readonly status: 'answered'; readonly output: unknown }
  | { readonly status: 'failed'; readonly error: StoredError }
  /** Kept, not answered yet: the answer to a request that asked for the ACCEPTED stage. */
  | { readonly status: 'accepted' }
  | { readonly status: 'pending' };

/** The record's updates with `u` added, keeping every pending one and the newest answered ones. */
export function keptUpdates(list: readonly UpdateState[]): UpdateState[] {
  let extra = list.filter((u) => u.out !== undefined).length - MAX_ANSWERED_UPDATES;
  if (extra <= 0) return [...list];
  return list.filter((u) => u.out === undefined || extra-- <= 0);
}
