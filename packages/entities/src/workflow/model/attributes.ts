// A workflow's search attributes: declared by name and type in `defineWorkflow`'s `attributes`
// option (`{ customer: 'string', total: 'number' }`), set by the body (`ctx.setAttributes`), kept
// in the instance's record and copied into its state index row (contract/state_index.ts) with its
// status and times by every save, where `entities.workflows.list({ attributes })` finds them.
// Setting attributes is not a journaled operation: a replay sets the same values again (no write
// when nothing changed), so adding a `setAttributes` to a body changes no replay.

import type { IndexValue, StateIndexEntry } from '../../contract/state_index.js';
import { checkIndexAttributes } from '../../contract/state_index.js';
import { describeThrown } from '../../contract/thrown.js';
import { ErrWorkflowIncorrect } from './errors.js';
import type { WorkflowRecord } from './record.js';

/** The type of a search attribute. */
export type AttributeType = 'string' | 'number' | 'boolean';

/** A workflow's declared search attributes: a type per name (at most 32; names `[A-Za-z_][A-Za-z0-9_.-]*`). */
export type AttributeSchemas = Readonly<Record<string, AttributeType>>;

/** The TypeScript type of an attribute of type `T`. */
export type AttributeValue<T extends AttributeType> = T extends 'string'
  ? string
  : T extends 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : never;

/** Values of some of the attributes `At` declares (what `setAttributes` and a search filter take). */
export type AttributeValues<At extends AttributeSchemas> = { readonly [N in keyof At]?: AttributeValue<At[N]> };

/**
 * What `ctx.setAttributes` takes: some declared attributes' values, or `never` for a workflow
 * that declares none (setting an undeclared attribute is a compile error).
 */
export type SetAttributesArg<At extends AttributeSchemas> = [keyof At] extends [never] ? never : AttributeValues<At>;

const TYPES: readonly string[] = ['string', 'number', 'boolean'];

/** Checks a definition's `attributes` option (ERR_WORKFLOW_INCORRECT) and returns it frozen. */
export function attributeSchemas(workflow: string, decl: unknown): AttributeSchemas {
  if (decl === undefined) return Object.freeze({});
  if (typeof decl !== 'object' || decl === null || Array.isArray(decl))
    throw ErrWorkflowIncorrect.with(
      `workflow ${workflow}: attributes must be an object of name → 'string' | 'number' | 'boolean'`,
    );
  const sample: Record<string, IndexValue> = {};
  for (const [name, type] of Object.entries(decl)) {
    if (typeof type !== 'string' || !TYPES.includes(type))
      throw ErrWorkflowIncorrect.with(
        `workflow ${workflow}: attribute ${name} must be typed 'string', 'number' or 'boolean', got ${describeThrown(type)}`,
      );
    sample[name] = 0;
  }
  try {
    checkIndexAttributes(sample, `workflow ${workflow}: attributes`);
  } catch (err) {
    throw ErrWorkflowIncorrect.with((err as Error).message);
  }
  return Object.freeze({ ...(decl as AttributeSchemas) });
}

/**
 * `values` checked against `schemas` (ERR_WORKFLOW_INCORRECT naming the attribute: one not
 * declared, a wrong type, a string over 256 bytes, a number not finite).
 */
export function checkedAttributes(
  workflow: string,
  schemas: AttributeSchemas,
  values: unknown,
  what: string,
): Readonly<Record<string, IndexValue>> {
  if (typeof values !== 'object' || values === null || Array.isArray(values))
    throw ErrWorkflowIncorrect.with(`${what}: attributes must be an object`);
  const out: Record<string, IndexValue> = {};
  for (const [name, v] of Object.entries(values)) {
    if (v === undefined) continue;
    const type = Object.hasOwn(schemas, name) ? schemas[name] : undefined;
    if (type === undefined)
      throw ErrWorkflowIncorrect.with(
        `${what}: workflow ${workflow} declares no attribute ${JSON.stringify(name)} (declared: ${Object.keys(schemas).join(', ') || 'none'})`,
      );
    if (typeof v !== type)
      throw ErrWorkflowIncorrect.with(
        `${what}: attribute ${name} of workflow ${workflow} is a ${type}, got ${describeThrown(v)}`,
      );
    out[name] = v as IndexValue;
  }
  try {
    checkIndexAttributes(out, `${what}: attributes`);
  } catch (err) {
    throw ErrWorkflowIncorrect.with((err as Error).message);
  }
  return out;
}

