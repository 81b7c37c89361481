/**
 * Durations as people write them in configuration: `30s`, `5m`, `2h`, `1d`, `2w`, `500ms`, a sum such
 * as `1h30m`, or `0`. One parser for the Lambda functions, local mode and the CDK config, so that a
 * window means the same everywhere.
 *
 * Pure: no AWS, Kubernetes or Slack imports.
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** One `<number><unit>` part; a duration is one or more of them, largest unit first or not. */
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;

export const DURATION_EXAMPLES = '30s, 5m, 2h, 1d or 1h30m';

export class DurationError extends Error {
  override readonly name = 'DurationError';
}

const describe = (text: string, name: string | undefined): string =>
  `${name === undefined ? 'a duration' : name} must be a duration like ${DURATION_EXAMPLES}, got "${text}"`;

/**
 * Milliseconds of a duration. `name` (e.g. the environment variable) is put in the error, so a bad
 * value says where it came from: `PULLWATCH_QUIET_PERIOD must be a duration like …, got "soon"`.
 * A bare number other than 0 is refused: "300" could mean seconds or milliseconds.
 */
export const parseDuration = (text: string, name?: string): number => {
  const input = text.trim().toLowerCase();
  if (input === '0') return 0;
  if (input === '') throw new DurationError(describe(text, name));
  let total = 0;
  let at = 0;
  while (at < input.length) {
    PART.lastIndex = at;
    const match = PART.exec(input);
    if (match === null) throw new DurationError(describe(text, name));
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    at = PART.lastIndex;
  }
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) {
    throw new DurationError(describe(text, name));
  }
  return Math.round(total);
};

/** The shortest exact text for a duration: 300000 → `5m`, 5400000 → `1h30m`, 0 → `0`. */
export const durationText = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`not a duration: ${ms} ms`);
  let rest = Math.round(ms);
  if (rest === 0) return '0';
  let text = '';
  for (const unit of ['w', 'd', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit]!;
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return text;
};
