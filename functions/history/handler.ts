/** Lambda entry point (Function URL, AWS_IAM): wiring only (config read once, clients at module scope). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLE_CLIENT_CONFIG } from '../_common/table-client';
import { createLogger } from '../_common/observability';
import { createHistoryHandler } from './api';
import { loadHistoryConfig } from './config';
import { IncidentQueries } from './queries';

const config = loadHistoryConfig(process.env);
const dynamodb = new DynamoDBClient(TABLE_CLIENT_CONFIG);

/** GET /incidents, /incidents/<id>, /stats → JSON. */
export const handler = createHistoryHandler({
  queries: new IncidentQueries(dynamodb, { tableName: config.tableName, statsLimit: config.statsLimit }),
  log: createLogger('history'),
  now: () => new Date(),
});
