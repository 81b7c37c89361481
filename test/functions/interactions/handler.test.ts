/**
 * The interactivity endpoint and the actions worker as Lambda runs them (functions/interactions and
 * functions/actions handler.ts), configured only by the environment and reached the way AWS reaches
 * them: a Function URL event (base64 body, as Function URLs deliver a form post), then the worker
 * from its queue. The signing secret is read from the Slack secret (JSON, next to the token).
 */
import { FakeDistribution } from '../../support/fake-distribution';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ACTION_ID } from '#shared/incident-actions';
import { PIPELINE_DETAIL_TYPE } from '#shared/incident-events';
import { type SignedRequest, SlackInteractionClient } from '../../support/slack-interactions';
import {
  type Pipeline,
  SLACK_TOKEN,
  delivered,
  deliver,
  failed,
  lambdaEnv,
  startPipeline,
} from '../support/pipeline';

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

const awsEnv = () => ({
  ...saved,
  ...lambdaEnv(pipeline),
  PULLWATCH_SLACK_INTERACTIONS: 'true',
  PULLWATCH_SLACK_TEAM_IDS: 'T0PULLWATCH',
  PULLWATCH_SLACK_APP_IDS: 'A0PULLWATCH',
});
type QueueHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;
type UrlHandler = (event: LambdaFunctionURLEvent) => Promise<LambdaFunctionURLResult>;

it('a signed click through the Function URL is applied by the worker; a forged one is refused', async () => {
  process.env = awsEnv();
  const classify = load<{ handler: QueueHandler }>('../../../functions/classify/handler').handler;
  const dedupe = load<{ handler: QueueHandler }>('../../../functions/dedupe/handler').handler;
  const notify = load<{ handler: QueueHandler }>('../../../functions/notify/handler').handler;
  const endpoint = load<{ handler: UrlHandler }>('../../../functions/interactions/handler').handler;
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

describe('the worker as configured by the stack: re-check asks the registry; the allow-list asks Slack', () => {
  let registry: FakeDistribution;
  let host: string;
  beforeAll(async () => {
    registry = await new FakeDistribution().start();
    host = registry.host;
  });
  afterAll(async () => {
    await registry.stop();
  });

  it('answers a re-check with the registry check; refuses a mute by someone in no listed group', async () => {
    process.env = {
      ...awsEnv(),
      PULLWATCH_REGISTRY_CHECK: JSON.stringify({
        enabled: true,
        privateRegistries: [host],
        plainHttpRegistries: [host],
      }),
      PULLWATCH_REGISTRY_CHECK_FROM: 'AWS Lambda in the test',
      PULLWATCH_SLACK_MUTE_USERS: 'U0BOB,S0SRE',
    };
    pipeline.slack.userGroups.set('S0SRE', ['U0ALICE']);
    const classify = load<{ handler: QueueHandler }>('../../../functions/classify/handler').handler;
    const dedupe = load<{ handler: QueueHandler }>('../../../functions/dedupe/handler').handler;
    const notify = load<{ handler: QueueHandler }>('../../../functions/notify/handler').handler;
    const endpoint = load<{ handler: UrlHandler }>('../../../functions/interactions/handler').handler;
    const worker = load<{ handler: QueueHandler }>('../../../functions/actions/handler').handler;
    const image = `${host}/acme/app:1.0.2`;
    const seen = pipeline.bus.events.length;
    await deliver(classify, [
      failed({
        workload: 'api',
        pod: 1,
        at: 0,
        image,
        message: `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`,
      }),
    ]);
    const fresh = () => pipeline.bus.events.slice(seen);
    const ofType = (type: string) =>
      fresh()
        .filter((event) => event.detailType === type)
        .map(delivered);
    await deliver(dedupe, ofType(PIPELINE_DETAIL_TYPE.classified));
    await deliver(notify, ofType(PIPELINE_DETAIL_TYPE.opened));
    const message = pipeline.slack
      .topLevel()
      .find((posted) => JSON.stringify(posted.blocks).includes(image))!;
    const slack = new SlackInteractionClient(SIGNING_SECRET);

    const recheck = slack.signedClick(
      message,
      ACTION_ID.recheck,
      { id: 'U0ALICE', username: 'alice' },
      { nowMs: Date.now() },
    );
    expect(await endpoint(urlEvent(recheck))).toMatchObject({ statusCode: 200 });
    expect(await deliver(worker, ofType(PIPELINE_DETAIL_TYPE.actionRequested))).toEqual([]);
    expect(pipeline.slack.repliesTo(message.ts).map((reply) => reply.text)).toEqual([
      expect.stringMatching(/Re-check asked by @alice .*Registry check: \*confirmed\*: .*1\.0\.1/),
    ]);

    // Carol is not listed: the endpoint cannot know her groups and hands it on; the worker asks Slack.
    const before = ofType(PIPELINE_DETAIL_TYPE.actionRequested).length;
    const mute = slack.signedClick(
      message,
      ACTION_ID.mute,
      { id: 'U0CAROL', username: 'carol' },
      { nowMs: Date.now() },
    );
    expect(await endpoint(urlEvent(mute))).toMatchObject({ statusCode: 200 });
    expect(await deliver(worker, ofType(PIPELINE_DETAIL_TYPE.actionRequested).slice(before))).toEqual([]);
    expect(pipeline.slack.ephemerals.map((ephemeral) => ephemeral.user)).toEqual(['U0CAROL']);
    expect(ofType(PIPELINE_DETAIL_TYPE.muted)).toHaveLength(0);

    // Without a group in the list, the endpoint refuses her itself.
    process.env = { ...process.env, PULLWATCH_SLACK_MUTE_USERS: 'U0BOB' };
    const strict = load<{ handler: UrlHandler }>('../../../functions/interactions/handler').handler;
    const again = slack.signedClick(
      message,
      ACTION_ID.mute,
      { id: 'U0CAROL', username: 'carol' },
      { nowMs: Date.now() },
    );
    expect(await strict(urlEvent(again))).toMatchObject({ statusCode: 403, body: 'not-allowed' });
  });
});
