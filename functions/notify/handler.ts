/** Lambda entry point: wiring only (config read once, clients at module scope). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoActionStore } from '../_common/incident-actions-store';
import { DynamoIncidentStore } from '../_common/incident-store';
import { slackFunctionDeps } from '../_common/slack-wiring';
import { loadNotifyConfig } from './config';
import { type NotifyDeps, createNotifyHandler, createNotifyTickHandler } from './notify';
import { createRouter } from '#shared/routing';

const config = loadNotifyConfig(process.env);
const dynamodb = new DynamoDBClient({});

const deps: NotifyDeps = {
  ...slackFunctionDeps('notify', config),
  store: new DynamoIncidentStore(dynamodb, { tableName: config.tableName, windows: config.windows }),
  route: createRouter(config.routing),
  windows: config.windows,
  ...(config.interactions
    ? { actions: new DynamoActionStore(dynamodb, { tableName: config.tableName, now: () => new Date() }) }
    : {}),
};

/** SQS (incident events) → Slack. */
export const handler = createNotifyHandler(deps);
/** EventBridge Scheduler, every minute → throttled chat.update calls whose interval has passed. */
export const tick = createNotifyTickHandler(deps);
