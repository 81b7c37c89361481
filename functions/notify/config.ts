/** The variables the notify function reads (shared/config-table.ts). */
import { type ConfigOf, type Env, group } from '#shared/config-table';
import { windowsSetting } from '#shared/incident-windows';
import { EVENT_BUS_NAME, SLACK_INTERACTIONS, TABLE_NAME } from '../_common/env';
import { SLACK_SETTINGS } from '../_common/slack-config';

export const notifySettings = group({
  ...SLACK_SETTINGS,
  tableName: TABLE_NAME,
  eventBusName: EVENT_BUS_NAME,
  interactions: SLACK_INTERACTIONS,
  windows: windowsSetting([
    'updateIntervalMs',
    'quietPeriodMs',
    'stormThreshold',
    'stormWindowMs',
    'stormHoldMs',
  ]),
});

export type NotifyConfig = ConfigOf<typeof notifySettings>;

export const loadNotifyConfig = (env: Env): NotifyConfig => notifySettings.read(env);
