// gen.ApplicationInfo ↔ its wire form (`gen.ApplicationInfo` inside the MessageResult that answers
// a MessageApplicationInfo, Ergo 3.2.0's `RemoteNode.ApplicationInfo`). Nil slices and maps on
// the wire are empty ones here; an empty list or map travels as Go's nil, as Go sends it.

import type { ApplicationInfo, ApplicationMode, ApplicationState } from '../../gen/application.js';
import type { Atom } from '../../gen/atom.js';
import { PID } from '../../gen/pid.js';
import { ErrMalformed } from '../../gen/errors.js';
import { WireApplicationDepends, WireApplicationInfo, WireVersion } from '../edf/framework.js';

function num(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** The wire form of an application snapshot (what a node answers with). */
export function toWireApplicationInfo(info: ApplicationInfo): WireApplicationInfo {
  const env = Object.entries(info.env);
  const map = Object.entries(info.map);
  return new WireApplicationInfo({
    name: info.name,
    weight: info.weight,
    tags: info.tags.length > 0 ? info.tags.slice() : null,
    map: map.length > 0 ? new Map(map) : null,
    description: info.description,
    version: new WireVersion(info.version),
    env: env.length > 0 ? new Map(env) : null,
    depends: new WireApplicationDepends({
      applications: info.depends.applications.length > 0 ? info.depends.applications.slice() : null,
      network: info.depends.network,
    }),
    mode: info.mode,
    state: info.state,
    parent: info.parent,
    uptime: info.uptime,
    group: info.group.length > 0 ? info.group.slice() : null,
  });
}

/**
 * An application snapshot from its wire form (what a node answered).
 * @throws ErrMalformed when the result is not a `gen.ApplicationInfo`.
 */
export function fromWireApplicationInfo(w: unknown, peer: string): ApplicationInfo {
  if (!(w instanceof WireApplicationInfo))
    throw ErrMalformed.with(`application info from ${peer}: the answer is not a gen.ApplicationInfo`);
  const env: Record<string, unknown> = {};
  for (const [k, v] of w.env ?? []) env[k] = v;
  const map: Record<string, Atom> = {};
  for (const [k, v] of w.map ?? []) map[k] = v as Atom;
  const version = w.version;
  return {
    name: w.name as Atom,
    weight: num(w.weight),
    description: w.description,
    version: { name: version.name, release: version.release, commit: version.commit, license: version.license },
    env,
    depends: {
      applications: (w.depends.applications ?? []) as Atom[],
      network: w.depends.network,
    },
    mode: num(w.mode) as ApplicationMode,
    state: num(w.state) as ApplicationState,
    parent: w.parent as Atom,
    uptime: num(w.uptime),
    group: (w.group ?? []).filter((p) => p instanceof PID),
    tags: (w.tags ?? []) as Atom[] as string[],
    map,
  };
}