/** The record with `values` merged into its attributes, or undefined when that changes nothing. */
export function withAttributes(
  rec: WorkflowRecord,
  values: Readonly<Record<string, IndexValue>>,
): WorkflowRecord | undefined {
  const cur = rec.attributes ?? {};
  if (Object.entries(values).every(([n, v]) => Object.is(cur[n], v))) return undefined;
  return { ...rec, attributes: { ...cur, ...values } };
}

/** A workflow record's state index row: none for an id never started (see the top of this file). */
export function workflowIndex(rec: WorkflowRecord): StateIndexEntry | undefined {
  if (rec?.status === undefined) return undefined;
  return {
    status: rec.status,
    started: rec.startedAt ?? 0,
    ...(rec.endedAt === undefined ? {} : { ended: rec.endedAt }),
    ...(rec.attributes === undefined ? {} : { attributes: rec.attributes }),
  };
}

/** What setting attributes needs of a run's host (run_host.ts's RunHost has it). */
export interface AttributeHost {
  readonly spec: { readonly name: string; readonly attributes: AttributeSchemas };
  commit(mutate: (rec: WorkflowRecord) => WorkflowRecord): Promise<void>;
}

/**
 * A run's `ctx.setAttributes`: what it set last (from the record it started on), so a replay that
 * sets the same values writes nothing. Rejects with ERR_WORKFLOW_INCORRECT for values the
 * definition does not declare; the returned Promise is safe to leave un-awaited.
 */
export class RunAttributes {
  #current: Readonly<Record<string, IndexValue>>;
  /** What the record held when the run started (what a replay's values are compared with). */
  readonly #stored: Readonly<Record<string, IndexValue>>;
  /** Values a replay set before it caught up with the journal: written once it has (see {@link caughtUp}). */
  #replayed: Record<string, IndexValue> | undefined;
  /**
   * The run was declared caught up ({@link caughtUp}): a value set after it is written as a live
   * one's, even while entries of the journal are still being replayed (an operation past the
   * journal may come before the last replayed one: a wait re-opened, a handler). Kept for a later
   * catch-up that never came, such a value was lost: the fault checker saw `taken` 1 on an
   * instance that took 2 updates.
   */
  #caught = false;

  constructor(initial: WorkflowRecord['attributes']) {
    this.#current = initial ?? {};
    this.#stored = this.#current;
  }

  /**
   * The run caught up with its journal: what its replay set is written, when it differs from the
   * record. A replay that halts (diverged) before catching up writes nothing: the record keeps
   * the attributes its last live run set (an earlier replayed value must not replace them).
   */
  caughtUp(h: AttributeHost): void {
    this.#caught = true;
    const v = this.#replayed;
    this.#replayed = undefined;
    if (v === undefined || Object.entries(v).every(([n, x]) => Object.is(this.#stored[n], x))) return;
    h.commit((rec) => withAttributes(rec, v) ?? rec).catch(() => undefined); // a failed write ends the run
  }

  /**
   * `resolve` (a run's catch-up) wrapped: its first call writes what the replay set ({@link caughtUp})
   * while `live()`, in the same turn — so the commit is queued before whatever the body does next.
   * Written a turn later, a catch-up that was the body's end (its last replayed value set, then its
   * end written) left the value behind: the fault test saw `taken` 2 on an instance that took 3.
   */
  writingOnCatchUp(h: AttributeHost, resolve: () => void, live: () => boolean): () => void {
    let reached = false;
    return () => {
      if (!reached && live()) this.caughtUp(h);
      reached = true;
      resolve();
    };
  }

  set(h: AttributeHost, values: unknown, readOnly: boolean, ended?: Error, replaying = false): Promise<void> {
    let p: Promise<void>;
    try {
      if (ended !== undefined) throw ended;
      const v = checkedAttributes(h.spec.name, h.spec.attributes, values, 'setAttributes');
      if (readOnly) return Promise.resolve();
      if (replaying && !this.#caught) {
        // Kept until the run catches up with its journal (caughtUp): written then, never by a
        // replay that halts first.
        this.#replayed = { ...this.#replayed, ...v };
        this.#current = { ...this.#current, ...v };
        return Promise.resolve();
      }
      const unchanged = Object.entries(v).every(([n, x]) => Object.is(this.#current[n], x));
      if (unchanged) return Promise.resolve();
      this.#current = { ...this.#current, ...v };
      p = h.commit((rec) => withAttributes(rec, v) ?? rec);
    } catch (err) {
      p = Promise.reject(err as Error);
    }
    p.catch(() => undefined); // the body may not await it: its failure ends the run anyway
    return p;
  }
}
