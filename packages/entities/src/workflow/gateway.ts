// A registered process through which nodes that do not speak the workflow client's requests —
// an Erlang node, a Go Ergo node, a plain ergo-ts process — signal and cancel workflow instances
// with a plain message (or a call, to hear the outcome). It accepts:
//
//   an object or a map   { signal: <name>, workflow: <name>, id: <id>, payload?, signalId? }
//                        { cancel: <reason>, workflow: <name>, id: <id> }
//   an Erlang tuple      {signal, Workflow, Id, Signal, Payload}        (strings or binaries)
//                        {signal, Workflow, Id, Signal, Payload, SignalId}
//                        {cancel, Workflow, Id, Reason}
//
// and hands it to the instance through the node's entities runtime (routed to the key's owner). A
// plain message gets no answer (a failure is logged); a call is answered 'accepted', 'duplicate',
// 'cancelled', or the error (ERR_WORKFLOW_CLOSED, ERR_WORKFLOW_INCORRECT...).

import { Actor, ignorable, type Node, type PID, type Ref } from 'ergo-ts';

import { Answer, answerWhenSettled, type EntitiesClient } from '../kinds/entity.js';
import { WorkflowClient } from './client.js';
import { ErrWorkflowIncorrect } from './errors.js';

/** A signal or cancel as the gateway reads it from a message. */
export type GatewayRequest =
  | {
      readonly op: 'signal';
      readonly workflow: string;
      readonly id: string;
      readonly signal: string;
      readonly payload: unknown;
      readonly signalId?: string;
    }
  | { readonly op: 'cancel'; readonly workflow: string; readonly id: string; readonly reason: string };

/** The registered name the gateway takes unless told otherwise. */
export const WORKFLOW_GATEWAY_NAME = 'workflows';

/** A string from a JS string, a UTF-8 binary (Erlang's `<<"x">>`), an atom (`{name}`) or a charlist. */
function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string')
    return (v as { name: string }).name;
  if (Array.isArray(v) && v.every((c) => typeof c === 'number')) return String.fromCodePoint(...(v as number[]));
  return undefined;
}

/** The elements of an Erlang tuple (read by shape: this package does not load the Erlang one). */
function tupleElements(v: unknown): readonly unknown[] | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const e = (v as { elements?: unknown }).elements;
  return Array.isArray(e) ? e : undefined;
}

/** Reads a gateway request from `m` (see the top of this file); undefined when it is not one. */
export function readGatewayRequest(m: unknown): GatewayRequest | undefined {
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
  return undefined;
}

/** The gateway actor (see the top of this file). */
export class WorkflowGateway extends Actor {
  #client!: WorkflowClient;

  override init(entities: EntitiesClient): undefined {
    this.#client = new WorkflowClient(entities);
    return undefined;
  }

  #run(r: GatewayRequest): Promise<string> {
    const h = this.#client.handleOf(r.workflow, r.id);
    return r.op === 'cancel'
      ? h.cancel(r.reason)
      : h.signal(r.signal as never, r.payload as never, r.signalId === undefined ? {} : { id: r.signalId });
  }

  override handleMessage(from: PID, message: unknown): undefined {
    if (message instanceof Answer) {
      message.give(this);
      return undefined;
    }
    const r = readGatewayRequest(message);
    if (r === undefined) {
      this.log.warning('workflow gateway: not a signal or cancel from %s: dropped', String(from));
      return undefined;
    }
    this.#run(r).catch((err: unknown) =>
      this.node.log.warning(
        'workflow gateway: %s of %s/%s from %s failed: %s',
        r.op,
        r.workflow,
        r.id,
        String(from),
        String(err),
      ),
    );
    return undefined;
  }

  override handleCall(from: PID, ref: Ref, request: unknown): undefined {
    const r = readGatewayRequest(request);
    if (r === undefined) {
      this.sendResponseError(from, ref, ErrWorkflowIncorrect.with('workflow gateway: not a signal or cancel request'));
      return undefined;
    }
    // The outcome comes back as a local message: a process answers only inside its handlers.
    answerWhenSettled(this.node, this.pid, from, ref, this.#run(r));
    return undefined;
  }
}

/**
 * Starts the workflow gateway on `entities`' node, registered as `name` (default 'workflows'):
 * an Erlang node then signals an instance with
 * `{workflows, 'node@host'} ! {signal, <<"order">>, <<"o-42">>, <<"paid">>, Amount}`.
 * Resolves with its PID; it lives until the node stops.
 */
export function startWorkflowGateway(
  node: Node,
  entities: EntitiesClient,
  options: { readonly name?: string } = {},
): Promise<PID> {
  return ignorable(
    node.spawnRegister(options.name ?? WORKFLOW_GATEWAY_NAME, WorkflowGateway, {}, entities),
    undefined,
    'startWorkflowGateway',
  );
}
