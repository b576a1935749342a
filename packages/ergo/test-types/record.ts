// Type-level tests of schema.record and schema.map (issue 48): the inferred types are
// Record<string, T> / Record<K, T> and Map<K, V>, so a protocol built on them types its senders
// and handlers. Compiled by `npm run check:types` (scripts/check-types.mjs); each `@ts-expect-error` line must be an error.

import { Actor, defineProtocol, schema, type Infer, type Node, type PID, type Ref } from 'ergo-ts';

const counts = schema.record(schema.integer());
export const sizes = schema.record(schema.enum(['s', 'm']), schema.number());
const names = schema.map(schema.integer(), schema.string());

export const c: Record<string, number> = { a: 1 } satisfies Infer<typeof counts>;
export const s: Infer<typeof sizes> = { s: 1, m: 2 };
// @ts-expect-error a record of numbers holds no string
export const badCount: Infer<typeof counts> = { a: 'one' };
// @ts-expect-error a key outside the key schema's enum
export const badSize: Infer<typeof sizes> = { s: 1, m: 2, xl: 3 };
export const n: Map<number, string> = new Map() satisfies Infer<typeof names>;
// @ts-expect-error a Map of numbers to strings is not one of strings to strings
export const badNames: Infer<typeof names> = new Map<string, string>();
// @ts-expect-error a plain object is no Map
export const notMap: Infer<typeof names> = { 1: 'one' };

const Tally = defineProtocol('tally', {
  messages: { names },
  calls: { sum: { request: counts, reply: schema.integer() } },
});

export class TallyActor extends Actor.of(Tally) {
  override handleMessage(_from: PID, msg: Map<number, string>): void {
    void msg;
  }
  override handleCall(_from: PID, _ref: Ref, req: Record<string, number>): number {
    return Object.values(req).length;
  }
}

declare const node: Node;
export async function senders(): Promise<void> {
  const pid = await node.spawn(TallyActor, {});
  const sum: number = await node.call(pid, { a: 1, b: 2 });
  node.send(pid, new Map([[1, 'one']]));
  // @ts-expect-error a record whose value is not an integer's number
  await node.call(pid, { a: 'x' });
  // @ts-expect-error a Map of the wrong key type
  node.send(pid, new Map([['1', 'one']]));
  void sum;
}
