// A registered process through which nodes that do not speak the workflow client's requests —
// an Erlang node, a Go Ergo node, a plain ergo-ts process — signal and cancel workflow instances
// with a plain message (or a call, to hear the outcome). It accepts:
//
//   an object or a map   { signal: <name>, workflow: <name>, id: <id>, payload?, signalId? }
//                        { cancel: <reason>, workflow: <name>, id: <id> }
//                        { update: <name>, workflow: <name>, id: <id>, input?, updateId? }
//   an Erlang tuple      {signal, Workflow, Id, Signal, Payload}        (strings or binaries)
//                        {signal, Workflow, Id, Signal, Payload, SignalId}
//                        {cancel, Workflow, Id, Reason}
//                        {update, Workflow, Id, Update, Input}          (a call: answered the body's answer)
//                        {update, Workflow, Id, Update, Input, UpdateId}
//
// and hands it to the instance through the node's entities runtime (routed to the key's owner). A
// plain message gets no answer (a failure is logged); a call is answered 'accepted', 'duplicate',
// 'cancelled', an update's answer, or the error (ERR_WORKFLOW_CLOSED, ERR_WORKFLOW_INCORRECT...). An
// update waits for the body's answer within the caller's call timeout: a caller that timed out
// asks again with the same UpdateId and gets that update's answer (it runs once). Whatever a peer
// sends is read defensively (a charlist of a code point past U+10FFFF or of 200,000 elements, a
// getter that throws: ERR_WORKFLOW_INCORRECT, the process goes on), and the process runs under a
// supervisor of its own that starts it again, under its name, if it ever ends.

import {
  Actor,
  Supervisor,
  SupervisorStrategy,
  childSpec,
  ignorable,
  type Node,
  type PID,
  type Ref,
  type SupervisorSpec,
} from 'ergo-ts';

import { describeThrown } from '../../contract/thrown.js';
import { Answer, answerWhenSettled, type EntitiesClient } from '../../kinds/entity.js';
import { WorkflowClient } from './client.js';
import { ErrWorkflowIncorrect } from '../model/errors.js';

/** A signal, cancel or update as the gateway reads it from a message. */
export type GatewayRequest =
  | {
      readonly op: 'signal';
      readonly workflow: string;
      readonly id: string;
      readonly signal: string;
      readonly payload: unknown;
      readonly signalId?: string;
    }
  | { readonly op: 'cancel'; readonly workflow: string; readonly id: string; readonly reason: string }
  | {
      readonly op: 'update';
      readonly workflow: string;
      readonly id: string;
      readonly update: string;
      readonly input: unknown;
      readonly updateId?: string;
    };

/** The registered name the gateway takes unless told otherwise. */
export const WORKFLOW_GATEWAY_NAME = 'workflows';

/** The longest charlist read as text, in elements (a longer one is refused, not spread onto the stack). */
export const GATEWAY_MAX_CHARLIST = 65_536;

/**
 * The longest the gateway waits for an update's answer, in ms: then the caller is answered
 * ERR_WORKFLOW_TIMEOUT naming the update's id (it stays accepted: ask again with that id).
 */
export const GATEWAY_UPDATE_WAIT_MS = 60_000;

/** Restarts of the gateway its supervisor allows within a second (more stop it, as any supervisor). */
export const GATEWAY_RESTARTS_PER_SECOND = 10;

/** A string from a JS string, a UTF-8 binary (Erlang's `<<"x">>`), an atom (`{name}`) or a charlist. */
function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  if (typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string')
    return (v as { name: string }).name;
  if (Array.isArray(v)) return charlist(v);
  return undefined;
}

/** A charlist's text: undefined unless every element is a code point (0..0x10FFFF) and it is not too long. */
function charlist(v: readonly unknown[]): string | undefined {
  if (v.length > GATEWAY_MAX_CHARLIST) return undefined;
  let s = '';
  for (const c of v) {
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > 0x10ffff) return undefined;
    s += String.fromCodePoint(c);
  }
  return s;
}

/** The elements of an Erlang tuple (read by shape: this package does not load the Erlang one). */
function tupleElements(v: unknown): readonly unknown[] | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const e = (v as { elements?: unknown }).elements;
  return Array.isArray(e) ? e : undefined;
}

/**
 * Reads a gateway request from `m` (see the top of this file); undefined when it is not one (a
 * field that is no text, a charlist over {@link GATEWAY_MAX_CHARLIST}, a getter that throws).
 * Never throws.
 */
export function readGatewayRequest(m: unknown): GatewayRequest | undefined {
  try {
    return read(m);
  } catch {
    return undefined; // a getter (or a Proxy) that throws: not a request
  }
}

