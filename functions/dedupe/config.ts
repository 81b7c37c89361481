/** The variables the dedupe function reads (shared/config-table.ts). */
import { type ConfigOf, type Env, group } from '#shared/config-table';
import { windowsSetting } from '#shared/incident-windows';
import { EVENT_BUS_NAME, TABLE_NAME, retentionDays } from '../_common/env';

export const dedupeSettings = group({
  tableName: TABLE_NAME,
  eventBusName: EVENT_BUS_NAME,
  windows: windowsSetting(['quietPeriodMs', 'reopenWindowMs']),
  retentionDays: retentionDays('days a resolved incident is kept'),
});

export type DedupeConfig = ConfigOf<typeof dedupeSettings>;

export const loadDedupeConfig = (env: Env): DedupeConfig => dedupeSettings.read(env);
