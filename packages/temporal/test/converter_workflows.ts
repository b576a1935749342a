// Workflows and converters the data converter tests run (temporal.data_converter.test.ts): an
// echo, an echo through an activity, a failure with a cause; a codec that wraps each payload in
// protobuf's binary form, base64 (as the feature suite's data_converter/codec does); and a failure
// converter module export (`failureConverter`, named by `failureConverterPath`).

import { ApplicationFailure, DefaultFailureConverter, type Payload, type PayloadCodec } from '../src/common/index.js';
import { Payload as ProtoPayload } from '../src/proto/index.js';
import * as wf from '../src/workflow/index.js';

/** The failure converter `failureConverterPath` names: message and stack encoded. */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });

/** Payloads the codec encoded and decoded, counted so a test sees it ran. */
export const codecRuns = { encoded: 0, decoded: 0 };

/** Each payload as `my-encoding`: its protobuf bytes in base64. */
export const base64Codec: PayloadCodec = {
  async encode(payloads: Payload[]): Promise<Payload[]> {
    codecRuns.encoded += payloads.length;
    return payloads.map((p) => ({
      metadata: { encoding: new TextEncoder().encode('my-encoding') },
      data: new TextEncoder().encode(Buffer.from(ProtoPayload.encode(p).finish()).toString('base64')),
    }));
  },
  async decode(payloads: Payload[]): Promise<Payload[]> {
    codecRuns.decoded += payloads.length;
    return payloads.map((p) => {
      if (new TextDecoder().decode(p.metadata?.encoding) !== 'my-encoding') return p;
      return ProtoPayload.decode(Buffer.from(new TextDecoder().decode(p.data!), 'base64'));
    });
  },
};

/** How many times `shout` ran. */
export const shouts = { n: 0 };

export const activities = {
  async shout(s: string, bytes: Uint8Array, nothing: undefined): Promise<{ s: string; n: number; nothing: boolean }> {
    shouts.n++;
    return { s: s.toUpperCase(), n: bytes.length, nothing: nothing === undefined };
  },
};

const acts = wf.proxyActivities<typeof activities>({ startToCloseTimeout: '10s' });

/** Returns its argument. */
export async function echo(v: unknown): Promise<unknown> {
  return v;
}

/** Calls an activity on its arguments, waits for `go`, then returns what the activity returned (after a replay: as journaled). */
export const go = wf.defineSignal('go');
export async function throughActivity(s: string, bytes: Uint8Array): Promise<unknown> {
  let went = false;
  wf.setHandler(go, () => {
    went = true;
  });
  const out = await acts.shout(s, bytes, undefined);
  await wf.condition(() => went);
  return out;
}

/** Fails with an ApplicationFailure caused by an Error, each with its own stack. */
export async function failing(): Promise<never> {
  const cause = new Error('cause error');
  cause.stack = 'cause stack trace';
  const f = new ApplicationFailure('main error', 'Main', true, [{ why: 'details' }], cause);
  f.stack = 'main stack trace';
  throw f;
}
