/** Lambda entry point: wiring only (config read once, clients at module scope). */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher } from '../_common/event-publisher';
import { createLogger, createMetrics } from '../_common/observability';
import { lambdaRegistryCheck } from '../_common/registry-check/pipeline-checker';
import { createClassifyHandler } from './classify';
import { loadClassifyConfig } from './config';

const config = loadClassifyConfig(process.env);
const eventBridge = new EventBridgeClient({});

// Kept at module scope: a warm function asks each image once per cache period.
const registryCheck = lambdaRegistryCheck(
  config.registryCheck,
  config.registryCheckFrom,
  process.env.AWS_REGION,
);

export const handler = createClassifyHandler({
  publisher: new EventBridgePublisher(eventBridge, config.eventBusName),
  log: createLogger('classify'),
  metrics: createMetrics('classify'),
  now: () => new Date(),
  ...(registryCheck === undefined ? {} : { registryCheck }),
});
