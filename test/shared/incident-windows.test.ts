import { DEFAULT_WINDOWS } from '#shared/incident';
import { ConfigError } from '#shared/config-table';
import { WINDOW_VARIABLES, windowsFromEnv } from '#shared/incident-windows';

describe('window variables', () => {
  it('are the documented names, with their defaults', () => {
    expect(WINDOW_VARIABLES.map((variable) => [variable.name, variable.fallback])).toEqual([
      ['PULLWATCH_UPDATE_INTERVAL', '5m'],
      ['PULLWATCH_QUIET_PERIOD', '2m'],
      ['PULLWATCH_REOPEN_WINDOW', '30m'],
      ['PULLWATCH_STORM_WINDOW', '2m'],
      ['PULLWATCH_STORM_THRESHOLD', '5'],
      ['PULLWATCH_STORM_HOLD', '30s'],
      ['PULLWATCH_SILENCE_AFTER', '10m'],
    ]);
  });

  it('read durations and the threshold, defaults for the rest', () => {
    expect(
      windowsFromEnv({
        PULLWATCH_UPDATE_INTERVAL: '1m',
        PULLWATCH_QUIET_PERIOD: '90s',
        PULLWATCH_REOPEN_WINDOW: '1h',
        PULLWATCH_STORM_WINDOW: '5m',
        PULLWATCH_STORM_THRESHOLD: '10',
        PULLWATCH_STORM_HOLD: '0',
        PULLWATCH_SILENCE_AFTER: '15m',
      }),
    ).toEqual({
      updateIntervalMs: 60_000,
      quietPeriodMs: 90_000,
      reopenWindowMs: 3_600_000,
      stormWindowMs: 300_000,
      stormThreshold: 10,
      stormHoldMs: 0,
      silenceMs: 900_000,
    });
    expect(windowsFromEnv({})).toEqual(DEFAULT_WINDOWS);
  });

  it('read only the variables asked for', () => {
    const read: string[] = [];
    const env = new Proxy({} as Record<string, string>, {
      get: (_target, name) => {
        read.push(String(name));
        return undefined;
      },
    });
    windowsFromEnv(env, ['quietPeriodMs', 'silenceMs']);
    expect(read).toEqual(['PULLWATCH_QUIET_PERIOD', 'PULLWATCH_SILENCE_AFTER']);
  });

  it('name the variable when a value is malformed', () => {
    expect(() => windowsFromEnv({ PULLWATCH_QUIET_PERIOD: '120' })).toThrow(
      new ConfigError(
        'PULLWATCH_QUIET_PERIOD must be a duration like 30s, 5m, 2h, 1d or 1h30m, got "120" (quiet time before an incident resolves)',
      ),
    );
    expect(() => windowsFromEnv({ PULLWATCH_STORM_THRESHOLD: '1' })).toThrow(
      /^PULLWATCH_STORM_THRESHOLD must be a whole number of at least 2/,
    );
    expect(() => windowsFromEnv({ PULLWATCH_STORM_THRESHOLD: '5m' })).toThrow(ConfigError);
  });
});
