/**
 * Actions from Slack through the real chain, AWS shape: a test Slack client clicks the controls it
 * finds in the posted messages, signed as Slack signs; the endpoint (createInteractionReceiver, the
 * signing secret from a local Secrets Manager) puts verified actions on a local EventBridge; the
 * worker applies them from the queue against dynalite and the local Slack Web API; notify honours
 * snoozes and mutes.
 */
import { FakeDistribution } from '../../support/fake-distribution';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { IncidentWindows } from '#shared/incident';
import { ACTION_ID, muteAllowListOf, subjectIdOf } from '#shared/incident-actions';
import { ACTION_DETAIL_TYPES, PIPELINE_DETAIL_TYPE } from '#shared/incident-events';
import { EventBridgePublisher } from '../../../functions/_common/event-publisher';
import { METRIC } from '../../../functions/_common/observability';
import { IncidentQueries } from '../../../functions/history/queries';
import { renderIncident, renderStats } from '../../../cli/history-view';
import { createInteractionReceiver, enqueueOnBus } from '../../../functions/interactions/receive';
import { SecretsManagerSigningSecret } from '../../../functions/interactions/signing-secret';
import { createInteractionsWorker } from '../../../functions/actions/worker';
import { lambdaRegistryCheck } from '../../../functions/_common/registry-check/pipeline-checker';
import { registryCheckConfigSchema } from '#shared/registry-check/check-config';
import { DUMMY_CREDENTIALS, TEST_REGION } from '../../support/dynalite';
import type { StoredMessage } from '../../support/fake-slack';
import { type SignedRequest, SlackInteractionClient } from '../../support/slack-interactions';
import {
  CHANNELS,
  MINUTE,
  type Pipeline,
  type PipelineOptions,
  RecordingLog,
  RecordingMetrics,
  SLACK_TOKEN,
  T0,
  delivered,
  deliverUntilDone,
  failed,
  recovered,
  startPipeline,
} from '../support/pipeline';

jest.setTimeout(60_000);

const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const alice = { id: 'U0ALICE', username: 'alice' };
const bob = { id: 'U0BOB', username: 'bob' };

let pipeline: Pipeline;
let slackClient: SlackInteractionClient;
let receive: ReturnType<typeof createInteractionReceiver>;
let receiverMetrics: RecordingMetrics;
let clients: Array<{ destroy(): void }>;
/** The incident windows of the next pipeline (a storm needs its hold). */
let windows: Partial<IncidentWindows> = {};
/** More options of the next pipeline. */
let options: Omit<PipelineOptions, 'windows' | 'interactions'> = {};

beforeEach(async () => {
  pipeline = await startPipeline({ ...options, interactions: true, windows });
  pipeline.secrets.secrets.set(
    'pullwatch/slack',
    JSON.stringify({ token: SLACK_TOKEN, signingSecret: SIGNING_SECRET }),
  );
  const aws = { region: TEST_REGION, credentials: DUMMY_CREDENTIALS };
  const secretsClient = new SecretsManagerClient({ ...aws, endpoint: pipeline.secrets.endpoint });
  const eventBridge = new EventBridgeClient({ ...aws, endpoint: pipeline.bus.endpoint });
  clients = [secretsClient, eventBridge];
  const publisher = new EventBridgePublisher(eventBridge, 'pullwatch-test');
  receiverMetrics = new RecordingMetrics();
  receive = createInteractionReceiver({
    config: {
      teamIds: ['T0PULLWATCH'],
      appIds: ['A0PULLWATCH'],
      maxBodyBytes: 64 * 1024,
      ...(options.muteAllowList === undefined ? {} : { muteAllowList: options.muteAllowList }),
    },
    secret: new SecretsManagerSigningSecret(secretsClient, 'pullwatch/slack'),
    enqueue: enqueueOnBus(publisher),
    metrics: receiverMetrics,
    log: new RecordingLog(),
    now: pipeline.clock.now,
  });
  slackClient = new SlackInteractionClient(SIGNING_SECRET);
});
afterEach(async () => {
  for (const client of clients) client.destroy();
  await pipeline.stop();
});

const at = (minutes: number) => {
  pipeline.clock.ms = T0 + minutes * MINUTE + 30_000;
};

/** Sends requests to the endpoint, then runs the worker on what it put on the bus (as SQS would). */
const send = async (...requests: SignedRequest[]) => {
  pipeline.takeNew([]);
  const responses = await Promise.all(requests.map((request) => receive(request)));
  const queued = pipeline.takeNew([PIPELINE_DETAIL_TYPE.actionRequested]).map(delivered);
  await deliverUntilDone(createInteractionsWorker(pipeline.workerDeps!), queued, {
    between: () => pipeline.clock.advance(1000),
  });
  return responses.map((response) => response.status);
};

