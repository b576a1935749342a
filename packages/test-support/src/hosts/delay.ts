// Delay and jitter without netem (this kernel has none): a pair of hosts is sent through the
// delay relay (relay_main.ts), a Node process in the bridge namespace that holds each packet.
//
// How a packet gets there: for a delayed pair (A, B) each host gets a VXLAN device `dl<vni>`
// (remote: the relay's address) and a /32 route to the other host through it, with a static
// neighbour entry so no ARP crosses the relay. A's kernel wraps each IP packet for B in a VXLAN
// datagram to the relay, the relay holds it for delay ± jitter and sends it to B's VXLAN port,
// and B's kernel unwraps it and delivers it as if it came straight from A (same addresses, same
// TCP connection). Other pairs keep their direct path. What this changes, compared with netem:
// - one more hop, in userspace: a few tens of µs per packet on an idle machine, more under load,
//   and the relay's CPU bounds throughput (tens of thousands of packets per second);
// - packets stay in order (a packet never leaves before the one ahead of it), as with netem's
//   `rate`, not as with bare netem jitter, which reorders;
// - 50 bytes of VXLAN per packet on the links (rate limits count them); the links' MTU is 1550
//   so the hosts' path MTU stays 1500 and a connection survives the switch between paths;
// - the timer resolution is 1 ms; a packet is never released early (the relay re-checks the
//   monotonic clock), and may be late by the loop's load;
// - the relay completes the inner TCP/UDP checksums (checksum offload leaves them unfinished);
// - at most `limit` packets (default 10,000) are held per direction; more are dropped (counted).
// Installing or healing a delay moves a pair's traffic between paths: packets in flight at that
// moment may be lost (TCP retransmits them).

