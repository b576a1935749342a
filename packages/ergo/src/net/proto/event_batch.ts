// One publisher's event batch shared by every link it fans out to (ergo-ts event batches, ENP
// packet 230, see EnpEncoder.sendEventBatch). Between ergo-ts nodes the batch packet a link
// sends for a run of publishes is the same bytes on every link: the same sender, event name,
// priority and events. So one publish encodes its event once into this shared buffer, and each
// link only notes which of its events it took (`[first, last]`, consecutive); the bytes are
// copied into a link's output buffer once per batch, when the link writes anything else or
// flushes, instead of once per event and link.

import { ENP_HEADER } from './packet.js';

/** Bytes of a shared batch before it is sealed and the next publish starts another. */
export const EVENT_BATCH_MAX = 16 * 1024;

/**
 * Where shared batches keep their bytes: one large buffer handed out in consecutive slices, so a
 * batch costs no buffer of its own (a buffer per batch made the publisher's GC work three times
 * as much). A batch that outgrows what is left moves to a fresh arena; old arenas live while a
 * batch in them is referenced.
 */
const ARENA_SIZE = 1024 * 1024;
let arena: Buffer | null = null;
let arenaDv: DataView | null = null;
let arenaUsed = 0;

function newArena(size: number): Buffer {
  arena = Buffer.allocUnsafeSlow(size);
  arenaDv = new DataView(arena.buffer, arena.byteOffset, arena.byteLength);
  return arena;
}

/** The events one publisher published in a row on one event, encoded once for every link. */
export class SharedEventBatch {
  /** The buffer holding the events from `base` on: per event i64 timestamp, u32 length, EDF message. */
  buf: Buffer;
  /** A DataView of `buf` (the encoder writes through it when it encodes in place). */
  dv: DataView;
  base: number;
  /** Bytes used from `base`. */
  length = 0;
  /** End offset in `buf` of each event, in publish order. */
  readonly ends: number[] = [];

  /**
   * @param head the packet's fixed part after the ENP header: u64 from, u8 priority, u8 name
   *   length + name (as the encoder of `format` writes it).
   */
  constructor(
    readonly fromID: number | bigint,
    readonly name: string,
    /** Priority byte | order byte << 8. */
    readonly key: number,
    /** The wire format of the encoder that made it (EventFanOut's index). */
    readonly format: number,
    readonly order: number,
    readonly head: Buffer,
  ) {
    if (arena === null || arenaUsed > ARENA_SIZE - EVENT_BATCH_MAX) {
      newArena(ARENA_SIZE);
      arenaUsed = 0;
    }
    this.buf = arena!;
    this.dv = arenaDv!;
    this.base = arenaUsed;
  }

  /** Appends one event's bytes, `src[at, at + n)`; returns its index. Only at the arena's tail (see takes). */
  add(src: Buffer, at: number, n: number): number {
    let end = this.base + this.length;
    if (end + n > this.buf.length) {
      // A large event: the batch moves to a fresh arena with room for it.
      const nb = newArena(Math.max(ARENA_SIZE, 2 * (this.length + n)));
      this.buf.copy(nb, 0, this.base, end);
      for (let i = 0; i < this.ends.length; i++) this.ends[i] = this.ends[i]! - this.base;
      this.buf = nb;
      this.dv = arenaDv!;
      this.base = 0;
      end = this.length;
    }
    src.copy(this.buf, end, at, at + n);
    this.length += n;
    arenaUsed = end + n;
    return this.ends.push(end + n) - 1;
  }

  /** Offset in `buf` where the next event's bytes go (the arena's first free byte). */
  get tail(): number {
    return this.base + this.length;
  }

  /**
   * Records an event of `n` bytes the encoder wrote in place at {@link tail} (see
   * EnpEncoder.shareEvent); returns its index. Only at the arena's tail, as {@link add}.
   */
  added(n: number): number {
    const end = this.base + this.length + n;
    this.length += n;
    arenaUsed = end;
    return this.ends.push(end) - 1;
  }

  /** Start offset in `buf` of event `i`. */
  startOf(i: number): number {
    return i === 0 ? this.base : this.ends[i - 1]!;
  }

  /** Size of the batch packet holding events `[first, last]`. */
  packetSize(first: number, last: number): number {
    return ENP_HEADER + this.head.length + this.ends[last]! - this.startOf(first);
  }

  /**
   * True when a publish with this sender, name and key may add to it: it is not full and it
   * still ends the arena (no other batch was started after it), so it grows in place.
   */
  takes(fromID: number | bigint, name: string, key: number): boolean {
    return (
      this.length < EVENT_BATCH_MAX &&
      this.buf === arena &&
      this.base + this.length === arenaUsed &&
      this.key === key &&
      this.fromID === fromID &&
      this.name === name
    );
  }
}
