// Deliberate compile errors, checked by scripts/check-types.mjs (a step of `npm run check`): a kind
// whose state, events or data cannot be stored names it in the error (the property that is
// "missing" is the sentence), and shows the refused part as `never` (`deposit: never`).

import { defineProtocol, schema } from 'ergo-ts';
import { Entity, defineDurableStateMachine, defineEntity, durableSpec } from '@ergo-ts/entities';

const P = defineProtocol('unstorable', { messages: { go: schema.literal('go') } });

class Account {
  balance = 0;
  deposit(n: number): void {
    this.balance += n;
  }
}
class Holder extends Entity<typeof P, { account: Account }> {}
// @expect-error: the state type holds what the store cannot keep (see Storable)
export const Bad = defineEntity('bad', {
  protocol: P,
  entity: Holder,
  initialState: () => ({ account: new Account() }),
});
// @expect-error: deposit: never
export const Bad2 = defineEntity('bad2', {
  protocol: P,
  entity: Holder,
  initialState: () => ({ account: new Account() }),
});
// @expect-error: the data type holds what the store cannot keep (see Storable)
export const BadDoor = defineDurableStateMachine('bad-door', {
  protocol: P,
  spec: () => durableSpec<typeof P, 'open', { onOpen: () => void }>(P, 'open', { onOpen: () => undefined }),
});
