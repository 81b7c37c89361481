/**
 * Deriving a function's environment from its config loader: the variables are whatever the loader
 * reads, spelled however it parses them, so a rename or a new format on the functions' side needs
 * no change in infra. Fake loaders stand for the functions' config.ts files here.
 */
import { Lazy, Stack, Token } from 'aws-cdk-lib';
import { parseDuration } from '#shared/duration';
import {
  EnvironmentDerivationError,
  type Env,
  deriveEnvironment,
  runRecording,
  spellingsOf,
  variablesRead,
} from '../../../infra/constructs/function-environment';

const required = (env: Env, name: string): string => {
  const value = env[name]?.trim();
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
};
const seconds = (env: Env, name: string, fallback: number): number => {
  const raw = env[name];
  if (raw === undefined) return fallback * 1000;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a number of seconds, got "${raw}"`);
  return Number(raw) * 1000;
};
const duration = (env: Env, name: string, fallbackMs: number): number => {
  const raw = env[name];
  return raw === undefined ? fallbackMs : parseDuration(raw, name);
};

/** Yesterday's loader: windows in seconds. */
const oldLoader = (env: Env) => ({
  tableName: required(env, 'APP_TABLE'),
  windows: {
    quietMs: seconds(env, 'APP_QUIET_SECONDS', 120),
    updateMs: seconds(env, 'APP_UPDATE_SECONDS', 300),
  },
  retentionDays: Number(env.APP_RETENTION_DAYS ?? 90),
});
/** Today's: renamed variables, durations like `2m`. The stack's code is the same for both. */
const newLoader = (env: Env) => ({
  tableName: required(env, 'APP_TABLE'),
  windows: {
    quietMs: duration(env, 'APP_QUIET', 120_000),
    updateMs: duration(env, 'APP_UPDATE_INTERVAL', 300_000),
  },
  retentionDays: Number(env.APP_RETENTION_DAYS ?? 90),
});
const wanted = {
  tableName: 'incidents',
  windows: { quietMs: 420_000, updateMs: 300_000 },
  retentionDays: 30,
};

test('the same wanted config gives each loader the variables it reads, spelled as it parses them', () => {
  expect(deriveEnvironment({ label: 'old', loader: oldLoader, config: wanted }).environment).toEqual({
    APP_TABLE: 'incidents',
    APP_QUIET_SECONDS: '420',
    APP_UPDATE_SECONDS: '300',
    APP_RETENTION_DAYS: '30',
  });
  expect(deriveEnvironment({ label: 'new', loader: newLoader, config: wanted }).environment).toEqual({
    APP_TABLE: 'incidents',
    APP_QUIET: '7m',
    APP_UPDATE_INTERVAL: '5m',
    APP_RETENTION_DAYS: '30',
  });
});

test('the derived environment, and only it, gives the wanted config back', () => {
  for (const loader of [oldLoader, newLoader]) {
    const { environment, reads, unmapped, unsettable } = deriveEnvironment({
      label: 'x',
      loader,
      config: wanted,
    });
    expect(loader(environment)).toEqual(wanted);
    expect(Object.keys(environment).sort()).toEqual([...reads].sort());
    expect(unmapped).toEqual([]);
    expect(unsettable).toEqual([]);
  }
});

test('a CDK token (a table name, a secret ARN) is passed through as it is', () => {
  const stack = new Stack();
  const token = Lazy.string({ produce: () => 'resolved-later' });
  expect(Token.isUnresolved(token)).toBe(true);
  const { environment } = deriveEnvironment({
    label: 'tokens',
    loader: newLoader,
    config: { ...wanted, tableName: token },
  });
  expect(environment.APP_TABLE).toBe(token);
  expect(stack.resolve(environment.APP_TABLE)).toBe('resolved-later');
});

test('a variable read with no value in the wanted config is reported, not invented', () => {
  const loader = (env: Env) => ({ ...newLoader(env), proxy: env.HTTPS_PROXY });
  const derived = deriveEnvironment({ label: 'extra', loader, config: wanted });
  expect(derived.unmapped).toEqual(['HTTPS_PROXY']);
  expect(derived.environment.HTTPS_PROXY).toBeUndefined();
});

test('a setting the function does not take from its environment is reported as unsettable', () => {
  const loader = (env: Env) => ({
    tableName: required(env, 'APP_TABLE'),
    windows: { quietMs: 120_000, updateMs: 1 },
  });
  const derived = deriveEnvironment({
    label: 'fixed',
    loader,
    config: { tableName: 't', windows: { quietMs: 600_000, updateMs: 1 } },
  });
  expect(derived.environment).toEqual({ APP_TABLE: 't' });
  expect(derived.unsettable).toEqual(['windows.quietMs', 'windows.updateMs']);
});

test('errors name the function: a loader that cannot be satisfied, a value it cannot be given', () => {
  expect(() =>
    deriveEnvironment({
      label: 'functions/broken/config.ts',
      loader: () => {
        throw new Error('no database');
      },
      config: {},
    }),
  ).toThrow(
    new EnvironmentDerivationError(
      'functions/broken/config.ts: the config loader fails in a way the stack cannot satisfy: no database',
    ),
  );
  // The loader caps the window at 10 minutes: 30 minutes cannot be asked for.
  const capped = (env: Env) => ({ quietMs: Math.min(duration(env, 'APP_QUIET', 60_000), 600_000) });
  expect(() =>
    deriveEnvironment({ label: 'capped', loader: capped, config: { quietMs: 1_800_000 } }),
  ).toThrow(/capped: APP_QUIET sets quietMs, but no spelling of 1800000 gives that value back/);
});

test('recording sees every way of reading: property, `in`, destructuring', () => {
  const loader = (env: Env) => {
    const { A } = env;
    return { a: A, b: 'B' in env, c: Object.getOwnPropertyDescriptor(env, 'C') };
  };
  expect(runRecording(loader, {}).reads).toEqual(['A', 'B', 'C']);
  expect(variablesRead('x', oldLoader)).toEqual([
    'APP_TABLE',
    'APP_QUIET_SECONDS',
    'APP_UPDATE_SECONDS',
    'APP_RETENTION_DAYS',
  ]);
});

test('spellings: durations first, then seconds and plain numbers', () => {
  expect(spellingsOf(300_000).slice(0, 4)).toEqual(['5m', '300s', '300', '300000']);
  expect(spellingsOf(90)).toContain('90');
  expect(spellingsOf('#alerts')).toEqual(['#alerts']);
  expect(spellingsOf([{ channel: 'C1' }])).toEqual(['[{"channel":"C1"}]']);
});

test('a loader that clamps still gets the values it can represent', () => {
  const capped = (env: Env) => ({ quietMs: Math.min(duration(env, 'APP_QUIET', 600_000), 600_000) });
  expect(
    deriveEnvironment({ label: 'capped', loader: capped, config: { quietMs: 600_000 } }).environment,
  ).toEqual({
    APP_QUIET: '10m',
  });
  expect(
    deriveEnvironment({ label: 'capped', loader: capped, config: { quietMs: 120_000 } }).environment,
  ).toEqual({
    APP_QUIET: '2m',
  });
});
