/** Lambda entry point: wiring only (config read once, clients at module scope). */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EventBridgePublisher } from '../_common/event-publisher';
import { DynamoIncidentStore } from '../_common/incident-store';
import { SlackNotifier } from '../_common/notifier';
import { createLogger, createMetrics } from '../_common/observability';
import { SecretsManagerTokenSource } from '../_common/slack-token';
import { loadNotifyConfig } from './config';
import { type NotifyDeps, createNotifyHandler, createNotifyTickHandler } from './notify';
import { createRouter } from './routing';

const config = loadNotifyConfig(process.env);
const dynamodb = new DynamoDBClient({});
const eventBridge = new EventBridgeClient({});
const secrets = new SecretsManagerClient({});
const metrics = createMetrics('notify');

const deps: NotifyDeps = {
  store: new DynamoIncidentStore(dynamodb, { tableName: config.tableName, windows: config.windows }),
  notifier: new SlackNotifier({
    tokens: new SecretsManagerTokenSource(secrets, config.slackTokenSecretId),
    ...(config.slackApiUrl === undefined ? {} : { slackApiUrl: config.slackApiUrl }),
    timeoutMs: config.slackTimeoutMs,
    retries: 2,
    maxInlineWaitMs: config.maxInlineWaitMs,
    metrics,
  }),
  route: createRouter(config.routing),
  windows: config.windows,
  leaseMs: config.leaseMs,
  publisher: new EventBridgePublisher(eventBridge, config.eventBusName),
  log: createLogger('notify'),
  metrics,
  now: () => new Date(),
  newToken: randomUUID,
};

/** SQS (incident events) → Slack. */
export const handler = createNotifyHandler(deps);
/** EventBridge Scheduler, every minute → throttled chat.update calls whose interval has passed. */
export const tick = createNotifyTickHandler(deps);
