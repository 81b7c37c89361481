/**
 * Configuration from the environment, read once when a function's module loads. A missing or
 * malformed variable fails the cold start at once, naming the variable and what it is for.
 */
import type { IncidentWindows } from '#shared/incident';
import {
  type WindowName,
  WindowConfigError,
  windowsFromEnv as sharedWindowsFromEnv,
} from '#shared/incident-windows';

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
 * The windows, from the environment (names and defaults: shared/incident-windows.ts, e.g.
 * PULLWATCH_QUIET_PERIOD=2m); a malformed value is a ConfigError naming the variable. Only the
 * listed windows' variables are read (all of them by default), so a function's recorded environment
 * names exactly the windows it uses.
 */
export const windowsFromEnv = (env: Env, windows?: readonly WindowName[]): IncidentWindows => {
  try {
    return sharedWindowsFromEnv(env, windows);
  } catch (error) {
    if (error instanceof WindowConfigError) throw new ConfigError(error.message);
    throw error;
  }
};