const click = (message: StoredMessage, actionId: string, user = alice, option?: string) =>
  slackClient.signedClick(message, actionId, user, {
    nowMs: pipeline.clock.ms,
    ...(option === undefined ? {} : { option }),
  });

/** The incident's message as Slack holds it now. */
const mainMessage = (workload = 'web'): StoredMessage => {
  const found = pipeline.slack
    .topLevel(CHANNELS.alerts)
    .find((message) => JSON.stringify(message.blocks).includes(`deployment/${workload}`));
  if (found === undefined) throw new Error(`no message for ${workload}`);
  return found;
};

const firstIncident = async () => {
  at(0);
  await pipeline.flow([failed({ pod: 1, at: 0 })]);
  return mainMessage();
};

const subjectOf = (message: StoredMessage) => {
  const value = slackClient
    .controls(message)
    .find((element) => element.action_id === ACTION_ID.acknowledge)!.value!;
  return (JSON.parse(value) as { s: Parameters<typeof subjectIdOf>[0] }).s;
};

const actionEvents = () =>
  pipeline.bus.events.filter((event) =>
    (ACTION_DETAIL_TYPES as readonly string[]).includes(event.detailType),
  );

/** Action events, a repeat of one (same eventId: a retry's repair) counted once. */
const distinctActionEvents = () => [
  ...new Map(actionEvents().map((event) => [String(event.detail.eventId), event])).values(),
];

describe('controls and acknowledgement', () => {
  it('a posted incident has controls; a click acknowledges it, in the message, the timeline and on the bus', async () => {
    const message = await firstIncident();
    expect(slackClient.controls(message).map((element) => element.action_id)).toEqual([
      ACTION_ID.acknowledge,
      ACTION_ID.snooze,
      ACTION_ID.mute,
      ACTION_ID.recheck,
    ]);
    at(4);
    expect(await send(click(message, ACTION_ID.acknowledge))).toEqual([200]);
    const shown = JSON.stringify(mainMessage().blocks);
    expect(shown).toContain('Acknowledged by @alice at 10:04 UTC');
    const state = await pipeline.actions!.getActions(subjectOf(message));
    expect(state.timeline.map((record) => [record.kind, record.userId])).toEqual([
      ['acknowledged', 'U0ALICE'],
    ]);
    expect(
      actionEvents().map((event) => [event.detailType, (event.detail.by as { userId: string }).userId]),
    ).toEqual([['IncidentAcknowledged', 'U0ALICE']]);
    // A second person is added; the first clicking again changes nothing.
    expect(
      await send(
        click(mainMessage(), ACTION_ID.acknowledge, bob),
        click(mainMessage(), ACTION_ID.acknowledge),
      ),
    ).toEqual([200, 200]);
    expect(JSON.stringify(mainMessage().blocks)).toContain(
      'Acknowledged by @alice at 10:04 UTC, @bob at 10:04 UTC',
    );
    expect((await pipeline.actions!.getActions(subjectOf(message))).acks).toHaveLength(2);

    // The history: the incident's timeline, and the time to acknowledge by cause.
    const queries = new IncidentQueries(pipeline.dynamo.client, {
      tableName: pipeline.dynamo.tableName,
      now: () => pipeline.clock.ms,
    });
    const subject = subjectOf(message);
    const incidentId = subject.kind === 'incident' ? `${subject.keyId}` : '';
    const record = (await queries.get(incidentId))!;
    expect(record.actions?.map((action) => [action.kind, action.userName])).toEqual([
      ['acknowledged', 'alice'],
      ['acknowledged', 'bob'],
    ]);
    expect(renderIncident(record, pipeline.clock.ms)).toMatch(/10:04:30\s+acknowledged in Slack by @alice/);
    const stats = await queries.stats({ since: T0 - MINUTE });
    expect(stats.byCause[0]).toMatchObject({
      cause: 'image-not-found',
      medianAcknowledgeMs: 4 * MINUTE + 30_000,
    });
    expect(renderStats(stats, 'test')).toMatch(/MEDIAN TIME TO ACK[\s\S]*image-not-found.*4 min 30 s/);
  });

  it('a double click and a Slack retry of the same request apply once', async () => {
    const message = await firstIncident();
    const request = click(message, ACTION_ID.snooze, alice, '4 hours');
    const again = click(message, ACTION_ID.snooze, alice, '4 hours');
    expect(await send(request, request, again)).toEqual([200, 200, 200]);
    const state = await pipeline.actions!.getActions(subjectOf(message));
    expect(state.timeline).toHaveLength(1);
    expect(state.snooze).toMatchObject({ userId: 'U0ALICE', choice: '4h', seq: 1 });
    expect(new Set(actionEvents().map((event) => event.detail.eventId)).size).toBe(1);
  });

  it('two users at once: both land, one after the other', async () => {
    const message = await firstIncident();
    const users = Array.from({ length: 8 }, (_, i) => ({ id: `U0USER${i}`, username: `user${i}` }));
    const statuses = await send(...users.map((user) => click(message, ACTION_ID.acknowledge, user)));
    expect(statuses.every((status) => status === 200)).toBe(true);
    const state = await pipeline.actions!.getActions(subjectOf(message));
    expect(state.acks.map((ack) => ack.userId).sort()).toEqual(users.map((user) => user.id).sort());
    expect(state.version).toBe(8);
  });

  it('renders user names inert', async () => {
    const message = await firstIncident();
    await send(
      click(message, ACTION_ID.acknowledge, {
        id: 'U0EVIL',
        username: '<!channel> @here <https://evil.example|login>',
      }),
    );
    const shown = JSON.stringify(mainMessage().blocks);
    expect(shown).toContain(
      'Acknowledged by @&lt;!channel&gt; @\u200bhere &lt;https://evil.example|login&gt;',
    );
    expect(shown).not.toContain('<!channel>');
    expect(shown).not.toContain('<https://evil');
  });
});

