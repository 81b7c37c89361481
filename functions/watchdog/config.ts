/** The variables the watchdog function reads (shared/config-table.ts). */
import { type ConfigOf, type Env, group } from '#shared/config-table';
import { windowSetting } from '#shared/incident-windows';
import { EVENT_BUS_NAME, TABLE_NAME, retentionDays } from '../_common/env';
import { SLACK_SETTINGS } from '../_common/slack-config';

export const watchdogSettings = group({
  tableName: TABLE_NAME,
  eventBusName: EVENT_BUS_NAME,
  ...SLACK_SETTINGS,
  /** PULLWATCH_SILENCE_AFTER: heartbeat silence after which a cluster is reported. */
  silenceMs: windowSetting('silenceMs'),
  retentionDays: retentionDays('days a cluster that stopped sending heartbeats is remembered'),
});

export type WatchdogConfig = ConfigOf<typeof watchdogSettings>;

export const loadWatchdogConfig = (env: Env): WatchdogConfig => watchdogSettings.read(env);
