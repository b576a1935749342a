// The node's own registration in etcd: its key `…/routes/nodes/<node>` on a lease of its own.
// NodeKey grants the lease and claims the key (create it, or take it when leaseless or on an old
// lease of ours; another live lease holding it is a taken name), keeps the lease alive, puts the
// key back when it is found missing, leaseless or overwritten, and when the lease is lost (etcd
// forgot it, or did not answer for two TTLs) claims the name again with a new lease once etcd is
// back. A first claim that finds the key on another live lease (the node restarted at once after
// kill -9: its old lease lives out its TTL) watches the key and waits, up to `restartWait`, for
// etcd to delete it. The registrar wires it; the watch tells it what it saw of the key.

import { ErrRegistrarTerminated, ErrTaken, toError, type ApplicationRoute, type Atom, type Log } from 'ergo-ts';
import type { RegistrarClientState } from 'ergo-ts/net';
import { EtcdLeaseInvalidError, type Etcd3, type Lease, type Watcher } from 'etcd3';
import { encodeApplicationRoute, type ClusterPaths } from './codec.js';
import { ownKeyAction } from './keys.js';
import type { ResolvedOptions } from './options.js';

/** How many leases a node's first claim of its name tries when etcd forgets one under it. */
export const FIRST_CLAIM_ATTEMPTS = 3;

/** How long a stopping registrar waits for etcd to revoke its node's lease. */
export const REVOKE_DEADLINE_MS = 5000;

/** What NodeKey asks of its registrar: where it stands, and its log. */
export interface NodeKeyHost {
  state(): RegistrarClientState;
  log(): Log;
}

/** The key of application `app`'s route on `node`. */
export function applicationKey(paths: ClusterPaths, app: Atom, node: Atom): string {
  return `${paths.applications}${app}/${node}`;
}

/** What a put of the own key did (or the lease holding it), at which etcd revision. */
interface OwnKeyResult {
  action: 'ok' | 'create' | 'take' | 'foreign';
  lease: string;
  revision: string;
}

/**
 * The node key and its lease, for one registration (made by `register`, let go by `terminate`).
 * Every timer is `unref()`'d; nothing here throws to the event loop.
 */
export class NodeKey {
  readonly #client: Etcd3;
  readonly #o: ResolvedOptions;
  readonly #paths: ClusterPaths;
  readonly #name: Atom;
  /** The node key's value: this node's routes, encoded. */
  readonly value: string;
  /** This node's application routes (the registrar's): moved to each new lease. */
  readonly #apps: ReadonlyMap<Atom, ApplicationRoute>;
  readonly #host: NodeKeyHost;
  #lease: Lease | null = null;
  /**
   * Every lease this registrar granted or is granting and has not let go: a claim that fails or
   * races `terminate()` can leave one outside `#lease`, and etcd3 keeps a lease's keep-alive
   * timer running until it is closed (a stopped node's process would never exit).
   */
  readonly #leases = new Set<Lease>();
  #leaseID = '';
  #reregistering = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #wake: (() => void) | null = null;
  /** Ends a first claim's wait for a previous registration of the name (terminate). */
  #stopWait: (() => void) | null = null;
  /** A check of the own key runs (#checkOwnKey); `#checkAgain`: another was asked meanwhile. */
  #checking = false;
  #checkAgain = false;
  #checkTimer: NodeJS.Timeout | null = null;
  /** The foreign lease last reported holding our name (reported once per lease). */
  #foreignLease = '';

  constructor(
    client: Etcd3,
    options: ResolvedOptions,
    paths: ClusterPaths,
    name: Atom,
    value: string,
    apps: ReadonlyMap<Atom, ApplicationRoute>,
    host: NodeKeyHost,
  ) {
    this.#client = client;
    this.#o = options;
    this.#paths = paths;
    this.#name = name;
    this.value = value;
    this.#apps = apps;
    this.#host = host;
  }

  /** The lease the node key is on ('' before the first claim). */
  get leaseID(): string {
    return this.#leaseID;
  }

  /** Whether the lease was lost and the name is being claimed again. */
  get reregistering(): boolean {
    return this.#reregistering;
  }