function read(m: unknown): GatewayRequest | undefined {
  const el = tupleElements(m);
  if (el !== undefined) {
    const tag = text(el[0]);
    const workflow = text(el[1]);
    const id = text(el[2]);
    if (workflow === undefined || id === undefined) return undefined;
    if (tag === 'signal' && (el.length === 5 || el.length === 6)) {
      const signal = text(el[3]);
      const signalId = el.length === 6 ? text(el[5]) : undefined;
      if (signal === undefined) return undefined;
      return { op: 'signal', workflow, id, signal, payload: el[4], ...(signalId === undefined ? {} : { signalId }) };
    }
    if (tag === 'cancel' && el.length === 4) return { op: 'cancel', workflow, id, reason: text(el[3]) ?? 'cancelled' };
    if (tag === 'update' && (el.length === 5 || el.length === 6)) {
      const update = text(el[3]);
      const updateId = el.length === 6 ? text(el[5]) : undefined;
      if (update === undefined || (el.length === 6 && updateId === undefined)) return undefined;
      return { op: 'update', workflow, id, update, input: el[4], ...(updateId === undefined ? {} : { updateId }) };
    }
    return undefined;
  }
  const get = (k: string): unknown =>
    m instanceof Map ? m.get(k) : typeof m === 'object' && m !== null ? (m as Record<string, unknown>)[k] : undefined;
  const workflow = text(get('workflow'));
  const id = text(get('id'));
  if (workflow === undefined || id === undefined) return undefined;
  const signal = text(get('signal'));
  if (signal !== undefined) {
    const signalId = text(get('signalId'));
    return {
      op: 'signal',
      workflow,
      id,
      signal,
      payload: get('payload'),
      ...(signalId === undefined ? {} : { signalId }),
    };
  }
  if (get('cancel') !== undefined) return { op: 'cancel', workflow, id, reason: text(get('cancel')) ?? 'cancelled' };
  const update = text(get('update'));
  if (update !== undefined) {
    const updateId = text(get('updateId'));
    return { op: 'update', workflow, id, update, input: get('input'), ...(updateId === undefined ? {} : { updateId }) };
  }
  return undefined;
}

/** The gateway actor (see the top of this file). */
export class WorkflowGateway extends Actor {
  #client!: WorkflowClient;

  override init(entities: EntitiesClient): undefined {
    this.#client = new WorkflowClient(entities);
    return undefined;
  }

  #run(r: GatewayRequest): Promise<unknown> {
    // Settled, never thrown: the caller is answered and the process goes on whatever happens.
    return Promise.resolve().then(() => {
      const h = this.#client.handleOf(r.workflow, r.id);
      if (r.op === 'update')
        return h.update(r.update as never, r.input as never, {
          timeoutMs: GATEWAY_UPDATE_WAIT_MS,
          ...(r.updateId === undefined ? {} : { updateId: r.updateId }),
        });
      return r.op === 'cancel'
        ? h.cancel(r.reason)
        : h.signal(r.signal as never, r.payload as never, r.signalId === undefined ? {} : { id: r.signalId });
    });
  }

  override handleMessage(from: PID, message: unknown): undefined {
    if (message instanceof Answer) {
      message.give(this);
      return undefined;
    }
    const r = readGatewayRequest(message);
    if (r === undefined) {
      this.log.warning('workflow gateway: not a signal, cancel or update from %s: dropped', String(from));
      return undefined;
    }
    this.#run(r).catch((err: unknown) =>
      this.node.log.warning(
        'workflow gateway: %s of %s/%s from %s failed: %s',
        r.op,
        r.workflow,
        r.id,
        String(from),
        describeThrown(err),
      ),
    );
    return undefined;
  }

  override handleCall(from: PID, ref: Ref, request: unknown): undefined {
    const r = readGatewayRequest(request);
    if (r === undefined) {
      this.sendResponseError(
        from,
        ref,
        ErrWorkflowIncorrect.with('workflow gateway: not a signal, cancel or update request'),
      );
      return undefined;
    }
    // The outcome comes back as a local message: a process answers only inside its handlers.
    answerWhenSettled(this.node, this.pid, from, ref, this.#run(r));
    return undefined;
  }
}

/**
 * The gateway's supervisor: one permanent child, the gateway, registered under the gateway's
 * name, restarted whenever it ends (at most {@link GATEWAY_RESTARTS_PER_SECOND} times a second).
 */
export class WorkflowGatewaySupervisor extends Supervisor {
  override init(name: string, entities: EntitiesClient): SupervisorSpec {
    return {
      restart: { strategy: SupervisorStrategy.Permanent, intensity: GATEWAY_RESTARTS_PER_SECOND, period: 1 },
      children: [childSpec({ name, factory: WorkflowGateway, args: [entities] })],
    };
  }
}

/**
 * Starts the workflow gateway on `entities`' node, registered as `name` (default 'workflows'):
 * an Erlang node then signals an instance with
 * `{workflows, 'node@host'} ! {signal, <<"order">>, <<"o-42">>, <<"paid">>, Amount}`.
 * It runs under a {@link WorkflowGatewaySupervisor} of its own: if it ever ends it is started
 * again under the same name (a new PID: address it by name). Resolves with its PID; it lives
 * until the node stops.
 */
export function startWorkflowGateway(
  node: Node,
  entities: EntitiesClient,
  options: { readonly name?: string } = {},
): Promise<PID> {
  const name = options.name ?? WORKFLOW_GATEWAY_NAME;
  return ignorable(
    node.spawn(WorkflowGatewaySupervisor, {}, name, entities).then(() => node.processPID(name)),
    undefined,
    'startWorkflowGateway',
  );
}
