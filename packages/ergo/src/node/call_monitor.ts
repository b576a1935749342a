// Calls that monitor their callee (CallOptions.monitor, NodeOptions.monitorCalls): Erlang's
// gen_server:call, which fails the moment the callee ends whatever holds the request. Needed
// toward a Go Ergo callee, whose node sends nothing for the requests of a process that ends (an
// ergo-ts callee's node answers them itself, see remote_requests.ts); and it also fails a call
// whose callee deferred it and then stopped normally, which the plain rule leaves waiting for a
// delegated reply.
//
// Remote callee: one monitor per callee (by its key) while calls to it wait, shared by every
// monitored call to it: the first call sends the monitor request, the last one to settle the
// demonitor. The watcher is a CallWatch in the relation store (so the callee's termination
// notification reaches it like any monitor's), with a PID of its own. The callee ending fails the
// calls with ErrProcessTerminated (cause: its reason); a refused monitor (no such process) with
// the refusal. Local callee: the call is marked (LOCAL_WATCH) and its holder's end fails it
// whatever the reason (termination.ts).

import { ErrNoConnection, ErrProcessTerminated, toError } from '../gen/errors.js';
import { PID } from '../gen/pid.js';
import { ProcessID } from '../gen/processid.js';
import type { Alias } from '../gen/ref.js';
import type { CallWatcher, PendingCall } from './calls.js';
import type { NodeImpl } from './node.js';
import type { ConsumerHost, Relation } from './targets.js';

/** A remote callee's target. */
type Callee = PID | ProcessID | Alias;

/** Marks a monitored call to a local callee: nothing to undo when it settles. */
export const LOCAL_WATCH: CallWatcher = { release: () => undefined };

/** The node's monitor of one remote callee, while monitored calls to it wait. */
export class CallWatch implements ConsumerHost, CallWatcher {
  cHead: Relation | null = null;
  cTail: Relation | null = null;
  cCount = 0;
  /** The calls waiting on it. */
  readonly calls = new Set<PendingCall>();
  constructor(
    private readonly owner: CallMonitors,
    readonly pid: PID,
    readonly target: Callee,
    readonly key: string,
  ) {}

  release(c: PendingCall): void {
    this.owner.release(this, c);
  }

  /** The callee ended (its node's termination notification): its calls fail at once. */
  ended(reason: Error): void {
    this.owner.ended(this, reason, true);
  }
}

/** The monitors of remote callees of one node. */
export class CallMonitors {
  private readonly watches = new Map<string, CallWatch>();
  constructor(private readonly node: NodeImpl) {}

  /** Number of remote callees monitored now. */
  get size(): number {
    return this.watches.size;
  }

  /** Monitors `c`'s remote callee `t` until `c` settles. Throws what the connection throws. */
  watch(c: PendingCall, t: Callee): void {
    const n = this.node;
    const key = t.key;
    let w = this.watches.get(key);
    if (w === undefined) {
      // A PID of its own for each monitor (an id no process gets): a demonitor and the next
      // monitor of the same callee may reach its node in either order.
      w = new CallWatch(this, new PID(n.name, ++n.nextID, n.creation), t, key);
      const conn = n.router.connection(t.node);
      const targets = n.targets;
      targets.add(false, w, t, targets.keyedHost(t, true)!);
      let req: Promise<void>;
      try {
        if (t instanceof PID) req = conn.monitorPID(w.pid, t);
        else if (t instanceof ProcessID) req = conn.monitorProcessID(w.pid, t);
        else req = conn.monitorAlias(w.pid, t);
      } catch (e) {
        this.drop(w);
        throw e;
      }
      this.watches.set(key, w);
      const watch = w;
      req.then(undefined, (e: unknown) => this.ended(watch, toError(e), false));
    }
    w.calls.add(c);
    c.watch = w;
  }

  /** `c` settled: the last call to its callee ends the monitor. */
  release(w: CallWatch, c: PendingCall): void {
    w.calls.delete(c);
    if (w.calls.size > 0 || this.watches.get(w.key) !== w) return;
    this.watches.delete(w.key);
    if (this.drop(w)) this.node.router.remote.forgetRemote(w.pid, w.target, false);
  }

  /**
   * The callee ended (`down`: with `reason`) or the monitor was refused (`reason` is the
   * refusal): every call waiting on `w` fails now.
   */
  ended(w: CallWatch, reason: Error, down: boolean): void {
    if (this.watches.get(w.key) === w) this.watches.delete(w.key);
    this.drop(w);
    let err: Error;
    if (!down) err = reason;
    else if (reason === ErrNoConnection) err = ErrNoConnection.with(`node ${w.target.node} is down`);
    else err = ErrProcessTerminated.with(`${String(w.target)} terminated: ${reason.message}`, reason);
    const calls = [...w.calls];
    w.calls.clear();
    for (const c of calls) {
      c.watch = null;
      this.node.calls.settle(c, false, err);
    }
  }

  /** Takes `w`'s relation out of the store; false when it had none left. */
  private drop(w: CallWatch): boolean {
    const targets = this.node.targets;
    const host = targets.keyedHost(w.target, false);
    if (host === undefined || !targets.has(false, w, host)) return false;
    targets.remove(false, w, w.target, host);
    return true;
  }
}
