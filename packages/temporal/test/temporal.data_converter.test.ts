// The data converter (Temporal's `DataConverter`): values kept in the journal as Temporal payloads
// — the default converter's json/plain, binary/plain and binary/null, a payload codec's encoding —
// and failures by a failure converter with their message and stack encoded. Unit checks of the
// converters and of a payload's protobuf bytes (written by hand from protobuf's wire format), then
// workflows on a real node and store: the payloads fetchHistory() shows are the ones the journal
// keeps, the codec runs on the way in and out (also when a restarted Worker replays a body), and a
// failure's chain comes back as Temporal's classes with its message and stack.

import { strict as assert } from 'node:assert';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import { startNode, type Node } from 'ergo-ts';
import { MemoryStore } from '@ergo-ts/entities';

import {
  ApplicationFailure,
  Client,
  Connection,
  WorkflowFailedError,
  type WorkflowHandle,
} from '../src/client/index.js';
import {
  DefaultFailureConverter,
  ValueError,
  defaultPayloadConverter,
  fromEncoded,
  loadDataConverter,
  toEncoded,
  type DataConverter,
  type Payload,
} from '../src/common/index.js';
import { decode, encode } from '../src/common/lib/encoding.js';
import { JSONToPayload } from '../src/common/lib/proto-utils.js';
import * as proto from '../src/proto/index.js';
import { DataBlob, EncodingType, Payload as ProtoPayload } from '../src/proto/index.js';
import { ProtobufBinaryPayloadConverter } from '../src/common/lib/protobufs.js';
import { waitForEvent } from '../src/features/harness.js';
import { Worker } from '../src/worker/index.js';
import * as workflows from './converter_workflows.js';

const text = (b: Uint8Array | null | undefined): string => decode(b ?? new Uint8Array());

test('the default payload converter: undefined as binary/null, bytes as binary/plain, the rest as json/plain', () => {
  const none = defaultPayloadConverter.toPayload(undefined);
  assert.equal(text(none.metadata?.encoding), 'binary/null');
  assert.equal('data' in none, false, 'binary/null has no data');
  const bytes = defaultPayloadConverter.toPayload(new Uint8Array([0xde, 0xad]));
  assert.equal(text(bytes.metadata?.encoding), 'binary/plain');
  assert.deepEqual([...bytes.data!], [0xde, 0xad]);
  const json = defaultPayloadConverter.toPayload({ spec: true });
  assert.equal(text(json.metadata?.encoding), 'json/plain');
  assert.equal(text(json.data), '{"spec":true}');
  assert.deepEqual(defaultPayloadConverter.fromPayload(json), { spec: true });
  assert.deepEqual(defaultPayloadConverter.fromPayload<Uint8Array>(bytes), new Uint8Array([0xde, 0xad]));
  assert.equal(defaultPayloadConverter.fromPayload(none), undefined);
  assert.throws(() => defaultPayloadConverter.toPayload(() => 1), ValueError);
  assert.throws(() => defaultPayloadConverter.fromPayload({ metadata: { encoding: encode('x/y') } }), ValueError);
});

test("a payload's protobuf bytes, as protobuf's wire format writes map<string, bytes> = 1 and bytes = 2", () => {
  const p = defaultPayloadConverter.toPayload(1);
  const entry = [0x0a, 8, ...encode('encoding'), 0x12, 10, ...encode('json/plain')];
  const expected = [0x0a, entry.length, ...entry, 0x12, 1, 0x31];
  assert.deepEqual([...ProtoPayload.encode(p).finish()], expected);
  const back = ProtoPayload.decode(Uint8Array.from([...expected, 0x18, 0x05])); // field 3 (a varint) skipped
  assert.equal(text(back.metadata.encoding), 'json/plain');
  assert.equal(text(back.data), '1');
  assert.deepEqual(back.toJSON(), {
    metadata: { encoding: Buffer.from('json/plain').toString('base64') },
    data: 'MQ==',
  });
  assert.throws(() => ProtoPayload.decode(Uint8Array.from(expected.slice(0, 5))), RangeError);
  assert.deepEqual(JSONToPayload(back.toJSON()), back);
});

