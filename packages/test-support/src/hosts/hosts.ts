// The test hosts harness: N hosts (network namespaces) on one switch (a Linux bridge in a
// namespace of its own), so that nothing is added to the root namespace's interfaces and nothing
// the tests send can leave the namespaces they made. Each host has loopback and eth0, a veth whose
// other end is a port of the bridge; host i has 10.200.X.(i+1)/24 and the switch 10.200.X.254
// (where the delay relay listens). No default route: the subnet is all there is.
//
//   ergoth-<pid>-<n>-br:   br0 (10.200.X.254) ── p0, p1, ... (veth ends)
//   ergoth-<pid>-<n>-h0:   lo, eth0 10.200.X.1      ergoth-<pid>-<n>-h1:   lo, eth0 10.200.X.2 ...
//
// The links' MTU is 1550 while the routes between hosts say 1500: the extra 50 bytes carry the
// delay relay's VXLAN header, so a delayed path has the same path MTU as a direct one.

import { spawn } from 'node:child_process';
import { run, TestHostsError } from './commands.js';
import { DelayLink, delaySettings, Relay, type DelayOptions } from './delay.js';
import {
  DropFault,
  RateLimit,
  shareMatch,
  tbfArgs,
  type DropRule,
  type Impairment,
  type RateOptions,
} from './faults.js';
import { Host, resolveHost, type HostRef } from './host.js';
import {
  nextStem,
  releaseSubnet,
  removeNamespace,
  removeNamespaceSync,
  removeStale,
  takeSubnet,
  track,
  untrack,
  type SyncDisposable,
} from './lifecycle.js';
import { hostsAvailable } from './capability.js';

/** Options of {@link TestHosts.create}. */
export interface TestHostsOptions {
  /** How many hosts (1..250). */
  count?: number;
  /** The hosts' names (their number is the count); default `h0`, `h1` ... */
  names?: readonly string[];
  /**
   * Each host knows every other host's MAC address from the start (permanent neighbour entries)
   * instead of asking by ARP. For large harnesses: the kernel's neighbour table limit
   * (`gc_thresh3`, 1,024 by default) is one for all namespaces, and a full mesh of 60 hosts needs
   * 3,540 entries; permanent ones are not counted against it. Default false.
   */
  staticNeighbours?: boolean;
}

/** One host's traffic counters ({@link TestHosts.traffic}). */
export interface HostTraffic {
  host: Host;
  sentBytes: number;
  sentPackets: number;
  receivedBytes: number;
  receivedPackets: number;
}

/** Options of a partition or a loss. */
export interface DirectionOptions {
  /** Only packets from the first host to the second (default: both ways). */
  oneWay?: boolean;
}

const LINK_MTU = 1550;
const PATH_MTU = 1500;

/** A set of test hosts joined by one switch; see the file comment and docs/testhosts.md. */
export class TestHosts implements AsyncDisposable, SyncDisposable {
  readonly #impairments = new Set<Impairment>();
  #disposed = false;
  #relay: Relay | undefined;
  #relayStarting: Promise<Relay> | undefined;
  #nextId = 1;

  private constructor(
    /** The namespace name stem of this harness (`ergoth-<pid>-<n>`). */
    readonly stem: string,
    /** The third byte of the test subnet 10.200.X.0/24. */
    private readonly x: number,
    /** The hosts, in order. */
    readonly hosts: readonly Host[],
  ) {}

