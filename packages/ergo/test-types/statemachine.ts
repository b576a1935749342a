// Type-level tests of StateMachine, compiled by `npm run check:types` (scripts/check-types.mjs) (tsc -p test-types) with
// typed.ts. Each `@ts-expect-error` line must be an error (an unused one fails the test): handlers
// only for states of the machine and types of its protocol, replies of the call's reply type.
// Nothing here runs.

import {
  GenericTimeout,
  MessageTimeout,
  StateMachine,
  StateTimeout,
  Stop,
  ReplyLater,
  defineProtocol,
  schema,
  type Node,
  type PID,
} from 'ergo-ts';

const Door = defineProtocol('door', {
  messages: {
    open: schema.literal('open'),
    close: schema.literal('close'),
    knock: schema.object({ times: schema.integer() }),
  },
  calls: {
    state: { request: schema.literal('state'), reply: schema.enum(['closed', 'open']) },
    count: { request: schema.object({ count: schema.literal(true) }), reply: schema.number() },
  },
});
type DoorState = 'closed' | 'open';

declare const node: Node;

export class DoorMachine extends StateMachine.of(Door)<DoorState, { opened: number }> {
  override init(start: number) {
    return this.spec('closed', { opened: start })
      .stateMessageHandler('closed', 'open', (_from, state, data, message) => {
        const s: 'closed' = state; // the state(s) it was registered for
        const m: 'open' = message; // the message type it was registered for
        void [s, m];
        return { state: 'open', data: { opened: data.opened + 1 } };
      })
      .stateMessageHandler(['closed', 'open'], 'knock', (_from, _state, _data, { times }) => {
        const n: number = times;
        void n;
        return { actions: [new StateTimeout(10, 'close'), new MessageTimeout(5, { times: 1 })] };
      })
      .stateMessageHandler('open', 'close', () => ({
        state: 'closed',
        actions: [new GenericTimeout('g', 1, 'open'), GenericTimeout.cancel('h'), StateTimeout.cancel()],
      }))
      .stateCallHandler(['closed', 'open'], 'state', (_from, state) => ({ reply: state }))
      .stateCallHandler('closed', 'count', (_f, _s, data) => ({ reply: data.opened }))
      .stateCallHandler('open', 'count', () => ({ postpone: true }))
      .stateEnterCallback((oldState, state) => {
        const o: DoorState = oldState;
        void [o, state];
      })
      .stateEnterCallback('open', () => ({ actions: [new StateTimeout(1_000, 'close')] }));
  }
}

export class Later extends StateMachine.of(Door)<DoorState, undefined> {
  override init() {
    return this.spec('closed')
      .stateCallHandler('closed', 'state', () => ({ reply: ReplyLater }))
      .stateCallHandler('open', 'state', () => new Stop(new Error('done'), 'open'))
      .stateMessageHandler('closed', 'open', () => new Error('stop'))
      .stateMessageHandler('open', 'open', async () => ({ state: 'closed' as const }));
  }
}

export class Wrong extends StateMachine.of(Door)<DoorState, { opened: number }> {
  override init() {
    const spec = this.spec('closed', { opened: 0 });
    // @ts-expect-error a state the machine does not have
    spec.stateMessageHandler('ajar', 'open', () => undefined);
    // an event handler's message has the event's payload type; it returns a transition
    spec.eventHandler<number>('temps', (m, state: DoorState, d) => ({ state, data: { opened: d.opened + m.message } }));
    // @ts-expect-error the payload is a number, not a string
    spec.eventHandler<number>('temps2', (m) => void (m.message satisfies string));
    // @ts-expect-error an event handler leads to the machine's states only
    spec.eventHandler('temps3', () => ({ state: 'ajar' }));
    // @ts-expect-error an event handler cannot postpone
    spec.eventHandler('temps4', () => ({ postpone: true }));
    // @ts-expect-error one of several states is not the machine's
    spec.stateMessageHandler(['closed', 'ajar'], 'open', () => undefined);
    // @ts-expect-error a message type the protocol does not have
    spec.stateMessageHandler('closed', 'slam', () => undefined);
    // @ts-expect-error a call type the protocol does not have
    spec.stateCallHandler('closed', 'slam', () => ({ reply: 1 }));
    // @ts-expect-error a message name used as a call
    spec.stateCallHandler('closed', 'open', () => ({ reply: 1 }));
    // @ts-expect-error a wrong reply type for the call
    spec.stateCallHandler('closed', 'state', () => ({ reply: 'ajar' }));
    // @ts-expect-error a call handler must reply (or postpone, or stop)
    spec.stateCallHandler('closed', 'count', () => undefined);
    // @ts-expect-error a call handler must reply (or postpone, or stop)
    spec.stateCallHandler('closed', 'count', () => ({ state: 'open' }));
    // @ts-expect-error a transition to a state the machine does not have
    spec.stateMessageHandler('closed', 'open', () => ({ state: 'ajar' }));
    // @ts-expect-error wrong data
    spec.stateMessageHandler('closed', 'close', () => ({ data: { opened: 'x' } }));
    // @ts-expect-error the handler's message type is the one registered
    spec.stateMessageHandler('closed', 'knock', (_f, _s, _d, m: 'open') => void m);
    // @ts-expect-error a timeout whose message is not in the protocol
    spec.stateMessageHandler('closed', 'close', () => ({ actions: [new StateTimeout(1, 'slam')] }));
    // @ts-expect-error a state enter callback cannot postpone
    spec.stateEnterCallback('open', () => ({ postpone: true }));
    // @ts-expect-error the initial state must be one of the machine's
    this.spec('ajar', { opened: 0 });
    // @ts-expect-error data is required when the data type does not admit undefined
    this.spec('closed');
    return spec;
  }
}

export async function spawnDoor(): Promise<void> {
  const pid = await node.spawn(DoorMachine, {}, 1);
  const typed: PID<typeof Door> = pid;
  node.send(pid, { times: 2 });
  // @ts-expect-error not a message of the protocol
  node.send(pid, 'slam');
  const s: 'closed' | 'open' = await node.call(pid, 'state');
  const n: number = await node.call(pid, { count: true });
  // @ts-expect-error the init args are checked
  await node.spawn(DoorMachine, {}, 'one');
  void [typed, s, n];
}
