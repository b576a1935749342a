// Protobuf messages in proto3 JSON: the mapping over this package's proto reflection
// (`@ergo-ts/temporal/proto3-json-serializer`), `patchProtobufRoot`'s `lookupType`, and
// ProtobufJsonPayloadConverter (json/protobuf) — alone, and as a workflow's payload converter on a
// real node and store, where the history shows the journaled argument and result in proto3 JSON.

import { strict as assert } from 'node:assert';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import { startNode, type Node } from 'ergo-ts';
import { MemoryStore } from '@ergo-ts/entities';

import { Client, Connection } from '../src/client/index.js';
import { decode, encode } from '../src/common/lib/encoding.js';
import { ProtobufJsonPayloadConverter } from '../src/common/lib/protobufs.js';
import * as proto from '../src/proto/index.js';
import { DataBlob, EncodingType, Payload as ProtoPayload } from '../src/proto/index.js';
import { patchProtobufRoot } from '../src/proto/lib/patch-protobuf-root.js';
import { fromProto3JSON, toProto3JSON } from '../src/proto/proto3_json.js';
import { Worker } from '../src/worker/index.js';
import * as workflows from './converter_workflows.js';

const root = patchProtobufRoot(proto);
const dataBlobType = root.lookupType('temporal.api.common.v1.DataBlob');
const bytes = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);

test('lookupType: the reflection of DataBlob and Payload by full name (leading dot or not); unknown names refused with a code', () => {
  assert.equal(dataBlobType, DataBlob.$type);
  assert.equal(root.lookupType('.temporal.api.common.v1.Payload'), ProtoPayload.$type);
  assert.deepEqual(
    dataBlobType.fields.map((f) => [f.id, f.name, f.protoName]),
    [
      [1, 'encodingType', 'encoding_type'],
      [2, 'data', 'data'],
    ],
  );
  assert.equal(root.temporal, proto.temporal, 'the patched root keeps the namespaces');
  assert.throws(() => root.lookupType('temporal.api.common.v1.Nope'), { code: 'ERR_PROTO_UNKNOWN_TYPE' });
  assert.throws(() => root.lookupType('temporal.api.enums.v1.EncodingType'), { code: 'ERR_PROTO_UNKNOWN_TYPE' });
});

test('proto3 JSON of a DataBlob: enum by name, bytes as base64, lowerCamelCase; back to a DataBlob', () => {
  const m = DataBlob.create({ encodingType: EncodingType.ENCODING_TYPE_JSON, data: bytes });
  const json = toProto3JSON(m);
  assert.deepEqual(json, { encodingType: 'ENCODING_TYPE_JSON', data: '3q2+7w==' });
  const back = fromProto3JSON(DataBlob.$type, JSON.parse(JSON.stringify(json)));
  assert.ok(back instanceof DataBlob);
  assert.equal(back.encodingType, EncodingType.ENCODING_TYPE_JSON);
  assert.deepEqual([...back.data], [...bytes]);
  // A parser takes the .proto name, an enum's number, URL-safe base64 without padding.
  const alt = fromProto3JSON(DataBlob.$type, { encoding_type: 1, data: '3q2-7w' });
  assert.equal(alt.encodingType, EncodingType.ENCODING_TYPE_PROTO3);
  assert.deepEqual([...alt.data], [...bytes]);
});

test('proto3 JSON leaves out fields at their default; absent or null fields come back as defaults', () => {
  assert.deepEqual(toProto3JSON(DataBlob.create({ encodingType: 0, data: new Uint8Array() })), {});
  assert.deepEqual(toProto3JSON(DataBlob.create({ data: bytes })), { data: '3q2+7w==' });
  const empty = fromProto3JSON(DataBlob.$type, { encodingType: null });
  assert.equal(empty.encodingType, 0);
  assert.equal(empty.data.length, 0);
  // An enum number the enum does not name stays a number.
  assert.deepEqual(toProto3JSON(DataBlob.create({ encodingType: 9 })), { encodingType: 9 });
});

test('proto3 JSON of a Payload: its map<string, bytes> as an object of base64 strings', () => {
  const p = ProtoPayload.create({ metadata: { encoding: encode('json/plain') }, data: encode('1') });
  // A Payload instance has no `$type` (so the protobuf converters leave it to the others): the type is given.
  const json = toProto3JSON(p, ProtoPayload.$type);
  assert.deepEqual(json, { metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'MQ==' });
  const back = fromProto3JSON(ProtoPayload.$type, json);
  assert.ok(back instanceof ProtoPayload);
  assert.equal(decode(back.metadata.encoding!), 'json/plain');
  assert.deepEqual(toProto3JSON(ProtoPayload.create(), ProtoPayload.$type), {});
});