describe('refused requests change nothing', () => {
  const refusedCase = async (request: SignedRequest, status: number) => {
    const message = mainMessage();
    const before = message.edits;
    expect(await send(request)).toEqual([status]);
    expect(mainMessage().edits).toBe(before);
    expect((await pipeline.actions!.getActions(subjectOf(message))).version).toBe(0);
    expect(
      pipeline.bus.events.filter((event) => event.detailType === PIPELINE_DETAIL_TYPE.actionRequested),
    ).toHaveLength(0);
  };

  it('forged, stale, foreign, oversized, malformed and unknown requests are refused with a metric', async () => {
    const message = await firstIncident();
    const now = Math.floor(pipeline.clock.ms / 1000);
    const body = slackClient.body(
      slackClient.click(message, ACTION_ID.acknowledge, alice, { nowMs: pipeline.clock.ms }),
    );
    await refusedCase(slackClient.sign(body, now, 'not-the-signing-secret'), 401);
    const tampered = slackClient.sign(body, now);
    await refusedCase({ ...tampered, body: body.replace('U0ALICE', 'U0MALLORY') }, 401);
    await refusedCase({ body, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 401);
    await refusedCase(slackClient.sign(body, now - 6 * 60), 401);
    await refusedCase(slackClient.sign(body, now + 6 * 60), 401);
    const foreign = slackClient.click(message, ACTION_ID.acknowledge, alice, {
      nowMs: pipeline.clock.ms,
      teamId: 'T0OTHER',
    });
    await refusedCase(slackClient.sign(slackClient.body(foreign), now), 403);
    const otherApp = slackClient.click(message, ACTION_ID.acknowledge, alice, {
      nowMs: pipeline.clock.ms,
      appId: 'A0OTHER',
    });
    await refusedCase(slackClient.sign(slackClient.body(otherApp), now), 403);
    await refusedCase(slackClient.sign(`${body}&padding=${'x'.repeat(70 * 1024)}`, now), 413);
    await refusedCase(slackClient.sign('payload=%7Bnot%20json', now), 400);
    await refusedCase(slackClient.sign(slackClient.body({ type: 'block_actions' }), now), 400);
    const unknown = slackClient.click(message, ACTION_ID.acknowledge, alice, {
      nowMs: pipeline.clock.ms,
    }) as {
      actions: Array<Record<string, unknown>>;
    };
    unknown.actions[0]!.action_id = 'someone_elses_button';
    await refusedCase(slackClient.sign(slackClient.body(unknown), now), 400);
    expect(receiverMetrics.get(METRIC.interactionsRefused)).toBe(11);
  });
});

describe('snooze', () => {
  it('silences the incident until it ends, then one reply says so with the current state', async () => {
    const message = await firstIncident();
    at(2);
    await send(click(message, ACTION_ID.snooze, bob, '1 hour'));
    expect(JSON.stringify(mainMessage().blocks)).toContain('Snoozed by @bob until 11:02 UTC');
    expect(slackClient.controls(mainMessage()).map((element) => element.action_id)).toContain(
      ACTION_ID.unsnooze,
    );
    const edits = mainMessage().edits;
    // More failures while snoozed: no update, no reply.
    at(10);
    await pipeline.flow([failed({ pod: 2, at: 10 })]);
    at(30);
    await pipeline.flow([failed({ pod: 3, at: 30 })]);
    await pipeline.notifyTick();
    expect(mainMessage().edits).toBe(edits);
    expect(pipeline.slack.repliesTo(message.ts)).toHaveLength(0);
    // The snooze ends at 11:02; the tick after it posts one reply and brings the message up to date.
    at(63);
    await pipeline.notifyTick();
    at(64);
    await pipeline.notifyTick();
    const replies = pipeline.slack.repliesTo(message.ts);
    expect(replies.map((reply) => reply.text)).toEqual([
      expect.stringContaining(
        'Snooze ended: @bob snoozed this at 10:02 UTC until 11:02 UTC. It is still failing: 3 containers',
      ),
    ]);
    expect(mainMessage().edits).toBeGreaterThan(edits);
    expect(JSON.stringify(mainMessage().blocks)).not.toContain('Snoozed by');
  });

  it('takes "Snoozed by" off the message when the snooze ends though nothing else changed', async () => {
    const message = await firstIncident();
    at(2);
    await send(click(message, ACTION_ID.snooze, bob, '1 hour'));
    expect(JSON.stringify(mainMessage().blocks)).toContain('Snoozed by @bob');
    at(63);
    await pipeline.notifyTick();
    at(64);
    await pipeline.notifyTick();
    expect(pipeline.slack.repliesTo(message.ts).map((reply) => reply.text)).toEqual([
      expect.stringContaining('Snooze ended: @bob snoozed this at 10:02 UTC until 11:02 UTC'),
    ]);
    expect(JSON.stringify(mainMessage().blocks)).not.toContain('Snoozed by');
  });

  it("a snoozed workload's new incident is not posted while other workloads' are; unsnooze lifts it", async () => {
    const message = await firstIncident();
    at(1);
    await send(click(message, ACTION_ID.snooze, alice, '24 hours'));
    at(5);
    await pipeline.flow([
      failed({ pod: 9, at: 5, container: 'sidecar', image: 'busybox:nope' }),
      failed({ workload: 'api', pod: 1, at: 5 }),
    ]);
    expect(pipeline.slack.topLevel(CHANNELS.alerts)).toHaveLength(2);
    expect(mainMessage('api')).toBeDefined();
    const posted = JSON.stringify(pipeline.slack.topLevel(CHANNELS.alerts).map((m) => m.blocks));
    expect(posted).not.toContain('busybox:nope');
    at(6);
    await send(click(mainMessage(), ACTION_ID.unsnooze, bob));
    expect(
      (
        await pipeline.actions!.getSilence({
          cluster: 'prod-eu',
          namespace: 'shop',
          kind: 'Deployment',
          name: 'web',
        })
      ).snooze,
    ).toBeUndefined();
    at(7);
    await pipeline.flow([failed({ pod: 9, at: 7, container: 'sidecar', image: 'busybox:nope' })]);
    expect(JSON.stringify(pipeline.slack.topLevel(CHANNELS.alerts).map((m) => m.blocks))).toContain(
      'busybox:nope',
    );
  });
});

describe('a storm roll-up', () => {
  beforeAll(() => {
    windows = { stormHoldMs: 30_000 };
  });
  afterAll(() => {
    windows = {};
  });
  const RATE_LIMITED =
    'Failed to pull image "nginx:1.27": rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/library/nginx:1.27": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/nginx/manifests/sha256:0a1b: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit.';
  const stormFailure = (i: number, minutes = 0, pod = 1) =>
    failed({
      workload: `svc-${i}`,
      pod,
      container: 'app',
      image: 'nginx:1.27',
      message: RATE_LIMITED,
      at: minutes,
    });
  /** Six rate-limited workloads at once: one roll-up, six replies under it. */
  const stormRollup = async () => {
    at(0);
    await pipeline.flow(Array.from({ length: 6 }, (_, i) => stormFailure(i)));
    pipeline.clock.advance(31_000);
    for (let round = 0; round < 6; round++) await pipeline.notifyTick();
    return rollupNow();
  };
  const rollupNow = (): StoredMessage => {
    const found = pipeline.slack
      .topLevel()
      .find((message) => message.metadata?.event_payload.post_id === 'rollup');
    if (found === undefined) throw new Error('no roll-up');
    return found;
  };
  const rollupClick = (actionId: string, user = alice, option?: string) =>
    slackClient.signedClick(rollupNow(), actionId, user, {
      nowMs: pipeline.clock.ms,
      ...(option === undefined ? {} : { option }),
    });
  const stormRefOf = (message: StoredMessage) => {
    const subject = subjectOf(message);
    if (subject.kind !== 'storm') throw new Error('not a roll-up');
    return { groupId: subject.groupId, seq: subject.seq };
  };
  const svc = (i: number) => ({
    cluster: 'prod-eu',
    namespace: 'shop',
    kind: 'Deployment',
    name: `svc-${i}`,
  });

  it('carries the full controls; Acknowledge shows on the roll-up and goes on the bus', async () => {
    const rollup = await stormRollup();
    expect(slackClient.controls(rollup).map((element) => element.action_id)).toEqual([
      ACTION_ID.acknowledge,
      ACTION_ID.snooze,
      ACTION_ID.mute,
      ACTION_ID.recheck,
    ]);
    await send(rollupClick(ACTION_ID.acknowledge));
    expect(JSON.stringify(rollupNow().blocks)).toContain('Acknowledged by @alice');
    expect(actionEvents().map((event) => [event.detailType, event.detail.stormId])).toEqual([
      ['IncidentAcknowledged', expect.stringMatching(/^sg-[0-9a-z]{12}\.1$/)],
    ]);
  });

  it("snooze holds the roll-up and its members' posts (a new member's too) until it ends, then says so once", async () => {
    const rollup = await stormRollup();
    // A change just before the snooze: the roll-up's update is throttled, due within the snooze.
    pipeline.clock.advance(5_000);
    await pipeline.flow([stormFailure(1, 1, 2)]);
    const replies = pipeline.slack.repliesTo(rollup.ts).length;
    // A double click and Slack's retry of it: one snooze.
    const request = rollupClick(ACTION_ID.snooze, bob, '1 hour');
    expect(await send(request, request, rollupClick(ACTION_ID.snooze, bob, '1 hour'))).toEqual([
      200, 200, 200,
    ]);
    const subject = subjectOf(rollup);
    expect((await pipeline.actions!.getActions(subject)).timeline.map((record) => record.kind)).toEqual([
      'snoozed',
    ]);
    expect(JSON.stringify(rollupNow().blocks)).toContain('Snoozed by @bob until');
    expect(slackClient.controls(rollupNow()).map((element) => element.action_id)).toContain(
      ACTION_ID.unsnooze,
    );
    // The retry repeats its event with the same id (consumers drop repeats): one snooze on the bus.
    expect(
      distinctActionEvents().map((event) => [event.detailType, event.detail.stormId, event.detail.snooze]),
    ).toEqual([['IncidentSnoozed', expect.stringMatching(/^sg-/), '1h']]);
    const edits = rollupNow().edits;
    // While snoozed: a member gets worse, a new workload joins the storm: nothing is posted or updated.
    pipeline.clock.advance(20_000);
    await pipeline.flow([stormFailure(0, 1), stormFailure(6, 1)]);
    for (let round = 0; round < 3; round++) await pipeline.notifyTick();
    // The throttled update's time comes within the snooze: still nothing.
    pipeline.clock.advance(6 * MINUTE);
    for (let round = 0; round < 3; round++) await pipeline.notifyTick();
    expect(rollupNow().edits).toBe(edits);
    expect(pipeline.slack.repliesTo(rollup.ts)).toHaveLength(replies);
    expect(JSON.stringify(pipeline.slack.messages.map((message) => message.blocks))).not.toContain('svc-6');
    // The snooze ends: the roll-up is brought up to date, one reply says so, the new member is posted.
    pipeline.clock.advance(55 * MINUTE);
    for (let round = 0; round < 4; round++) await pipeline.notifyTick();
    const texts = pipeline.slack.repliesTo(rollup.ts).map((reply) => reply.text);
    expect(texts.filter((text) => text.includes('Snooze ended'))).toEqual([
      expect.stringContaining('Snooze ended: @bob snoozed this roll-up'),
    ]);
    expect(texts.some((text) => text.includes('svc-6'))).toBe(true);
    expect(rollupNow().edits).toBeGreaterThan(edits);
    expect(JSON.stringify(rollupNow().blocks)).not.toContain('Snoozed by');
  });

  it('a snooze that ends with nothing changed still leaves the roll-up without its snooze line', async () => {
    const rollup = await stormRollup();
    await send(rollupClick(ACTION_ID.snooze, bob, '1 hour'));
    expect(JSON.stringify(rollupNow().blocks)).toContain('Snoozed by @bob');
    pipeline.clock.advance(61 * MINUTE);
    await pipeline.notifyTick();
    await pipeline.notifyTick();
    expect(
      pipeline.slack.repliesTo(rollup.ts).filter((reply) => reply.text.includes('Snooze ended')),
    ).toHaveLength(1);
    expect(JSON.stringify(rollupNow().blocks)).not.toContain('Snoozed by');
    expect(slackClient.controls(rollupNow()).map((element) => element.action_id)).toContain(ACTION_ID.snooze);
  });

  it('snooze until resolved holds the roll-up while the storm is open, and ends when its last incident resolves', async () => {
    const rollup = await stormRollup();
    await send(rollupClick(ACTION_ID.snooze, bob, 'until resolved'));
    expect(JSON.stringify(rollupNow().blocks)).toContain('Snoozed by @bob at');
    const edits = rollupNow().edits;
    const replies = pipeline.slack.repliesTo(rollup.ts).length;
    at(2);
    await pipeline.flow([stormFailure(1, 2, 2)]);
    // The roll-up looks again every few minutes (the storm may have resolved): still open, still held.
    at(8);
    for (let round = 0; round < 3; round++) await pipeline.notifyTick();
    expect(rollupNow().edits).toBe(edits);
    expect(pipeline.slack.repliesTo(rollup.ts)).toHaveLength(replies);
    // Every member recovers: the storm resolves, the snooze with it; the resolutions are told.
    at(9);
    await pipeline.flow([
      ...Array.from({ length: 6 }, (_, i) =>
        recovered({
          workload: `svc-${i}`,
          container: 'app',
          image: 'nginx:1.27',
          message: RATE_LIMITED,
          at: 9,
        }),
      ),
      recovered({
        workload: 'svc-1',
        pod: 2,
        container: 'app',
        image: 'nginx:1.27',
        message: RATE_LIMITED,
        at: 9,
      }),
    ]);
    for (const minute of [13, 19, 25]) {
      at(minute);
      await pipeline.tickAndNotify();
      await pipeline.notifyTick();
    }
    const resolved = pipeline.slack
      .repliesTo(rollup.ts)
      .filter((reply) => reply.text.includes(':white_check_mark: Resolved after'));
    expect(resolved).toHaveLength(6);
    expect(JSON.stringify(rollupNow().blocks)).not.toContain('Snoozed by');
    expect(pipeline.slack.repliesTo(rollup.ts).some((reply) => reply.text.includes('Snooze ended'))).toBe(
      false,
    );
  });

  it('unsnooze lifts it at once: held members post on the next tick', async () => {
    const rollup = await stormRollup();
    await send(rollupClick(ACTION_ID.snooze, bob, '24 hours'));
    pipeline.clock.advance(20_000);
    await pipeline.flow([stormFailure(6, 1)]);
    await pipeline.notifyTick();
    expect(JSON.stringify(pipeline.slack.repliesTo(rollup.ts).map((m) => m.text))).not.toContain('svc-6');
    await send(rollupClick(ACTION_ID.unsnooze, alice));
    expect(JSON.stringify(rollupNow().blocks)).not.toContain('Snoozed by');
    pipeline.clock.advance(1000);
    for (let round = 0; round < 3; round++) await pipeline.notifyTick();
    expect(JSON.stringify(pipeline.slack.repliesTo(rollup.ts).map((m) => m.text))).toContain('svc-6');
    expect(actionEvents().map((event) => event.detailType)).toEqual(['IncidentSnoozed', 'IncidentUnsnoozed']);
  });

  it('mute mutes every workload listed, once, with one WorkloadMuted each', async () => {
    await stormRollup();
    const request = rollupClick(ACTION_ID.mute);
    await send(request, request);
    const mutes = await pipeline.actions!.listMutes('prod-eu');
    expect(mutes.map((mute) => mute.workload.name).sort()).toEqual(
      Array.from({ length: 6 }, (_, i) => `svc-${i}`),
    );
    expect(new Set(mutes.map((mute) => mute.subjectId)).size).toBe(1);
    const muted = distinctActionEvents().filter((event) => event.detailType === 'WorkloadMuted');
    expect(muted.map((event) => (event.detail.workload as { name: string }).name).sort()).toEqual(
      mutes.map((mute) => mute.workload.name).sort(),
    );
    expect(new Set(muted.map((event) => event.detail.eventId)).size).toBe(6);
    expect(JSON.stringify(rollupNow().blocks)).toContain('6 workloads of this roll-up muted by @alice');
    // A member's timeline (`incidents show`) has what was done on its roll-up.
    const queries = new IncidentQueries(pipeline.dynamo.client, {
      tableName: pipeline.dynamo.tableName,
      now: () => pipeline.clock.ms,
    });
    const member = (await pipeline.store.storms.getStorm(stormRefOf(rollupNow())))!.bucket.members;
    const record = (await queries.get(Object.values(member)[0]!.keyId))!;
    expect(record.actions?.map((action) => [action.kind, action.stormId])).toEqual([
      ['muted', expect.stringMatching(/^sg-[0-9a-z]{12}\.1$/)],
    ]);
    expect(renderIncident(record, pipeline.clock.ms)).toMatch(
      /workloads listed muted on the roll-up of storm sg-[0-9a-z]{12}\.1 by @alice/,
    );
    // Muted: the button goes; a member's new failure is not posted.
    expect(slackClient.controls(rollupNow()).map((element) => element.action_id)).not.toContain(
      ACTION_ID.mute,
    );
    expect((await pipeline.actions!.getSilence(svc(3))).mute).toBeDefined();
    expect((await pipeline.actions!.getSilence(svc(7))).mute).toBeUndefined();
  });

  it("re-check answers in the roll-up's thread with the storm's state (the check off: said so)", async () => {
    const rollup = await stormRollup();
    await send(rollupClick(ACTION_ID.recheck, bob));
    const reply = pipeline.slack.repliesTo(rollup.ts).find((message) => message.text.includes('Re-check'));
    expect(reply?.text).toMatch(
      /Re-check asked by @bob at .*: the storm is 6 incidents failing, 0 recovering, 0 resolved, across 6 workloads/,
    );
    expect(reply?.text).toContain('`nginx:1.27`: The registry check is off in the config');
    expect(actionEvents().map((event) => event.detailType)).toEqual(['IncidentRechecked']);
  });
});

describe('snooze until resolved', () => {
  it('holds until the incident resolves; the resolution is told and the workload is free again', async () => {
    const message = await firstIncident();
    at(1);
    await send(click(message, ACTION_ID.snooze, alice, 'until resolved'));
    expect(JSON.stringify(mainMessage().blocks)).toContain('Snoozed by @alice at 10:01 UTC until resolved');
    at(2);
    await pipeline.flow([recovered({ pod: 1, at: 2 })]);
    expect(pipeline.slack.repliesTo(message.ts)).toHaveLength(0);
    at(6);
    await pipeline.tickAndNotify();
    expect(pipeline.slack.repliesTo(message.ts).map((reply) => reply.text)).toEqual([
      expect.stringContaining('Resolved'),
    ]);
    const workload = { cluster: 'prod-eu', namespace: 'shop', kind: 'Deployment', name: 'web' };
    expect((await pipeline.actions!.getSilence(workload)).snooze).toBeUndefined();
    expect(JSON.stringify(mainMessage().blocks)).not.toContain('Snoozed by');
  });
});

describe('mute and re-check', () => {
  it('mute is stored until unmuted: nothing more is posted about the workload', async () => {
    const message = await firstIncident();
    at(1);
    await send(click(message, ACTION_ID.mute, alice));
    const mutes = await pipeline.actions!.listMutes('prod-eu');
    expect(mutes).toEqual([
      expect.objectContaining({ userName: 'alice', workload: expect.objectContaining({ name: 'web' }) }),
    ]);
    expect(JSON.stringify(mainMessage().blocks)).toContain('Workload muted by @alice');
    at(3);
    await pipeline.flow([failed({ pod: 9, at: 3, container: 'sidecar', image: 'busybox:nope' })]);
    expect(pipeline.slack.topLevel(CHANNELS.alerts)).toHaveLength(1);
    expect(actionEvents().map((event) => event.detailType)).toEqual(['WorkloadMuted']);
  });

  it('re-check answers in the thread with the current state', async () => {
    const message = await firstIncident();
    at(2);
    await send(click(message, ACTION_ID.recheck, alice));
    expect(pipeline.slack.repliesTo(message.ts).map((reply) => reply.text)).toEqual([
      expect.stringContaining(
        'Re-check asked by @alice at 10:02 UTC: the incident is still failing: 1 container',
      ),
    ]);
    // Without the registry check (off in the config), the reply says the registry was not asked.
    expect(pipeline.slack.repliesTo(message.ts)[0]!.text).toContain(
      'The registry check is off in the config, so the registry was not asked',
    );
  });
});

describe('the mute allow-list with a user group', () => {
  const carol = { id: 'U0CAROL', username: 'carol' };
  beforeAll(() => {
    // Bob by name; alice as a member of the SRE user group (asked of Slack, not listed here).
    options = { muteAllowList: muteAllowListOf(['U0BOB', 'S0SRE']) };
  });
  afterAll(() => {
    options = {};
  });
  beforeEach(() => {
    pipeline.slack.userGroups.set('S0SRE', ['U0ALICE', 'U0DAVE']);
  });
  const groupCalls = () => pipeline.slack.calls.filter((call) => call.method === 'usergroups.users.list');
  const webMuted = async () =>
    (
      await pipeline.actions!.getSilence({
        cluster: 'prod-eu',
        namespace: 'shop',
        kind: 'Deployment',
        name: 'web',
      })
    ).mute;

  it('a member of the group may mute; someone in no group is refused and told so, nothing changes', async () => {
    const message = await firstIncident();
    // Carol passes the endpoint (it cannot know the groups) and is refused by the worker.
    expect(await send(click(message, ACTION_ID.mute, carol))).toEqual([200]);
    expect(await webMuted()).toBeUndefined();
    expect((await pipeline.actions!.getActions(subjectOf(message))).version).toBe(0);
    expect(pipeline.slack.ephemerals).toEqual([
      expect.objectContaining({
        user: 'U0CAROL',
        channel: message.channel,
        text: expect.stringContaining('you are not in any of them'),
      }),
    ]);
    expect(groupCalls().map((call) => call.args.usergroup)).toEqual(['S0SRE']);
    expect(actionEvents()).toHaveLength(0);
    // Alice is in the group: muted, and the group's members came from the cache (asked once).
    expect(await send(click(mainMessage(), ACTION_ID.mute, alice))).toEqual([200]);
    expect((await webMuted())?.userId).toBe('U0ALICE');
    expect(groupCalls()).toHaveLength(1);
    expect(actionEvents().map((event) => event.detailType)).toEqual(['WorkloadMuted']);
  });

  it('a listed user needs no Slack call', async () => {
    const message = await firstIncident();
    expect(await send(click(message, ACTION_ID.mute, bob))).toEqual([200]);
    expect((await webMuted())?.userId).toBe('U0BOB');
    expect(groupCalls()).toHaveLength(0);
  });

  it('Slack failing to answer refuses the mute (fail closed), with a message and a log line', async () => {
    const message = await firstIncident();
    // Every attempt of the client's idempotent retries fails.
    pipeline.slack.inject(
      'usergroups.users.list',
      ...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 503 as const })),
    );
    expect(await send(click(message, ACTION_ID.mute, alice))).toEqual([200]);
    expect(await webMuted()).toBeUndefined();
    expect(pipeline.slack.ephemerals.map((ephemeral) => [ephemeral.user, ephemeral.text])).toEqual([
      [
        'U0ALICE',
        expect.stringContaining('Slack did not answer whether you are in a user group allowed to mute'),
      ],
    ]);
    const warned = (pipeline.workerDeps!.log as RecordingLog).entries.filter(
      (entry) => entry.message === 'mute refused by the allow-list',
    );
    expect(warned).toEqual([
      expect.objectContaining({
        level: 'warn',
        extra: [expect.objectContaining({ reason: 'unavailable', userId: 'U0ALICE', groups: ['S0SRE'] })],
      }),
    ]);
    // Slack back: the next click asks again (a failure is not cached) and mutes.
    expect(await send(click(mainMessage(), ACTION_ID.mute, alice))).toEqual([200]);
    expect((await webMuted())?.userId).toBe('U0ALICE');
  });
});

