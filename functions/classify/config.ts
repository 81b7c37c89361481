import { type Env, requireEnv } from '../_common/env';

export interface ClassifyConfig {
  eventBusName: string;
}

export const loadClassifyConfig = (env: Env): ClassifyConfig => ({
  eventBusName: requireEnv(
    env,
    'PULLWATCH_EVENT_BUS',
    'name of the EventBridge bus the pipeline publishes to',
  ),
});
