/** Lambda entry point: wiring only (config read once, clients at module scope). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLE_CLIENT_CONFIG } from '../_common/table-client';
import { DynamoActionStore } from '../_common/incident-actions-store';
import { DynamoIncidentStore } from '../_common/incident-store';
import { lambdaRegistryCheck } from '../_common/registry-check/pipeline-checker';
import { slackFunctionDeps } from '../_common/slack-wiring';
import { CachedUserGroups } from '../_common/user-groups';
import { loadWorkerConfig } from './config';
import { createInteractionsWorker } from './worker';

const config = loadWorkerConfig(process.env);
const dynamodb = new DynamoDBClient(TABLE_CLIENT_CONFIG);

const store = new DynamoIncidentStore(dynamodb, { tableName: config.tableName, windows: config.windows });
const slack = slackFunctionDeps('actions', config);
// Kept at module scope: a warm function asks each image once per cache period, as classify does.
const registryCheck = lambdaRegistryCheck(
  config.registryCheck,
  config.registryCheckFrom,
  process.env.AWS_REGION,
);

/** SQS (IncidentActionRequested) → the action applied, the message updated, the event published. */
export const handler = createInteractionsWorker({
  ...slack,
  store,
  storms: store.storms,
  posts: store.posts,
  actions: new DynamoActionStore(dynamodb, { tableName: config.tableName, now: () => new Date() }),
  windows: config.windows,
  ...(registryCheck === undefined ? {} : { registryCheck }),
  ...(config.muteAllowList === undefined ? {} : { muteAllowList: config.muteAllowList }),
  userGroups: new CachedUserGroups(slack.people),
});
