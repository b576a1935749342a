// An incremental parser of the text/event-stream format (WHATWG HTML, "Server-sent events",
// event stream interpretation): feed it chunks as they arrive, split anywhere (even inside a
// UTF-8 sequence or between CR and LF); it calls back once per dispatched event.

import { ErrTooLarge } from '../gen/errors.js';

/** Default limit of one event's size (all its lines together), in characters. */
export const DEFAULT_SSE_MAX_EVENT = 1 << 20;

/** One dispatched event. */
export interface SSEParsedEvent {
  /** `event:` field, or '' (the default type "message"). */
  event: string;
  /** The `data:` lines joined with '\n'. */
  data: string;
  /** The last event id seen on the stream so far (it persists across events, per the spec). */
  lastEventId: string;
}

/**
 * Parses an event stream. Lines end with CRLF, LF or CR; a leading BOM is skipped; comments
 * (lines starting with ':') are skipped; `retry:` with only digits updates `retry`; an `id:`
 * with NUL is ignored; a blank line dispatches the event when it has data.
 * `feed` throws ErrTooLarge when one event grows beyond `maxEvent` characters (the stream
 * should be closed then).
 */
export class SSEParser {
  /** Last event id (sent back as Last-Event-ID on reconnect). */
  lastEventId = '';
  /** Reconnection time the server asked for (ms), or -1 when it did not. */
  retry = -1;
  readonly #decoder = new TextDecoder('utf-8');
  readonly #onEvent: (e: SSEParsedEvent) => void;
  readonly #maxEvent: number;
  #buf = '';
  #skipLF = false;
  #started = false;
  #event = '';
  #data = '';
  #hasData = false;
  #size = 0;

  constructor(onEvent: (e: SSEParsedEvent) => void, maxEvent = DEFAULT_SSE_MAX_EVENT) {
    this.#onEvent = onEvent;
    this.#maxEvent = maxEvent;
  }

  /** Feeds bytes (or already decoded text). */
  feed(chunk: Uint8Array | string): void {
    let text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    if (!this.#started && text.length > 0) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    const n = text.length;
    if (this.#skipLF && n > 0) {
      this.#skipLF = false;
      if (text.charCodeAt(0) === 10) start = 1;
    }
    for (let i = start; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.#buf + text.slice(start, i);
      this.#buf = '';
      this.#line(line);
      if (c === 13) {
        if (i + 1 < n) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else {
          this.#skipLF = true;
        }
      }
      start = i + 1;
    }
    if (start < n) {
      this.#buf += text.slice(start);
      if (this.#buf.length + this.#size > this.#maxEvent)
        throw ErrTooLarge.with(`SSE event over ${this.#maxEvent} characters`);
    }
  }

  /** The stream ended: an event without its blank line is discarded (per the spec). */
  end(): void {
    this.#buf = '';
    this.#resetEvent();
  }

  #line(line: string): void {
    if (line.length === 0) {
      this.#dispatch();
      return;
    }
    this.#size += line.length;
    if (this.#size > this.#maxEvent) throw ErrTooLarge.with(`SSE event over ${this.#maxEvent} characters`);
    if (line.charCodeAt(0) === 58) return; // ':' comment
    const colon = line.indexOf(':');
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    switch (field) {
      case 'event':
        this.#event = value;
        break;
      case 'data':
        this.#data = this.#hasData ? this.#data + '\n' + value : value;
        this.#hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.retry = Number(value);
        break;
    }
  }

  #dispatch(): void {
    if (!this.#hasData) {
      this.#resetEvent();
      return;
    }
    const e: SSEParsedEvent = { event: this.#event, data: this.#data, lastEventId: this.lastEventId };
    this.#resetEvent();
    this.#onEvent(e);
  }

  #resetEvent(): void {
    this.#event = '';
    this.#data = '';
    this.#hasData = false;
    this.#size = 0;
  }
}
