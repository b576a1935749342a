// How many bytes a value takes once stored, and whether it can be stored at all: the workflow
// engine refuses a step result, an input, a signal's payload or an output that the stores' codec
// would refuse (ERR_ENTITY_UNSTORABLE: a function, a class instance, a cycle) or that is over its
// kind's `maxValueBytes` (ERR_WORKFLOW_VALUE_TOO_LARGE), before anything is written: a journal is
// saved whole with each entry, so one bad value would fail every later write of the instance.

import { structuredCodec } from '../../contract/structured_codec.js';
import { ErrWorkflowValueTooLarge } from './errors.js';

/**
 * The length of `v` as the default codec stores it (what a store writes, give or take its own
 * codec). Throws ERR_ENTITY_UNSTORABLE, naming the place under `root`, for a value no store keeps
 * exactly.
 */
export function storedBytes(v: unknown, root: string): number {
  return structuredCodec.encode(v, root).length;
}

/** Why `v` (named `what`) cannot be stored under a cap of `max` bytes: ERR_ENTITY_UNSTORABLE or ERR_WORKFLOW_VALUE_TOO_LARGE; undefined when it can. */
export function valueRefusal(what: string, v: unknown, max: number): Error | undefined {
  let size: number;
  try {
    size = storedBytes(v, what);
  } catch (err) {
    return err as Error;
  }
  return size > max
    ? ErrWorkflowValueTooLarge.with(`${what} is ${size} bytes stored, over maxValueBytes ${max}`)
    : undefined;
}
