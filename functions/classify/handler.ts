/** Lambda entry point: wiring only (config read once, clients at module scope). */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher } from '../_common/event-publisher';
import { createLogger, createMetrics } from '../_common/observability';
import { PipelineRegistryCheck, ecrClientsByRegion } from '../_common/registry-check/pipeline-checker';
import { createClassifyHandler } from './classify';
import { loadClassifyConfig } from './config';

const config = loadClassifyConfig(process.env);
const eventBridge = new EventBridgeClient({});

// Kept at module scope: a warm function asks each image once per cache period.
const registryCheck = config.registryCheck.enabled
  ? new PipelineRegistryCheck(config.registryCheck, {
      checkedFrom: config.registryCheckFrom ?? `AWS Lambda (${process.env.AWS_REGION ?? 'unknown region'})`,
      denyPrivate: true,
      // The function's own role reads ECR; other registries are asked anonymously.
      credentials: async () => undefined,
      ecrClient: ecrClientsByRegion(),
    })
  : undefined;

export const handler = createClassifyHandler({
  publisher: new EventBridgePublisher(eventBridge, config.eventBusName),
  log: createLogger('classify'),
  metrics: createMetrics('classify'),
  now: () => new Date(),
  ...(registryCheck === undefined ? {} : { registryCheck }),
});
