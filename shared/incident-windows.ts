/**
 * The pipeline's windows as environment variables, defined once: the Lambda functions read them with
 * `windowsFromEnv`, local mode reads the same names, and the CDK config documents and sets them.
 * Durations are written like `30s`, `5m`, `2h`, `1d` or `1h30m` (shared/duration.ts).
 *
 * Pure: no AWS, Kubernetes or Slack imports.
 */
import {
  DURATION_MS,
  type Env,
  InvalidValue,
  type Setting,
  type ValueKind,
  group,
  withDefault,
} from '#shared/config-table';
import { durationText } from '#shared/duration';
import { DEFAULT_WINDOWS, type IncidentWindows, incidentWindows } from '#shared/incident';

export type WindowName = keyof IncidentWindows;

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

const STORM_COUNT: ValueKind<number> = {
  parse: (text, purpose) => {
    const count = Number(text);
    if (!/^\d+$/.test(text) || count < 2) {
      throw new InvalidValue(`must be a whole number of at least 2 (${purpose}), got "${text}"`);
    }
    return count;
  },
  format: String,
};

/** One window's variable, with its default. */
export const windowSetting = (window: WindowName): Setting<number> => {
  const variable = windowVariable(window);
  return withDefault(
    {
      name: variable.name,
      purpose: variable.purpose,
      kind: variable.kind === 'duration' ? DURATION_MS : STORM_COUNT,
    },
    DEFAULT_WINDOWS[window],
  );
};

/**
 * The windows a component reads (all of them by default), the others keeping their defaults: a
 * function reads the ones it uses, so that its environment names exactly those.
 */
export const windowsSetting = (
  windows: readonly WindowName[] = WINDOW_VARIABLES.map((variable) => variable.window),
): Setting<IncidentWindows> =>
  group(
    Object.fromEntries(windows.map((window) => [window, windowSetting(window)])) as Record<
      WindowName,
      Setting<number>
    >,
    (read) => incidentWindows(read),
  );

/** The windows from the environment; throws ConfigError naming the variable on a malformed value. */
export const windowsFromEnv = (env: Env, windows?: readonly WindowName[]): IncidentWindows =>
  windowsSetting(windows).read(env);
