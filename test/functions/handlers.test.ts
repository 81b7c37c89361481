/**
 * The Lambda entry points themselves (functions/<name>/handler.ts), configured only through the
 * environment, as Lambda runs them: config fails fast naming the variable; wired to the local peers
 * through the SDK's endpoint variables, one failure becomes one Slack post.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { PIPELINE_DETAIL_TYPE } from '#shared/incident-events';
import {
  type Pipeline,
  SLACK_TOKEN,
  delivered,
  deliver,
  failed,
  heartbeat,
  lambdaEnv,
  startPipeline,
} from './support/pipeline';

type QueueHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

const load = <T>(path: string): T => {
  let loaded: T | undefined;
  jest.isolateModules(() => {
    loaded = require(path) as T;
  });
  return loaded!;
};

describe('configuration', () => {
  it.each([
    ['classify', {}, 'PULLWATCH_EVENT_BUS is not set: name of the EventBridge bus the pipeline publishes to'],
    [
      'dedupe',
      { PULLWATCH_EVENT_BUS: 'bus' },
      'PULLWATCH_TABLE is not set: name of the DynamoDB incident table',
    ],
    [
      'notify',
      { PULLWATCH_EVENT_BUS: 'bus', PULLWATCH_TABLE: 'table', PULLWATCH_SLACK_CHANNEL: '#alerts' },
      'PULLWATCH_SLACK_TOKEN_SECRET is not set: Secrets Manager id or ARN of the Slack bot token',
    ],
    [
      'notify',
      { PULLWATCH_SLACK_CHANNEL: '#alerts', PULLWATCH_SLACK_ROUTES: '{"channel":"x"}' },
      'PULLWATCH_SLACK_ROUTES is invalid: routes must be a JSON array',
    ],
    [
      'dedupe',
      { PULLWATCH_EVENT_BUS: 'bus', PULLWATCH_TABLE: 'table', PULLWATCH_QUIET_PERIOD: 'soon' },
      'PULLWATCH_QUIET_PERIOD must be a duration like 30s, 5m, 2h, 1d or 1h30m, got "soon"',
    ],
    [
      'watchdog',
      { PULLWATCH_EVENT_BUS: 'bus', PULLWATCH_TABLE: 'table', PULLWATCH_SLACK_CHANNEL: '#alerts' },
      'PULLWATCH_SLACK_TOKEN_SECRET is not set',
    ],
    [
      'watchdog',
      {
        PULLWATCH_EVENT_BUS: 'bus',
        PULLWATCH_TABLE: 'table',
        PULLWATCH_SLACK_CHANNEL: '#alerts',
        PULLWATCH_SLACK_TOKEN_SECRET: 'secret',
        PULLWATCH_SILENCE_AFTER: '600',
      },
      'PULLWATCH_SILENCE_AFTER must be a duration like 30s, 5m, 2h, 1d or 1h30m, got "600"',
    ],
  ])('%s fails at load when the environment is incomplete', (name, env, message) => {
    process.env = { ...saved, ...env };
    for (const variable of ['PULLWATCH_EVENT_BUS', 'PULLWATCH_TABLE', 'PULLWATCH_SLACK_TOKEN_SECRET']) {
      if (!(variable in env)) delete process.env[variable];
    }
    expect(() => load(`../../functions/${name}/handler`)).toThrow(message);
  });
});

describe('wired through the environment', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline();
  });
  afterAll(async () => {
    await pipeline.stop();
  });

  const wiredEnv = (): NodeJS.ProcessEnv => ({ ...saved, ...lambdaEnv(pipeline) });

  it('turns one failure into one incident and one Slack post', async () => {
    process.env = wiredEnv();
    const classify = load<{ handler: QueueHandler }>('../../functions/classify/handler').handler;
    const dedupe = load<{ handler: QueueHandler }>('../../functions/dedupe/handler').handler;
    const notify = load<{ handler: QueueHandler }>('../../functions/notify/handler').handler;

    expect(await deliver(classify, [failed({ pod: 1, at: 0 })])).toEqual([]);
    const classified = pipeline.bus.ofType(PIPELINE_DETAIL_TYPE.classified).map(delivered);
    expect(await deliver(dedupe, classified)).toEqual([]);
    const opened = pipeline.bus.ofType(PIPELINE_DETAIL_TYPE.opened).map(delivered);
    expect(opened).toHaveLength(1);
    expect(await deliver(notify, opened)).toEqual([]);

    expect(pipeline.slack.topLevel()).toHaveLength(1);
    expect(pipeline.slack.calls[0]?.token).toBe(SLACK_TOKEN);
    expect(pipeline.secrets.reads).toBe(1);
  });

  it('records heartbeats and warns about a silent cluster (watchdog: record and handler)', async () => {
    process.env = { ...wiredEnv(), PULLWATCH_SILENCE_AFTER: '1ms' };
    const watchdog = load<{ record: QueueHandler; handler: () => Promise<unknown> }>(
      '../../functions/watchdog/handler',
    );
    expect(await deliver(watchdog.record, [heartbeat({ cluster: 'edge-1', at: 0 })])).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await watchdog.handler()).toEqual({ due: 1, silent: 1, failed: 0 });
    const warnings = pipeline.slack
      .topLevel()
      .filter((message) => message.text.startsWith('Forwarder silent'));
    expect(warnings.map((message) => message.text)).toEqual([
      expect.stringContaining('no heartbeat from edge-1'),
    ]);
  });
});
