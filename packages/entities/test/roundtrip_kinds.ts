// The kinds the round-trip tests use (entities.roundtrip.test.ts): a state-mode entity with a
// reminder and an event-sourced ledger, whose states, events, durable messages and reminder
// payloads hold what JSON does not keep (Map, Set, Date, bigint, Uint8Array, undefined, a user
// key that looks like the codec's tag), and calls that try to store what no codec keeps.

import { defineProtocol, schema } from 'ergo-ts';

import {
  EventSourcedEntity,
  ReminderEntity,
  defineEntity,
  defineEventSourcedEntity,
  type ReminderFire,
} from '../src/index.js';

/** What every stored value of these tests holds. */
export interface Rich {
  readonly items: ReadonlyMap<string, { readonly when: Date; readonly tags: ReadonlySet<string> }>;
  readonly total: bigint;
  readonly blob: Uint8Array;
  readonly nested: readonly ReadonlyMap<bigint, readonly ReadonlySet<Date>[]>[];
  readonly note: string | undefined;
  readonly '~t': string;
}

/** A fresh {@link Rich}, different per `n`. */
export function rich(n: number): Rich {
  return {
    items: new Map([
      ['a', { when: new Date(Date.UTC(2026, 0, 1) + n), tags: new Set(['x', `y${n}`]) }],
      ['b', { when: new Date(0), tags: new Set<string>() }],
    ]),
    total: 12_345_678_901_234_567_890n + BigInt(n),
    blob: new Uint8Array([0, 1, 254, 255, n & 255]),
    nested: [new Map([[BigInt(n), [new Set([new Date(n)])]]])],
    note: undefined,
    '~t': `a user key named like the codec's tag (${n})`,
  };
}

/** A value no codec keeps exactly: a function inside a Map inside the value. */
export const unstorable = (): unknown => ({ items: new Map([['a', { when: () => 1 }]]) });

export interface RichState {
  readonly put?: Rich;
  readonly durable: readonly Rich[];
  readonly fired?: Rich;
}

export const RichReminders = { later: schema.type<Rich>() };

export const RichProtocol = defineProtocol('rt-rich', {
  messages: { durable: schema.object({ durable: schema.type<Rich>() }) },
  calls: {
    put: { request: schema.object({ put: schema.type<Rich>() }), reply: schema.literal('ok') },
    get: { request: schema.literal('get'), reply: schema.type<RichState>() },
    bad: { request: schema.literal('bad'), reply: schema.literal('ok') },
    remind: {
      request: schema.object({ remind: schema.string(), payload: schema.unknown(), afterMs: schema.integer() }),
      reply: schema.type<'ok' | { code: unknown; message: string }>(),
    },
  },
});

type RichCall = 'get' | 'bad' | { put: Rich } | { remind: string; payload: unknown; afterMs: number };

export class RichEntity extends ReminderEntity<typeof RichProtocol, RichState, typeof RichReminders> {
  override handleMessage(m: { durable: Rich }): void {
    this.state = { ...this.state, durable: [...this.state.durable, m.durable] };
  }

  override async handleCall(req: RichCall): Promise<RichState | 'ok' | { code: unknown; message: string }> {
    if (req === 'get') return this.state;
    if (req === 'bad') {
      // Not storable: the save after this handler is refused, and the caller gets its code.
      this.state = unstorable() as RichState;
      return 'ok';
    }
    if ('put' in req) {
      this.state = { ...this.state, put: req.put };
      return 'ok';
    }
    try {
      // `remind` stores the reminder before it resolves: a refusal is thrown here.
      await this.remind(req.remind as 'later', { afterMs: req.afterMs }, req.payload as Rich);
    } catch (e) {
      return { code: (e as { code?: unknown }).code, message: (e as Error).message };
    }
    return 'ok';
  }

  override handleReminder(fire: ReminderFire<typeof RichReminders>): void {
    this.state = { ...this.state, fired: fire.payload };
  }
}

export const RichKind = defineEntity('rt-rich', {
  protocol: RichProtocol,
  entity: RichEntity,
  initialState: (): RichState => ({ durable: [] }),
  reminders: RichReminders,
  passivateAfterMs: 0,
});

export const LedgerEvents = {
  set: schema.object({ type: schema.literal('set'), value: schema.type<Rich>() }),
};

export const LedgerProtocol = defineProtocol('rt-ledger', {
  messages: {},
  calls: {
    set: { request: schema.object({ set: schema.type<Rich>() }), reply: schema.number() },
    setBad: { request: schema.literal('setBad'), reply: schema.number() },
    get: { request: schema.literal('get'), reply: schema.type<readonly Rich[]>() },
  },
});

export class LedgerEntity extends EventSourcedEntity<typeof LedgerProtocol, readonly Rich[], typeof LedgerEvents> {
  override async handleCall(req: 'get' | 'setBad' | { set: Rich }): Promise<readonly Rich[] | number> {
    if (req === 'get') return this.state;
    // The event's schema takes any value (schema.type): the codec is what refuses this one.
    await this.persist({ type: 'set', value: req === 'setBad' ? (unstorable() as Rich) : req.set });
    return this.version;
  }
}

export const LedgerKind = defineEventSourcedEntity('rt-ledger', {
  protocol: LedgerProtocol,
  events: LedgerEvents,
  entity: LedgerEntity,
  initialState: (): readonly Rich[] => [],
  applyEvent: (state, event) => [...state, event.value],
  // Snapshots only on passivation and hand-off: the events are read back on a rebuild.
  snapshotEvery: 0,
  passivateAfterMs: 0,
});
