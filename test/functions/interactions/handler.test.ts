/**
 * The interactivity endpoint and the actions worker as Lambda runs them (functions/interactions and
 * functions/actions handler.ts), configured only by the environment and reached the way AWS reaches
 * them: a Function URL event (base64 body, as Function URLs deliver a form post), then the worker
 * from its queue. The signing secret is read from the Slack secret (JSON, next to the token).
 */
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ACTION_ID } from '#shared/incident-actions';
import { PIPELINE_DETAIL_TYPE } from '#shared/incident-events';
import { DUMMY_CREDENTIALS, TEST_REGION } from '../../support/dynalite';
import { type SignedRequest, SlackInteractionClient } from '../../support/slack-interactions';
import { type Pipeline, SLACK_TOKEN, delivered, deliver, failed, startPipeline } from '../support/pipeline';

jest.setTimeout(60_000);

const SIGNING_SECRET = 'aws-shape-signing-secret';
const saved = { ...process.env };
let pipeline: Pipeline;
beforeAll(async () => {
  pipeline = await startPipeline();
  pipeline.secrets.secrets.set(
    'pullwatch/slack',
    JSON.stringify({ token: SLACK_TOKEN, signingSecret: SIGNING_SECRET }),
  );
});
afterAll(async () => {
  process.env = { ...saved };
  await pipeline.stop();
});

const load = <T>(path: string): T => {
  let loaded: T | undefined;
  jest.isolateModules(() => {
    loaded = require(path) as T;
  });
  return loaded!;
};

const urlEvent = (request: SignedRequest): LambdaFunctionURLEvent =>
  ({
    version: '2.0',
    rawPath: '/',
    rawQueryString: '',
    headers: { ...request.headers, host: 'abc.lambda-url.eu-west-1.on.aws' },
    requestContext: { http: { method: 'POST', path: '/' } },
    body: Buffer.from(request.body).toString('base64'),
    isBase64Encoded: true,
  }) as unknown as LambdaFunctionURLEvent;

it('a signed click through the Function URL is applied by the worker; a forged one is refused', async () => {
  process.env = {
    ...saved,
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: pipeline.dynamo.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: pipeline.bus.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: pipeline.secrets.endpoint,
    SLACK_API_URL: pipeline.slack.apiUrl,
    PULLWATCH_EVENT_BUS: 'pullwatch-test',
    PULLWATCH_TABLE: pipeline.dynamo.tableName,
    PULLWATCH_SLACK_CHANNEL: '#alerts',
    PULLWATCH_SLACK_TOKEN_SECRET: 'pullwatch/slack',
    PULLWATCH_SLACK_INTERACTIONS: 'true',
    PULLWATCH_SLACK_TEAM_IDS: 'T0PULLWATCH',
    PULLWATCH_SLACK_APP_IDS: 'A0PULLWATCH',
    PULLWATCH_STORM_HOLD: '0',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  type QueueHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;
  const classify = load<{ handler: QueueHandler }>('../../../functions/classify/handler').handler;
  const dedupe = load<{ handler: QueueHandler }>('../../../functions/dedupe/handler').handler;
  const notify = load<{ handler: QueueHandler }>('../../../functions/notify/handler').handler;
  const endpoint = load<{ handler: (event: LambdaFunctionURLEvent) => Promise<LambdaFunctionURLResult> }>(
    '../../../functions/interactions/handler',
  ).handler;
  const worker = load<{ handler: QueueHandler }>('../../../functions/actions/handler').handler;

  await deliver(classify, [failed({ pod: 1, at: 0 })]);
  await deliver(dedupe, pipeline.bus.ofType(PIPELINE_DETAIL_TYPE.classified).map(delivered));
  await deliver(notify, pipeline.bus.ofType(PIPELINE_DETAIL_TYPE.opened).map(delivered));
  const message = pipeline.slack.topLevel()[0]!;

  const slack = new SlackInteractionClient(SIGNING_SECRET);
  const forged = new SlackInteractionClient('not-it').signedClick(
    message,
    ACTION_ID.acknowledge,
    { id: 'U0ALICE', username: 'alice' },
    { nowMs: Date.now() },
  );
  expect((await endpoint(urlEvent(forged))) as { statusCode: number }).toMatchObject({ statusCode: 401 });
  expect(pipeline.bus.ofType(PIPELINE_DETAIL_TYPE.actionRequested)).toHaveLength(0);

  const click = slack.signedClick(
    message,
    ACTION_ID.acknowledge,
    { id: 'U0ALICE', username: 'alice' },
    { nowMs: Date.now() },
  );
  expect((await endpoint(urlEvent(click))) as { statusCode: number }).toMatchObject({ statusCode: 200 });
  const requested = pipeline.bus.ofType(PIPELINE_DETAIL_TYPE.actionRequested).map(delivered);
  expect(requested).toHaveLength(1);
  expect(await deliver(worker, requested)).toEqual([]);
  expect(JSON.stringify(pipeline.slack.topLevel()[0]!.blocks)).toContain('Acknowledged by @alice');
  expect(pipeline.bus.ofType(PIPELINE_DETAIL_TYPE.acknowledged)).toHaveLength(1);
});
