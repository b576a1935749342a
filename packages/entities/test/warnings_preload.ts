// Loaded with `node --import` before every test file of this package (scripts/test-plan.mjs).
// Node 22 (22.13+, no flag needed) prints "ExperimentalWarning: SQLite is an experimental
// feature..." once per process that loads node:sqlite; Node 24 loads it silently. A newcomer reads that line as a failure, so this drops exactly that warning
// and nothing else: every other warning, experimental or not, still reaches stderr. Child node
// processes the tests fork load it too (through --import in their execArgv).

const SQLITE_WARNING = 'SQLite is an experimental feature';

const emitWarning = process.emitWarning;

function isSqliteWarning(warning: string | Error, typeOrOptions: unknown): boolean {
  if (typeof warning === 'string') {
    const type =
      typeof typeOrOptions === 'string' ? typeOrOptions : (typeOrOptions as { type?: unknown } | undefined)?.type;
    return type === 'ExperimentalWarning' && warning.startsWith(SQLITE_WARNING);
  }
  return warning.name === 'ExperimentalWarning' && warning.message.startsWith(SQLITE_WARNING);
}

process.emitWarning = function filteredEmitWarning(
  this: NodeJS.Process,
  warning: string | Error,
  ...rest: unknown[]
): void {
  if (isSqliteWarning(warning, rest[0])) return;
  return (emitWarning as (this: NodeJS.Process, ...args: unknown[]) => void).call(this, warning, ...rest);
} as typeof process.emitWarning;
