/**
 * The pipeline's windows as environment variables, defined once: the Lambda functions read them with
 * `windowsFromEnv`, local mode reads the same names, and the CDK config documents and sets them.
 * Durations are written like `30s`, `5m`, `2h`, `1d` or `1h30m` (shared/duration.ts).
 *
 * Pure: no AWS, Kubernetes or Slack imports.
 */
import { DurationError, type Env, durationFromEnv, durationText } from '#shared/duration';
import { DEFAULT_WINDOWS, type IncidentWindows, incidentWindows } from '#shared/incident';

export type WindowName = keyof IncidentWindows;

/** A window variable is malformed; the message names the variable. */
export class WindowConfigError extends Error {
  override readonly name = 'WindowConfigError';
}

export interface WindowVariable {
  /** The environment variable. */
  name: string;
  window: WindowName;
  kind: 'duration' | 'count';
  /** The default, as it would be written in the environment (`5m`, `5`). */
  fallback: string;
  purpose: string;
}

const duration = (name: string, window: WindowName, purpose: string): WindowVariable => ({
  name,
  window,
  kind: 'duration',
  fallback: durationText(DEFAULT_WINDOWS[window]),
  purpose,
});

export const WINDOW_VARIABLES: readonly WindowVariable[] = [
  duration(
    'PULLWATCH_UPDATE_INTERVAL',
    'updateIntervalMs',
    'least time between two updates of a Slack message',
  ),
  duration('PULLWATCH_QUIET_PERIOD', 'quietPeriodMs', 'quiet time before an incident resolves'),
  duration('PULLWATCH_REOPEN_WINDOW', 'reopenWindowMs', 'how long after it ends an incident can reopen'),
  duration(
    'PULLWATCH_STORM_WINDOW',
    'stormWindowMs',
    'window in which new incidents of one cause make a storm',
  ),
  {
    name: 'PULLWATCH_STORM_THRESHOLD',
    window: 'stormThreshold',
    kind: 'count',
    fallback: String(DEFAULT_WINDOWS.stormThreshold),
    purpose: 'new incidents of one cause, registry and cluster that make a storm (at least 2)',
  },
  duration(
    'PULLWATCH_STORM_HOLD',
    'stormHoldMs',
    'how long a new incident’s first post waits to learn whether it belongs to a storm',
  ),
  duration('PULLWATCH_SILENCE_AFTER', 'silenceMs', 'heartbeat silence after which a cluster is reported'),
];

export const windowVariable = (window: WindowName): WindowVariable =>
  WINDOW_VARIABLES.find((variable) => variable.window === window)!;

/**
 * The windows from the environment. Only the variables of `windows` are read (a function reads the
 * ones it uses, so that its recorded environment names exactly those); the others keep their
 * defaults. Throws WindowConfigError naming the variable on a malformed value.
 */
export const windowsFromEnv = (
  env: Env,
  windows: readonly WindowName[] = WINDOW_VARIABLES.map((variable) => variable.window),
): IncidentWindows => {
  const overrides: Partial<Record<WindowName, number>> = {};
  for (const window of windows) {
    const variable = windowVariable(window);
    if (variable.kind === 'duration') {
      try {
        overrides[window] = durationFromEnv(env, variable.name, DEFAULT_WINDOWS[window]);
      } catch (error) {
        if (error instanceof DurationError)
          throw new WindowConfigError(`${error.message} (${variable.purpose})`);
        throw error;
      }
      continue;
    }
    const raw = env[variable.name]?.trim();
    if (raw === undefined || raw === '') continue;
    const count = Number(raw);
    if (!/^\d+$/.test(raw) || count < 2) {
      throw new WindowConfigError(
        `${variable.name} must be a whole number of at least 2 (${variable.purpose}), got "${raw}"`,
      );
    }
    overrides[window] = count;
  }
  return incidentWindows(overrides);
};
