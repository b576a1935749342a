// The safety checker's rules for reminders and durable state machines (faults.ts runs the rounds;
// faults_kinds.ts has the kinds). Pure: entities.faults.test.ts feeds them planted violations.
//   - A reminder scheduled by an acknowledged message must have fired (at least once; a message
//     handled again after a crash puts it again, so a second fire with another fire id is fine),
//     never before its due time, with a due time no earlier than the message's first send plus its
//     delay, and no fire id applied twice.
//   - An order's history must be a path of FLOW_TRANSITIONS from 'new', each state once, ending in
//     its current state; a cancelled order was never paid and was cancelled no earlier than its
//     window's end; an order placed long enough ago is out of 'new' (its timeout fired); every
//     acknowledged message of the order was handled, and none twice.

import { FLOW_TRANSITIONS, type FireRecord, type FlowData, type FlowState } from './faults_kinds.js';

/** What the harness knows of one acknowledged message that scheduled a reminder. */
export interface RemindedMessage {
  /** The ledger key's kind and key, for messages. */
  readonly where: string;
  /** When it was first sent (epoch ms, the harness's clock: the same host clock as the nodes'). */
  readonly firstSentAt: number;
  readonly remindAfterMs: number;
}

/** Checks the reminder fires `fired` (per message id) against the acknowledged messages that asked for them. */
export function checkReminders(
  reminded: ReadonlyMap<string, RemindedMessage>,
  fired: ReadonlyMap<string, readonly FireRecord[]>,
  inInbox: ReadonlySet<string> = new Set(),
): { violations: string[]; fires: number; lateness: number[] } {
  const violations: string[] = [];
  let fires = 0;
  const lateness: number[] = [];
  for (const [id, m] of reminded) {
    const fs = fired.get(id) ?? [];
    if (fs.length === 0)
      violations.push(
        `${m.where}: the reminder of acknowledged message ${id} never fired${inInbox.has(id) ? ' (its fire waits in the inbox, accepted and never handled)' : ''}`,
      );
    const ids = new Set<string>();
    for (const f of fs) {
      fires++;
      lateness.push(f.firedAt - f.scheduledAt);
      if (f.firedAt < f.scheduledAt)
        violations.push(`${m.where}: reminder r/${id} fired at ${f.firedAt}, before its due time ${f.scheduledAt}`);
      if (f.scheduledAt < m.firstSentAt + m.remindAfterMs)
        violations.push(
          `${m.where}: reminder r/${id} was due at ${f.scheduledAt}, before its message was sent (${m.firstSentAt}) plus ${m.remindAfterMs} ms`,
        );
      if (ids.has(f.fireId)) violations.push(`${m.where}: reminder fire ${f.fireId} was applied twice`);
      ids.add(f.fireId);
    }
  }
  return { violations, fires, lateness };
}

/** One order as the harness drove it, and as it ended. */
export interface OrderOutcome {
  readonly key: string;
  /** The ids of its messages that were acknowledged. */
  readonly acked: readonly string[];
  /** Its final state and data (`status`), or undefined when it could not be read. */
  readonly status: { state: string; data: FlowData } | undefined;
  /** The ids still in its inbox at the end (accepted, not handled). */
  readonly inbox?: readonly string[];
}

/**
 * Checks the orders. `now` and `settleMs`: an order placed more than its window plus `settleMs`
 * before `now` must have left 'new'.
 */
export function checkOrders(
  orders: readonly OrderOutcome[],
  now: number,
  settleMs: number,
): { violations: string[]; finished: Record<string, number> } {
  const violations: string[] = [];
  const finished: Record<string, number> = {};
  for (const o of orders) {
    if (o.status === undefined) {
      if (o.acked.length > 0) violations.push(`order ${o.key}: its status could not be read`);
      continue;
    }
    const { state, data } = o.status;
    finished[state] = (finished[state] ?? 0) + 1;
    const h = data.history;
    if (h[0] !== 'new') violations.push(`order ${o.key}: history ${h.join(',')} does not start in 'new'`);
    for (let i = 1; i < h.length; i++)
      if (!FLOW_TRANSITIONS[h[i - 1]!]?.includes(h[i]!))
        violations.push(`order ${o.key}: ${h[i - 1]} → ${h[i]} is no transition (history ${h.join(',')})`);
    if (h[h.length - 1] !== state)
      violations.push(`order ${o.key}: in state ${state}, but its history ends in ${String(h[h.length - 1])}`);
    if (state === 'cancelled') {
      if (h.includes('paid' as FlowState)) violations.push(`order ${o.key}: cancelled after it was paid`);
      if (data.cancelledAt === undefined || data.cancelledAt - data.placedAt < data.windowMs)
        violations.push(
          `order ${o.key}: cancelled ${String((data.cancelledAt ?? 0) - data.placedAt)} ms after it was placed, before its ${data.windowMs} ms window ended`,
        );
    }
    if (state === 'new' && data.placedAt !== 0 && now - data.placedAt > data.windowMs + settleMs)
      violations.push(
        `order ${o.key}: still 'new' ${now - data.placedAt} ms after it was placed with a ${data.windowMs} ms window (its timeout never fired${o.inbox === undefined || o.inbox.length === 0 ? '' : `; in its inbox: ${o.inbox.join(', ')}`})`,
      );
    const seen = new Map<string, number>();
    for (const id of data.seen) seen.set(id, (seen.get(id) ?? 0) + 1);
    for (const id of o.acked) if (!seen.has(id)) violations.push(`order ${o.key}: acknowledged message ${id} was lost`);
    for (const [id, n] of seen) if (n > 1) violations.push(`order ${o.key}: message ${id} was handled ${n} times`);
  }
  return { violations, finished };
}
