// The manager process of an entities runtime (registered as `options.name`, the same on every
// member): it answers other members' activation and send requests once the activation settled,
// hears the leaving / hello notices of members that drain or start, and follows the registrar's
// events. What travels to it, and how a caller reads its answers, is manager_protocol.ts.

import { Actor, ProcessID, type Atom, type Event, type MessageEvent, type PID, type Ref } from 'ergo-ts';

import { ErrEntityIncorrect } from '../contract/errors.js';
import { hostName } from '../contract/ids.js';
import { ManagerInspector, isInspectRequest, nodeShardTable } from '../inspect/inspector.js';
import type { InspectedRuntime } from '../inspect/inspector.js';
import { isDeadLetterOperation, operateDeadLetters, type DeadLetters } from './dead_letters.js';
import type { ActivateReply, ActivateRequest, HelloNotice, LeavingNotice, SendRequest } from './manager_protocol.js';
import type { Membership } from './membership.js';
import type { FeatureRequests, ManagerCluster } from './feature.js';
import { ENTITIES_DEFAULTS } from './options.js';

/** What the manager asks of its runtime (runtime.ts implements it), inspection's seam included. */
export interface ManagerRuntime extends InspectedRuntime {
  /** Activates (kind, key) on this node, one at a time per key (see `Entities.activateLocal`). */
  activateLocal(kind: string, key: string, shed?: boolean, waitMs?: number, leftMs?: number): Promise<ActivateReply>;
  /** Who the members are: the notices the manager hears, the registrar's events it follows, go there. */
  readonly membership: Pick<
    Membership,
    'heardLeaving' | 'heardHello' | 'registrarChanged' | 'followingRegistrarEvents'
  >;
  /** Whether this node owns shards ('member') or only calls them ('client'). */
  readonly role: 'member' | 'client';
  /** The requests the runtime's features answer (feature.ts): asked in turn for each call. */
  readonly requests: readonly FeatureRequests[];
  /** The runtime's dead letters: an operator's dead-letter requests go through them (dead_letters.ts). */
  readonly deadLetters: DeadLetters;
}

/** An activation the manager finished: it answers the call it kept (local only, by reference). */
class Answer {
  constructor(
    readonly from: PID,
    readonly ref: Ref,
    readonly ok: boolean,
    readonly value: unknown,
    readonly forward?: SendRequest,
  ) {}
}

/** Whether `v` is an entities request or notice of type `what`. */
function isRequest(v: unknown, what: string): boolean {
  return typeof v === 'object' && v !== null && (v as { '~entity'?: unknown })['~entity'] === what;
}

/**
 * The manager process: activates entities of this node on request of any member. Activations of
 * different keys run side by side (a stalled store call holds only its own key): the manager
 * keeps each call and answers it when that activation settles, through an {@link Answer} the
 * runtime sends it.
 */
export class EntityManager extends Actor {
  #rt!: ManagerRuntime;
  #inspector: ManagerInspector | undefined;
  override async init(rt: ManagerRuntime, event: Event | undefined): Promise<void> {
    this.#rt = rt;
    // The registrar's events (a node joined, left...) come here: the runtime reads its nodes again.
    if (event !== undefined)
      await this.monitorEvent(event).then(
        () => rt.membership.followingRegistrarEvents(),
        (e: unknown) => this.log.warning('entities: cannot follow the registrar event: %s', String(e)),
      );
  }
  override handleInspect(): Record<string, string> {
    // Made at the first inspection: the manager's registered name exists only after its init.
    this.#inspector ??= new ManagerInspector(this.#rt, this.node.processName(this.pid));
    return this.#inspector.inspect();
  }
  /** How a feature's request reaches the other members' managers (same registered name). */
  #cluster(): ManagerCluster {
    const rt = this.#rt;
    const name = this.node.processName(this.pid) || ENTITIES_DEFAULTS.name;
    return {
      self: rt.node.name,
      member: rt.role === 'member',
      members: () => rt.stats().members,
      ask: (node, request) => rt.node.call(new ProcessID(name as Atom, node as Atom), request, { timeout: 2000 }),
    };
  }

  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (isInspectRequest(request)) return JSON.stringify(nodeShardTable(this.#rt));
    const operation = isDeadLetterOperation(request)
      ? operateDeadLetters(this.#rt.deadLetters, request)
      : this.#rt.requests.find((r) => r.matches(request))?.answer(request, this.#cluster());
    if (operation !== undefined) {
      // Answered when done (a cancel or resume is a call to the instance's owner).
      const me = this.pid;
      const answer = (ok: boolean, value: unknown): void => {
        try {
          this.#rt.node.send(me, new Answer(from, ref, ok, value));
        } catch {
          // The manager is gone (the runtime stopped): the caller's call fails with it.
        }
      };
      // A failure (a remote activity that threw) is the caller's error.
      operation.then(
        (text) => answer(true, text),
        (e: unknown) => answer(false, e),
      );
      return undefined;
    }
    if (!isRequest(request, 'activate') && !isRequest(request, 'send')) {
      this.sendResponseError(from, ref, ErrEntityIncorrect.with('entities manager: unknown request'));
      return undefined;
    }
    const r = request as ActivateRequest | SendRequest;
    const me = this.pid;
    const answer = (a: Answer): void => {
      try {
        this.#rt.node.send(me, a);
      } catch {
        // The manager is gone (the runtime stopped): the caller's call fails with it.
      }
    };
    const shed = r['~entity'] === 'activate' && r.shed === true;
    // How long the caller waits for the answer: the owner may hold it that long (for room, or for
    // its store to answer again); a value that is no time at all holds nothing.
    const asked0 = r['~entity'] === 'activate' ? (r as ActivateRequest).wait : undefined;
    const wait = typeof asked0 === 'number' && Number.isFinite(asked0) && asked0 > 0 ? asked0 : 0;
    // `left` comes from another member: a value that is no time at all keeps the room's own bound.
    const asked = shed ? (r as ActivateRequest).left : undefined;
    const left = typeof asked === 'number' && Number.isFinite(asked) && asked >= 0 ? asked : undefined;
    this.#rt.activateLocal(r.kind, r.key, shed, wait, left).then(
      (a) => answer(new Answer(from, ref, true, a, r['~entity'] === 'send' && a.ok ? (r as SendRequest) : undefined)),
      (e: unknown) => answer(new Answer(from, ref, false, e)),
    );
    return undefined; // answered by handleMessage(Answer)
  }
  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof Answer) {
      if (message.forward !== undefined) {
        const f = message.forward;
        try {
          this.send(new ProcessID(hostName(f.kind, f.key) as Atom, this.pid.node), f.message);
        } catch (e) {
          // The activation ended between its start and this forward (it handed off at once): the
          // caller hears it and routes again, instead of waiting for an answer that never comes.
          this.sendResponseError(message.from, message.ref, e instanceof Error ? e : new Error(String(e)));
          return;
        }
      }
      if (message.ok) this.sendResponse(message.from, message.ref, message.value);
      else
        this.sendResponseError(
          message.from,
          message.ref,
          message.value instanceof Error ? message.value : new Error(String(message.value)),
        );
      return;
    }
    if (isRequest(message, 'leaving')) {
      const m = message as LeavingNotice;
      return this.#rt.membership.heardLeaving(String(m.node), m.leaseEnded === true);
    }
    if (isRequest(message, 'hello')) return this.#rt.membership.heardHello(String((message as HelloNotice).node));
  }
  /** The registrar's event (a node joined or left, a route changed): the runtime reads its nodes again. */
  override handleEvent(_m: MessageEvent): void {
    this.#rt.membership.registrarChanged();
  }
}
