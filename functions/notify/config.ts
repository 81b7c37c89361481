import type { IncidentWindows } from '#shared/incident';
import { ConfigError, type Env, optionalEnv, requireEnv, secondsEnv, windowsFromEnv } from '../_common/env';
import { type RoutingConfig, isChannel, parseRouteRules } from './routing';

/** Slack: the token, the Web API, the calls' limits and the channels (notify and watchdog). */
export interface SlackConfig {
  slackTokenSecretId: string;
  /** Overrides the Web API base URL (GovSlack, a proxy, tests). */
  slackApiUrl?: string;
  slackTimeoutMs: number;
  maxInlineWaitMs: number;
  leaseMs: number;
  routing: RoutingConfig;
}

export interface NotifyConfig extends SlackConfig {
  tableName: string;
  eventBusName: string;
  windows: IncidentWindows;
}

export const loadSlackConfig = (env: Env): SlackConfig => {
  const defaultChannel = requireEnv(
    env,
    'PULLWATCH_SLACK_CHANNEL',
    'default Slack channel (id or name) for incidents',
  );
  if (!isChannel(defaultChannel)) {
    throw new ConfigError(`PULLWATCH_SLACK_CHANNEL must be a channel id or name, got "${defaultChannel}"`);
  }
  const routes = optionalEnv(env, 'PULLWATCH_SLACK_ROUTES');
  let rules: RoutingConfig['rules'] = [];
  if (routes !== undefined) {
    try {
      rules = parseRouteRules(routes);
    } catch (error) {
      throw new ConfigError(
        `PULLWATCH_SLACK_ROUTES is invalid: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  const slackApiUrl = optionalEnv(env, 'SLACK_API_URL');
  return {
    slackTokenSecretId: requireEnv(
      env,
      'PULLWATCH_SLACK_TOKEN_SECRET',
      'Secrets Manager id or ARN of the Slack bot token',
    ),
    ...(slackApiUrl === undefined
      ? {}
      : { slackApiUrl: slackApiUrl.endsWith('/') ? slackApiUrl : `${slackApiUrl}/` }),
    slackTimeoutMs: secondsEnv(env, 'PULLWATCH_SLACK_TIMEOUT_SECONDS', 'timeout of one Slack call', 5) * 1000,
    maxInlineWaitMs:
      secondsEnv(env, 'PULLWATCH_SLACK_MAX_WAIT_SECONDS', 'longest Retry-After waited out inline', 3) * 1000,
    // Must exceed the function's timeout (set by the stack; 30 s by default).
    leaseMs:
      secondsEnv(env, 'PULLWATCH_POST_LEASE_SECONDS', 'how long a claim on a Slack post is held', 90) * 1000,
    routing: { defaultChannel, rules },
  };
};

export const loadNotifyConfig = (env: Env): NotifyConfig => {
  const slack = loadSlackConfig(env);
  return {
    tableName: requireEnv(env, 'PULLWATCH_TABLE', 'name of the DynamoDB incident table'),
    eventBusName: requireEnv(
      env,
      'PULLWATCH_EVENT_BUS',
      'name of the EventBridge bus the pipeline publishes to',
    ),
    ...slack,
    windows: windowsFromEnv(env, [
      'updateIntervalMs',
      'quietPeriodMs',
      'stormThreshold',
      'stormWindowMs',
      'stormHoldMs',
    ]),
  };
};
