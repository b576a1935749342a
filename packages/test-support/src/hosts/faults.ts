// The faults the harness puts on links, and how each is healed.
//
// Drops (partitions, loss, isolation) are nft rules at the *receiving* host's entrance: a base
// chain of its own per fault, hooked at prerouting with raw priority (before conntrack and any
// socket). The sender's kernel sees its packets leave as usual — nothing is refused, no socket is
// closed, no ICMP comes back — which is what a cable cut or a lossy switch looks like. Dropping
// on entry rather than on exit also matters for the delay relay: a delayed packet arrives through
// the host's tunnel device with its original source address, so the same rule catches it.
// Healing a drop deletes its chain (atomic: the rule is either there or not).
//
// Rate limits are `tc tbf` on the host's link: on eth0 inside the host for what it sends, on the
// bridge's port towards it for what it receives. Everything crossing that link counts, the delay
// relay's tunnelled packets included (50 bytes more each).

import { allSteps, run, TestHostsError } from './commands.js';
import type { Host } from './host.js';

const TABLE = 'inet ergo_testhosts';

/** Anything the harness put on the network that `heal()` takes away again. */
export interface Impairment {
  /** What it is, for messages: `partition h0->h1`, `loss 30% h0<->h1`, `rate h2 in 1000000 bit/s`. */
  readonly label: string;
  /** Whether {@link heal} ran. */
  readonly healed: boolean;
  /** Takes it away; a second call does nothing. */
  heal(): Promise<void>;
}

/** Packets and bytes a drop rule has dropped. */
export interface DropCount {
  packets: number;
  bytes: number;
}

/** One nft rule on a host's entrance. */
export interface DropRule {
  host: Host;
  /** The nft match and verdict, e.g. `ip saddr 10.200.3.1 counter drop`. */
  rule: string;
}

/** A partition, a loss or an isolation: nft drop rules on hosts' entrances, healed together. */
export class DropFault implements Impairment {
  #healed = false;

  /** @internal */
  constructor(
    readonly label: string,
    private readonly chain: string,
    private readonly rules: readonly DropRule[],
    private readonly onHeal: (f: Impairment) => void,
  ) {}

  get healed(): boolean {
    return this.#healed;
  }

  /** @internal Installs the rules (one nft transaction per host). */
  async install(): Promise<void> {
    for (const [host, rules] of this.#byHost()) {
      const script =
        `add table ${TABLE}\n` +
        `add chain ${TABLE} ${this.chain} { type filter hook prerouting priority -300; policy accept; }\n` +
        rules.map((r) => `add rule ${TABLE} ${this.chain} ${r}\n`).join('');
      await host.exec('nft', ['-f', '-'], { input: script });
    }
  }

  async heal(): Promise<void> {
    if (this.#healed) return;
    this.#healed = true;
    this.onHeal(this);
    await allSteps(
      [...this.#byHost().keys()].map(
        (host) => () => host.exec('nft', ['delete', 'chain', ...TABLE.split(' '), this.chain]),
      ),
    );
  }

  /**
   * What the rules have dropped so far: at `host`'s entrance only (the packets sent *to* it), or
   * in all. A test waits on this to know a packet really reached the cut (and was dropped there).
   */
  async dropped(host?: Host): Promise<DropCount> {
    const total = { packets: 0, bytes: 0 };
    if (this.#healed)
      throw new TestHostsError('ERR_TESTHOSTS_BAD_ARG', `${this.label} is healed: its counters are gone`);
    for (const [h] of this.#byHost()) {
      if (host !== undefined && h !== host) continue;
      const { stdout } = await h.exec('nft', ['-j', 'list', 'chain', ...TABLE.split(' '), this.chain]);
      for (const c of counters(stdout)) {
        total.packets += c.packets;
        total.bytes += c.bytes;
      }
    }
    return total;
  }

  #byHost(): Map<Host, string[]> {
    const m = new Map<Host, string[]>();
    for (const r of this.rules) m.set(r.host, [...(m.get(r.host) ?? []), r.rule]);
    return m;
  }
}

function counters(json: string): DropCount[] {
  const doc = JSON.parse(json) as { nftables: { rule?: { expr: { counter?: DropCount }[] } }[] };
  return doc.nftables.flatMap((x) => (x.rule?.expr ?? []).flatMap((e) => (e.counter === undefined ? [] : [e.counter])));
}

/** The nft match of a share of packets: `numgen random mod 10000 < share×100` (0.01 % steps). */
export function shareMatch(percent: number): string {
  if (!(typeof percent === 'number' && percent >= 0 && percent <= 100))
    throw new TestHostsError('ERR_TESTHOSTS_BAD_ARG', `a loss share is a percentage 0..100, got ${String(percent)}`);
  return `numgen random mod 10000 < ${Math.round(percent * 100)}`;
}

// ---- rate limits --------------------------------------------------------------------------------

/** Options of a rate limit on one host's link. */
export interface RateOptions {
  /** Bits per second (at least 8000). */
  rate: number;
  /** The token bucket in bytes: how much may go at line speed (default max(3200, 20 ms of rate)). */
  burst?: number;
  /** How long a packet may wait in the queue, ms, before tbf drops it (default 50). */
  latencyMs?: number;
  /** `out`: what the host sends, `in`: what it receives, `both` (default). */
  direction?: 'in' | 'out' | 'both';
}

/** What `tc -s` says about one tbf qdisc. */
export interface QdiscStats {
  /** `out` (eth0 in the host) or `in` (the bridge's port towards it). */
  direction: 'in' | 'out';
  bytes: number;
  packets: number;
  drops: number;
  overlimits: number;
  /** Bytes waiting in the queue. */
  backlog: number;
  /** Packets waiting in the queue. */
  qlen: number;
}

/** A device a rate limit sits on: its namespace (`-n`) and name. */
export interface RateDevice {
  direction: 'in' | 'out';
  namespace: string;
  device: string;
}

/** A `tc tbf` rate limit on one host's link. */
export class RateLimit implements Impairment {
  #healed = false;

