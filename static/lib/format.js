// Times and durations as the pages write them.

const pad = (n, width = 2) => String(n).padStart(width, '0');

/**
 * A duration in words, rounded to the second: "45 s", "12 min 30 s", "1 h 5 min"; '–' when
 * unknown. `secondsBelow`: minutes under which the seconds are written too (above: "12 min");
 * `space`: between a number and its unit (a no-break space keeps them together in a narrow column).
 */
export function duration(seconds, { secondsBelow = 60, space = ' ' } = {}) {
  if (seconds == null) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}${space}s`;
  const m = Math.floor(s / 60);
  if (m < 60) {
    return s % 60 && m < secondsBelow ? `${m}${space}min ${s % 60}${space}s` : `${m}${space}min`;
  }
  return `${Math.floor(m / 60)}${space}h ${m % 60}${space}min`;
}

/** A live speaking time: tenths under 10 s ("4.2 s"), then "45 s", "12 min 3 s"; '–' when unknown. */
export function liveDuration(seconds) {
  if (seconds == null) return '–';
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const s = Math.floor(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Whole seconds as a countdown or an offset: "12:05" (minutes:seconds). */
export function minSec(seconds) {
  return `${Math.floor(seconds / 60)}:${pad(seconds % 60)}`;
}

export const fromUnix = (seconds) => new Date(seconds * 1000);

/** The time of day of a unix time, e.g. "14:05". */
export const timeOfDay = (unix) =>
  fromUnix(unix).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** A date and time of a unix time, e.g. "Dec 1, 2026, 6:00 PM"; `missing` when there is none. */
export const dateTime = (unix, missing = '–') =>
  unix == null
    ? missing
    : fromUnix(unix).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });

// "2026-12-01T18:00" from <input type=datetime-local> -> "2026-12-01T18:00:00-05:00", using the
// browser's own offset on that date (so summer and winter time come out right).
export function localInputToIso(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value);
  if (!m) return null;
  const d = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  if (Number.isNaN(d.getTime())) return null;
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}