test('bad proto3 JSON is refused with a code', () => {
  const bad = (json: unknown) =>
    assert.throws(() => fromProto3JSON(dataBlobType, json as never), { code: 'ERR_PROTO3_JSON' });
  bad([]);
  bad('x');
  bad({ nope: 1 });
  bad({ encodingType: 'ENCODING_TYPE_XML' });
  bad({ encodingType: 1.5 });
  bad({ data: 42 });
  bad({ data: 'not base64!' });
  bad({ encodingType: 1, encoding_type: 2 });
  assert.throws(() => toProto3JSON({}), { code: 'ERR_PROTO3_JSON' });
  assert.throws(() => toProto3JSON(DataBlob.create({ data: 'str' as never })), { code: 'ERR_PROTO3_JSON' });
});

test('ProtobufJsonPayloadConverter: json/protobuf with messageType; decoded back to the class; non-messages left to others', () => {
  const c = new ProtobufJsonPayloadConverter(proto);
  const m = DataBlob.create({ encodingType: EncodingType.ENCODING_TYPE_PROTO3, data: bytes });
  const p = c.toPayload(m);
  assert.ok(p);
  assert.equal(decode(p.metadata!.encoding!), 'json/protobuf');
  assert.equal(decode(p.metadata!.messageType!), 'temporal.api.common.v1.DataBlob');
  assert.deepEqual(JSON.parse(decode(p.data!)), { encodingType: 'ENCODING_TYPE_PROTO3', data: '3q2+7w==' });
  const back = c.fromPayload<DataBlob>(p);
  assert.ok(back instanceof DataBlob);
  assert.deepEqual(
    back,
    DataBlob.create({ encodingType: m.encodingType, data: Buffer.from(bytes) }),
    'bytes decode as Buffers',
  );
  assert.equal(c.toPayload({ plain: true }), undefined);
  assert.throws(() => c.fromPayload({ metadata: {}, data: p.data }), { name: 'ValueError' });
  assert.throws(() => c.fromPayload({ metadata: { messageType: encode('x.Y') }, data: p.data }), {
    name: 'ValueError',
  });
  assert.throws(() => new ProtobufJsonPayloadConverter(undefined), { name: 'ValueError' });
});

let node: Node;
let connection: Connection;
let client: Client;
let worker: Worker;
let running: Promise<void>;
const dataConverter = {
  payloadConverterPath: fileURLToPath(new URL('./proto_json_converter.js', import.meta.url)),
};

before(async () => {
  node = await startNode(`tpj${process.pid}@localhost`, { log: { level: 'error' } });
  connection = await Connection.connect({ node, store: new MemoryStore(), entitiesOptions: { stopTimeoutMs: 1_000 } });
  client = new Client({ connection, dataConverter });
  worker = await Worker.create({ connection, workflows, taskQueue: 'pj', dataConverter });
  running = worker.run();
});

after(async () => {
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await running;
  await node.stop();
  Connection.forget(connection.address);
});

test("a workflow's DataBlob argument and result: json/protobuf in the journal, a DataBlob at the client", async () => {
  const arg = DataBlob.create({ encodingType: EncodingType.ENCODING_TYPE_JSON, data: bytes });
  const decoded = DataBlob.create({ encodingType: EncodingType.ENCODING_TYPE_JSON, data: Buffer.from(bytes) });
  const h = await client.workflow.start(workflows.echo, { workflowId: 'pj-echo', taskQueue: 'pj', args: [arg] });
  const result = await h.result();
  assert.ok(result instanceof DataBlob);
  assert.deepEqual(result, decoded);
  const ev = (await h.fetchHistory()).events;
  const started = ev[0]?.workflowExecutionStartedEventAttributes?.input.payloads[0];
  const done = ev.find((e) => e.workflowExecutionCompletedEventAttributes)?.workflowExecutionCompletedEventAttributes
    ?.result.payloads[0];
  for (const p of [started, done]) {
    assert.equal(decode(p!.metadata!.encoding!), 'json/protobuf');
    assert.equal(decode(p!.metadata!.messageType!), 'temporal.api.common.v1.DataBlob');
    assert.deepEqual(JSON.parse(decode(p!.data!)), { encodingType: 'ENCODING_TYPE_JSON', data: '3q2+7w==' });
    assert.deepEqual(fromProto3JSON(dataBlobType, JSON.parse(decode(p!.data!))), decoded);
  }
  // A value that is not a message still goes as json/plain.
  const h2 = await client.workflow.start(workflows.echo, { workflowId: 'pj-plain', taskQueue: 'pj', args: [{ a: 1 }] });
  assert.deepEqual(await h2.result(), { a: 1 });
});
