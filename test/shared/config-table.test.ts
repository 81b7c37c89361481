import {
  ConfigError,
  DURATION_MS,
  SECONDS_AS_MS,
  TEXT,
  group,
  integer,
  optional,
  required,
  withDefault,
} from '#shared/config-table';

const settings = group({
  table: required({ name: 'APP_TABLE', purpose: 'name of the table', kind: TEXT }),
  quietMs: withDefault({ name: 'APP_QUIET', purpose: 'quiet time', kind: DURATION_MS }, 120_000),
  nested: group({
    timeoutMs: withDefault({ name: 'APP_TIMEOUT_SECONDS', purpose: 'timeout', kind: SECONDS_AS_MS }, 5000),
    days: withDefault({ name: 'APP_DAYS', purpose: 'days kept', kind: integer(1) }, 90),
  }),
  proxy: optional({ name: 'APP_PROXY', purpose: 'proxy URL', kind: TEXT }),
});

describe('a config table', () => {
  it('names its variables in order', () => {
    expect(settings.names).toEqual([
      'APP_TABLE',
      'APP_QUIET',
      'APP_TIMEOUT_SECONDS',
      'APP_DAYS',
      'APP_PROXY',
    ]);
  });

  it('reads values, and defaults for variables that are unset or blank', () => {
    expect(settings.read({ APP_TABLE: ' incidents ', APP_QUIET: '  ', APP_DAYS: '30' })).toEqual({
      table: 'incidents',
      quietMs: 120_000,
      nested: { timeoutMs: 5000, days: 30 },
      proxy: undefined,
    });
  });

  it('writes the environment that reads back to exactly the config', () => {
    const config = {
      table: 't',
      quietMs: 5_400_000,
      nested: { timeoutMs: 2500, days: 7 },
      proxy: 'http://proxy:3128',
    };
    const env = settings.write(config);
    expect(env).toEqual({
      APP_TABLE: 't',
      APP_QUIET: '1h30m',
      APP_TIMEOUT_SECONDS: '2.5',
      APP_DAYS: '7',
      APP_PROXY: 'http://proxy:3128',
    });
    expect(settings.read(env)).toEqual(config);
    // An unset optional value writes no variable.
    expect(Object.keys(settings.write({ ...config, proxy: undefined }))).not.toContain('APP_PROXY');
  });

  it('fails with one line naming the variable and its purpose', () => {
    const problem = (env: Record<string, string>) => {
      try {
        settings.read(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return [(error as ConfigError).variable, (error as Error).message];
      }
      throw new Error('expected a ConfigError');
    };
    expect(problem({})).toEqual(['APP_TABLE', 'APP_TABLE is not set: name of the table']);
    expect(problem({ APP_TABLE: 't', APP_QUIET: '120' })).toEqual([
      'APP_QUIET',
      'APP_QUIET must be a duration like 30s, 5m, 2h, 1d or 1h30m, got "120" (quiet time)',
    ]);
    expect(problem({ APP_TABLE: 't', APP_DAYS: '0' })).toEqual([
      'APP_DAYS',
      'APP_DAYS must be an integer of at least 1 (days kept), got "0"',
    ]);
    expect(problem({ APP_TABLE: 't', APP_TIMEOUT_SECONDS: '-1' })).toEqual([
      'APP_TIMEOUT_SECONDS',
      'APP_TIMEOUT_SECONDS must be a non-negative number of seconds (timeout), got "-1"',
    ]);
  });
});
