// Server-Sent Events (issue 11 "SSE"; EXTRAS §7 SSE; ERGO-API extra-library sse rows): the
// event-stream parser against the WHATWG rules (every split point, CR/LF/CRLF, BOM, comments,
// retry, ids, size limit); the server handler with Node's fetch and http as clients (headers,
// `: connected`, events with type/id/retry/multi-line data, 406, Last-Event-ID, disconnects both
// ways, round-robin pool, heartbeats); the client meta against the server (events as messages,
// reconnect with Last-Event-ID, bad endpoints).

import { strict as assert } from 'node:assert';
import http from 'node:http';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';

import { MessageDownAlias, TerminateReasonNormal, type Alias } from '../src/index.js';
import {
  MessageSSE,
  MessageSSEConnect,
  MessageSSEDisconnect,
  MessageSSELastEventID,
  SSEHandler,
  SSEParser,
  WebMux,
  createSSEConnection,
  createWebServer,
  formatSSEEvent,
  type SSEParsedEvent,
  type WebServer,
} from '../src/meta/index.js';
import { exec, guardUnhandled, rejectsCode, spawnTest, throwsCode, within, type Inbox } from './lifecycle_helpers.js';
import { startHost, type Host } from './web_helpers.js';

guardUnhandled();

function parseAll(chunks: (string | Uint8Array)[]): { events: SSEParsedEvent[]; parser: SSEParser } {
  const events: SSEParsedEvent[] = [];
  const parser = new SSEParser((e) => events.push(e));
  for (const c of chunks) parser.feed(c);
  return { events, parser };
}

describe('SSE event-stream parser', () => {
  const stream =
    '\uFEFF: a comment\r\n' +
    'event: tick\r\nid: 1\r\ndata: first\r\ndata: second line\r\n\r\n' +
    'data:no space\rretry: 250\r\r' +
    'id: 2\nevent: x\n\n' + // no data: not dispatched, but the id sticks
    'data\n\n' + // a field name alone: empty data
    'retry: 12x\nid: bad\0id\ndata: é😀\n\n' +
    'data: unterminated';
  const expected: SSEParsedEvent[] = [
    { event: 'tick', data: 'first\nsecond line', lastEventId: '1' },
    { event: '', data: 'no space', lastEventId: '1' },
    { event: '', data: '', lastEventId: '2' },
    { event: '', data: 'é😀', lastEventId: '2' },
  ];

  test('one chunk: fields, comments, BOM, CR/LF/CRLF, ids that persist, retry, no-data blocks', () => {
    const { events, parser } = parseAll([stream]);
    assert.deepEqual(events, expected);
    assert.equal(parser.retry, 250);
    assert.equal(parser.lastEventId, '2');
  });

  test('split at every byte position gives the same events', () => {
    const bytes = Buffer.from(stream, 'utf8');
    for (let i = 0; i <= bytes.length; i++) {
      const { events } = parseAll([bytes.subarray(0, i), bytes.subarray(i)]);
      assert.deepEqual(events, expected, `split at ${i}`);
    }
    // and byte by byte
    const { events } = parseAll([...bytes].map((b) => Uint8Array.of(b)));
    assert.deepEqual(events, expected);
  });

  test('an event over maxEvent throws ErrTooLarge', () => {
    const p = new SSEParser(() => undefined, 64);
    throwsCode(() => p.feed('data: ' + 'x'.repeat(100)), 'ERR_TOO_LARGE');
    const q = new SSEParser(() => undefined, 64);
    throwsCode(() => {
      for (let i = 0; i < 20; i++) q.feed('data: 12345\n');
    }, 'ERR_TOO_LARGE');
  });

  test('formatSSEEvent writes what the parser reads back, and refuses forged fields', () => {
    const m = new MessageSSE({ event: 'update', eventId: '42', retry: 1500, data: 'a\nb\r\nc' });
    assert.equal(formatSSEEvent(m), 'event: update\nid: 42\nretry: 1500\ndata: a\ndata: b\ndata: c\n\n');
    assert.equal(formatSSEEvent(new MessageSSE({})), 'data:\n\n');
    const { events, parser } = parseAll([formatSSEEvent(m)]);
    assert.deepEqual(events, [{ event: 'update', data: 'a\nb\nc', lastEventId: '42' }]);
    assert.equal(parser.retry, 1500);
    throwsCode(() => formatSSEEvent(new MessageSSE({ event: 'a\ndata: forged' })), 'ERR_INCORRECT');
    throwsCode(() => formatSSEEvent(new MessageSSE({ eventId: '1\r2' })), 'ERR_INCORRECT');
    throwsCode(() => formatSSEEvent(new MessageSSE({ retry: -5 })), 'ERR_INCORRECT');
  });
});

