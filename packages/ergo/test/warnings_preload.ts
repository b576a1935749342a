// Loaded with `node --import` before every test file (see the package's `test` script). Node 20
// and 22 print "ExperimentalWarning: The MockTimers API is an experimental feature" once per file
// that fakes time with node:test's mock timers (Node 23.1 made the API stable and stopped
// warning). A newcomer reads that line as a failure, so this drops exactly that warning and
// nothing else: every other warning, experimental or not, still reaches stderr.

const MOCK_TIMERS_WARNING = 'The MockTimers API is an experimental feature';

const emitWarning = process.emitWarning;

function isMockTimersWarning(warning: string | Error, typeOrOptions: unknown): boolean {
  if (typeof warning === 'string') {
    const type =
      typeof typeOrOptions === 'string' ? typeOrOptions : (typeOrOptions as { type?: unknown } | undefined)?.type;
    return type === 'ExperimentalWarning' && warning.startsWith(MOCK_TIMERS_WARNING);
  }
  return warning.name === 'ExperimentalWarning' && warning.message.startsWith(MOCK_TIMERS_WARNING);
}

process.emitWarning = function filteredEmitWarning(
  this: NodeJS.Process,
  warning: string | Error,
  ...rest: unknown[]
): void {
  if (isMockTimersWarning(warning, rest[0])) return;
  return (emitWarning as (this: NodeJS.Process, ...args: unknown[]) => void).call(this, warning, ...rest);
} as typeof process.emitWarning;
