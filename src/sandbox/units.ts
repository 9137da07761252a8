/**
 * Sizes and durations as Docker's flags write them: `--memory 64m` (b, k, m, g; powers
 * of 1024, case-insensitive, an optional trailing `b`/`ib`: `64mb`, `64MiB`) and
 * `--timeout 500ms` (ms, s, m, h; a bare number is seconds, as Docker's `--stop-timeout`).
 * A number passes through unchanged (bytes, milliseconds). Bad input throws a
 * `RangeError` naming the input.
 */
const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, '': 1000 };

/** Bytes of `64m`, `512k`, `1.5g`, `1048576`. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?\s*$/i.exec(value);
  const unit = m === null ? undefined : SIZE_UNITS[(m[2] as string).toLowerCase()];
  if (m === null || unit === undefined) throw new RangeError(`invalid size ${JSON.stringify(value)}: use a number of bytes or a suffix b, k, m or g (e.g. 64m)`);
  return Math.floor(Number(m[1]) * unit);
}

/** Milliseconds of `500ms`, `2s`, `1.5m`, `1h`, `30` (seconds). */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|)\s*$/i.exec(value);
  const unit = m === null ? undefined : TIME_UNITS[(m[2] as string).toLowerCase()];
  if (m === null || unit === undefined) throw new RangeError(`invalid duration ${JSON.stringify(value)}: use a number with ms, s, m or h (e.g. 500ms, 2s)`);
  return Number(m[1]) * unit;
}
