/** Lambda entry points: wiring only (config read once, clients at module scope). */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EventBridgePublisher } from '../_common/event-publisher';
import { DynamoForwarderStore } from '../_common/forwarder-store';
import { SlackNotifier } from '../_common/notifier';
import { createLogger, createMetrics } from '../_common/observability';
import { SecretsManagerTokenSource } from '../_common/slack-token';
import { createClusterRouter } from '../notify/routing';
import { loadWatchdogConfig } from './config';
import { type WatchdogDeps, createHeartbeatHandler, createWatchdogTickHandler } from './watchdog';

const config = loadWatchdogConfig(process.env);
const dynamodb = new DynamoDBClient({});
const eventBridge = new EventBridgeClient({});
const secrets = new SecretsManagerClient({});
const metrics = createMetrics('watchdog');

const deps: WatchdogDeps = {
  store: new DynamoForwarderStore(dynamodb, {
    tableName: config.tableName,
    retentionDays: config.retentionDays,
  }),
  notifier: new SlackNotifier({
    tokens: new SecretsManagerTokenSource(secrets, config.slackTokenSecretId),
    ...(config.slackApiUrl === undefined ? {} : { slackApiUrl: config.slackApiUrl }),
    timeoutMs: config.slackTimeoutMs,
    retries: 2,
    maxInlineWaitMs: config.maxInlineWaitMs,
    metrics,
  }),
  channelFor: createClusterRouter(config.routing),
  silenceMs: config.silenceMs,
  leaseMs: config.leaseMs,
  publisher: new EventBridgePublisher(eventBridge, config.eventBusName),
  log: createLogger('watchdog'),
  metrics,
  now: () => new Date(),
  newToken: randomUUID,
};

/** EventBridge Scheduler, every minute → silent clusters: warn once, count them (SilentForwarders). */
export const handler = createWatchdogTickHandler(deps);
/** SQS (ForwarderHeartbeat, rule heartbeatPattern) → each cluster's liveness; "back" once. */
export const record = createHeartbeatHandler(deps);
