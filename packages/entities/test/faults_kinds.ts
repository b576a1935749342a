// The entity kinds the safety checker (faults.ts) drives through its fault rounds, one per mode:
//   - `ledger` (state mode, with reminders): a durable message `{ id }` appends its id to the
//     state; `{ id, remindAfterMs }` first schedules the reminder `r/<id>`, whose fire appends a
//     record of itself (fire id, due time, the time it was handled);
//   - `esledger` (event-sourced, with reminders): the same, as events: `added` per message,
//     `fired` per reminder fire, folded into the same shape of state;
//   - `flow` (a durable state machine): the order lifecycle new → paid → shipped, or new →
//     cancelled when its payment window (a state timeout, a durable reminder) ends unpaid; every
//     message it handles is recorded in its data, in any state, so the checker can tell a lost
//     message from one that came late.
// A reminder is scheduled before the message's own write: if the node dies between the two, the
// message is handled again and the reminder put again (at least once), never lost.

import { StateTimeout, defineProtocol, schema } from 'ergo-ts';

import {
  EventSourcedEntity,
  ReminderEntity,
  defineDurableStateMachine,
  defineEntity,
  defineEventSourcedEntity,
  durableSpec,
  type ReminderFire,
} from '../src/index.js';

/** One handled reminder fire, as the ledgers record it. */
export interface FireRecord {
  /** The message id whose reminder this is. */
  readonly id: string;
  readonly fireId: string;
  readonly scheduledAt: number;
  /** When the entity handled it (the wall clock of its node: every node shares one host clock). */
  readonly firedAt: number;
}

/** The state of both ledgers: ids in the order they were applied, and the reminder fires handled. */
export interface LedgerState {
  readonly ids: readonly string[];
  readonly fired: readonly FireRecord[];
}

const AddMessage = schema.object({ id: schema.string(), remindAfterMs: schema.optional(schema.integer()) });

export const LedgerProtocol = defineProtocol('ledger', {
  messages: { add: AddMessage },
  calls: { get: { request: schema.literal('get'), reply: schema.unknown() } },
});

export const LedgerReminders = { r: schema.object({ id: schema.string() }) };

const emptyLedger = (): LedgerState => ({ ids: [], fired: [] });

class LedgerEntity extends ReminderEntity<typeof LedgerProtocol, LedgerState, typeof LedgerReminders> {
  override async handleMessage(m: { id: string; remindAfterMs?: number | undefined }): Promise<void> {
    if (m.remindAfterMs !== undefined) await this.remind(`r/${m.id}`, { afterMs: m.remindAfterMs }, { id: m.id });
    this.state = { ...this.state, ids: [...this.state.ids, m.id] };
  }
  override handleReminder(fire: ReminderFire<typeof LedgerReminders>): void {
    const f = { id: fire.payload.id, fireId: fire.fireId, scheduledAt: fire.scheduledAt, firedAt: Date.now() };
    this.state = { ...this.state, fired: [...this.state.fired, f] };
  }
  override handleCall(_req: 'get'): LedgerState {
    return this.state;
  }
}

/** The state-mode ledger. */
export const Ledger = defineEntity('ledger', {
  protocol: LedgerProtocol,
  entity: LedgerEntity,
  initialState: emptyLedger,
  passivateAfterMs: 0,
  reminders: LedgerReminders,
});

export const LedgerEvents = {
  added: schema.object({ type: schema.literal('added'), id: schema.string() }),
  fired: schema.object({
    type: schema.literal('fired'),
    id: schema.string(),
    fireId: schema.string(),
    scheduledAt: schema.number(),
    firedAt: schema.number(),
  }),
};

class EsLedgerEntity extends EventSourcedEntity<
  typeof LedgerProtocol,
  LedgerState,
  typeof LedgerEvents,
  typeof LedgerReminders
> {
  override async handleMessage(m: { id: string; remindAfterMs?: number | undefined }): Promise<void> {
    if (m.remindAfterMs !== undefined) await this.remind(`r/${m.id}`, { afterMs: m.remindAfterMs }, { id: m.id });
    await this.persist({ type: 'added', id: m.id });
  }
  override async handleReminder(fire: ReminderFire<typeof LedgerReminders>): Promise<void> {
    await this.persist({
      type: 'fired',
      id: fire.payload.id,
      fireId: fire.fireId,
      scheduledAt: fire.scheduledAt,
      firedAt: Date.now(),
    });
  }
  override handleCall(_req: 'get'): LedgerState {
    return this.state;
  }
}

