// The host name `localhost`, looked up once per process. A node dials the peers of its own host
// by their name's host (`name@localhost` is the common case: the docs, the examples, every test),
// and the registrar client asks its registrar at that host: each was a `dns.lookup('localhost')`,
// a getaddrinfo in libuv's thread pool that reads the hosts file again. Kept, a dial to
// `localhost` took 155-169 µs of CPU instead of 254-309, a registrar question's UDP connect 33-39
// instead of 102-151 (500 of each, alternating in one process, three runs, load ~41, 2026-11-29).
// The system's answer is kept as it was, per question (family, hints, all, order), so a host whose
// `localhost` is `::1`, or both, dials as before; any other name is looked up every time, as Node
// does (its answer may change). What stays: the process's first lookup (~1.3-1.6 ms, the pool's
// threads started) and Node's own checks of the address (net.isIPv6's large regular expression,
// ~3.5-4.5 ms of CPU compiled at a process's first listen, ~1 ms more at its second use: Node's
// `server.listen` looks up even a literal host and tests each address, with no way around it but
// listening on every interface).

import type { LookupOptions } from 'node:dns';
import { nodeDns } from './builtin.js';

type Callback = (err: NodeJS.ErrnoException | null, address: unknown, family?: number) => void;

/** The host name whose answer is kept (RFC 6761: it names the loopback, whatever the resolver). */
export const LOCALHOST = 'localhost';

/** The answers kept, by question: the arguments the callback got (address(es), family). */
const kept = new Map<string, [unknown, number | undefined]>();

/**
 * A `lookup` for `net.connect` and `dgram.createSocket` (Node's `dns.lookup` signature): the answer
 * for {@link LOCALHOST} from the first lookup of the same question in this process, any other
 * name from `dns.lookup`. A failed lookup is not kept.
 */
export function cachedLookup(hostname: string, options: unknown, callback: Callback): void {
  const lookup = nodeDns().lookup as unknown as (h: string, o: unknown, cb: Callback) => void;
  if (hostname !== LOCALHOST) {
    lookup(hostname, options, callback);
    return;
  }
  const o = (typeof options === 'number' ? { family: options } : (options ?? {})) as LookupOptions;
  const question = `${String(o.family ?? 0)}/${o.hints ?? 0}/${o.all === true}/${o.order ?? ''}/${String(o.verbatim)}`;
  const answer = kept.get(question);
  if (answer !== undefined) {
    // Asynchronous, as a lookup is (the caller may not have its listeners yet), and a copy: the
    // caller owns what it is given.
    const address = Array.isArray(answer[0]) ? answer[0].map((a: object) => ({ ...a })) : answer[0];
    process.nextTick(callback, null, address, answer[1]);
    return;
  }
  lookup(hostname, options, (err, address, family) => {
    if (err === null) kept.set(question, [address, family]);
    callback(err, address, family);
  });
}
