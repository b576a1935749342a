// Signals as the body takes them (`ctx.signal(name, { timeoutMs })`; the instance's side is
// instance/signal_waits.ts): the oldest signal of that name the record keeps, or the next to come,
// taken as one operation — journaled, so a replay takes the same payload. A deadline is journaled
// with the open wait (a timeout is thrown at it on a replay too); a cancel strikes the wait. A run
// lends its sequencing, journal and waits (RunOps), as update_take.ts's `ctx.update` does.

import { quoted } from '../../contract/thrown.js';
import { declared, signalDeadline } from '../model/bounds.js';
import { ErrWorkflowCancelled, ErrWorkflowIncorrect, handledBy, revivedError } from '../model/errors.js';
import type { RunOps } from '../model/run_host.js';

/** `ctx.signal(name, { timeoutMs })`: the payload of the next signal `name`, taken as an operation. */
export async function takeSignal(
  ops: RunOps,
  name: string,
  options: { readonly timeoutMs?: number } | undefined,
): Promise<unknown> {
  const { spec, clock } = ops.host;
  if (declared(spec.signals, name) === undefined)
    throw ErrWorkflowIncorrect.with(`workflow ${spec.name} declares no signal ${quoted(name)}`);
  if (ops.handled('signal', name)) throw handledBy('signal', name);
  const seq = ops.next();
  const hit = ops.lookup(seq, 'signal', name);
  if (hit?.done === true) {
    if (hit.e === undefined) return hit.v;
    const e = revivedError(hit.e); // a timeout, or the cancel struck it
    if (ErrWorkflowCancelled.is(e)) ops.strike();
    throw e;
  }
  ops.checkCancel(); // a journaled wait still open when the cancel came
  const deadline = signalDeadline(name, options?.timeoutMs, clock.now());
  const until = hit?.until ?? deadline;
  ops.caughtUp();
  const got = ops.host.awaitSignal(seq, name, until, hit === undefined && until !== undefined);
  return ops.waitFor<unknown>(
    (resolve, reject) => {
      got.then(resolve, reject);
      return () => ops.host.dropSignal?.(seq);
    },
    true,
    until,
    { s: seq, t: 'signal', n: name, ...(until === undefined ? {} : { until }), at: clock.now() },
  );
}