describe('re-check with the registry check', () => {
  let registry: FakeDistribution;
  let host: string;
  beforeAll(async () => {
    registry = await new FakeDistribution().start();
    host = registry.host;
    // The check as the Lambda builds it (classify's config and site), the registry listed as private.
    const check = lambdaRegistryCheck(
      registryCheckConfigSchema.parse({
        enabled: true,
        privateRegistries: [host],
        plainHttpRegistries: [host],
      }),
      'the test',
      TEST_REGION,
    );
    options = { recheckRegistry: check! };
  });
  afterAll(async () => {
    options = {};
    await registry.stop();
  });

  it("answers in the thread with the registry's answer", async () => {
    const image = `${host}/acme/app:1.0.2`;
    at(0);
    await pipeline.flow([
      failed({
        pod: 1,
        at: 0,
        image,
        message: `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`,
      }),
    ]);
    const message = pipeline.slack.topLevel(CHANNELS.alerts)[0]!;
    at(1);
    await send(click(message, ACTION_ID.recheck, alice));
    expect(pipeline.slack.repliesTo(message.ts).map((reply) => reply.text)).toEqual([
      expect.stringMatching(
        /Re-check asked by @alice at 10:01 UTC: the incident is still failing.*Registry check: \*confirmed\*: .*1\.0\.1/,
      ),
    ]);
  });
});

describe('a restart in the middle', () => {
  it('a worker that fails after the write is retried: applied once, the message and the bus repaired', async () => {
    const message = await firstIncident();
    // The first delivery writes the acknowledgement, then Slack fails it (every retry too).
    pipeline.slack.inject(
      'chat.update',
      { kind: 'status', status: 500 },
      { kind: 'status', status: 500 },
      { kind: 'status', status: 500 },
    );
    at(3);
    expect(await send(click(message, ACTION_ID.acknowledge))).toEqual([200]);
    const state = await pipeline.actions!.getActions(subjectOf(message));
    expect(state.acks).toHaveLength(1);
    expect(state.version).toBe(1);
    expect(JSON.stringify(mainMessage().blocks)).toContain('Acknowledged by @alice');
    expect(new Set(actionEvents().map((event) => event.detail.eventId)).size).toBe(1);
  });
});
