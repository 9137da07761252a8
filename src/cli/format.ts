/**
 * Text formats shared by the commands, matching what `docker` prints so that scripts
 * and eyes used to it feel at home: columns padded as Go's tabwriter pads them in the
 * docker CLI (minimum width 10, padding 3), sizes in decimal units with 3 significant
 * digits (go-units `HumanSizeWithPrecision(n, 3)`), ages as go-units `HumanDuration`.
 */
import type { Digest } from '../layers/digest.js';

/** Rows under a header, each column as wide as its widest cell plus 3 (at least 10); no trailing blanks. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(10, ...all.map((r) => (r[i] ?? '').length + 3)));
  return all
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] as number))).join(''))
    .map((line) => `${line.trimEnd()}\n`)
    .join('');
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** `0B`, `512B`, `1.23kB`, `45.6MB`: decimal units, 3 significant digits. */
export function humanSize(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  let rounded = Number(size.toPrecision(3));
  if (rounded >= 1000 && i < UNITS.length - 1) {
    rounded = Number((rounded / 1000).toPrecision(3));
    i++;
  }
  return `${rounded}${UNITS[i] as string}`;
}

/** `Less than a second`, `5 minutes`, `About an hour`, `3 weeks`, `2 years` (go-units HumanDuration). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(Math.floor(ms / 3_600_000) / 24 / 365)} years`;
}

/**
 * `2 hours ago` for an RFC 3339 time, or `N/A` when it is absent, unparseable, or Go's
 * zero time (year 1), as `docker images` shows an image without a creation time.
 */
export function timeAgo(created: string | undefined, now: number): string {
  const t = parseTime(created);
  return t === undefined ? 'N/A' : `${humanDuration(now - t)} ago`;
}

/** Milliseconds since the epoch, or undefined for a missing, invalid or zero (year 1) time. */
export function parseTime(created: string | undefined): number | undefined {
  if (created === undefined) return undefined;
  const t = Date.parse(created);
  if (Number.isNaN(t) || new Date(t).getUTCFullYear() <= 1) return undefined;
  return t;
}

/** The image ID docker shows: the first 12 hex digits of the digest. */
export function shortId(digest: Digest): string {
  return digest.slice('sha256:'.length, 'sha256:'.length + 12);
}

/** `s` cut to `max` characters, the last one `…`, as docker truncates CREATED BY. */
export function ellipsis(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
