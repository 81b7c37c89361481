import type { IncidentWindows } from '#shared/incident';
import { type Env, integerEnv, requireEnv, windowsFromEnv } from '../_common/env';
import { DEFAULT_RETENTION_DAYS } from '../_common/incident-table';

export interface DedupeConfig {
  tableName: string;
  eventBusName: string;
  windows: IncidentWindows;
  retentionDays: number;
}

export const loadDedupeConfig = (env: Env): DedupeConfig => ({
  tableName: requireEnv(env, 'PULLWATCH_TABLE', 'name of the DynamoDB incident table'),
  eventBusName: requireEnv(
    env,
    'PULLWATCH_EVENT_BUS',
    'name of the EventBridge bus the pipeline publishes to',
  ),
  windows: windowsFromEnv(env, ['quietPeriodMs', 'reopenWindowMs']),
  retentionDays: integerEnv(
    env,
    'PULLWATCH_RETENTION_DAYS',
    'days a resolved incident is kept',
    DEFAULT_RETENTION_DAYS,
    1,
  ),
});
