/**
 * The history API behind a Lambda Function URL (AWS_IAM auth): query string in, JSON out. The
 * same filters, validation and queries as `pullwatch incidents` and `pullwatch stats`.
 *
 *   GET /incidents?cluster=&namespace=&cause=&workload=&status=open|resolved|all&since=7d&limit=50
 *   GET /incidents/<incident id>
 *   GET /stats?since=30d&cluster=
 *
 * A bad parameter is a 400 naming it; an unknown id is a 404; anything but GET is a 405.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Log } from '../_common/observability';
import { describeError } from '../_common/observability';
import {
  type FilterInput,
  HistoryInputError,
  type IncidentQueries,
  parseIncidentFilter,
  parseStatsFilter,
} from './queries';

export interface HistoryDeps {
  queries: Pick<IncidentQueries, 'list' | 'get' | 'stats'>;
  log: Log;
  now: () => Date;
}

const LIST_PARAMETERS = ['cluster', 'namespace', 'cause', 'workload', 'status', 'since', 'limit'] as const;
const STATS_PARAMETERS = ['since', 'cluster'] as const;

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

const failure = (statusCode: number, error: string) => json(statusCode, { error });

/** The query string's parameters, refusing ones the route does not know (as the CLI refuses flags). */
const parameters = <K extends string>(
  event: APIGatewayProxyEventV2,
  known: readonly K[],
): Partial<Record<K, string>> => {
  const given = event.queryStringParameters ?? {};
  const unknown = Object.keys(given).filter((name) => !(known as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new HistoryInputError(`unknown parameter ${unknown.join(', ')}: expected ${known.join(', ')}`);
  }
  const values: Partial<Record<K, string>> = {};
  for (const name of known) {
    const value = given[name];
    // A repeated parameter arrives comma-joined; none of ours takes a list.
    if (value !== undefined) values[name] = value;
  }
  return values;
};

export const createHistoryHandler =
  (deps: HistoryDeps) =>
  async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const method = event.requestContext?.http?.method ?? 'GET';
    const path = (event.rawPath ?? '/').replace(/\/+$/, '') || '/';
    try {
      if (method !== 'GET')
        return { ...failure(405, `${method} is not supported: use GET`), headers: { allow: 'GET' } };
      const now = deps.now().getTime();
      if (path === '/incidents') {
        const filter = parseIncidentFilter(parameters(event, LIST_PARAMETERS) as FilterInput, now);
        return json(200, await deps.queries.list(filter));
      }
      const show = /^\/incidents\/([^/]+)$/.exec(path);
      if (show) {
        parameters(event, []);
        const record = await deps.queries.get(decodeURIComponent(show[1]!));
        return record === undefined ? failure(404, `no incident ${show[1]}`) : json(200, record);
      }
      if (path === '/stats') {
        return json(
          200,
          await deps.queries.stats(parseStatsFilter(parameters(event, STATS_PARAMETERS), now)),
        );
      }
      return failure(404, `no route ${path}: use /incidents, /incidents/<id> or /stats`);
    } catch (error) {
      if (error instanceof HistoryInputError) return failure(400, error.message);
      deps.log.error('history query failed', { path, ...describeError(error) });
      return failure(500, 'the incident table could not be read; see the function log');
    }
  };
