// Building errors without a stack trace, for the errors the framework makes on someone else's
// behalf (issue 24 §2).

/**
 * Runs `make` (which builds an error) without capturing a stack trace: for errors the framework
 * builds on behalf of someone else — a reason decoded from the wire, the wrapper of an exit
 * signal — whose stack would show nothing but the framework's own frames. V8 walks and records
 * the stack on every `new Error` (measured: ≈ 12 µs at the depth of a mailbox loop on the
 * development machine, against ≈ 0.8 µs without), which made the error objects the largest cost
 * of a remote monitor's down and of an exit signal. The error is a real `Error` (its `stack` is
 * just the `name: message` line). Never throws more than `make` does; the limit is restored.
 */
export function stackless<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
