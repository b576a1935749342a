// Message priorities and the process/meta state enums, with Ergo's numeric values.

/** Which mailbox queue a message lands in: Normal → main, High → system, Max → urgent. */
export const MessagePriority = { Normal: 0, High: 1, Max: 2 } as const;
/** @see MessagePriority */
export type MessagePriority = (typeof MessagePriority)[keyof typeof MessagePriority];

/** True for 0, 1 or 2. */
export function isMessagePriority(p: unknown): p is MessagePriority {
  return p === 0 || p === 1 || p === 2;
}

/** Ergo's printed name of a priority. */
export function priorityString(p: MessagePriority): string {
  return p === 0 ? 'normal' : p === 1 ? 'high' : p === 2 ? 'max' : 'unknown';
}

/**
 * Process states (bit values as in Ergo). Init: inside init, not yet in the process table.
 * Sleep: idle. Running: inside a callback. WaitResponse: awaiting a call's reply.
 * Zombee: killed while running; terminates when its callback settles. Terminated: gone (or
 * inside `terminate`).
 */
export const ProcessState = {
  Init: 1,
  Sleep: 2,
  Running: 4,
  WaitResponse: 8,
  Terminated: 16,
  Zombee: 32,
} as const;
/** @see ProcessState */
export type ProcessState = (typeof ProcessState)[keyof typeof ProcessState];

/** Ergo's printed name of a process state. */
export function processStateString(s: ProcessState): string {
  switch (s) {
    case 1:
      return 'init';
    case 2:
      return 'sleep';
    case 4:
      return 'running';
    case 8:
      return 'wait response';
    case 16:
      return 'terminated';
    case 32:
      return 'zombee';
  }
  return 'unknown';
}

/** Meta process states. */
export const MetaState = { Sleep: 1, Running: 2, Terminated: 4 } as const;
/** @see MetaState */
export type MetaState = (typeof MetaState)[keyof typeof MetaState];
