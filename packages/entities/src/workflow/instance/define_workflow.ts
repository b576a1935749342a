// `defineWorkflow`: a workflow's name, body and options made into an entity kind whose entities
// are instances run by the engine (engine.ts), ready for `startEntities(node, { kinds })`.

import { defineEntity } from '../../kinds/entity.js';
import { workflowIndex, type AttributeSchemas } from '../model/attributes.js';
import type { WorkflowBody } from '../body/context_types.js';
import {
  WORKFLOW_DEFAULTS,
  workflowSpec,
  type AnyWorkflowKind,
  type OutboxMessages,
  type QuerySchemas,
  type SignalSchemas,
  type UpdateSchemas,
  type WorkflowKind,
  type WorkflowOptions,
} from '../model/define.js';
import { WorkflowEntity } from './engine.js';
import { WAKE_REMINDERS, WorkflowProtocol, emptyRecord } from '../model/record.js';

/**
 * Declares a workflow: `name` (unique in the cluster, ≤ 40 bytes, no `/`), its body, and its
 * signals, queries and limits. Register the kind on every member (`startEntities(node, { kinds })`)
 * and start instances from any node with `entities.workflows.start(kind, id, input)`.
 *
 * Lifecycle: `start` stores the instance (status `running`, its input) before it resolves, then
 * the body runs on the key's owner. Each context operation is journaled before the body goes on;
 * when the owner dies, moves the key or passivates it, the next owner runs the body again from the
 * top, replaying journaled operations (a step's function is not called again once its result is
 * journaled). The instance ends `completed` (the body returned), `failed` (it threw) or `cancelled`
 * (a cancel was asked); its record and journal stay in the store. Throws ERR_WORKFLOW_INCORRECT
 * (or ERR_ENTITY_INCORRECT for the name) for a bad definition.
 *
 * @example
 * const Onboard = defineWorkflow('onboard', async (ctx, input: { user: string }) => {
 *   const account = await ctx.step('create account', () => accounts.create(input.user));
 *   await ctx.sleep(24 * 3600_000);
 *   await ctx.step('send tips', ({ idempotencyKey }) => mail.send(input.user, 'tips', idempotencyKey));
 *   return account.id;
 * });
 */
export function defineWorkflow<
  I,
  O,
  Sg extends SignalSchemas = {},
  Q extends QuerySchemas = {},
  Om extends OutboxMessages = {},
  U extends UpdateSchemas = {},
  At extends AttributeSchemas = {},
>(
  name: string,
  body: WorkflowBody<I, O, Sg, Q, Om, U, At>,
  options?: WorkflowOptions<Sg, Q, Om, U, At>,
): WorkflowKind<I, O, Sg, Q, U, At>;
/**
 * The same with the options before the body: their signals, queries and outbox handlers are typed
 * first, so an outbox handler's parameters need no annotation (`(m: Mail, { idempotencyKey }) => …`)
 * and the body's `ctx.outbox` takes their message types.
 */
export function defineWorkflow<
  I,
  O,
  Sg extends SignalSchemas = {},
  Q extends QuerySchemas = {},
  Om extends OutboxMessages = {},
  U extends UpdateSchemas = {},
  At extends AttributeSchemas = {},
>(
  name: string,
  options: WorkflowOptions<Sg, Q, Om, U, At>,
  body: WorkflowBody<I, O, Sg, Q, Om, U, At>,
): WorkflowKind<I, O, Sg, Q, U, At>;
export function defineWorkflow(
  name: string,
  a:
    | WorkflowBody<unknown, unknown, SignalSchemas, QuerySchemas, OutboxMessages>
    | WorkflowOptions<SignalSchemas, QuerySchemas, OutboxMessages>
    | undefined,
  b?:
    | WorkflowBody<unknown, unknown, SignalSchemas, QuerySchemas, OutboxMessages>
    | WorkflowOptions<SignalSchemas, QuerySchemas, OutboxMessages>,
): AnyWorkflowKind {
  const body = (typeof a === 'function' ? a : b) as WorkflowBody<
    unknown,
    unknown,
    SignalSchemas,
    QuerySchemas,
    OutboxMessages
  >;
  const options = ((typeof a === 'function' ? b : a) ?? {}) as WorkflowOptions<
    SignalSchemas,
    QuerySchemas,
    OutboxMessages
  >;
  const spec = workflowSpec(name, body, options);
  class Instance extends WorkflowEntity {
    readonly spec = spec;
  }
  const kind = defineEntity(name, {
    protocol: WorkflowProtocol,
    entity: Instance as unknown as new () => WorkflowEntity,
    initialState: emptyRecord,
    passivateAfterMs: options.passivateAfterMs ?? WORKFLOW_DEFAULTS.passivateAfterMs,
    reminders: WAKE_REMINDERS,
    // The instance's search row (status, times, attributes), saved with each record (attributes.ts).
    index: workflowIndex,
  });
  return Object.freeze({ ...kind, workflow: spec }) as AnyWorkflowKind;
}

/** True when `k` is a workflow kind. */
export function isWorkflowKind(k: unknown): k is AnyWorkflowKind {
  return typeof k === 'object' && k !== null && typeof (k as { workflow?: unknown }).workflow === 'object';
}
