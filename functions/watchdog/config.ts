import { type Env, integerEnv, requireEnv, windowsFromEnv } from '../_common/env';
import { DEFAULT_RETENTION_DAYS } from '../_common/incident-table';
import { type SlackConfig, loadSlackConfig } from '../notify/config';

export interface WatchdogConfig extends SlackConfig {
  tableName: string;
  eventBusName: string;
  /** PULLWATCH_SILENCE_AFTER: heartbeat silence after which a cluster is reported. */
  silenceMs: number;
  retentionDays: number;
}

export const loadWatchdogConfig = (env: Env): WatchdogConfig => ({
  tableName: requireEnv(env, 'PULLWATCH_TABLE', 'name of the DynamoDB incident table'),
  eventBusName: requireEnv(
    env,
    'PULLWATCH_EVENT_BUS',
    'name of the EventBridge bus the pipeline publishes to',
  ),
  ...loadSlackConfig(env),
  silenceMs: windowsFromEnv(env, ['silenceMs']).silenceMs,
  retentionDays: integerEnv(
    env,
    'PULLWATCH_RETENTION_DAYS',
    'days a cluster that stopped sending heartbeats is remembered',
    DEFAULT_RETENTION_DAYS,
    1,
  ),
});
