/** Lambda entry points: wiring only (config read once, clients at module scope). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLE_CLIENT_CONFIG } from '../_common/table-client';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher } from '../_common/event-publisher';
import { DynamoIncidentStore } from '../_common/incident-store';
import { createLogger, createMetrics } from '../_common/observability';
import { loadDedupeConfig } from './config';
import { type DedupeDeps, createDedupeHandler, createTickHandler } from './dedupe';

const config = loadDedupeConfig(process.env);
const dynamodb = new DynamoDBClient(TABLE_CLIENT_CONFIG);
const eventBridge = new EventBridgeClient({});

const deps: DedupeDeps = {
  store: new DynamoIncidentStore(dynamodb, {
    tableName: config.tableName,
    windows: config.windows,
    retentionDays: config.retentionDays,
  }),
  publisher: new EventBridgePublisher(eventBridge, config.eventBusName),
  windows: config.windows,
  log: createLogger('dedupe'),
  metrics: createMetrics('dedupe'),
  now: () => new Date(),
};

/** SQS (ImagePullClassified) → incidents. */
export const handler = createDedupeHandler(deps);
/** EventBridge Scheduler, every minute → resolve incidents whose quiet period ended. */
export const tick = createTickHandler(deps);