/** The event-sourced ledger (a snapshot every 5 events: rebuilds start from snapshots too). */
export const EsLedger = defineEventSourcedEntity('esledger', {
  protocol: LedgerProtocol,
  events: LedgerEvents,
  entity: EsLedgerEntity,
  reminders: LedgerReminders,
  initialState: emptyLedger,
  applyEvent: (s, e) => {
    switch (e.type) {
      case 'added':
        return { ...s, ids: [...s.ids, e.id] };
      case 'fired':
        return { ...s, fired: [...s.fired, e] };
    }
  },
  snapshotEvery: 5,
  passivateAfterMs: 0,
});

export const FlowProtocol = defineProtocol('flow', {
  messages: {
    place: schema.object({ place: schema.string(), windowMs: schema.integer() }),
    pay: schema.object({ pay: schema.string() }),
    ship: schema.object({ ship: schema.string() }),
    timeout: schema.literal('payment-timeout'),
  },
  calls: {
    status: {
      request: schema.literal('status'),
      reply: schema.object({ state: schema.string(), data: schema.unknown() }),
    },
  },
});

export type FlowState = 'new' | 'paid' | 'shipped' | 'cancelled';

export interface FlowData {
  placedAt: number;
  windowMs: number;
  cancelledAt?: number;
  /** The states entered, in order (the initial one included). */
  history: FlowState[];
  /** Every message id handled, in any state (a postponed one once, when it is finally handled). */
  seen: string[];
}

/** The transitions of `flow`: the states each state may move to. */
export const FLOW_TRANSITIONS: Readonly<Record<FlowState, readonly FlowState[]>> = {
  new: ['paid', 'cancelled'],
  paid: ['shipped'],
  shipped: [],
  cancelled: [],
};

const seen = (d: FlowData, id: string): FlowData => ({ ...d, seen: [...d.seen, id] });
const ALL: FlowState[] = ['new', 'paid', 'shipped', 'cancelled'];

/** The durable state machine. */
export const Flow = defineDurableStateMachine('flow', {
  protocol: FlowProtocol,
  passivateAfterMs: 0,
  spec: () =>
    durableSpec<typeof FlowProtocol, FlowState, FlowData>(FlowProtocol, 'new', {
      placedAt: 0,
      windowMs: 0,
      history: [],
      seen: [],
    })
      .stateEnterCallback((_old, state, data) => ({ data: { ...data, history: [...data.history, state] } }))
      .stateMessageHandler('new', 'place', (_from, _state, data, m) =>
        data.placedAt !== 0
          ? { data: seen(data, m.place) }
          : {
              data: { ...seen(data, m.place), placedAt: Date.now(), windowMs: m.windowMs },
              actions: [new StateTimeout(m.windowMs, 'payment-timeout' as const)],
            },
      )
      .stateMessageHandler('new', 'pay', (_from, _state, data, m) => ({ state: 'paid', data: seen(data, m.pay) }))
      .stateMessageHandler('new', 'ship', () => ({ postpone: true }))
      .stateMessageHandler('new', 'timeout', (_from, _state, data) => ({
        state: 'cancelled',
        data: { ...data, cancelledAt: Date.now() },
      }))
      .stateMessageHandler('paid', 'ship', (_from, _state, data, m) => ({ state: 'shipped', data: seen(data, m.ship) }))
      // Late mail in the other states is recorded (a payment after the cancellation, say) and ignored.
      .stateMessageHandler(['paid', 'shipped', 'cancelled'], 'place', (_f, _s, data, m) => ({
        data: seen(data, m.place),
      }))
      .stateMessageHandler(['paid', 'shipped', 'cancelled'], 'pay', (_f, _s, data, m) => ({ data: seen(data, m.pay) }))
      .stateMessageHandler(['shipped', 'cancelled'], 'ship', (_f, _s, data, m) => ({ data: seen(data, m.ship) }))
      .stateCallHandler(ALL, 'status', (_from, state, data) => ({ reply: { state, data } })),
});
