// The values Ergo's etcd registrar stores (EXTRAS.md §3), byte for byte: a node's routes as
// base64 (standard, padded) of EDF `[]gen.Route`, an application route as base64 of EDF
// `gen.ApplicationRoute`, and config strings with `int:` / `float:` / `bool:` prefixes. The key
// layout lives here too, so Go Ergo nodes on their etcd registrar and ergo-ts nodes share one
// cluster. The EDF work is the core's codec, in a private registry (the framework types plus
// `gen.ApplicationRoute`, which the core does not register).

import type { ApplicationRoute, Route } from 'ergo-ts';
import {
  createRegistry,
  EdfDecoder,
  encode,
  FrameworkTypeName,
  fromWireRoute,
  Go,
  registerFrameworkTypes,
  toWireRoute,
  typed,
  type EdfRegistry,
  type Fields,
  type Route as WireRoute,
} from 'ergo-ts/net';

/** Go's registration name of `gen.ApplicationRoute`. */
export const APPLICATION_ROUTE_TYPE = '#ergo.services/ergo/gen/ApplicationRoute';

/** `gen.ApplicationRoute` as EDF carries it (field order is Go's). */
export class WireApplicationRoute {
  node = '';
  name = '';
  weight: number | bigint = 0;
  mode: number | bigint = 0;
  state: number | bigint = 0;
  constructor(init?: Fields<WireApplicationRoute>) {
    if (init) Object.assign(this, init);
  }
}

let registry: EdfRegistry | null = null;

/**
 * The codec's registry: the framework types and `gen.ApplicationRoute` (built once, by the node's
 * first registration). Not the inspector's hundred types `createRegistry()` adds too: no value
 * here is one of them, and registering them cost each node's start about 9 ms of CPU.
 */
function reg(): EdfRegistry {
  if (registry !== null) return registry;
  const r = createRegistry({ framework: false });
  registerFrameworkTypes(r);
  const mode = r.type(FrameworkTypeName.ApplicationMode);
  const state = r.type(FrameworkTypeName.ApplicationState);
  if (mode === undefined || state === undefined) throw new Error('EDF registry lacks gen.ApplicationMode/State');
  r.register({
    name: APPLICATION_ROUTE_TYPE,
    class: WireApplicationRoute,
    fields: { node: Go.atom, name: Go.atom, weight: Go.int, mode, state },
  });
  registry = r;
  return r;
}

function routeSlice(): ReturnType<typeof Go.slice<WireRoute>> {
  const route = reg().type(FrameworkTypeName.Route);
  if (route === undefined) throw new Error('EDF registry lacks gen.Route');
  return Go.slice(route as never) as ReturnType<typeof Go.slice<WireRoute>>;
}

/** EDF bytes of a node's value (`[]gen.Route`). Throws EdfError for a route out of range. */
export function encodeRoutesEdf(routes: readonly Route[]): Uint8Array {
  return encode(typed(routeSlice(), routes.map(toWireRoute)), { registry: reg() });
}

/** The etcd value of a node key: base64 of EDF `[]gen.Route`. */
export function encodeRoutes(routes: readonly Route[]): string {
  return Buffer.from(encodeRoutesEdf(routes)).toString('base64');
}

/**
 * The one EDF value of an etcd value (base64 text): bytes after it mean the value is not what
 * the registrar wrote (a stray nil tag followed by junk would otherwise pass for "no routes").
 */
function decodeWhole(value: string | Buffer): unknown {
  const bytes = Buffer.from(typeof value === 'string' ? value : value.toString('latin1'), 'base64');
  const d = new EdfDecoder({ registry: reg() });
  const v = d.decode(bytes);
  if (d.pos !== bytes.length) throw new Error(`${bytes.length - d.pos} bytes after the EDF value`);
  return v;
}

/**
 * Decodes a node key's value (written by ergo-ts or Go). Throws an Error naming what is wrong
 * (bad base64 shows up as an EDF error: Node's decoder skips foreign characters).
 */