test("binary/protobuf: a DataBlob's protobuf bytes (encoding_type = 1 varint, data = 2), its messageType, looked up in the root", () => {
  const blob = DataBlob.create({ encodingType: EncodingType.ENCODING_TYPE_PROTO3, data: new Uint8Array([0xde, 0xad]) });
  assert.deepEqual([...DataBlob.encode(blob).finish()], [0x08, 0x01, 0x12, 0x02, 0xde, 0xad]);
  assert.deepEqual([...DataBlob.encode(DataBlob.create({ data: new Uint8Array([1]) })).finish()], [0x12, 0x01, 0x01]);
  const c = new ProtobufBinaryPayloadConverter(proto);
  const p = c.toPayload(blob)!;
  assert.equal(text(p.metadata?.encoding), 'binary/protobuf');
  assert.equal(text(p.metadata?.messageType), 'temporal.api.common.v1.DataBlob');
  const back = c.fromPayload<DataBlob>(p);
  assert.ok(back instanceof DataBlob);
  assert.equal(back.encodingType, 1);
  assert.deepEqual([...back.data], [0xde, 0xad]);
  assert.equal(c.toPayload({ plain: true }), undefined, 'not a message: the next converter takes it');
  assert.throws(
    () => c.fromPayload({ metadata: { ...p.metadata, messageType: encode('no.Such') }, data: p.data! }),
    ValueError,
  );
  const skipped = DataBlob.decode(Uint8Array.from([0x1a, 0x01, 0x00, 0x08, 0x02])); // field 3 (bytes) skipped
  assert.equal(skipped.encodingType, 2);
});

test('encodeCommonAttributes: each level shows "Encoded failure" and keeps its message and stack in a payload', () => {
  const fc = new DefaultFailureConverter({ encodeCommonAttributes: true });
  const cause = new Error('inner');
  cause.stack = 'inner stack';
  const f = fc.errorToFailure(new ApplicationFailure('outer', 'T', true, [7], cause), defaultPayloadConverter);
  assert.equal(f.message, 'Encoded failure');
  assert.equal(f.stackTrace, '');
  assert.equal(JSON.parse(text(f.encodedAttributes?.data)).message, 'outer');
  assert.equal(f.cause?.message, 'Encoded failure');
  assert.equal(JSON.parse(text(f.cause?.encodedAttributes?.data)).stack_trace, 'inner stack');
  const back = fc.failureToError(f, defaultPayloadConverter);
  assert.ok(back instanceof ApplicationFailure);
  assert.equal(back.message, 'outer');
  assert.equal(back.type, 'T');
  assert.deepEqual(back.details, [7]);
  assert.ok(back.cause instanceof ApplicationFailure, 'a plain Error comes back as an ApplicationFailure of its name');
  assert.equal(back.cause.message, 'inner');
  assert.equal(back.cause.type, 'Error');
  assert.equal(back.cause.stack, 'inner stack');
});

test('loadDataConverter: codecs run first to last on the way out, last to first on the way in; bad input refused with a code', async () => {
  const order: string[] = [];
  const tag = (name: string) => ({
    encode: async (ps: Payload[]) => (
      order.push(`e${name}`),
      ps.map((p) => ({ ...p, metadata: { ...p.metadata, [name]: encode(name) } }))
    ),
    decode: async (ps: Payload[]) => (order.push(`d${name}`), ps),
  });
  const dc = await loadDataConverter({ payloadCodecs: [tag('a'), tag('b')] });
  const [p] = await toEncoded(dc, ['x']);
  assert.deepEqual(Object.keys(p!.metadata!), ['encoding', 'a', 'b']);
  assert.deepEqual(await fromEncoded(dc, [p!]), ['x']);
  assert.deepEqual(order, ['ea', 'eb', 'db', 'da']);
  await assert.rejects(loadDataConverter({ payloadCodecs: [{} as never] }), { code: 'ERR_TEMPORAL_INCORRECT' });
  await assert.rejects(
    loadDataConverter({ failureConverterPath: fileURLToPath(new URL('./workflows.js', import.meta.url)) }),
    {
      code: 'ERR_TEMPORAL_INCORRECT',
    },
  );
});

let node: Node;
let connection: Connection;
let client: Client;
let worker: Worker;
let running: Promise<void>;
const dataConverter: DataConverter = {
  payloadCodecs: [workflows.base64Codec],
  failureConverterPath: fileURLToPath(new URL('./converter_workflows.js', import.meta.url)),
};

async function startWorker(): Promise<void> {
  worker = await Worker.create({
    connection,
    workflows,
    activities: workflows.activities,
    taskQueue: 'dc',
    dataConverter,
  });
  running = worker.run();
}

before(async () => {
  node = await startNode(`tdc${process.pid}@localhost`, { log: { level: 'error' } });
  connection = await Connection.connect({ node, store: new MemoryStore(), entitiesOptions: { stopTimeoutMs: 1_000 } });
  client = new Client({ connection, dataConverter });
  await startWorker();
});