import { type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { allSteps, run, TestHostsError } from './commands.js';
import type { Impairment } from './faults.js';
import type { Host } from './host.js';
import { VXLAN_PORT, type PacketSummary } from './packet.js';

/** One direction's delay. */
export interface DelaySpec {
  /** Milliseconds each packet is held (≥ 0). */
  ms: number;
  /** Up to this many ms more or less, uniform (≥ 0, default 0); order is kept regardless. */
  jitter?: number;
}

/** Options of a delay between two hosts: `ms`/`jitter` each way, or `back` for B→A. */
export interface DelayOptions extends DelaySpec {
  /** B→A when it differs from A→B. */
  back?: DelaySpec;
  /** Report every packet as `held`/`released` events (tests; costs a JSON line per packet). */
  trace?: boolean;
  /** Packets held at most per direction before the relay drops (default 10,000). */
  limit?: number;
}

/** A relay event: a packet taken in (with its summary) or sent on. Times: µs, monotonic clock. */
export type RelayEvent =
  | ({ kind: 'held'; seq: number; heldAt: number; releaseAt: number } & PacketSummary)
  | { kind: 'released'; seq: number; vni: number; at: number };

/** The relay's counts for a link. */
export interface RelayCounts {
  held: number;
  released: number;
  dropped: number;
}

type Line = Record<string, unknown> & { kind: string };

/** The harness's side of the relay process. */
export class Relay {
  readonly events: RelayEvent[] = [];
  #waiters = new Set<() => void>();
  #nextId = 1;
  #exit: string | undefined;
  #results = new Map<number, (l: Line) => void>();
  #ready: ((problem: string) => void) | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on('exit', (code, signal) => {
      this.#exit = `relay exited (${code ?? signal})`;
      for (const [, r] of this.#results) r({ kind: 'error', message: this.#exit });
      this.#results.clear();
      this.#wake();
    });
    // Writing to a relay that died is reported by its exit, not by an EPIPE nobody handles.
    child.stdin!.on('error', () => {});
    child.stderr!.setEncoding('utf8');
    let stderr = '';
    child.stderr!.on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    readline.createInterface({ input: child.stdout! }).on('line', (text) => {
      let l: Line;
      try {
        l = JSON.parse(text) as Line;
      } catch {
        return;
      }
      if (l.kind === 'held' || l.kind === 'released') this.events.push(l as unknown as RelayEvent);
      else if (l.kind === 'result' || l.kind === 'error') {
        const r = this.#results.get(l.id as number);
        this.#results.delete(l.id as number);
        r?.(l);
      } else if (l.kind === 'ready' || l.kind === 'fatal')
        this.#ready?.(l.kind === 'ready' ? '' : String(l.message) + stderr);
      this.#wake();
    });
  }

  /** Starts the relay inside `host.spawn`-like `spawner` (the bridge namespace), bound to `address`. */
  static async start(spawner: (cmd: string, args: string[]) => ChildProcess, address: string): Promise<Relay> {
    const main = fileURLToPath(new URL('./relay_main.js', import.meta.url));
    const child = spawner(process.execPath, [main, address]);
    const relay = new Relay(child);
    const problem = await new Promise<string>((resolve) => {
      relay.#ready = resolve;
      child.once('exit', (code, signal) => resolve(`exited (${code ?? signal}) before it was ready`));
      child.once('error', (e) => resolve(String(e)));
    });
    if (problem !== '') {
      child.kill('SIGKILL');
      throw new TestHostsError('ERR_TESTHOSTS_RELAY', `the delay relay failed to start: ${problem}`);
    }
    return relay;
  }

  /** Sends one command; resolves with its result line. */
  command(cmd: string, fields: Record<string, unknown> = {}): Promise<Line> {
    if (this.#exit !== undefined) return Promise.reject(new TestHostsError('ERR_TESTHOSTS_RELAY', this.#exit));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#results.set(id, (l) =>
        l.kind === 'result'
          ? resolve(l)
          : reject(new TestHostsError('ERR_TESTHOSTS_RELAY', `relay ${cmd}: ${String(l.message)}`)),
      );
      this.child.stdin!.write(JSON.stringify({ id, cmd, ...fields }) + '\n');
    });
  }

  /** The first event from index `since` on that matches; rejects after `timeout` ms (a hang guard). */
  waitFor(pred: (e: RelayEvent) => boolean, { since = 0, timeout = 20_000 } = {}): Promise<RelayEvent> {
    return new Promise((resolve, reject) => {
      let i = since;
      const check = (): void => {
        for (; i < this.events.length; i++) {
          if (pred(this.events[i]!)) {
            done();
            resolve(this.events[i]!);
            return;
          }
        }
        if (this.#exit !== undefined) {
          done();
          reject(new TestHostsError('ERR_TESTHOSTS_RELAY', `${this.#exit} while waiting for an event`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new TestHostsError('ERR_TESTHOSTS_RELAY', `no matching relay event within ${timeout} ms`));
      }, timeout);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** Ends the relay (its stdin closing ends it; SIGKILL if it is stuck is the namespace's removal). */
  stop(): void {
    this.child.stdin!.end();
  }
}

/** A delay between two hosts through the relay; {@link heal} puts them back on the direct path. */
export class DelayLink implements Impairment {
  #healed = false;

  /** @internal */
  constructor(
    readonly label: string,
    /** The VXLAN network identifier of this pair (the `vni` of its relay events). */
    readonly vni: number,
    private readonly a: Host,
    private readonly b: Host,
    private readonly relayAddress: string,
    /** The relay, for its events. */
    readonly relay: Relay,
    private readonly onHeal: (f: Impairment) => void,
  ) {}

  get healed(): boolean {
    return this.#healed;
  }

  /** Whether this link joins `x` and `y` (either order). */
  pairOf(x: Host, y: Host): boolean {
    return (x === this.a && y === this.b) || (x === this.b && y === this.a);
  }

  get #device(): string {
    return `dl${this.vni}`;
  }

  /** A locally administered MAC per side and VNI (static neighbours, so no ARP goes through). */
  #mac(side: 1 | 2): string {
    const h = (n: number): string => n.toString(16).padStart(2, '0');
    return `02:e7:${h((this.vni >> 16) & 255)}:${h((this.vni >> 8) & 255)}:${h(this.vni & 255)}:${h(side)}`;
  }

  /** @internal Relay link, then both devices, then both routes (traffic moves last). */
  async install(o: DelayOptions): Promise<void> {
    await this.set(o);
    const sides = [
      [this.a, this.b, this.#mac(1), this.#mac(2)],
      [this.b, this.a, this.#mac(2), this.#mac(1)],
    ] as const;
    for (const [self, other, mine, theirs] of sides) {
      const d = this.#device;
      await run('ip', ['-n', self.namespace, '-batch', '-'], {
        input:
          `link add ${d} address ${mine} mtu 1500 type vxlan id ${this.vni} remote ${this.relayAddress} local ${self.address} dstport ${VXLAN_PORT} dev eth0 nolearning\n` +
          `link set ${d} addrgenmode none\n` +
          `link set ${d} up\n` +
          `neigh add ${other.address} lladdr ${theirs} dev ${d} nud permanent\n`,
      });
    }
    for (const [self, other] of sides)
      await run('ip', [
        '-n',
        self.namespace,
        'route',
        'add',
        `${other.address}/32`,
        'dev',
        this.#device,
        'src',
        self.address,
      ]);
  }

  /** Changes the delay of a live link (packets already held keep their release times). */
  async set(o: DelayOptions): Promise<void> {
    const { ab, ba, limit } = delaySettings(o);
    await this.relay.command('link', {
      vni: this.vni,
      a: this.a.address,
      b: this.b.address,
      ab,
      ba,
      trace: o.trace === true,
      limit,
    });
  }

  /** The relay's counts for this link: packets held, released, dropped over the limit. */
  async counts(): Promise<RelayCounts & { queued: number }> {
    const r = await this.relay.command('stats');
    const l = (r.links as (RelayCounts & { vni: number; queued: number })[]).find((x) => x.vni === this.vni);
    return l ?? { held: 0, released: 0, dropped: 0, queued: 0 };
  }

  /** Routes back to the direct path, releases what the relay holds, removes the devices. */
  async heal(): Promise<void> {
    if (this.#healed) return;
    this.#healed = true;
    this.onHeal(this);
    const pairs = [
      [this.a, this.b],
      [this.b, this.a],
    ] as const;
    await allSteps([
      ...pairs.map(
        ([self, other]) =>
          () =>
            run('ip', ['-n', self.namespace, 'route', 'del', `${other.address}/32`, 'dev', this.#device]),
      ),
      () => this.relay.command('unlink', { vni: this.vni }),
      ...pairs.map(
        ([self]) =>
          () =>
            run('ip', ['-n', self.namespace, 'link', 'del', this.#device]),
      ),
    ]);
  }
}

/** The relay's settings of {@link DelayOptions}, validated (`ERR_TESTHOSTS_BAD_ARG`). */
export function delaySettings(o: DelayOptions): {
  ab: { delay: number; jitter: number };
  ba: { delay: number; jitter: number };
  limit: number;
} {
  const limit = o.limit ?? 10_000;
  if (!(Number.isInteger(limit) && limit > 0))
    throw new TestHostsError('ERR_TESTHOSTS_BAD_ARG', `limit is a positive number of packets, got ${String(o.limit)}`);
  return { ab: spec(o), ba: spec(o.back ?? o), limit };
}

function spec(s: DelaySpec): { delay: number; jitter: number } {
  const jitter = s.jitter ?? 0;
  if (!(Number.isFinite(s.ms) && s.ms >= 0) || !(Number.isFinite(jitter) && jitter >= 0))
    throw new TestHostsError(
      'ERR_TESTHOSTS_BAD_ARG',
      `a delay is { ms ≥ 0, jitter ≥ 0 } in milliseconds, got ${JSON.stringify(s)}`,
    );
  return { delay: s.ms, jitter };
}
