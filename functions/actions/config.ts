/** The variables the actions worker reads (shared/config-table.ts): the table, Slack, the bus. */
import { type ConfigOf, type Env, group } from '#shared/config-table';
import { windowsSetting } from '#shared/incident-windows';
import { EVENT_BUS_NAME, TABLE_NAME } from '../_common/env';
import { SLACK_SETTINGS } from '../_common/slack-config';

/** The worker: the table, Slack, the bus. */
export const workerSettings = group({
  ...SLACK_SETTINGS,
  tableName: TABLE_NAME,
  eventBusName: EVENT_BUS_NAME,
  windows: windowsSetting(['updateIntervalMs', 'quietPeriodMs']),
});
export type WorkerSettings = ConfigOf<typeof workerSettings>;

export const loadWorkerConfig = (env: Env): WorkerSettings => workerSettings.read(env);
