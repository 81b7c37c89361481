/** Lambda entry points: wiring only (config read once, clients at module scope). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLE_CLIENT_CONFIG } from '../_common/table-client';
import { DynamoForwarderStore } from '../_common/forwarder-store';
import { slackFunctionDeps } from '../_common/slack-wiring';
import { createClusterRouter } from '#shared/routing';
import { loadWatchdogConfig } from './config';
import { type WatchdogDeps, createHeartbeatHandler, createWatchdogTickHandler } from './watchdog';

const config = loadWatchdogConfig(process.env);
const dynamodb = new DynamoDBClient(TABLE_CLIENT_CONFIG);

const store = new DynamoForwarderStore(dynamodb, {
  tableName: config.tableName,
  retentionDays: config.retentionDays,
});

const deps: WatchdogDeps = {
  ...slackFunctionDeps('watchdog', config),
  store,
  posts: store.posts,
  channelFor: createClusterRouter(config.routing),
  silenceMs: config.silenceMs,
};

/** EventBridge Scheduler, every minute → silent clusters: warn once, count them (SilentForwarders). */
export const handler = createWatchdogTickHandler(deps);
/** SQS (ForwarderHeartbeat, rule heartbeatPattern) → each cluster's liveness; "back" once. */
export const record = createHeartbeatHandler(deps);
