/** The variables the history function reads (shared/config-table.ts). */
import { type ConfigOf, type Env, group, integer, withDefault } from '#shared/config-table';
import { TABLE_NAME } from '../_common/env';

export const historySettings = group({
  tableName: TABLE_NAME,
  /** Incidents a stats request reads at most (the answer says `truncated` beyond). */
  statsLimit: withDefault(
    {
      name: 'PULLWATCH_HISTORY_STATS_LIMIT',
      purpose: 'incidents a stats request reads at most',
      kind: integer(1),
    },
    10_000,
  ),
});

export type HistoryConfig = ConfigOf<typeof historySettings>;

export const loadHistoryConfig = (env: Env): HistoryConfig => historySettings.read(env);
