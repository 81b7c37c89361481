/** Lambda entry point: wiring only (config read once, clients at module scope). */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLE_CLIENT_CONFIG } from '../_common/table-client';
import { DynamoActionStore } from '../_common/incident-actions-store';
import { DynamoIncidentStore } from '../_common/incident-store';
import { slackFunctionDeps } from '../_common/slack-wiring';
import { loadNotifyConfig } from './config';
import { type NotifyDeps, createNotifyHandler, createNotifyTickHandler } from './notify';
import { createRouter } from '#shared/routing';

const config = loadNotifyConfig(process.env);
const dynamodb = new DynamoDBClient(TABLE_CLIENT_CONFIG);

const store = new DynamoIncidentStore(dynamodb, { tableName: config.tableName, windows: config.windows });
const { checkSlackAuth, ...slack } = slackFunctionDeps('notify', config);
const deps: NotifyDeps = {
  ...slack,
  store,
  storms: store.storms,
  posts: store.posts,
  owed: store.owed,
  route: createRouter(config.routing),
  windows: config.windows,
  ...(config.interactions
    ? { actions: new DynamoActionStore(dynamodb, { tableName: config.tableName, now: () => new Date() }) }
    : {}),
};

const handleQueue = createNotifyHandler(deps);
const handleTick = createNotifyTickHandler(deps);

/** SQS (incident events) → Slack; the token is checked at the container's first invocation. */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  await checkSlackAuth();
  return handleQueue(event);
};
/**
 * EventBridge Scheduler, every minute → posts owed or due (held, after a Slack fault, after a lost
 * event) and throttled chat.update calls whose interval has passed.
 */
export const tick = async () => {
  await checkSlackAuth();
  return handleTick();
};
