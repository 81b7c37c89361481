/** The variables the classify function reads (shared/config-table.ts). */
import { type ConfigOf, type Env, group } from '#shared/config-table';
import { REGISTRY_CHECK_SETTINGS } from '#shared/registry-check/check-config';
import { EVENT_BUS_NAME } from '../_common/env';

export const classifySettings = group({
  eventBusName: EVENT_BUS_NAME,
  ...REGISTRY_CHECK_SETTINGS,
});

export type ClassifyConfig = ConfigOf<typeof classifySettings>;

export const loadClassifyConfig = (env: Env): ClassifyConfig => classifySettings.read(env);
