// Time formats of the loggers: Ergo's (a Unix nanosecond timestamp when no format is given, else a
// Go layout such as "2006-01-02 15:04:05.000"), plus ISO 8601 and a readable default. Go layouts
// are supported so an Ergo user's TimeFormat string prints the same here.

/**
 * How a logger prints a record's time:
 * - `'unix-ns'`: Unix time in nanoseconds (Ergo's default; milliseconds and six zeros here);
 * - `'iso'`: `Date.toISOString()` (UTC);
 * - `'human'`: local time `2006-01-02 15:04:05.000` (the {@link HUMAN_TIME_LAYOUT});
 * - any other string: a Go time layout (reference time Mon Jan 2 15:04:05 MST 2006), in local time;
 * - a function of the Date.
 */
export type TimeFormat = 'unix-ns' | 'iso' | 'human' | (string & {}) | ((d: Date) => string);

/** The Go layout behind `'human'`: local date and time to the millisecond. */
export const HUMAN_TIME_LAYOUT = '2006-01-02 15:04:05.000';

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

// Longest tokens first: Go reads "2006" before "2", "Jan" before "1", ".000" before "0".
const TOKEN =
  /January|Jan|Monday|Mon|MST|2006|Z07:00|Z0700|Z07|-07:00|-0700|-07|[.,](?:0+|9+)|15|06|01|02|_2|03|04|05|PM|pm|1|2|3|4|5/g;

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function offset(d: Date, colon: boolean, z: boolean, short = false): string {
  const m = -d.getTimezoneOffset();
  if (z && m === 0) return 'Z';
  const s = m < 0 ? '-' : '+';
  const a = Math.abs(m);
  if (short) return `${s}${pad(Math.floor(a / 60))}`;
  return `${s}${pad(Math.floor(a / 60))}${colon ? ':' : ''}${pad(a % 60)}`;
}

/** Formats `d` with a Go time layout (local time). Text that is not a layout token is copied. */
export function formatGoLayout(d: Date, layout: string): string {
  return layout.replace(TOKEN, (t) => {
    switch (t) {
      case 'January':
        return MONTHS[d.getMonth()]!;
      case 'Jan':
        return MONTHS[d.getMonth()]!.slice(0, 3);
      case 'Monday':
        return DAYS[d.getDay()]!;
      case 'Mon':
        return DAYS[d.getDay()]!.slice(0, 3);
      case 'MST':
        // Node has no portable zone abbreviation: the numeric offset says the same.
        return offset(d, false, false);
      case '2006':
        return pad(d.getFullYear(), 4);
      case '06':
        return pad(d.getFullYear() % 100);
      case '01':
        return pad(d.getMonth() + 1);
      case '1':
        return String(d.getMonth() + 1);
      case '02':
        return pad(d.getDate());
      case '_2':
        return String(d.getDate()).padStart(2, ' ');
      case '2':
        return String(d.getDate());
      case '15':
        return pad(d.getHours());
      case '03':
        return pad(d.getHours() % 12 || 12);
      case '3':
        return String(d.getHours() % 12 || 12);
      case '04':
        return pad(d.getMinutes());
      case '4':
        return String(d.getMinutes());
      case '05':
        return pad(d.getSeconds());
      case '5':
        return String(d.getSeconds());
      case 'PM':
        return d.getHours() >= 12 ? 'PM' : 'AM';
      case 'pm':
        return d.getHours() >= 12 ? 'pm' : 'am';
      case 'Z07:00':
        return offset(d, true, true);
      case 'Z0700':
        return offset(d, false, true);
      case 'Z07':
        return offset(d, false, true, true);
      case '-07:00':
        return offset(d, true, false);
      case '-0700':
        return offset(d, false, false);
      case '-07':
        return offset(d, false, false, true);
    }
    // Fractional seconds: ".000" keeps the digits, ".999" drops trailing zeros. A Date holds
    // milliseconds: digits past the third are zeros.
    const digits = t.length - 1;
    let frac = (pad(d.getMilliseconds(), 3) + '000000').slice(0, digits);
    if (t[1] === '9') {
      frac = frac.replace(/0+$/, '');
      return frac === '' ? '' : t[0] + frac;
    }
    return t[0] + frac;
  });
}

/** Unix time in nanoseconds, as Ergo prints it when no time format is set. */
export function unixNanos(d: Date): string {
  return `${d.getTime()}000000`;
}

/**
 * The function that prints times in `format` (default `'unix-ns'`).
 * @throws TypeError for a format that is neither a string nor a function (the callers turn it
 * into ErrIncorrect).
 */
export function timeFormatter(format: TimeFormat | undefined): (d: Date) => string {
  if (format === undefined || format === 'unix-ns') return unixNanos;
  if (format === 'iso') return (d) => d.toISOString();
  if (format === 'human') return (d) => formatGoLayout(d, HUMAN_TIME_LAYOUT);
  if (typeof format === 'function') return format;
  if (typeof format === 'string' && format !== '') return (d) => formatGoLayout(d, format);
  throw new TypeError(`time format ${String(format)}`);
}
