import fc from 'fast-check';
import { DurationError, durationText, parseDuration } from '#shared/duration';

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
