// The windowed send pair (sender → counting receiver) in 8 distinct actor classes, for the
// "local send, 8 actor classes" row. Real applications run many actor classes through the same
// engine loop; with one class every call site in that loop sees one shape and one target, which
// a benchmark with a single pair rewards unrealistically. Each class below has its own
// handleMessage (its own function literal, so V8 gives it its own SharedFunctionInfo and
// feedback), as separately written actors would; only the set-up lives in shared base classes.
// A factory returning class expressions would not do: closures of one literal share code and
// feedback, so the call sites would not see 8 distinct targets.
//
// Protocol (as the windowed send row): on "go" the sender sends `window` chunks of `chunk` small
// integers; the receiver acks every `every` messages and each ack releases the next chunk; the
// receiver calls `done` when it has counted `total`.

import { Actor, type PID } from 'ergo-ts';

export const GO = 'go';
export const ACK = 'ack';

function noop(): void {}

/** Set-up shared by the counting receivers (never on the message path). */
export abstract class CountingReceiver extends Actor {
  protected n = 0;
  protected total = 0;
  protected every = 0;
  protected done: () => void = noop;

  override init(total: number, every: number, done: () => void): void {
    this.total = total;
    this.every = every;
    this.done = done;
  }
}

/** Set-up shared by the chunked senders (never on the message path). */
export abstract class ChunkSender extends Actor {
  protected to!: PID;
  protected sent = 0;
  protected total = 0;
  protected chunk = 0;
  protected window = 0;

  override init(to: PID, total: number, chunk: number, window: number): void {
    this.to = to;
    this.total = total;
    this.chunk = chunk;
    this.window = window;
  }
}

class Receiver0 extends CountingReceiver {
  override handleMessage(from: PID, _message: unknown): void {
    const n = ++this.n;
    if (n === this.total) this.done();
    else if (n % this.every === 0) this.send(from, ACK);
  }
}

class Sender0 extends ChunkSender {
  override handleMessage(_from: PID, message: unknown): void {
    const to = this.to;
    for (let b = message === GO ? this.window : 1; b > 0; b--) {
      const end = Math.min(this.sent + this.chunk, this.total);
      for (let i = this.sent; i < end; i++) this.send(to, i);
      this.sent = end;
    }
  }
}

class Receiver1 extends CountingReceiver {
  override handleMessage(from: PID, _message: unknown): void {
    const n = ++this.n;
    if (n === this.total) this.done();
    else if (n % this.every === 0) this.send(from, ACK);
  }
}

class Sender1 extends ChunkSender {
  override handleMessage(_from: PID, message: unknown): void {
    const to = this.to;
    for (let b = message === GO ? this.window : 1; b > 0; b--) {
      const end = Math.min(this.sent + this.chunk, this.total);
      for (let i = this.sent; i < end; i++) this.send(to, i);
      this.sent = end;
    }
  }
}

class Receiver2 extends CountingReceiver {
  override handleMessage(from: PID, _message: unknown): void {
    const n = ++this.n;
    if (n === this.total) this.done();
    else if (n % this.every === 0) this.send(from, ACK);
  }
}

class Sender2 extends ChunkSender {
  override handleMessage(_from: PID, message: unknown): void {
    const to = this.to;
    for (let b = message === GO ? this.window : 1; b > 0; b--) {
      const end = Math.min(this.sent + this.chunk, this.total);
      for (let i = this.sent; i < end; i++) this.send(to, i);
      this.sent = end;
    }
  }
}

class Receiver3 extends CountingReceiver {
  override handleMessage(from: PID, _message: unknown): void {
    const n = ++this.n;
    if (n === this.total) this.done();
    else if (n % this.every === 0) this.send(from, ACK);
  }
}

class Sender3 extends ChunkSender {
  override handleMessage(_from: PID, message: unknown): void {
    const to = this.to;
    for (let b = message === GO ? this.window : 1; b > 0; b--) {
      const end = Math.min(this.sent + this.chunk, this.total);
      for (let i = this.sent; i < end; i++) this.send(to, i);
      this.sent = end;
    }
  }
}

class Receiver4 extends CountingReceiver {
  override handleMessage(from: PID, _message: unknown): void {
    const n = ++this.n;
    if (n === this.total) this.done();
    else if (n % this.every === 0) this.send(from, ACK);
  }
}

class Sender4 extends ChunkSender {
  override handleMessage(_from: PID, message: unknown): void {
    const to = this.to;
    for (let b = message === GO ? this.window : 1; b > 0; b--) {
      const end = Math.min(this.sent + this.chunk, this.total);
      for (let i = this.sent; i < end; i++) this.send(to, i);
      this.sent = end;
    }
  }
}

class Receiver5 extends CountingReceiver {
  override handleMessage(from: PID, _message: unknown): void {
    const n = ++this.n;
    if (n === this.total) this.done();
    else if (n % this.every === 0) this.send(from, ACK);
  }
}

class Sender5 extends ChunkSender {
  override handleMessage(_from: PID, message: unknown): void {
    const to = this.to;
    for (let b = message === GO ? this.window : 1; b > 0; b--) {
      const end = Math.min(this.sent + this.chunk, this.total);
      for (let i = this.sent; i < end; i++) this.send(to, i);
      this.sent = end;
    }
  }
}

class Receiver6 extends CountingReceiver {
  override handleMessage(from: PID, _message: unknown): void {
    const n = ++this.n;
    if (n === this.total) this.done();
    else if (n % this.every === 0) this.send(from, ACK);
  }
}

class Sender6 extends ChunkSender {
  override handleMessage(_from: PID, message: unknown): void {
    const to = this.to;
    for (let b = message === GO ? this.window : 1; b > 0; b--) {
      const end = Math.min(this.sent + this.chunk, this.total);
      for (let i = this.sent; i < end; i++) this.send(to, i);
      this.sent = end;
    }
  }
}

class Receiver7 extends CountingReceiver {
  override handleMessage(from: PID, _message: unknown): void {
    const n = ++this.n;
    if (n === this.total) this.done();
    else if (n % this.every === 0) this.send(from, ACK);
  }
}

class Sender7 extends ChunkSender {
  override handleMessage(_from: PID, message: unknown): void {
    const to = this.to;
    for (let b = message === GO ? this.window : 1; b > 0; b--) {
      const end = Math.min(this.sent + this.chunk, this.total);
      for (let i = this.sent; i < end; i++) this.send(to, i);
      this.sent = end;
    }
  }
}

/** The 8 class pairs: [receiver class, sender class]. */
export const CLASS_PAIRS: readonly (readonly [new () => CountingReceiver, new () => ChunkSender])[] = [
  [Receiver0, Sender0],
  [Receiver1, Sender1],
  [Receiver2, Sender2],
  [Receiver3, Sender3],
  [Receiver4, Sender4],
  [Receiver5, Sender5],
  [Receiver6, Sender6],
  [Receiver7, Sender7],
];
