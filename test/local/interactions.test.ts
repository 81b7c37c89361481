/**
 * Actions from Slack in local mode: the local pipeline (local bus, dynalite, a local Slack Web API)
 * with local/interactions.ts in front, reached the two ways Slack reaches it: signed requests to a
 * real `POST /slack/events` over HTTP, and envelopes over a Socket Mode WebSocket from a local
 * Socket Mode endpoint (apps.connections.open, hello, envelope, ack). Measures the ack latency.
 */
import { FakeDistribution } from '../support/fake-distribution';
import { DETAIL_TYPE, SOURCE } from '#shared/contract';
import { registryCheckConfigSchema } from '#shared/registry-check/check-config';
import { ACTION_ID, type ActionSubject } from '#shared/incident-actions';
import { incidentWindows } from '#shared/incident';
import { createClusterRouter, createRouter } from '#shared/routing';
import { DynamoActionStore } from '../../functions/_common/incident-actions-store';
import { SlackNotifier } from '../../functions/_common/notifier';
import { LocalBus } from '../../local/bus';
import { type LocalInteractions, startLocalInteractions } from '../../local/interactions';
import {
  CountingMetrics,
  type LocalPipeline,
  type LocalPipelineOptions,
  wirePipeline,
} from '../../local/pipeline';
import { renderBlocks } from '../../local/render';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { FakeSlack, type StoredMessage } from '../support/fake-slack';
import { FakeSocketMode } from '../support/fake-socket-mode';
import { SlackInteractionClient } from '../support/slack-interactions';
import { failureDetail } from './support/local-pipeline';

jest.setTimeout(90_000);

const SIGNING_SECRET = 'local-signing-secret-0123456789';
const APP_TOKEN = 'xapp-1-A0PULLWATCH-1-abcdef';
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const alice = { id: 'U0ALICE', username: 'alice' };

let dynamo: LocalDynamo;
let slack: FakeSlack;
let bus: LocalBus;
let pipeline: LocalPipeline;
let metrics: CountingMetrics;
let interactions: LocalInteractions | undefined;
const client = new SlackInteractionClient(SIGNING_SECRET);

/** More options of the next pipeline, and its first failure's image and message. */
let extra: Partial<LocalPipelineOptions> = {};
let firstFailure: Parameters<typeof failureDetail>[0] = { at: 0 };

beforeEach(async () => {
  dynamo = await startDynalite();
  slack = await new FakeSlack({ token: 'xoxb-local', channels: { alerts: 'C0ALERTS01' } }).start();
  bus = new LocalBus({ retryBaseMs: 5, retryMaxMs: 20 });
  metrics = new CountingMetrics();
  const routing = { defaultChannel: '#alerts', rules: [] };
  pipeline = wirePipeline({
    bus,
    client: dynamo.client,
    tableName: dynamo.tableName,
    windows: incidentWindows({ stormHoldMs: 0 }),
    notifier: new SlackNotifier({
      tokens: { token: () => Promise.resolve('xoxb-local'), invalidate() {} },
      slackApiUrl: slack.apiUrl,
      timeoutMs: 2000,
      retries: 2,
      maxInlineWaitMs: 1000,
      metrics,
    }),
    route: createRouter(routing),
    channelFor: createClusterRouter(routing),
    leaseMs: 30_000,
    log: silent,
    metrics,
    tickIntervalMs: 3_600_000,
    onRejected: () => Promise.resolve(),
    onHeartbeat: () => Promise.resolve(),
    interactions: true,
    ...extra,
  });
  bus.put([
    {
      source: SOURCE,
      detailType: DETAIL_TYPE.failed,
      detail: failureDetail({ ...firstFailure, at: Date.now() - 1000 }),
    },
  ]);
  await bus.idle();
});
afterEach(async () => {
  await interactions?.stop();
  interactions = undefined;
  await bus.stop();
  await slack.stop();
  await dynamo.stop();
});

const message = (): StoredMessage => slack.topLevel()[0]!;

/** What the store holds for the one incident, found from the value its controls carry. */
const actionsOfTheIncident = () => {
  const value = client
    .controls(message())
    .find((element) => element.action_id === ACTION_ID.acknowledge)!.value!;
  const { s: subject } = JSON.parse(value) as { s: ActionSubject };
  return new DynamoActionStore(dynamo.client, {
    tableName: dynamo.tableName,
    now: () => new Date(),
  }).getActions(subject);
};

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

const report = (label: string, latencies: number[]) =>
  console.log(
    `${label}: ack latency over ${latencies.length} actions: p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms`,
  );

it('the terminal shows the controls as text', () => {
  const lines = renderBlocks(message().blocks as never);
  expect(lines).toContain(
    '[Acknowledge] [Snooze: 1 hour | 4 hours | 24 hours | until resolved] [Mute workload] [Re-check]',
  );
});