/** An open stream read with node:http: the raw text so far, and a way to wait for more. */
class RawStream {
  text = '';
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  ended = false;
  #waiters: { until: string; resolve: () => void }[] = [];
  #endWaiters: (() => void)[] = [];
  req!: http.ClientRequest;

  static open(url: string, headers: Record<string, string> = {}): Promise<RawStream> {
    const s = new RawStream();
    return new Promise((resolve, reject) => {
      s.req = http.get(url, { agent: false, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        s.status = res.statusCode ?? 0;
        s.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          s.text += c;
          s.#waiters = s.#waiters.filter((w) => (s.text.includes(w.until) ? (w.resolve(), false) : true));
        });
        res.on('close', () => {
          s.ended = true;
          for (const r of s.#endWaiters) r();
        });
        resolve(s);
      });
      s.req.on('error', reject);
    });
  }

  /** Resolves once the text contains `what`. */
  until(what: string): Promise<void> {
    if (this.text.includes(what)) return Promise.resolve();
    return within(new Promise<void>((resolve) => this.#waiters.push({ until: what, resolve })), JSON.stringify(what));
  }

  end(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return within(new Promise<void>((resolve) => this.#endWaiters.push(resolve)), 'stream end');
  }

  close(): void {
    this.req.destroy();
  }
}

describe('SSE server handler and client meta', () => {
  let host: Host;
  let server: WebServer;
  let base = '';
  const mux = new WebMux();

  before(async () => {
    host = await startHost();
    const h = new SSEHandler({ heartbeat: 0 });
    mux.handle('/events', h);
    await host.spawnMeta(h);
    server = await createWebServer({ host: '127.0.0.1', port: 0, handler: mux });
    await host.spawnMeta(server);
    base = server.url;
  });
  after(async () => {
    await host.node.stop();
  });

  test('a client stream: headers, `: connected`, events with type, id, retry and multi-line data; closing ends the meta', async () => {
    const s = await RawStream.open(base + '/events');
    assert.equal(s.status, 200);
    assert.match(String(s.headers['content-type']), /^text\/event-stream/);
    assert.equal(s.headers['cache-control'], 'no-cache');
    assert.equal(s.headers['x-accel-buffering'], 'no');
    await s.until(': connected\n\n');
    const { message: c, from } = await host.inbox.message(MessageSSEConnect);
    assert.ok(from.equals(host.pid));
    assert.equal(c.request?.url, '/events');
    assert.equal(c.remoteAddress, '127.0.0.1');
    await exec(host.node, host.pid, (a) => {
      a.send(c.id, new MessageSSE({ event: 'tick', eventId: '7', retry: 100, data: 'one\ntwo' }));
      a.send(c.id, new MessageSSE({ data: 'plain' }));
      a.send(c.id, new MessageSSE({ event: 'bad\nevent' })); // logged and dropped
      a.send(c.id, new MessageSSE({ data: 'after' }));
    });
    await s.until('data: after\n\n');
    assert.equal(
      s.text,
      ': connected\n\nevent: tick\nid: 7\nretry: 100\ndata: one\ndata: two\n\ndata: plain\n\ndata: after\n\n',
    );
    const insp = await exec(host.node, host.pid, (a) => a.inspectMeta(c.id));
    assert.equal(insp['events'], '3');

    // the client goes away: Disconnect, and the connection meta is gone
    await exec(host.node, host.pid, (a) => a.monitorAlias(c.id));
    s.close();
    const d = await host.inbox.message(MessageSSEDisconnect);
    assert.ok(d.message.id.equals(c.id));
    const down = await host.inbox.message(MessageDownAlias);
    assert.ok(down.message.alias.equals(c.id));
  });

  test('406 for an Accept that excludes event streams; Last-Event-ID is delivered after connect', async () => {
    const r = await fetch(base + '/events', { headers: { accept: 'application/json' } });
    assert.equal(r.status, 406);
    await r.arrayBuffer();

    const s = await RawStream.open(base + '/events', { 'last-event-id': '41' });
    const { message: c } = await host.inbox.message(MessageSSEConnect);
    const { message: l } = await host.inbox.message(MessageSSELastEventID);
    assert.ok(l.id.equals(c.id));
    assert.equal(l.lastEventId, '41');
    // the server ends the stream: the client sees the end, the process a Disconnect
    await exec(host.node, host.pid, (a) => a.sendExitMeta(c.id, TerminateReasonNormal));
    await s.end();
    await host.inbox.message(MessageSSEDisconnect);
  });

  test('connections go round-robin to a process pool; heartbeats reach idle streams', async () => {
    const one = await spawnTest(host.node, { name: 'sse_one' });
    const two = await spawnTest(host.node, { name: 'sse_two' });
    const h = new SSEHandler({ processPool: ['sse_one', 'sse_two'], heartbeat: 10 });
    mux.handle('/pooled', h);
    await host.spawnMeta(h);
    const streams: RawStream[] = [];
    for (let i = 0; i < 4; i++) streams.push(await RawStream.open(base + '/pooled'));
    const counted = async (inbox: Inbox): Promise<number> => {
      await inbox.message(MessageSSEConnect);
      await inbox.message(MessageSSEConnect);
      return inbox.messages().filter((m) => m instanceof MessageSSEConnect).length;
    };
    assert.equal(await counted(one.inbox), 2);
    assert.equal(await counted(two.inbox), 2);
    await streams[0]!.until(': heartbeat\n\n');
    for (const s of streams) s.close();
    await one.inbox.message(MessageSSEDisconnect);
    await two.inbox.message(MessageSSEDisconnect);
  });

  test('100 streams opened and closed leave no connection meta behind', async () => {
    const metas = (): Set<string> => new Set(host.node.processInfo(host.pid).metas.map(String));
    for (let round = 0; round < 2; round++) {
      const streams = await Promise.all(Array.from({ length: 50 }, () => RawStream.open(base + '/events')));
      const ids: Alias[] = [];
      for (let i = 0; i < 50; i++) ids.push((await host.inbox.message(MessageSSEConnect)).message.id);
      const open = metas();
      assert.ok(
        ids.every((id) => open.has(String(id))),
        'every stream is a meta of the host',
      );
      await exec(host.node, host.pid, (a) => ids.forEach((id) => a.monitorAlias(id)));
      for (const s of streams) s.close();
      for (let i = 0; i < 50; i++) await host.inbox.message(MessageSSEDisconnect);
      for (let i = 0; i < 50; i++) await host.inbox.message(MessageDownAlias);
      const left = metas();
      assert.deepEqual(
        ids.filter((id) => left.has(String(id))),
        [],
        'no stream meta left',
      );
    }
  });

  test('compression: a gzip stream, flushed after every event, for clients that accept it', async () => {
    const h = new SSEHandler({ heartbeat: 0, compression: true });
    mux.handle('/gz', h);
    await host.spawnMeta(h);
    const gunzip = zlib.createGunzip();
    let text = '';
    gunzip.setEncoding('utf8');
    const got = new Promise<void>((resolve) =>
      gunzip.on('data', (c: string) => {
        text += c;
        if (text.includes('data: zipped\n\n')) resolve();
      }),
    );
    const req = http.get(
      base + '/gz',
      { agent: false, headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip' } },
      (res) => {
        assert.equal(res.headers['content-encoding'], 'gzip');
        res.pipe(gunzip);
      },
    );
    const { message: c } = await host.inbox.message(MessageSSEConnect);
    await exec(host.node, host.pid, (a) => a.send(c.id, new MessageSSE({ event: 'z', data: 'zipped' })));
    await within(got, 'the gzip-compressed event');
    assert.equal(text, ': connected\n\nevent: z\ndata: zipped\n\n');
    req.destroy();
    await host.inbox.message(MessageSSEDisconnect);

    // a client without gzip gets plain text from the same handler
    const plain = await RawStream.open(base + '/gz');
    assert.equal(plain.headers['content-encoding'], undefined);
    await plain.until(': connected\n\n');
    await host.inbox.message(MessageSSEConnect);
    plain.close();
    await host.inbox.message(MessageSSEDisconnect);
  });

  test('the client meta reads events into messages and reconnects with Last-Event-ID', async () => {
    const reader = await spawnTest(host.node);
    const client = await createSSEConnection({ url: base + '/events', reconnect: true, reconnectInterval: 5000 });
    const clientId = await exec(host.node, reader.pid, (a) => a.spawnMeta(client));

    const { message: c1 } = await host.inbox.message(MessageSSEConnect);
    const { message: rc } = await reader.inbox.message(MessageSSEConnect);
    assert.ok(rc.id.equals(clientId));
    assert.equal(rc.request, null);
    await exec(host.node, host.pid, (a) => {
      a.send(c1.id, new MessageSSE({ event: 'price', eventId: 'e1', data: '10\n11', retry: 20 }));
      a.send(c1.id, new MessageSSE({ eventId: 'e2', data: '12' }));
    });
    const { message: m1 } = await reader.inbox.message(MessageSSE);
    assert.deepEqual([m1.event, m1.data, m1.eventId], ['price', '10\n11', 'e1']);
    assert.ok(m1.id?.equals(clientId));
    const { message: m2 } = await reader.inbox.message(MessageSSE);
    assert.deepEqual([m2.event, m2.data, m2.eventId], ['', '12', 'e2']);

    // the server drops the stream; the client (retry: 20 from the server) dials again with Last-Event-ID: e2
    await exec(host.node, host.pid, (a) => a.sendExitMeta(c1.id, TerminateReasonNormal));
    await reader.inbox.message(MessageSSEDisconnect);
    const { message: c2 } = await host.inbox.message(MessageSSEConnect);
    assert.equal(c2.request?.headers['last-event-id'], 'e2');
    const { message: l } = await host.inbox.message(MessageSSELastEventID);
    assert.equal(l.lastEventId, 'e2');
    await reader.inbox.message(MessageSSEConnect);
    await exec(host.node, host.pid, (a) => a.send(c2.id, new MessageSSE({ eventId: 'e3', data: 'resumed' })));
    const { message: m3 } = await reader.inbox.message(MessageSSE);
    assert.equal(m3.data, 'resumed');
    const insp = await exec(host.node, reader.pid, (a) => a.inspectMeta(clientId));
    assert.equal(insp['last_event_id'], 'e3');
    assert.equal(insp['reconnects'], '1');

    // ending the client meta closes its stream: the server side sees the disconnect
    await exec(host.node, reader.pid, (a) => a.sendExitMeta(clientId, TerminateReasonNormal));
    await reader.inbox.message(MessageSSEDisconnect);
    await host.inbox.message(MessageSSEDisconnect);
  });

  test('the client meta without reconnect ends with the stream; bad endpoints fail at creation', async () => {
    const reader = await spawnTest(host.node);
    const client = await createSSEConnection({ url: base + '/events' });
    const clientId = await exec(host.node, reader.pid, (a) => {
      const id = a.spawnMeta(client);
      a.monitorAlias(id);
      return id;
    });
    const { message: c } = await host.inbox.message(MessageSSEConnect);
    await exec(host.node, host.pid, (a) => a.sendExitMeta(c.id, TerminateReasonNormal));
    await reader.inbox.message(MessageSSEDisconnect);
    const down = await reader.inbox.message(MessageDownAlias);
    assert.ok(down.message.alias.equals(clientId));
    assert.equal(down.message.reason, TerminateReasonNormal);
    await host.inbox.message(MessageSSEDisconnect);

    await rejectsCode(createSSEConnection({ url: base + '/missing' }), 'ERR_MALFORMED');
    await rejectsCode(createSSEConnection({ url: 'ftp://example.invalid/' }), 'ERR_INCORRECT');
    await rejectsCode(createSSEConnection({ url: 'not a url' }), 'ERR_INCORRECT');
    await rejectsCode(createSSEConnection({ url: 'http://127.0.0.1:1/' }), 'ECONNREFUSED');
  });
});
