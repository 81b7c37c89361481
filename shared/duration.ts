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
  /** The value was a duration, but above the maximum. */
  constructor(
    message: string,
    readonly tooLong = false,
  ) {
    super(message);
  }
}

const DAY_MS = UNIT_MS.d!;

/**
 * The longest duration anything accepts: ten years (CloudWatch's longest log retention, 3653d,
 * fits). Beyond it a value is a typo, not a plan.
 */
export const MAX_DURATION_MS = 3660 * DAY_MS;

/**
 * The longest window or delay a setting may ask for (every duration variable, a recording's `"at"`):
 * 30 days. A process waits on these with timers, which Node caps at about 24.8 days per timeout, so
 * waiting code must sleep in steps (see `sleepStepMs`); a longer setting is refused, naming this.
 */
export const MAX_SETTING_MS = 30 * DAY_MS;

/** The longest single timeout Node honours (2^31 - 1 ms); longer ones fire at once with a warning. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** One step of a wait of `ms`: never more than a Node timer holds. */
export const sleepStepMs = (ms: number): number => Math.min(Math.max(0, ms), MAX_TIMER_MS);

/** A maximum as people write it: whole days as days (`30d`, not `4w2d`), otherwise `durationText`. */
const limitText = (ms: number): string =>
  ms >= DAY_MS && ms % DAY_MS === 0 ? `${ms / DAY_MS}d` : durationText(ms);

const describe = (text: string, name: string | undefined): string =>
  `${name === undefined ? 'a duration' : name} must be a duration like ${DURATION_EXAMPLES}, got "${text}"`;

/**
 * Milliseconds of a duration. `name` (e.g. the environment variable) is put in the error, so a bad
 * value says where it came from: `PULLWATCH_QUIET_PERIOD must be a duration like …, got "soon"`.
 * A bare number other than 0 is refused: "300" could mean seconds or milliseconds. Above `maxMs`
 * (MAX_DURATION_MS unless said) is refused, naming the maximum.
 */
export const parseDuration = (text: string, name?: string, maxMs: number = MAX_DURATION_MS): number => {
  const input = text.trim().toLowerCase();
  if (input === '0') return 0;
  if (input === '' || input.length > 100) throw new DurationError(describe(text, name));
  let total = 0;
  let at = 0;
  while (at < input.length) {
    PART.lastIndex = at;
    const match = PART.exec(input);
    if (match === null) throw new DurationError(describe(text, name));
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    at = PART.lastIndex;
  }
  checkMaximum(total, `"${text}"`, name, maxMs);
  return Math.round(total);
};

/** Throws DurationError naming the maximum when `ms` is above it. */
const checkMaximum = (ms: number, given: string, name: string | undefined, maxMs: number): void => {
  if (!(ms <= maxMs)) {
    throw new DurationError(
      `${name === undefined ? 'a duration' : name} must be at most ${limitText(maxMs)}, got ${given}`,
      true,
    );
  }
};

/**
 * Milliseconds given as a number (a recording's `"at": 1500`): finite, not negative, at most
 * `maxMs`. The error names `name` and the maximum.
 */
export const boundedMilliseconds = (ms: number, name: string, maxMs: number = MAX_SETTING_MS): number => {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new DurationError(
      `${name} must be a duration like ${DURATION_EXAMPLES} or milliseconds, got ${ms}`,
    );
  }
  checkMaximum(ms, `${ms} ms`, name, maxMs);
  return ms;
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
