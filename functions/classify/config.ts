/** The variables the classify function reads (shared/config-table.ts). */
import { type ConfigOf, type Env, TEXT, group, optional } from '#shared/config-table';
import { REGISTRY_CHECK_SETTING } from '#shared/registry-check/check-config';
import { EVENT_BUS_NAME } from '../_common/env';

export const classifySettings = group({
  eventBusName: EVENT_BUS_NAME,
  registryCheck: REGISTRY_CHECK_SETTING,
  registryCheckFrom: optional({
    name: 'PULLWATCH_REGISTRY_CHECK_FROM',
    purpose: 'where the registry check runs, as messages say it ("AWS Lambda in account … (eu-west-1)")',
    kind: TEXT,
  }),
});

export type ClassifyConfig = ConfigOf<typeof classifySettings>;

export const loadClassifyConfig = (env: Env): ClassifyConfig => classifySettings.read(env);
