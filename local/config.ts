/**
 * Local mode's configuration, from the environment (and the command line's `--data`). The window
 * variables are the pipeline's own (functions/_common/env.ts `windowsFromEnv`), so local mode and
 * the deployed functions read the same names. A bad value fails at start, naming the variable.
 */
import { isAbsolute, resolve } from 'node:path';
import type { IncidentWindows } from '#shared/incident';
import { ConfigError, type Env, optionalEnv, windowsFromEnv } from '../functions/_common/env';
import { type RouteRule, isChannel, parseRouteRules } from '../functions/notify/routing';

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
}

/**
 * Ticks often enough that every window a tick acts on (resolution after the quiet period, throttled
 * updates, held first posts, silent forwarders) is honoured within a quarter of itself; at most every 100 ms, at least
 * once a minute (the deployed schedule's rate).
 */
export const tickIntervalFor = (windows: IncidentWindows): number => {
  const acted = [
    windows.quietPeriodMs,
    windows.updateIntervalMs,
    windows.stormHoldMs,
    windows.silenceMs,
  ].filter((ms) => ms > 0);
  return Math.round(Math.min(60_000, Math.max(100, Math.min(...acted, 240_000) / 4)));
};

export const loadLocalConfig = (env: Env, options: { dataDir?: string; cwd?: string } = {}): LocalConfig => {
  const cwd = options.cwd ?? process.cwd();
  const dataDir = options.dataDir ?? optionalEnv(env, 'PULLWATCH_DATA_DIR') ?? DEFAULT_DATA_DIR;
  const windows = windowsFromEnv(env);
  const token = optionalEnv(env, 'SLACK_BOT_TOKEN');
  const channel = optionalEnv(env, 'PULLWATCH_SLACK_CHANNEL');
  if (channel !== undefined && !isChannel(channel)) {
    throw new ConfigError(`PULLWATCH_SLACK_CHANNEL must be a channel id or name, got "${channel}"`);
  }
  if (token !== undefined && channel === undefined) {
    throw new ConfigError(
      'PULLWATCH_SLACK_CHANNEL is not set: SLACK_BOT_TOKEN is, so name the channel to post to (id or name)',
    );
  }
  const apiUrl = optionalEnv(env, 'SLACK_API_URL');
  if (apiUrl !== undefined && !/^https?:\/\/\S+$/.test(apiUrl)) {
    throw new ConfigError(`SLACK_API_URL must be an http(s) URL, got "${apiUrl}"`);
  }
  const routesText = optionalEnv(env, 'PULLWATCH_SLACK_ROUTES');
  let routes: RouteRule[] = [];
  if (routesText !== undefined) {
    try {
      routes = parseRouteRules(routesText);
    } catch (error) {
      throw new ConfigError(
        `PULLWATCH_SLACK_ROUTES is invalid: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  const storeEndpoint = optionalEnv(env, 'PULLWATCH_DYNAMODB_ENDPOINT');
  if (storeEndpoint !== undefined && !/^https?:\/\/\S+$/.test(storeEndpoint)) {
    throw new ConfigError(`PULLWATCH_DYNAMODB_ENDPOINT must be an http(s) URL, got "${storeEndpoint}"`);
  }
  const cluster = optionalEnv(env, 'PULLWATCH_CLUSTER');
  if (cluster !== undefined && !/^\S{1,100}$/.test(cluster)) {
    throw new ConfigError(`PULLWATCH_CLUSTER must be 1-100 characters without spaces, got "${cluster}"`);
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
            ...(apiUrl === undefined ? {} : { apiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` }),
          }
        : { kind: 'terminal', channel: channel ?? TERMINAL_CHANNEL },
    routes,
    tickIntervalMs: tickIntervalFor(windows),
    leaseMs: 30_000,
    ...(storeEndpoint === undefined ? {} : { storeEndpoint }),
  };
};
