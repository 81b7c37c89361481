/**
 * Local mode's configuration, from the environment (and the command line's `--data`), as a table
 * (shared/config-table.ts). The windows, the channel and the routes are the pipeline's own variables,
 * so local mode and the deployed functions read the same names the same way. A bad value fails at
 * start, naming the variable.
 */
import { isAbsolute, resolve } from 'node:path';
import {
  ConfigError,
  type Env,
  InvalidValue,
  TEXT,
  type ValueKind,
  group,
  optional,
  withDefault,
} from '#shared/config-table';
import type { IncidentWindows } from '#shared/incident';
import { windowsSetting } from '#shared/incident-windows';
import { REGISTRY_CHECK_SETTING, type RegistryCheckConfig } from '#shared/registry-check/check-config';
import { type RouteRule, SLACK_CHANNEL_VARIABLE, SLACK_ROUTES } from '#shared/routing';
import { SLACK_API_URL } from '../functions/_common/slack-config';

export const DEFAULT_DATA_DIR = '.pullwatch/data';
/** The channel messages are shown for when no Slack is configured. */
export const TERMINAL_CHANNEL = 'pullwatch';

export type SlackTarget =
  { kind: 'slack'; token: string; channel: string; apiUrl?: string } | { kind: 'terminal'; channel: string };

export interface LocalConfig {
  dataDir: string;
  /** PULLWATCH_CLUSTER; undefined: the kubeconfig context's name (or the recording's cluster). */
  cluster?: string;
  windows: IncidentWindows;
  slack: SlackTarget;
  routes: RouteRule[];
  /** How often the scheduled ticks run (resolution, throttled updates). */
  tickIntervalMs: number;
  /** How long a claim on a Slack post is held (local mode is one process: short). */
  leaseMs: number;
  /** PULLWATCH_DYNAMODB_ENDPOINT: a DynamoDB endpoint to keep the table at, instead of the data folder. */
  storeEndpoint?: string;
  /** PULLWATCH_REGISTRY_CHECK: the registry check, asked from this machine (off by default). */
  registryCheck: RegistryCheckConfig;
}

/**
 * Ticks often enough that every window a tick acts on (resolution after the quiet period, throttled
 * updates, held first posts, silent forwarders, the post lease) is honoured within a quarter of itself; at most every 100 ms, at least
 * once a minute (the deployed schedule's rate).
 */
export const tickIntervalFor = (windows: IncidentWindows, leaseMs = Infinity): number => {
  const acted = [
    windows.quietPeriodMs,
    windows.updateIntervalMs,
    windows.stormHoldMs,
    windows.silenceMs,
    // A post left uncertain is retried by the tick once its claim's lease has ended.
    leaseMs,
  ].filter((ms) => ms > 0);
  return Math.round(Math.min(60_000, Math.max(100, Math.min(...acted, 240_000) / 4)));
};

const kind = (valid: RegExp, expected: string): ValueKind<string> => ({
  parse: (text) => {
    if (!valid.test(text)) throw new InvalidValue(`must be ${expected}, got "${text}"`);
    return text;
  },
  format: (value) => value,
});

export const localSettings = group({
  dataDir: optional({ name: 'PULLWATCH_DATA_DIR', purpose: 'where local mode keeps its data', kind: TEXT }),
  windows: windowsSetting(),
  token: optional({ name: 'SLACK_BOT_TOKEN', purpose: 'Slack bot token to post with', kind: TEXT }),
  channel: optional(SLACK_CHANNEL_VARIABLE),
  apiUrl: SLACK_API_URL,
  routes: SLACK_ROUTES,
  cluster: optional({
    name: 'PULLWATCH_CLUSTER',
    purpose: "the cluster's name",
    kind: kind(/^\S{1,100}$/, '1-100 characters without spaces'),
  }),
  // Longer than one Slack call can take (5 s, a search a few more), so a holder is dead or done by then.
  leaseMs: withDefault(
    {
      name: 'PULLWATCH_POST_LEASE_SECONDS',
      purpose: 'how long a claim on a Slack post is held (at least 10 s)',
      kind: {
        parse: (text) => {
          const seconds = Number(text);
          if (!Number.isFinite(seconds) || seconds < 10 || seconds > 3600) {
            throw new InvalidValue(`must be between 10 and 3600 seconds, got "${text}"`);
          }
          return seconds * 1000;
        },
        format: (ms) => String(ms / 1000),
      },
    },
    30_000,
  ),
  storeEndpoint: optional({
    name: 'PULLWATCH_DYNAMODB_ENDPOINT',
    purpose: 'a DynamoDB endpoint to keep the table at, instead of the data folder',
    kind: kind(/^https?:\/\/\S+$/, 'an http(s) URL'),
  }),
  registryCheck: REGISTRY_CHECK_SETTING,
});

export const loadLocalConfig = (env: Env, options: { dataDir?: string; cwd?: string } = {}): LocalConfig => {
  const cwd = options.cwd ?? process.cwd();
  const { windows, token, channel, apiUrl, routes, cluster, storeEndpoint, registryCheck, leaseMs, ...read } =
    localSettings.read(env);
  const dataDir = options.dataDir ?? read.dataDir ?? DEFAULT_DATA_DIR;
  if (token !== undefined && channel === undefined) {
    throw new ConfigError(
      'PULLWATCH_SLACK_CHANNEL is not set: SLACK_BOT_TOKEN is, so name the channel to post to (id or name)',
      'PULLWATCH_SLACK_CHANNEL',
    );
  }
  return {
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir),
    ...(cluster === undefined ? {} : { cluster }),
    windows,
    slack:
      token !== undefined && channel !== undefined
        ? {
            kind: 'slack',
            token,
            channel,
            ...(apiUrl === undefined ? {} : { apiUrl }),
          }
        : { kind: 'terminal', channel: channel ?? TERMINAL_CHANNEL },
    routes,
    tickIntervalMs: tickIntervalFor(windows, leaseMs),
    leaseMs,
    ...(storeEndpoint === undefined ? {} : { storeEndpoint }),
    registryCheck,
  };
};
