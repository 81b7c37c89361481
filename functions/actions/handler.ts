/** Lambda entry point: wiring only (config read once, clients at module scope). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoActionStore } from '../_common/incident-actions-store';
import { DynamoIncidentStore } from '../_common/incident-store';
import { slackFunctionDeps } from '../_common/slack-wiring';
import { loadWorkerConfig } from './config';
import { createInteractionsWorker } from './worker';

const config = loadWorkerConfig(process.env);
const dynamodb = new DynamoDBClient({});

const store = new DynamoIncidentStore(dynamodb, { tableName: config.tableName, windows: config.windows });

/** SQS (IncidentActionRequested) → the action applied, the message updated, the event published. */
export const handler = createInteractionsWorker({
  ...slackFunctionDeps('actions', config),
  store,
  storms: store.storms,
  posts: store.posts,
  actions: new DynamoActionStore(dynamodb, { tableName: config.tableName, now: () => new Date() }),
  windows: config.windows,
});