describe('POST /slack/events', () => {
  beforeEach(async () => {
    interactions = await startLocalInteractions({
      env: { SLACK_SIGNING_SECRET: SIGNING_SECRET, PULLWATCH_INTERACTIONS_PORT: '0' },
      publisher: pipeline.publisher,
      log: silent,
      metrics,
    });
  });

  const post = async (request: { headers: Record<string, string>; body: string }, path = '/slack/events') => {
    const started = performance.now();
    const response = await fetch(interactions!.url!.replace('/slack/events', path), {
      method: 'POST',
      headers: request.headers,
      body: request.body,
    });
    await response.text();
    return { status: response.status, ms: performance.now() - started };
  };

  it('takes signed clicks, refuses forged ones, and acks 200 actions fast', async () => {
    expect(interactions?.mode).toBe('http');
    const signed = client.signedClick(message(), ACTION_ID.acknowledge, alice, { nowMs: Date.now() });
    expect((await post({ ...signed, body: signed.body.replace('alice', 'mallory') })).status).toBe(401);
    expect((await post(signed, '/other')).status).toBe(404);
    expect((await post(signed)).status).toBe(200);
    await bus.idle();
    expect(JSON.stringify(message().blocks)).toContain('Acknowledged by @alice');

    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) {
      const user = { id: `U0LOAD${i}`, username: `user${i}` };
      const result = await post(
        client.signedClick(message(), ACTION_ID.acknowledge, user, { nowMs: Date.now() }),
      );
      expect(result.status).toBe(200);
      latencies.push(result.ms);
    }
    await bus.idle();
    report('local HTTP', latencies);
    expect(percentile(latencies, 99)).toBeLessThan(3000);
    expect(JSON.stringify(message().blocks)).toContain('Acknowledged by @alice at');
    expect(JSON.stringify(message().blocks)).toContain('and 196 others');
    expect((await actionsOfTheIncident()).acks).toHaveLength(201);
  });
});

describe('re-check in local mode', () => {
  let registry: FakeDistribution;
  const startHttp = async () => {
    interactions = await startLocalInteractions({
      env: { SLACK_SIGNING_SECRET: SIGNING_SECRET, PULLWATCH_INTERACTIONS_PORT: '0' },
      publisher: pipeline.publisher,
      log: silent,
      metrics,
    });
  };
  const recheck = async () => {
    const signed = client.signedClick(message(), ACTION_ID.recheck, alice, { nowMs: Date.now() });
    const response = await fetch(interactions!.url!, {
      method: 'POST',
      headers: signed.headers,
      body: signed.body,
    });
    expect(response.status).toBe(200);
    await bus.idle();
    return slack.repliesTo(message().ts).map((reply) => reply.text);
  };

  it('with the registry check off, says the registry was not asked', async () => {
    await startHttp();
    expect(await recheck()).toEqual([
      expect.stringContaining('The registry check is off in the config, so the registry was not asked'),
    ]);
  });

  describe('with the registry check on', () => {
    beforeAll(async () => {
      registry = await new FakeDistribution().start();
      const { host } = registry;
      const image = `${host}/acme/app:1.0.2`;
      firstFailure = {
        at: 0,
        image,
        message: `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`,
      };
      extra = {
        registryCheck: registryCheckConfigSchema.parse({
          enabled: true,
          privateRegistries: [host],
          plainHttpRegistries: [host],
        }),
        registryCheckSite: { credentials: async () => undefined },
      };
    });
    afterAll(async () => {
      extra = {};
      firstFailure = { at: 0 };
      await registry.stop();
    });

    it("answers from classify's check: one checker, one cache (the registry is not asked again)", async () => {
      // classify asked when the failure came.
      const asked = registry.requests;
      expect(asked).toBeGreaterThan(0);
      await startHttp();
      expect(await recheck()).toEqual([
        expect.stringMatching(/Re-check asked by @alice .*Registry check: \*confirmed\*: .*1\.0\.1/),
      ]);
      expect(registry.requests).toBe(asked);
    });
  });
});

describe('Socket Mode', () => {
  let socketMode: FakeSocketMode;
  beforeEach(async () => {
    socketMode = await new FakeSocketMode(APP_TOKEN).start();
    interactions = await startLocalInteractions({
      env: { SLACK_APP_TOKEN: APP_TOKEN, PULLWATCH_SLACK_TEAM_IDS: 'T0PULLWATCH' },
      publisher: pipeline.publisher,
      log: silent,
      metrics,
      slackApiUrl: socketMode.apiUrl,
    });
    await socketMode.connection;
  });
  afterEach(async () => {
    await interactions?.stop();
    interactions = undefined;
    await socketMode.stop();
  });

  it('opens the connection with the app token, acks each envelope and applies its action', async () => {
    expect(interactions?.mode).toBe('socket');
    expect(socketMode.opened[0]?.token).toBe(APP_TOKEN);
    await socketMode.deliver(
      client.click(message(), ACTION_ID.snooze, alice, { option: '1 hour', nowMs: Date.now() }),
    );
    await bus.idle();
    expect(JSON.stringify(message().blocks)).toContain('Snoozed by @alice');
    // Another workspace's payload is acked (Slack must not retry it) but changes nothing.
    const edits = message().edits;
    await socketMode.deliver(
      client.click(message(), ACTION_ID.acknowledge, alice, { nowMs: Date.now(), teamId: 'T0OTHER' }),
    );
    await bus.idle();
    expect(message().edits).toBe(edits);

    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) {
      const user = { id: `U0LOAD${i}`, username: `user${i}` };
      latencies.push(
        await socketMode.deliver(client.click(message(), ACTION_ID.acknowledge, user, { nowMs: Date.now() })),
      );
    }
    await bus.idle();
    report('local Socket Mode', latencies);
    expect(socketMode.acks).toHaveLength(202);
    expect((await actionsOfTheIncident()).acks).toHaveLength(200);
  });
});
