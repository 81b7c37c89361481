/**
 * Configuration from the environment, read once when a function's module loads. A missing or
 * malformed variable fails the cold start at once, naming the variable and what it is for.
 */
import { type IncidentWindows, incidentWindows } from '#shared/incident';

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A variable that must be set, e.g. `requireEnv(env, 'PULLWATCH_TABLE', 'name of the incident table')`. */
export const requireEnv = (env: Env, name: string, purpose: string): string => {
  const value = env[name]?.trim();
  if (value === undefined || value === '') throw new ConfigError(`${name} is not set: ${purpose}`);
  return value;
};

export const optionalEnv = (env: Env, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

/** A non-negative number of seconds (fractions allowed), or the default. */
export const secondsEnv = (env: Env, name: string, purpose: string, fallbackSeconds: number): number => {
  const raw = optionalEnv(env, name);
  if (raw === undefined) return fallbackSeconds;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new ConfigError(`${name} must be a non-negative number of seconds (${purpose}), got "${raw}"`);
  }
  return value;
};

export const integerEnv = (env: Env, name: string, purpose: string, fallback: number, min = 0): number => {
  const raw = optionalEnv(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer of at least ${min} (${purpose}), got "${raw}"`);
  }
  return value;
};

/**
 * The incident windows, each overridable in seconds:
 * PULLWATCH_UPDATE_INTERVAL_SECONDS, PULLWATCH_QUIET_PERIOD_SECONDS, PULLWATCH_REOPEN_WINDOW_SECONDS,
 * PULLWATCH_STORM_THRESHOLD, PULLWATCH_STORM_WINDOW_SECONDS, PULLWATCH_SILENCE_SECONDS.
 */
export const windowsFromEnv = (env: Env): IncidentWindows => {
  const defaults = incidentWindows();
  const ms = (name: string, purpose: string, fallbackMs: number) =>
    Math.round(secondsEnv(env, name, purpose, fallbackMs / 1000) * 1000);
  return incidentWindows({
    updateIntervalMs: ms(
      'PULLWATCH_UPDATE_INTERVAL_SECONDS',
      'least time between Slack updates',
      defaults.updateIntervalMs,
    ),
    quietPeriodMs: ms(
      'PULLWATCH_QUIET_PERIOD_SECONDS',
      'quiet time before an incident resolves',
      defaults.quietPeriodMs,
    ),
    reopenWindowMs: ms(
      'PULLWATCH_REOPEN_WINDOW_SECONDS',
      'how long a resolved incident can reopen',
      defaults.reopenWindowMs,
    ),
    stormThreshold: integerEnv(
      env,
      'PULLWATCH_STORM_THRESHOLD',
      'incidents that make a storm',
      defaults.stormThreshold,
      2,
    ),
    stormWindowMs: ms(
      'PULLWATCH_STORM_WINDOW_SECONDS',
      'window in which a storm opens',
      defaults.stormWindowMs,
    ),
    silenceMs: ms('PULLWATCH_SILENCE_SECONDS', 'heartbeat silence before a warning', defaults.silenceMs),
  });
};