  /** @internal */
  constructor(
    readonly label: string,
    private readonly devices: readonly RateDevice[],
    private readonly args: readonly string[],
    private readonly onHeal: (f: Impairment) => void,
  ) {}

  get healed(): boolean {
    return this.#healed;
  }

  /** @internal */
  async install(): Promise<void> {
    for (const d of this.devices)
      await run('tc', ['-n', d.namespace, 'qdisc', 'replace', 'dev', d.device, 'root', 'tbf', ...this.args]);
  }

  async heal(): Promise<void> {
    if (this.#healed) return;
    this.#healed = true;
    this.onHeal(this);
    await allSteps(
      this.devices.map((d) => () => run('tc', ['-n', d.namespace, 'qdisc', 'del', 'dev', d.device, 'root'])),
    );
  }

  /** tc's own counters of the limit: bytes and packets sent, dropped, over the limit (delayed). */
  async stats(): Promise<QdiscStats[]> {
    const out: QdiscStats[] = [];
    for (const d of this.devices) {
      const { stdout } = await run('tc', ['-n', d.namespace, '-s', '-j', 'qdisc', 'show', 'dev', d.device]);
      const q = (JSON.parse(stdout) as (Omit<QdiscStats, 'direction'> & { kind: string; root?: boolean })[]).find(
        (x) => x.kind === 'tbf' && x.root === true,
      );
      if (q === undefined)
        throw new TestHostsError('ERR_TESTHOSTS_COMMAND', `no tbf qdisc on ${d.device} (${this.label})`);
      const { bytes, packets, drops, overlimits, backlog, qlen } = q;
      out.push({ direction: d.direction, bytes, packets, drops, overlimits, backlog, qlen });
    }
    return out;
  }
}

/** The tbf arguments of {@link RateOptions}, validated. */
export function tbfArgs(o: RateOptions): string[] {
  const bad = (what: string): never => {
    throw new TestHostsError('ERR_TESTHOSTS_BAD_ARG', what);
  };
  if (!(Number.isFinite(o.rate) && o.rate >= 8000))
    bad(`rate is bits per second, at least 8000; got ${String(o.rate)}`);
  const burst = o.burst ?? Math.max(3200, Math.ceil(o.rate / 8 / 50));
  // Below one full frame (the links' MTU is 1550) tbf could never send a large packet.
  if (!(Number.isInteger(burst) && burst >= 1600)) bad(`burst is bytes, at least 1600; got ${String(o.burst)}`);
  const latency = o.latencyMs ?? 50;
  if (!(latency > 0)) bad(`latencyMs must be positive; got ${String(o.latencyMs)}`);
  if (o.direction !== undefined && !['in', 'out', 'both'].includes(o.direction))
    bad(`direction is in, out or both; got ${String(o.direction)}`);
  return ['rate', `${Math.round(o.rate)}bit`, 'burst', `${burst}b`, 'latency', `${latency}ms`];
}