  /**
   * Makes the hosts (`count` or `names`; default 2). Removes first what dead harness processes
   * left behind. Rejects with `ERR_TESTHOSTS_UNAVAILABLE` when the machine cannot run them
   * ({@link hostsAvailable} says why), `ERR_TESTHOSTS_BAD_ARG` for a bad count or name.
   */
  static async create(opts: TestHostsOptions | number = {}): Promise<TestHosts> {
    const o = typeof opts === 'number' ? { count: opts } : opts;
    const names = o.names ?? Array.from({ length: o.count ?? 2 }, (_, i) => `h${i}`);
    if (o.count !== undefined && o.names !== undefined && o.count !== o.names.length)
      throw new TestHostsError('ERR_TESTHOSTS_BAD_ARG', `count ${o.count} but ${o.names.length} names`);
    if (!(names.length >= 1 && names.length <= 250))
      throw new TestHostsError('ERR_TESTHOSTS_BAD_ARG', `1 to 250 hosts, got ${names.length}`);
    for (const n of names)
      if (!/^[a-z][a-z0-9]{0,7}$/.test(n) || n === 'br')
        throw new TestHostsError(
          'ERR_TESTHOSTS_BAD_ARG',
          `a host name is [a-z][a-z0-9]{0,7} and not "br", got ${JSON.stringify(n)}`,
        );
    if (new Set(names).size !== names.length) throw new TestHostsError('ERR_TESTHOSTS_BAD_ARG', 'host names repeat');
    const why = hostsAvailable();
    if (why !== undefined) throw new TestHostsError('ERR_TESTHOSTS_UNAVAILABLE', `test hosts cannot run here: ${why}`);

    await removeStale();
    const stem = nextStem();
    const x = takeSubnet();
    let harness: TestHosts | undefined;
    const alive = (): void => {
      if (harness !== undefined && harness.#disposed)
        throw new TestHostsError('ERR_TESTHOSTS_DISPOSED', `${stem} was disposed`);
    };
    const hosts = names.map((n, i) => new Host(i, n, `${stem}-${n}`, `10.200.${x}.${i + 1}`, alive));
    harness = new TestHosts(stem, x, hosts);
    track(harness);
    try {
      await harness.#build(o.staticNeighbours === true);
    } catch (e) {
      await harness.dispose();
      throw e;
    }
    return harness;
  }

  /** The bridge's namespace (the switch; the delay relay runs there). */
  get switchNamespace(): string {
    return `${this.stem}-br`;
  }

  /** The switch's own address on the subnet (the delay relay's). */
  get switchAddress(): string {
    return `10.200.${this.x}.254`;
  }

  /** The test subnet, `10.200.X.0/24`. */
  get subnet(): string {
    return `10.200.${this.x}.0/24`;
  }

  /** A host by itself, name or index; `ERR_TESTHOSTS_BAD_ARG` if there is none. */
  host(ref: HostRef): Host {
    return resolveHost(this.hosts, ref);
  }

  /** Host `i`'s MAC address: locally administered, unique per harness subnet and index. */
  #mac(i: number): string {
    const hex = (b: number): string => b.toString(16).padStart(2, '0');
    return `02:e7:${hex(this.x)}:${hex(i >> 8)}:${hex(i & 255)}:01`;
  }

