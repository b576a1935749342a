// Preact hooks over the API: the session (re-rendered when it changes), a subscription whose
// last frame is the component's state, and a route taken from the location hash.

import { useEffect, useState } from 'preact/hooks';

import { api, type Json } from './api';

/** Re-renders on every change of the stream's status or the node list; returns the session id. */
export function useSession(): string {
  const [, set] = useState(0);
  useEffect(() => api.onStatus(() => set((n) => n + 1)), []);
  return api.session;
}

/**
 * Subscribes to `type` with `args` while the component is mounted (again after a reconnect or a
 * node switch); `accept` picks this subscription's frames out of a shared type (process_info
 * frames of several processes...). Returns the last frame and the subscribe error, if any.
 */
export function useSubscription(
  type: string,
  args: Json,
  accept: (data: Json) => boolean = () => true,
  enabled = true,
): [Json | null, string | null] {
  const session = useSession();
  const node = api.connected?.node.name ?? '';
  const [data, setData] = useState<Json | null>(null);
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify(args);
  useEffect(() => {
    if (session === '' || !enabled) return undefined;
    setData(null);
    setError(null);
    const off = api.on(type, (d) => {
      if (accept(d)) setData(d);
    });
    api.subscribe(type, args).then(
      () => setError(null),
      (e: Error) => setError(e.message),
    );
    return () => {
      off();
      if (api.session === session) void api.unsubscribe(type, args);
    };
  }, [session, node, type, key, enabled]);
  return [data, error];
}

/** Every frame of `type` goes to `fn` while mounted (the log, the runtime samples). */
export function useFrames(type: string, fn: (data: Json) => void): void {
  useEffect(() => api.on(type, fn), [type, fn]);
}

/** The hash route: `#/process/<pid>` → ['process', '<pid>']. */
export function useRoute(): string[] {
  const read = (): string[] => {
    const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    return parts[0] === '' ? ['info'] : parts;
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = (): void => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** Goes to a route (`go('process', pid)`). */
export function go(...parts: string[]): void {
  location.hash = '#/' + parts.map(encodeURIComponent).join('/');
}

/** A 60-sample ring of rows (time + values) that a chart draws. */
export class Series {
  readonly t: number[] = [];
  readonly v: number[][];
  constructor(
    readonly names: string[],
    readonly size = 60,
  ) {
    this.v = names.map(() => []);
  }
  push(t: number, values: number[]): void {
    this.t.push(t);
    values.forEach((x, i) => this.v[i]!.push(x));
    if (this.t.length > this.size) {
      this.t.shift();
      for (const a of this.v) a.shift();
    }
  }
}
