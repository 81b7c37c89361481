/** Lambda entry point: wiring only (config read once, clients at module scope). */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher } from '../_common/event-publisher';
import { createLogger, createMetrics } from '../_common/observability';
import { createClassifyHandler } from './classify';
import { loadClassifyConfig } from './config';

const config = loadClassifyConfig(process.env);
const eventBridge = new EventBridgeClient({});

export const handler = createClassifyHandler({
  publisher: new EventBridgePublisher(eventBridge, config.eventBusName),
  log: createLogger('classify'),
  metrics: createMetrics('classify'),
  now: () => new Date(),
});