export function decodeRoutes(value: string | Buffer): Route[] {
  const v = decodeWhole(value);
  if (v === null) return [];
  if (!Array.isArray(v)) throw new Error(`node value is not []gen.Route (got ${typeof v})`);
  return v.map((x: unknown) => {
    if (!(x !== null && typeof x === 'object' && 'handshakeVersion' in x))
      throw new Error('node value is not []gen.Route (an element is not a gen.Route)');
    return fromWireRoute(x as WireRoute);
  });
}

/** EDF bytes of an application key's value (`gen.ApplicationRoute`). */
export function encodeApplicationRouteEdf(r: ApplicationRoute): Uint8Array {
  return encode(
    new WireApplicationRoute({ node: r.node, name: r.name, weight: r.weight, mode: r.mode, state: r.state }),
    { registry: reg() },
  );
}

/** The etcd value of an application key: base64 of EDF `gen.ApplicationRoute`. */
export function encodeApplicationRoute(r: ApplicationRoute): string {
  return Buffer.from(encodeApplicationRouteEdf(r)).toString('base64');
}

/** Decodes an application key's value. Throws an Error when it is not a `gen.ApplicationRoute`. */
export function decodeApplicationRoute(value: string | Buffer): ApplicationRoute {
  const v = decodeWhole(value);
  if (!(v instanceof WireApplicationRoute)) throw new Error('application value is not a gen.ApplicationRoute');
  return {
    node: v.node as ApplicationRoute['node'],
    name: v.name as ApplicationRoute['name'],
    weight: Number(v.weight),
    mode: Number(v.mode),
    state: Number(v.state),
  };
}

/**
 * A config string as Ergo reads it: `int:<n>` → integer (a bigint beyond 2^53), `float:<x>` →
 * number, `bool:<b>` → boolean (Go's ParseBool spellings), anything else → the string. A prefix
 * whose rest does not parse keeps the raw string, as Go does.
 */
export function parseConfigValue(raw: string): unknown {
  if (raw.startsWith('int:')) {
    const s = raw.slice(4);
    if (!/^[+-]?\d+$/.test(s)) return raw;
    const b = BigInt(s);
    if (b > 9223372036854775807n || b < -9223372036854775808n) return raw;
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  }
  if (raw.startsWith('float:')) {
    const s = raw.slice(6).trim() === raw.slice(6) ? raw.slice(6) : '';
    const low = s.toLowerCase().replace(/^[+-]/, '');
    if (low === 'inf' || low === 'infinity') return s.startsWith('-') ? -Infinity : Infinity;
    if (low === 'nan') return NaN;
    if (s === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return raw;
    return Number(s);
  }
  if (raw.startsWith('bool:')) {
    const s = raw.slice(5);
    if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
    if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
    return raw;
  }
  return raw;
}

/** The root of every key Ergo's etcd registrar writes. */
export const PATH_PREFIX = 'services/ergo';

/** The key paths of one cluster (each ends with `/`). */
export interface ClusterPaths {
  /** `services/ergo/cluster/<c>/routes/`: also the name of the registrar's event. */
  routes: string;
  nodes: string;
  applications: string;
  /** `services/ergo/cluster/<c>/config/`: keys `<node>/<item>` and `*\/<item>`. */
  config: string;
  /** `services/ergo/config/`: keys `global/<item>` and `<cluster>/<node>/<item>`. */
  globalConfig: string;
}

/** Key paths of `cluster`. */
export function clusterPaths(cluster: string): ClusterPaths {
  const base = `${PATH_PREFIX}/cluster/${cluster}/`;
  return {
    routes: `${base}routes/`,
    nodes: `${base}routes/nodes/`,
    applications: `${base}routes/applications/`,
    config: `${base}config/`,
    globalConfig: `${PATH_PREFIX}/config/`,
  };
}

/** The codec's registry, for tests (not exported by the package). */
export const codecRegistry = (): EdfRegistry => reg();
