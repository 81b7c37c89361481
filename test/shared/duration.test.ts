import fc from 'fast-check';
import { DURATION_MS, InvalidValue } from '#shared/config-table';
import {
  DurationError,
  MAX_DURATION_MS,
  MAX_SETTING_MS,
  boundedMilliseconds,
  durationText,
  parseDuration,
  sleepStepMs,
} from '#shared/duration';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['2w', 1_209_600_000],
    ['500ms', 500],
    ['1h30m', 5_400_000],
    ['1d2h3m4s', 93_784_000],
    ['1.5h', 5_400_000],
    [' 90S ', 90_000],
    ['0', 0],
    ['0s', 0],
  ])('reads %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '300', '5 m', '5min', 'm', '-5m', '5m ago', '1h 30m', 'soon', '1e3s', '.5h'])(
    'refuses %j, naming the variable',
    (text) => {
      expect(() => parseDuration(text, 'PULLWATCH_QUIET_PERIOD')).toThrow(
        new DurationError(
          `PULLWATCH_QUIET_PERIOD must be a duration like 30s, 5m, 2h, 1d or 1h30m, got "${text}"`,
        ),
      );
    },
  );

  it('round-trips with durationText', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 365 * 86_400_000 }), (ms) => {
        expect(parseDuration(durationText(ms))).toBe(ms);
      }),
    );
    expect(durationText(300_000)).toBe('5m');
    expect(durationText(5_400_000)).toBe('1h30m');
    expect(durationText(0)).toBe('0');
  });
});

describe('maxima', () => {
  it('refuses a duration above ten years, naming the maximum, and accepts one at it', () => {
    expect(parseDuration('3660d')).toBe(MAX_DURATION_MS);
    expect(() => parseDuration('3661d', 'since')).toThrow(
      new DurationError('since must be at most 3660d, got "3661d"'),
    );
    expect(() => parseDuration('99999999d')).toThrow('a duration must be at most 3660d, got "99999999d"');
    expect(() => parseDuration(`${'9'.repeat(400)}d`)).toThrow(DurationError);
  });

  it('refuses a setting above 30 days, naming the maximum', () => {
    expect(DURATION_MS.parse('30d', 'a window')).toBe(MAX_SETTING_MS);
    expect(() => DURATION_MS.parse('100000000d', 'a window')).toThrow(
      new InvalidValue('must be at most 30d, got "100000000d"'),
    );
    expect(() => DURATION_MS.parse('30d1ms', 'a window')).toThrow('must be at most 30d');
  });

  it('bounds milliseconds given as numbers the same way', () => {
    expect(boundedMilliseconds(1500, '"at"')).toBe(1500);
    expect(() => boundedMilliseconds(MAX_SETTING_MS + 1, '"at"')).toThrow(
      `"at" must be at most 30d, got ${MAX_SETTING_MS + 1} ms`,
    );
    expect(() => boundedMilliseconds(-1, '"at"')).toThrow('"at" must be a duration like');
    expect(() => boundedMilliseconds(Number.POSITIVE_INFINITY, '"at"')).toThrow(DurationError);
  });

  it('waits in steps a Node timer holds', () => {
    expect(sleepStepMs(MAX_SETTING_MS)).toBe(2 ** 31 - 1);
    expect(sleepStepMs(10)).toBe(10);
    expect(sleepStepMs(-5)).toBe(0);
  });
});
