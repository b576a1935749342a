// The entity kind the reminder tests use: it schedules and cancels reminders on command and
// records each fire it handles (how many per name, any that came before its time, the last few
// fires), so a test can tell "fired once", "fired twice" and "fired early" apart.

import { defineProtocol, schema } from 'ergo-ts';

import { ReminderEntity, defineEntity, type ReminderFire, type ReminderWhen } from '../src/index.js';

export const TimerReminders = {
  ping: schema.object({ n: schema.integer() }),
  t: schema.integer(),
  cron: schema.string(),
};

export const TimerProtocol = defineProtocol('timer', {
  messages: {},
  calls: {
    remind: {
      request: schema.object({ remind: schema.string(), when: schema.unknown(), payload: schema.unknown() }),
      reply: schema.unknown(),
    },
    cancel: { request: schema.object({ cancel: schema.string() }), reply: schema.unknown() },
    fired: { request: schema.literal('fired'), reply: schema.unknown() },
  },
});

export interface Fired {
  name: string;
  fireId: string;
  scheduledAt: number;
  firedAt: number;
  payload: unknown;
}

export interface TimerState {
  /** Fires handled, every name. */
  count: number;
  /** Fires handled per name. */
  perName: Record<string, number>;
  /** Fires handled before their scheduled time (must stay 0). */
  early: number;
  /** The last 20 fires. */
  last: Fired[];
}

type Reply = { ok: unknown } | { err: string; code: unknown };

export class TimerEntity extends ReminderEntity<typeof TimerProtocol, TimerState, typeof TimerReminders> {
  override async handleCall(
    req: 'fired' | { remind: string; when: unknown; payload: unknown } | { cancel: string },
  ): Promise<Reply | TimerState> {
    if (req === 'fired') return this.state;
    try {
      if ('cancel' in req) return { ok: await this.cancelReminder(req.cancel as 'ping') };
      await this.remind(req.remind as 'ping', req.when as ReminderWhen, req.payload as { n: number });
      return { ok: true };
    } catch (e) {
      return { err: (e as Error).message, code: (e as { code?: unknown }).code };
    }
  }

  override handleReminder(fire: ReminderFire<typeof TimerReminders>): void {
    const s = this.state;
    const f: Fired = {
      name: fire.name,
      fireId: fire.fireId,
      scheduledAt: fire.scheduledAt,
      firedAt: fire.firedAt,
      payload: fire.payload,
    };
    this.state = {
      count: s.count + 1,
      perName: { ...s.perName, [fire.name]: (s.perName[fire.name] ?? 0) + 1 },
      early: s.early + (Date.now() < fire.scheduledAt ? 1 : 0),
      last: [...s.last.slice(-19), f],
    };
  }
}

/** A timer kind; `passivateAfterMs` as given (0: never). */
export function timerKind(passivateAfterMs = 0) {
  return defineEntity('timer', {
    protocol: TimerProtocol,
    entity: TimerEntity,
    initialState: (): TimerState => ({ count: 0, perName: {}, early: 0, last: [] }),
    passivateAfterMs,
    reminders: TimerReminders,
  });
}