  #registered(): boolean {
    return this.#host.state() === 'registered';
  }

  #log(): Log {
    return this.#host.log();
  }

  /**
   * The first registration's claim ({@link claim} with no old lease). A lease etcd forgot before
   * the claim had put the key on it (on a loaded host the grant-to-put gap can pass a short TTL,
   * or etcd expired it while the keep-alive waited for the CPU) is not the name taken: the claim
   * starts again with a new lease, up to {@link FIRST_CLAIM_ATTEMPTS} times, before the start fails.
   */
  async claimFirst(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.claim('');
        return;
      } catch (e) {
        if (!(e instanceof EtcdLeaseInvalidError) || attempt >= FIRST_CLAIM_ATTEMPTS) throw e;
        if (this.#host.state() === 'terminated') throw e;
        this.#log().warning(
          '(etcd) the lease of %s expired before its name was claimed (%s): claiming again with a new lease',
          this.#name,
          e.message,
        );
      }
    }
  }

  /**
   * Takes the node key with a fresh lease: create it if absent, take it if it is leaseless or
   * (re-registration) still on `oldLease`; then puts the application routes on the new lease.
   * A first claim (`oldLease` '') that finds the key on another live lease waits, up to
   * `restartWait`, for etcd to delete it (logged once).
   * @throws ErrTaken when another live lease holds the name (still, past the wait).
   */
  async claim(oldLease: string): Promise<void> {
    const c = this.#client;
    // Kept alive by #keepAlive, not by etcd3: its loop starts a second keep-alive stream when one
    // stream fails twice (an error and its timeout), and the first's interval then runs forever.
    const lease = c.lease(this.#o.leaseTTL, { autoKeepAlive: false });
    this.#leases.add(lease);
    lease.on('lost', (err) => this.#lost(lease, err));
    let id: string;
    try {
      id = await lease.grant();
      if (this.#host.state() === 'terminated') throw ErrRegistrarTerminated.with('etcd registrar');
      // From the grant on: a claim slower than the TTL (a loaded host) must not lose its lease.
      this.#keepAlive(lease);
      // A first registration waits for a previous one of its name to end (a restart after
      // kill -9); a re-registration does not (its own loop retries).
      const waits = oldLease === '' && this.#o.restartWait > 0;
      const deadline = waits ? Date.now() + this.#o.restartWait : 0;
      let r = await this.#putOwn(id, oldLease === '' ? [id] : [id, oldLease]);
      for (let logged = false; r.action === 'foreign';) {
        const left = deadline - Date.now();
        const taken = `node ${this.#name} is registered in etcd cluster ${this.#o.cluster} (lease ${r.lease})`;
        if (left <= 0) throw ErrTaken.with(waits ? `${taken}: still after waiting ${this.#o.restartWait} ms` : taken);
        if (!logged) {
          logged = true;
          this.#log().warning(
            '(etcd) waiting for the previous registration of %s (lease %s, ttl %s s) to expire (at most %d ms)',
            this.#name,
            r.lease,
            await this.#ttl(r.lease),
            left,
          );
        }
        await this.#keyChanged(r.revision, deadline - Date.now());
        if (this.#host.state() === 'terminated') throw ErrRegistrarTerminated.with('etcd registrar');
        r = await this.#putOwn(id, [id]);
      }
      if (r.action === 'take')
        this.#log().warning('(etcd) %s: took over its node key (it was leaseless or on an old lease)', this.#name);
    } catch (e) {
      await this.revoke(lease);
      throw e;
    }
    const old = this.#lease;
    this.#lease = lease;
    this.#leaseID = id;
    // Application routes move to the new lease before the old one goes (revoking it first would
    // delete them: every subscriber would see them stop and come back).
    for (const r of this.#apps.values())
      await c
        .put(applicationKey(this.#paths, r.name, this.#name))
        .value(encodeApplicationRoute(r))
        .lease(id);
    if (old !== null) await this.revoke(old);
  }

  /**
   * Keeps `lease` alive from its grant until it is let go: one keep-alive each third of the TTL (as
   * etcd's Go client), each bounded by that period. A lease etcd no longer knows is lost at once
   * (etcd3 emits `lost`); no answer for twice the TTL loses it too (etcd has expired it by then),
   * and the node registers again once etcd answers. The timer does not keep the process alive.
   */
  #keepAlive(lease: Lease): void {
    const period = Math.max(1, Math.floor((this.#o.leaseTTL * 1000) / 3));
    let answered = Date.now();
    const held = (): boolean => this.#leases.has(lease) && this.#registered();
    const beat = (): void => {
      if (!held()) return;
      const deadline = Date.now() + period;
      within(lease.keepaliveOnce({ deadline }), period + 1000, 'etcd keep-alive unanswered').then(
        () => {
          answered = Date.now();
          next();
        },
        (e: unknown) => {
          // A lease etcd no longer knows: etcd3 emitted `lost` (see claim).
          if (!held() || e instanceof EtcdLeaseInvalidError) return;
          if (Date.now() - answered <= 2 * this.#o.leaseTTL * 1000) return next();
          // Past its TTL: etcd has let it go. The node's lease is registered again; a claim's
          // fails the claim when it is used.
          this.#lost(lease, new Error(`etcd did not answer a keep-alive for ${Date.now() - answered} ms`));
        },
      );
    };
    const next = (): void => {
      if (held()) setTimeout(beat, period).unref();
    };
    next();
  }

  /** Stops keeping every lease of ours alive (etcd lets them expire) and forgets them. */
  releaseLeases(): void {
    for (const l of this.#leases) l.release();
    this.#leases.clear();
  }

  /** Revokes a lease of ours (best effort: etcd may be gone) and forgets it. */
  async revoke(lease: Lease): Promise<void> {
    try {
      await lease.revoke({ deadline: Date.now() + REVOKE_DEADLINE_MS });
    } catch {
      // etcd unreachable: the lease expires with its TTL
    } finally {
      lease.release();
      this.#leases.delete(lease);
    }
  }

  /** The node's lease, handed over (to revoke it: a failed register, terminate); null when none. */
  takeLease(): Lease | null {
    const lease = this.#lease;
    this.#lease = null;
    return lease;
  }

  /** Stops the retries and checks waiting on a timer (terminate). */
  stop(): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    if (this.#checkTimer !== null) clearTimeout(this.#checkTimer);
    this.#wake?.();
    this.#stopWait?.();
  }

  /** The key was deleted: a re-registration waiting out its back-off tries now. */
  wake(): void {
    if (this.#reregistering) this.#wake?.();
  }

  /**
   * Makes the node key hold this node's value on lease `id` (`ours`: `id` first, then any lease
   * of ours it may still be on), by a transaction on what was read: a key that changes between
   * the read and the write is read again. Returns what was done, or the lease that holds it.
   */
  async #putOwn(id: string, ours: string[]): Promise<OwnKeyResult> {
    const c = this.#client;
    const key = this.#paths.nodes + this.#name;
    for (let attempt = 0; ; attempt++) {
      const read = await c.get(key).exec();
      const kv = read.kvs[0];
      const revision = read.header.revision;
      const action = ownKeyAction(kv, this.value, ours);
      if (action === 'ok' || action === 'foreign') return { action, lease: kv?.lease ?? '', revision };
      const cond = kv === undefined ? c.if(key, 'Create', '==', 0) : c.if(key, 'Mod', '==', kv.mod_revision);
      const r = await cond.then(c.put(key).value(this.value).lease(id)).commit();
      if (r.succeeded) return { action, lease: id, revision: r.header.revision };
      // Changed meanwhile (a writer racing us): read again, a bounded number of times.
      if (attempt >= 10) throw new Error(`node key ${key} keeps changing`);
    }
  }

  /** The remaining TTL of `lease` in seconds, as etcd tells it ('?' when it does not answer). */
  async #ttl(lease: string): Promise<string> {
    try {
      return (await this.#client.leaseClient.leaseTimeToLive({ ID: lease })).TTL;
    } catch {
      return '?';
    }
  }

  /**
   * Resolves when the node key changes after `revision` (deleted when the lease holding it ends,
   * or put by another registration), after `ms`, or when the registrar stops; a watch that
   * cannot start resolves too (the caller reads the key again). Nothing is left running.
   */
  async #keyChanged(revision: string, ms: number): Promise<void> {
    let done = false;
    let watcher: Watcher | null = null;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve) => {
        this.#stopWait = resolve;
        timer = setTimeout(resolve, Math.max(0, ms));
        timer.unref();
        this.#client
          .watch()
          .key(this.#paths.nodes + this.#name)
          .startRevision(String(BigInt(revision) + 1n))
          .create()
          .then((w) => {
            // Created after the wait ended (the bound, a stop): not needed any more.
            if (done) return void w.cancel().catch(() => undefined);
            watcher = w;
            w.on('delete', () => resolve());
            w.on('put', () => resolve());
            w.on('error', () => resolve());
          }, resolve);
      });
    } finally {
      done = true;
      clearTimeout(timer);
      this.#stopWait = null;
      const w = watcher as Watcher | null;
      if (w !== null) await w.cancel().catch(() => undefined);
    }
  }

  /**
   * Checks the own node key (why: what made us look) and puts it back on the node's lease when
   * it is missing, leaseless or overwritten. One check at a time; asked during one, it runs again
   * after. A lease etcd no longer knows is a lost lease (re-registration); another failure
   * (etcd unreachable) is retried after `retryInterval` and when etcd is back.
   */
  check(why: string): void {
    if (!this.#registered() || this.#reregistering || this.#lease === null) return;
    if (this.#checking) {
      this.#checkAgain = true;
      return;
    }
    this.#checking = true;
    if (this.#checkTimer !== null) clearTimeout(this.#checkTimer);
    this.#checkTimer = null;
    const lease = this.#lease;
    void this.#retake(why)
      .catch((e: unknown) => {
        if (!this.#registered()) return;
        if (e instanceof EtcdLeaseInvalidError) return this.#lost(lease, e);
        this.#log().warning('(etcd) checking the node key of %s failed (%s): retrying', this.#name, toError(e).message);
        this.#checkTimer = setTimeout(() => this.check('retry'), this.#o.retryInterval);
        this.#checkTimer.unref();
      })
      .finally(() => {
        this.#checking = false;
        if (this.#checkAgain) {
          this.#checkAgain = false;
          this.check(why);
        }
      });
  }

  async #retake(why: string): Promise<void> {
    const r = await this.#putOwn(this.#leaseID, [this.#leaseID]);
    if (r.action === 'create' || r.action === 'take') {
      this.#foreignLease = '';
      this.#log().warning('(etcd) %s took its node key back (%s; lease %s)', this.#name, why, this.#leaseID);
    } else if (r.action === 'foreign' && r.lease !== this.#foreignLease) {
      this.#foreignLease = r.lease;
      this.#log().error(
        '(etcd) node key of %s is held by lease %s (another registration of this name?): taken back when it ends',
        this.#name,
        r.lease,
      );
    }
  }

  /** The lease is gone (etcd said so, or etcd was unreachable for 2 × TTL): take the name again. */
  #lost(lease: Lease, err: Error): void {
    if (!this.#registered() || lease !== this.#lease || this.#reregistering) return;
    this.#log().warning('(etcd) lease of %s lost (%s): registering again once etcd answers', this.#name, err.message);
    this.#reregistering = true;
    void this.#reregister().finally(() => {
      this.#reregistering = false;
    });
  }

  async #reregister(): Promise<void> {
    const oldID = this.#leaseID;
    for (let attempt = 1; this.#registered(); attempt++) {
      try {
        await this.claim(oldID);
        this.#log().info('(etcd) %s registered again (lease %s, attempt %d)', this.#name, this.#leaseID, attempt);
        return;
      } catch (e) {
        if (!this.#registered()) return;
        const msg = toError(e).message;
        // Once per outage at warning level; the retries at debug (an outage must not flood the log).
        if (attempt === 1) this.#log().warning('(etcd) registering %s again failed: %s (retrying)', this.#name, msg);
        else this.#log().debug('(etcd) registering %s again failed (attempt %d): %s', this.#name, attempt, msg);
      }
      await this.#sleep(Math.min(this.#o.retryInterval * attempt, this.#o.retryIntervalMax));
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#retryTimer = setTimeout(resolve, ms);
      this.#retryTimer.unref();
    });
  }
}

/** `p`, or a rejection after `ms` (the timer is cleared either way). */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}
