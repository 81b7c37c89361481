import { type Env, integerEnv, requireEnv } from '../_common/env';

export interface HistoryConfig {
  tableName: string;
  /** Incidents a stats request reads at most (the answer says `truncated` beyond). */
  statsLimit: number;
}

/** Every variable the history function reads. */
export const loadHistoryConfig = (env: Env): HistoryConfig => ({
  tableName: requireEnv(env, 'PULLWATCH_TABLE', 'name of the DynamoDB incident table'),
  statsLimit: integerEnv(
    env,
    'PULLWATCH_HISTORY_STATS_LIMIT',
    'incidents a stats request reads at most',
    10_000,
    1,
  ),
});
