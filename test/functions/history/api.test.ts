/**
 * The history Lambda behind a Function URL: query string in, JSON out; bad parameters are 400s
 * naming them, unknown ids 404s. Against incidents the real handlers wrote in dynalite.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createHistoryHandler } from '../../../functions/history/api';
import { loadHistoryConfig } from '../../../functions/history/config';
import { IncidentQueries } from '../../../functions/history/queries';
import {
  MINUTE,
  T0,
  type TestPipeline,
  seedTwoIncidents,
  startTestPipeline,
} from '../../local/support/local-pipeline';

jest.setTimeout(30_000);

let world: TestPipeline;
let incidentId: string;
const errors: unknown[] = [];

const request = (path: string, query?: Record<string, string>, method = 'GET'): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: new URLSearchParams(query).toString(),
    ...(query === undefined ? {} : { queryStringParameters: query }),
    headers: {},
    isBase64Encoded: false,
    requestContext: { http: { method, path, protocol: 'HTTP/1.1', sourceIp: '10.0.0.1', userAgent: 'test' } },
  }) as unknown as APIGatewayProxyEventV2;

const handler = () =>
  createHistoryHandler({
    queries: new IncidentQueries(world.dynamo.newClient(), { tableName: world.dynamo.tableName }),
    log: { debug() {}, info() {}, warn() {}, error: (...args: unknown[]) => void errors.push(args) },
    now: () => new Date(T0 + 10 * MINUTE),
  });

const call = async (path: string, query?: Record<string, string>, method?: string) => {
  const response = await handler()(request(path, query, method));
  return { status: response.statusCode, body: JSON.parse(String(response.body)) as Record<string, unknown> };
};

beforeAll(async () => {
  world = await startTestPipeline();
  await seedTwoIncidents(world);
  const list = await call('/incidents', { cluster: 'prod-eu' });
  incidentId = (list.body.incidents as Array<{ incidentId: string }>)[0]!.incidentId;
});
afterAll(async () => {
  await world.stop();
});

describe('history API', () => {
  it('lists incidents with the same filters as the CLI', async () => {
    const { status, body } = await call('/incidents', { status: 'open', since: '1h' });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      incidents: [
        { cluster: 'prod-us', workload: 'deployment/api', status: 'open', cause: 'image-not-found' },
      ],
      truncated: false,
      plan: { index: 'byCause' },
    });
  });

  it('returns one incident in full', async () => {
    const { status, body } = await call(`/incidents/${incidentId}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      summary: { incidentId, status: 'resolved', recoveredAt: new Date(T0 + MINUTE).toISOString() },
      incident: { latest: { verdict: { cause: 'image-not-found' } } },
    });
  });

  it('returns stats', async () => {
    const { status, body } = await call('/stats', { since: '1d' });
    expect(status).toBe(200);
    expect(body.total).toEqual({ incidents: 2, open: 1, resolved: 1, medianRecoveryMs: MINUTE });
  });

  it.each([
    ['/incidents', { cause: 'typo' }, 400, /unknown cause "typo"/],
    ['/incidents', { since: 'soon' }, 400, /since "soon" is not a duration or date/],
    ['/incidents', { colour: 'red' }, 400, /unknown parameter colour: expected cluster, namespace, cause/],
    ['/stats', { cause: 'rate-limited' }, 400, /unknown parameter cause: expected since, cluster/],
    ['/incidents/web', undefined, 400, /"web" is not an incident id/],
    ['/incidents/pw-0000000000aa', undefined, 404, /no incident pw-0000000000aa/],
    ['/nope', undefined, 404, /no route \/nope/],
  ])('GET %s %j → %d', async (path, query, expected, message) => {
    const { status, body } = await call(path, query);
    expect(status).toBe(expected);
    expect(body.error).toMatch(message);
  });

  it('answers only GET', async () => {
    const response = await handler()(request('/incidents', undefined, 'POST'));
    expect(response.statusCode).toBe(405);
    expect(response.headers).toMatchObject({ allow: 'GET' });
  });

  it('says 500 without details when the table cannot be read, and logs why', async () => {
    const broken = createHistoryHandler({
      queries: new IncidentQueries(world.dynamo.newClient(), { tableName: 'no-such-table' }),
      log: { debug() {}, info() {}, warn() {}, error: (...args: unknown[]) => void errors.push(args) },
      now: () => new Date(),
    });
    const response = await broken(request('/incidents'));
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(String(response.body))).toEqual({
      error: 'the incident table could not be read; see the function log',
    });
    expect(errors).toHaveLength(1);
  });
});

describe('history config', () => {
  it('reads every variable it uses, and names a missing one', () => {
    expect(loadHistoryConfig({ PULLWATCH_TABLE: 'incidents', PULLWATCH_HISTORY_STATS_LIMIT: '500' })).toEqual(
      {
        tableName: 'incidents',
        statsLimit: 500,
      },
    );
    expect(() => loadHistoryConfig({})).toThrow(
      'PULLWATCH_TABLE is not set: name of the DynamoDB incident table',
    );
    expect(() => loadHistoryConfig({ PULLWATCH_TABLE: 't', PULLWATCH_HISTORY_STATS_LIMIT: 'lots' })).toThrow(
      /PULLWATCH_HISTORY_STATS_LIMIT must be an integer/,
    );
  });

  it('the handler module loads with its configuration and exports handler', () => {
    jest.isolateModules(() => {
      process.env.PULLWATCH_TABLE = 'incidents';
      process.env.AWS_REGION = 'eu-west-1';
      const module = require('../../../functions/history/handler') as { handler: unknown };
      expect(typeof module.handler).toBe('function');
      delete process.env.PULLWATCH_TABLE;
    });
  });
});