  async #build(staticNeighbours: boolean): Promise<void> {
    const br = this.switchNamespace;
    await run('ip', ['-batch', '-'], {
      input: [br, ...this.hosts.map((h) => h.namespace)].map((ns) => `netns add ${ns}\n`).join(''),
    });
    await run('ip', ['-n', br, '-batch', '-'], {
      input:
        `link set lo up\nlink add br0 mtu ${LINK_MTU} type bridge\n` +
        this.hosts
          .map(
            (h) =>
              `link add p${h.index} mtu ${LINK_MTU} type veth peer name eth0 address ${this.#mac(h.index)} netns ${h.namespace}\n` +
              `link set p${h.index} master br0\nlink set p${h.index} up\n`,
          )
          .join('') +
        `addr add ${this.switchAddress}/24 dev br0\nlink set br0 up\n`,
    });
    for (const h of this.hosts)
      await run('ip', ['-n', h.namespace, '-batch', '-'], {
        input:
          `link set lo up\nlink set eth0 mtu ${LINK_MTU}\nlink set eth0 up\n` +
          `addr add ${h.address}/24 dev eth0 noprefixroute\n` +
          // Host to host: path MTU 1500; to the switch (the relay's VXLAN): the link's 1550.
          `route add ${this.subnet} dev eth0 src ${h.address} mtu ${PATH_MTU}\n` +
          `route add ${this.switchAddress}/32 dev eth0 src ${h.address}\n` +
          (staticNeighbours
            ? this.hosts
                .filter((o) => o !== h)
                .map((o) => `neigh replace ${o.address} lladdr ${this.#mac(o.index)} dev eth0 nud permanent\n`)
                .join('')
            : ''),
      });
  }

  /**
   * What each host has sent and received on its link so far (bytes and packets, from the
   * counters of its port on the switch), in host order. One `ip` command for all hosts.
   */
  async traffic(): Promise<HostTraffic[]> {
    this.#alive();
    const out = await run('ip', ['-n', this.switchNamespace, '-s', '-j', 'link', 'show', 'type', 'veth']);
    const ports = new Map<string, { rx: { bytes: number; packets: number }; tx: { bytes: number; packets: number } }>();
    for (const l of JSON.parse(out.stdout) as { ifname: string; stats64: { rx: never; tx: never } }[])
      ports.set(l.ifname, l.stats64);
    return this.hosts.map((h) => {
      const s = ports.get(`p${h.index}`);
      if (s === undefined)
        throw new TestHostsError('ERR_TESTHOSTS_COMMAND', `no switch port p${h.index} for ${h.name}`);
      // The port receives what the host sends, and sends what the host receives.
      return {
        host: h,
        sentBytes: s.rx.bytes,
        sentPackets: s.rx.packets,
        receivedBytes: s.tx.bytes,
        receivedPackets: s.tx.packets,
      };
    });
  }

  // ---- faults -----------------------------------------------------------------------------------

  /**
   * A silent partition between `a` and `b`: their packets to each other are dropped on arrival
   * (or only a→b with `oneWay`). Sockets stay open and writes succeed; nothing arrives.
   */
  async partition(a: HostRef, b: HostRef, opts: DirectionOptions = {}): Promise<DropFault> {
    const [ha, hb] = this.#pair(a, b);
    const rules: DropRule[] = [{ host: hb, rule: `ip saddr ${ha.address} counter drop` }];
    if (opts.oneWay !== true) rules.push({ host: ha, rule: `ip saddr ${hb.address} counter drop` });
    return this.#drop(`partition ${ha.name}${opts.oneWay === true ? '->' : '<->'}${hb.name}`, rules);
  }

  /** Drops `percent` % of the packets between `a` and `b` at random (`nft numgen`); `oneWay`: a→b only. */
  async loss(a: HostRef, b: HostRef, percent: number, opts: DirectionOptions = {}): Promise<DropFault> {
    const [ha, hb] = this.#pair(a, b);
    const m = shareMatch(percent);
    const rules: DropRule[] = [{ host: hb, rule: `ip saddr ${ha.address} ${m} counter drop` }];
    if (opts.oneWay !== true) rules.push({ host: ha, rule: `ip saddr ${hb.address} ${m} counter drop` });
    return this.#drop(`loss ${percent}% ${ha.name}${opts.oneWay === true ? '->' : '<->'}${hb.name}`, rules);
  }

  /** Cuts `host` off from every other host and the switch, both ways (a partition of one). */
  async isolate(host: HostRef): Promise<DropFault> {
    const h = this.host(host);
    const rules: DropRule[] = [{ host: h, rule: `iifname != "lo" ip saddr ${this.subnet} counter drop` }];
    for (const o of this.hosts) if (o !== h) rules.push({ host: o, rule: `ip saddr ${h.address} counter drop` });
    return this.#drop(`isolate ${h.name}`, rules);
  }

  /** Limits the rate of `host`'s link with `tc tbf` (what it sends, receives, or both). */
  async limitRate(host: HostRef, opts: RateOptions): Promise<RateLimit> {
    this.#alive();
    const h = this.host(host);
    const args = tbfArgs(opts);
    const dir = opts.direction ?? 'both';
    const devices = [
      ...(dir === 'in' ? [] : [{ direction: 'out' as const, namespace: h.namespace, device: 'eth0' }]),
      ...(dir === 'out' ? [] : [{ direction: 'in' as const, namespace: this.switchNamespace, device: `p${h.index}` }]),
    ];
    const f = new RateLimit(`rate ${h.name} ${dir} ${opts.rate} bit/s`, devices, args, this.#forget);
    return this.#install(f, () => f.install());
  }

  /**
   * Delays the packets between `a` and `b` (each way `ms` ± `jitter`, or `back` for b→a) through
   * the delay relay; see delay.ts for what that adds. One delay per pair at a time.
   */
  async delay(a: HostRef, b: HostRef, opts: DelayOptions): Promise<DelayLink> {
    const [ha, hb] = this.#pair(a, b);
    delaySettings(opts);
    for (const f of this.#impairments)
      if (f instanceof DelayLink && f.pairOf(ha, hb))
        throw new TestHostsError('ERR_TESTHOSTS_BAD_ARG', `${ha.name} and ${hb.name} are delayed already: use set()`);
    const relay = await this.#startRelay();
    const link = new DelayLink(
      `delay ${ha.name}<->${hb.name} ${opts.ms}±${opts.jitter ?? 0} ms`,
      this.#nextId++,
      ha,
      hb,
      this.switchAddress,
      relay,
      this.#forget,
    );
    return this.#install(link, () => link.install(opts));
  }

  /** The delay relay, started on first use. */
  #startRelay(): Promise<Relay> {
    this.#relayStarting ??= Relay.start(
      (cmd, args) => spawn('ip', ['netns', 'exec', this.switchNamespace, cmd, ...args], { stdio: 'pipe' }),
      this.switchAddress,
    ).then((r) => (this.#relay = r));
    return this.#relayStarting;
  }

  /** The faults in force (not healed yet). */
  impairments(): Impairment[] {
    return [...this.#impairments];
  }

  /** Heals every fault in force. */
  async healAll(): Promise<void> {
    for (const f of [...this.#impairments]) await f.heal();
  }

  readonly #forget = (f: Impairment): void => {
    this.#impairments.delete(f);
  };

  async #drop(label: string, rules: DropRule[]): Promise<DropFault> {
    this.#alive();
    const f = new DropFault(label, `f${this.#nextId++}`, rules, this.#forget);
    return this.#install(f, () => f.install());
  }

  /** Puts a fault in force; one that fails half way is taken away again (what can be). */
  async #install<T extends Impairment>(f: T, install: () => Promise<void>): Promise<T> {
    this.#impairments.add(f);
    try {
      await install();
    } catch (e) {
      await f.heal().catch(() => undefined);
      throw e;
    }
    return f;
  }

  #pair(a: HostRef, b: HostRef): [Host, Host] {
    this.#alive();
    const ha = this.host(a);
    const hb = this.host(b);
    if (ha === hb) throw new TestHostsError('ERR_TESTHOSTS_BAD_ARG', `a link needs two hosts, got ${ha.name} twice`);
    return [ha, hb];
  }

  #alive(): void {
    if (this.#disposed) throw new TestHostsError('ERR_TESTHOSTS_DISPOSED', `${this.stem} was disposed`);
  }

  // ---- the end ----------------------------------------------------------------------------------

  /**
   * Kills every process in the hosts and the switch, deletes their namespaces (with them every
   * veth, rule, qdisc and tunnel) and gives the subnet back. A second call does nothing.
   */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    untrack(this);
    this.#relay?.stop();
    for (const h of this.hosts) h.killChildren();
    for (const ns of this.#namespaces()) await removeNamespace(ns);
    releaseSubnet(this.x);
  }

  /** {@link dispose}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  /** @internal The exit handler's {@link dispose}. */
  disposeSync(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const h of this.hosts) h.killChildren();
    for (const ns of this.#namespaces()) removeNamespaceSync(ns);
    releaseSubnet(this.x);
  }

  #namespaces(): string[] {
    return [...this.hosts.map((h) => h.namespace), this.switchNamespace];
  }
}
