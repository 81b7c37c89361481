/**
 * The variables the actions worker reads (shared/config-table.ts): the table, Slack, the bus, who
 * may mute, and the registry check a re-check runs (the same settings as classify's).
 */
import { type ConfigOf, type Env, group } from '#shared/config-table';
import { windowsSetting } from '#shared/incident-windows';
import { REGISTRY_CHECK_SETTINGS } from '#shared/registry-check/check-config';
import { EVENT_BUS_NAME, TABLE_NAME } from '../_common/env';
import { SLACK_MUTE_USERS, SLACK_SETTINGS } from '../_common/slack-config';

export const workerSettings = group({
  ...SLACK_SETTINGS,
  tableName: TABLE_NAME,
  eventBusName: EVENT_BUS_NAME,
  windows: windowsSetting(['updateIntervalMs', 'quietPeriodMs']),
  muteAllowList: SLACK_MUTE_USERS,
  ...REGISTRY_CHECK_SETTINGS,
});
export type WorkerSettings = ConfigOf<typeof workerSettings>;

export const loadWorkerConfig = (env: Env): WorkerSettings => workerSettings.read(env);