after(async () => {
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await running;
  await node.stop();
  Connection.forget(connection.address);
});

/** The inner payload of a payload the codec wrapped. */
function inner(p: Payload | undefined): ProtoPayload {
  assert.equal(text(p?.metadata?.encoding), 'my-encoding', 'the journal keeps what the codec wrote');
  return ProtoPayload.decode(Buffer.from(text(p?.data), 'base64'));
}

async function events(h: WorkflowHandle) {
  return (await h.fetchHistory()).events;
}

test('an echo through the codec: the journal keeps the encoded payloads, the client gets the value', async () => {
  const h = await client.workflow.start(workflows.echo, {
    workflowId: 'dc-echo',
    taskQueue: 'dc',
    args: [{ spec: true }],
  });
  assert.deepEqual(await h.result(), { spec: true });
  const ev = await events(h);
  const arg = inner(ev[0]?.workflowExecutionStartedEventAttributes?.input.payloads[0]);
  const res = inner(
    ev.find((e) => e.workflowExecutionCompletedEventAttributes)?.workflowExecutionCompletedEventAttributes?.result
      .payloads[0],
  );
  assert.equal(text(res.metadata.encoding), 'json/plain');
  assert.deepEqual(JSON.parse(text(res.data)), { spec: true });
  assert.deepEqual(res.toJSON(), arg.toJSON());
  const raw = (await h.describe()).raw.input as { payloads: Payload[] };
  assert.equal(
    text(raw.payloads[0]!.metadata!.encoding),
    'my-encoding',
    'the engine keeps the payloads, not the value',
  );
});

test("an activity's input and result are payloads; a restarted Worker replays the body and decodes the journaled result", async () => {
  const h = await client.workflow.start(workflows.throughActivity, {
    workflowId: 'dc-act',
    taskQueue: 'dc',
    args: ['hi', new Uint8Array([1, 2, 3])],
  });
  // The activity's result journaled before the Worker stops: the next one replays it, not runs it.
  await waitForEvent(
    () => events(h),
    (e) => e.activityTaskCompletedEventAttributes !== undefined,
  );
  const ev = await events(h);
  const scheduled = ev.find((e) => e.activityTaskScheduledEventAttributes)?.activityTaskScheduledEventAttributes;
  const input = scheduled?.input?.payloads.map(inner) ?? [];
  assert.deepEqual(
    input.map((p) => text(p.metadata.encoding)),
    ['json/plain', 'binary/plain', 'binary/null'],
  );
  worker.shutdown();
  await running;
  const decodedBefore = workflows.codecRuns.decoded;
  await startWorker();
  await h.signal(workflows.go);
  assert.deepEqual(await h.result(), { s: 'HI', n: 3, nothing: true });
  assert.ok(workflows.codecRuns.decoded > decodedBefore, 'the replay decoded the journaled payloads');
  assert.equal(workflows.shouts.n, 1, 'the activity ran once: the replay took its journaled result');
});

test('a failure chain: the client gets ApplicationFailure ← its cause with messages and stacks; the history shows them encoded', async () => {
  const h = await client.workflow.start(workflows.failing, { workflowId: 'dc-fail', taskQueue: 'dc' });
  await assert.rejects(h.result(), (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError);
    const f = err.cause;
    assert.ok(f instanceof ApplicationFailure, String(f));
    assert.equal(f.message, 'main error');
    assert.equal(f.type, 'Main');
    assert.equal(f.nonRetryable, true);
    assert.equal(f.stack, 'main stack trace');
    assert.deepEqual(f.details, [{ why: 'details' }]);
    assert.ok(f.cause instanceof ApplicationFailure);
    assert.equal(f.cause.message, 'cause error');
    assert.equal(f.cause.stack, 'cause stack trace');
    return true;
  });
  const failure = (await events(h)).find((e) => e.workflowExecutionFailedEventAttributes)
    ?.workflowExecutionFailedEventAttributes?.failure;
  assert.equal(failure?.message, 'Encoded failure');
  assert.equal(failure?.stackTrace, '');
  const attrs = inner(failure?.encodedAttributes ?? undefined);
  assert.deepEqual(JSON.parse(text(attrs.data)), { message: 'main error', stack_trace: 'main stack trace' });
  assert.equal(failure?.cause?.message, 'Encoded failure');
  // The engine's own description shows the chain it keeps (the encoded form: the codec hides the rest).
  const d = (await h.describe()).raw;
  assert.equal(d.error?.name, 'ApplicationFailure');
  assert.equal(d.error?.cause?.name, 'ApplicationFailure');
});
