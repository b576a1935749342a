// `@ergo-ts/temporal/proto/lib/patch-protobuf-root`, the path of
// `@temporalio/proto/lib/patch-protobuf-root`: a root of message classes (this package's `proto`
// namespace) with protobufjs's `lookupType`, which gives a message's reflection by its full name.

import { lookupMessage } from '../index.js';
import { isReflectionType, type ReflectionType } from '../reflection.js';

/** A message type that `lookupType` could not find (code `ERR_PROTO_UNKNOWN_TYPE`). */
export class UnknownProtoTypeError extends Error {
  /** Stable code: `ERR_PROTO_UNKNOWN_TYPE`. */
  readonly code = 'ERR_PROTO_UNKNOWN_TYPE';
  constructor(fullName: string) {
    super(`no message type ${fullName} under this protobuf root`);
    this.name = 'UnknownProtoTypeError';
  }
}

/** What {@link patchProtobufRoot} gives: the root's namespaces and `lookupType`. */
export type PatchedProtobufRoot<R extends object> = R & {
  /** The reflection of the message named `fullName` (leading dot optional); throws UnknownProtoTypeError. */
  lookupType(fullName: string): ReflectionType;
};

/**
 * `root` (a namespace of message classes, as `import * as proto from '@ergo-ts/temporal/proto'`
 * gives it) with `lookupType`. A module namespace cannot be extended, so this returns a new
 * object holding the root's namespaces.
 */
export function patchProtobufRoot<R extends object>(root: R): PatchedProtobufRoot<R> {
  if (root === null || typeof root !== 'object')
    throw new TypeError('patchProtobufRoot: the root must be a namespace of message classes');
  const lookupType = (fullName: string): ReflectionType => {
    const t = lookupMessage(root, String(fullName))?.$type;
    if (!isReflectionType(t)) throw new UnknownProtoTypeError(String(fullName));
    return t;
  };
  return Object.freeze({ ...root, lookupType }) as PatchedProtobufRoot<R>;
}
