// The code lock of Erlang's gen_statem guide ("Example revisited") as an ergo-ts StateMachine,
// with the features of Ergo's StateMachine demo (ergo-services/examples PR #8): a handler per
// (state, message), a call handler, state-enter callbacks, a state timeout that relocks the door,
// a message (inactivity) timeout that clears half-typed buttons, a generic timeout that ends a
// lockout after too many wrong codes, and buttons pressed while open postponed until it relocks.
// code_lock_main.ts runs it on a node; code_lock.test.ts tests it.

import { GenericTimeout, MessageTimeout, StateMachine, StateTimeout, defineProtocol, schema, type PID } from 'ergo-ts';

export const CodeLockProtocol = defineProtocol('code-lock', {
  messages: {
    button: schema.object({ button: schema.integer() }),
    /** The state timeout of `open`. */
    lock: schema.literal('lock'),
    /** The inactivity timeout of typing in `locked`. */
    clear: schema.literal('clear'),
    /** The generic timeout that ends a lockout. */
    lockoutOver: schema.literal('lockout-over'),
  },
  calls: {
    codeLength: { request: schema.literal('code-length'), reply: schema.integer() },
    state: { request: schema.literal('state'), reply: schema.enum(['locked', 'open']) },
  },
});

export type LockState = 'locked' | 'open';

/** Timings and limits; tests make them short. */
export interface CodeLockOptions {
  /** How long the door stays open (the state timeout), ms. */
  openMs: number;
  /** Typing pause after which the buttons pressed so far are forgotten (the message timeout), ms. */
  inactivityMs: number;
  /** Wrong codes in a row before a lockout. */
  maxAttempts: number;
  /** How long a lockout lasts (the generic timeout), ms. */
  lockoutMs: number;
  /** Told `{ door: 'locked' | 'unlocked' }` on every lock and unlock (the "hardware"). */
  door?: PID;
}

export const DEFAULT_CODE_LOCK: CodeLockOptions = {
  openMs: 10_000,
  inactivityMs: 30_000,
  maxAttempts: 3,
  lockoutMs: 60_000,
};

interface LockData {
  readonly code: readonly number[];
  buttons: number[];
  wrong: number;
  lockedOut: boolean;
}

export class CodeLock extends StateMachine.of(CodeLockProtocol)<LockState, LockData> {
  override init(code: number[], options: Partial<CodeLockOptions> = {}) {
    if (!Array.isArray(code) || code.length === 0) return new Error('code lock: the code must be a non-empty array');
    const o = { ...DEFAULT_CODE_LOCK, ...options };
    return (
      this.spec('locked', { code, buttons: [], wrong: 0, lockedOut: false })
        // Entering a state does the hardware part: Erlang's do_lock() / do_unlock().
        .stateEnterCallback('locked', (from, _state, data) => {
          this.log.info('code lock: %s → locked', from);
          this.#door(o, 'locked');
          data.buttons = [];
        })
        .stateEnterCallback('open', (from) => {
          this.log.info('code lock: %s → open', from);
          this.#door(o, 'unlocked');
          return { actions: [new StateTimeout(o.openMs, 'lock')] };
        })
        .stateMessageHandler('locked', 'button', (_from, _state, data, { button }) => {
          if (data.lockedOut) return; // ignored until the lockout's generic timeout fires
          data.buttons.push(button);
          if (data.buttons.length < data.code.length) return { actions: [new MessageTimeout(o.inactivityMs, 'clear')] };
          if (data.buttons.every((b, i) => b === data.code[i])) {
            data.wrong = 0;
            return { state: 'open' };
          }
          data.buttons = [];
          if (++data.wrong < o.maxAttempts) return;
          data.lockedOut = true;
          this.log.warning('code lock: %d wrong codes, locked out for %d ms', data.wrong, o.lockoutMs);
          return { actions: [new GenericTimeout('lockout', o.lockoutMs, 'lockout-over')] };
        })
        .stateMessageHandler('locked', 'clear', (_from, _state, data) => {
          data.buttons = [];
        })
        // A generic timeout outlives state changes: handle it in every state.
        .stateMessageHandler(['locked', 'open'], 'lockoutOver', (_from, _state, data) => {
          data.lockedOut = false;
          data.wrong = 0;
        })
        // Buttons pressed while open wait for the door to relock (Erlang's postpone).
        .stateMessageHandler('open', 'button', () => ({ postpone: true }))
        .stateMessageHandler('open', 'lock', () => ({ state: 'locked' }))
        .stateCallHandler(['locked', 'open'], 'codeLength', (_from, _state, data) => ({ reply: data.code.length }))
        .stateCallHandler(['locked', 'open'], 'state', (_from, state) => ({ reply: state }))
    );
  }

  #door(o: CodeLockOptions, door: 'locked' | 'unlocked'): void {
    if (o.door !== undefined) this.send(o.door, { door });
  }
}
