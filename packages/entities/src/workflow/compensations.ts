// The saga's compensations (ctx.compensate, a step's `compensate` option): what is pushed on a
// run's stack, checked when it is pushed so a wrong option is met where it is written, not when a
// cancel runs the stack (maybe months later). Each runs as a step `compensate:<name>` with its
// own retry policy and timeout (context.ts runCompensations); its journal entry is a step's, as it
// was before compensations took options, so older journals replay unchanged.

import { describeThrown } from '../contract/thrown.js';
import { checkStepTimeout } from './bounds.js';
import type { CompensationOptions, StepCompensation, StepInfo, StepOptions } from './context_types.js';
import { retryPolicy } from './define.js';
import { ErrWorkflowIncorrect } from './errors.js';

/** A compensation on a run's stack: its name (the step runs as `compensate:<name>`), function and step options. */
export interface Compensation {
  readonly name: string;
  readonly fn: (info: StepInfo) => unknown;
  readonly options: StepOptions<unknown>;
}

/**
 * The step options of compensation `name` from `options` (`ctx.compensate`'s, or those beside a
 * step's `compensate.run`). Throws ERR_WORKFLOW_INCORRECT for options a step would refuse.
 */
export function compensationOptions(name: string, options: CompensationOptions | undefined): StepOptions<unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null)
    throw ErrWorkflowIncorrect.with(`compensation ${name}: options must be an object, got ${describeThrown(options)}`);
  const { retry, timeoutMs } = options;
  checkStepTimeout(`compensate:${name}`, timeoutMs);
  if (retry !== undefined && retry !== false) {
    if (typeof retry !== 'object' || retry === null)
      throw ErrWorkflowIncorrect.with(
        `compensation ${name}: retry must be a retry policy or false, got ${describeThrown(retry)}`,
      );
    retryPolicy(retry); // throws ERR_WORKFLOW_INCORRECT naming the field
  }
  return {
    ...(retry === undefined ? {} : { retry }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  };
}

/**
 * Checks a step's `compensate` option before the step runs (a function, or `{ run, timeoutMs,
 * retry }`); throws ERR_WORKFLOW_INCORRECT naming step `step` otherwise.
 */
export function checkStepCompensation(step: string, c: unknown): void {
  if (c === undefined || typeof c === 'function') return;
  if (typeof c !== 'object' || c === null || typeof (c as { run?: unknown }).run !== 'function')
    throw ErrWorkflowIncorrect.with(
      `step ${step}: compensate must be a function or { run, timeoutMs?, retry? }, got ${describeThrown(c)}`,
    );
  compensationOptions(step, c as CompensationOptions);
}

/** The compensation a step's `compensate` option (checked by {@link checkStepCompensation}) pushes, bound to its `result`. */
export function stepCompensation<T>(
  name: string,
  c: ((result: T, info: StepInfo) => unknown) | StepCompensation<T>,
  result: T,
): Compensation {
  if (typeof c === 'function') return { name, fn: (info) => c(result, info), options: {} };
  return { name, fn: (info) => c.run(result, info), options: compensationOptions(name, c) };
}
