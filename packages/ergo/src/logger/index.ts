// ergo-ts/logger: Ergo's extra loggers (ergo.services/logger) — colored for a console, rotate for
// files — and the time formats they share with the default logger. Node's standard library only.
export {
  createColoredLogger,
  colorsEnabled,
  COLORS,
  type ColoredLoggerOptions,
  type ColoredOutput,
} from './colored.js';
export { createRotateLogger, MIN_ROTATE_PERIOD, type RotateLogger, type RotateLoggerOptions } from './rotate.js';
export type { LineOptions } from './common.js';
export { formatGoLayout, timeFormatter, unixNanos, HUMAN_TIME_LAYOUT, type TimeFormat } from '../lib/time_format.js';
