/**
 * notify against a local Slack Web API: crashes, lost answers, 429, 5xx and hangs never produce a
 * second post; updates are throttled; routing and muting.
 */
import type { PostOwnerRef, PostStore } from '../../functions/_common/incident-store';
import { METRIC } from '../../functions/_common/observability';
import {
  CHANNELS,
  MINUTE,
  type Pipeline,
  type PipelineOptions,
  deliver,
  failed,
  recovered,
  startPipeline,
} from './support/pipeline';

jest.setTimeout(30_000);

let pipeline: Pipeline;
const start = async (options: PipelineOptions = {}) => {
  pipeline = await startPipeline(options);
  return pipeline;
};
afterEach(async () => {
  await pipeline.stop();
});

/** The store notify uses, dying (throwing) the first time it would record a posted message. */
const crashOnFirstRecord = (posts: PostStore<PostOwnerRef>): PostStore<PostOwnerRef> => {
  let crashed = false;
  return Object.assign(Object.create(posts) as PostStore<PostOwnerRef>, {
    completePost: async (...args: Parameters<PostStore<PostOwnerRef>['completePost']>) => {
      if (!crashed) {
        crashed = true;
        throw new Error('simulated crash after chat.postMessage, before the ts was stored');
      }
      return posts.completePost(...args);
    },
  });
};

const mainPost = async () => {
  const incidentId = pipeline.slack.calls.find((call) => call.method === 'chat.postMessage')?.args
    .metadata as { event_payload: { incident_id: string } } | undefined;
  const stored = await pipeline.store.getIncident({
    keyId: incidentId?.event_payload.incident_id ?? '',
    generation: 1,
  });
  return stored?.posts.main;
};

describe('a crash between the Slack call and the store write', () => {
  it('is followed by retries that never post again: held off by the lease, then adopting the post', async () => {
    await start({ notifyPosts: crashOnFirstRecord, leaseMs: 90_000 });
    const incidentEvents = await pipeline.untilNotify([failed({ pod: 1, at: 0 })]);

    // The first delivery posts, then "crashes" before the ts is stored: the record fails.
    expect(await deliver(pipeline.notify, incidentEvents)).toHaveLength(incidentEvents.length);
    expect(pipeline.slack.succeeded('chat.postMessage')).toHaveLength(1);
    expect(await mainPost()).toMatchObject({ state: 'claimed', attempts: 1 });
    expect((await mainPost())?.ts).toBeUndefined();

    // Redelivered within the lease: the claim is held, nothing is posted. The record is let go: the
    // incident's timer is set to the lease's end, and the tick owns the retry.
    pipeline.clock.advance(30_000);
    expect(await deliver(pipeline.notify, incidentEvents)).toEqual([]);
    expect(pipeline.slack.calls.filter((call) => call.method === 'chat.postMessage')).toHaveLength(1);
    // The tick's sweep finds the first post still owed, but claimed: it leaves it to the lease too.
    expect(await pipeline.notifyTick()).toEqual({ due: 0, owed: 1, failed: 1 });
    expect(pipeline.slack.calls.filter((call) => call.method === 'chat.postMessage')).toHaveLength(1);

    // After the lease: the tick searches the channel, finds the post by its metadata and adopts it.
    pipeline.clock.advance(90_000);
    expect(await pipeline.notifyTick()).toMatchObject({ due: 1, failed: 0 });
    expect(pipeline.slack.calls.filter((call) => call.method === 'chat.postMessage')).toHaveLength(1);
    expect(pipeline.slack.succeeded('conversations.history')).toHaveLength(1);
    expect(await mainPost()).toMatchObject({
      state: 'posted',
      ts: pipeline.slack.topLevel()[0]!.ts,
      attempts: 2,
    });
    expect(pipeline.metrics.notify.get(METRIC.slackPostsRecovered)).toBe(1);

    // Any later delivery is a no-op.
    expect(await deliver(pipeline.notify, incidentEvents)).toEqual([]);
    expect(pipeline.slack.calls.filter((call) => call.method.startsWith('chat.'))).toHaveLength(1);
  });
});

describe('a lost or refused answer from Slack', () => {
  it('after a timeout whose message Slack did keep: found and adopted, not posted twice', async () => {
    await start({ slackTimeoutMs: 200 });
    pipeline.slack.inject('chat.postMessage', { kind: 'hang', processed: true });
    await pipeline.flow([failed({ pod: 1, at: 0 })]);
    // The record was let go; the tick retries after the lease (or Retry-After).
    await pipeline.retryScheduled();
    expect(pipeline.slack.topLevel()).toHaveLength(1);
    expect((await mainPost())?.ts).toBe(pipeline.slack.topLevel()[0]!.ts);
    expect(pipeline.metrics.notify.get(METRIC.slackPostsUncertain)).toBe(1);
    expect(pipeline.metrics.notify.get(METRIC.slackPostsRecovered)).toBe(1);
  });

  it('after a timeout whose message never arrived: searched, then posted once', async () => {
    await start({ slackTimeoutMs: 200 });
    pipeline.slack.inject('chat.postMessage', { kind: 'hang' });
    await pipeline.flow([failed({ pod: 1, at: 0 })]);
    // The record was let go; the tick retries after the lease (or Retry-After).
    await pipeline.retryScheduled();
    expect(pipeline.slack.topLevel()).toHaveLength(1);
    expect(pipeline.slack.succeeded('conversations.history')).not.toHaveLength(0);
    expect(pipeline.metrics.notify.get(METRIC.slackPostsRecovered)).toBe(0);
  });

  it('after a 500: never retried blindly, posted once', async () => {
    await start();
    pipeline.slack.inject('chat.postMessage', { kind: 'status', status: 500 });
    await pipeline.flow([failed({ pod: 1, at: 0 })]);
    // The record was let go; the tick retries after the lease (or Retry-After).
    await pipeline.retryScheduled();
    expect(pipeline.slack.calls.filter((call) => call.method === 'chat.postMessage')).toHaveLength(2);
    expect(pipeline.slack.topLevel()).toHaveLength(1);
  });

  it('honours a short Retry-After inline', async () => {
    await start();
    pipeline.slack.inject('chat.postMessage', { kind: 'rate-limit', retryAfterSeconds: 1 });
    await pipeline.flow([failed({ pod: 1, at: 0 })]);
    expect(pipeline.slack.topLevel()).toHaveLength(1);
    expect(pipeline.metrics.notify.get(METRIC.slackRateLimited)).toBe(1);
    expect(pipeline.metrics.notify.get(METRIC.slackRetries)).toBe(1);
  });

  it('hands a long Retry-After to the tick, releasing the claim, then posts once', async () => {
    await start();
    pipeline.slack.inject('chat.postMessage', { kind: 'rate-limit', retryAfterSeconds: 30 });
    await pipeline.flow([failed({ pod: 1, at: 0 })]);
    // The record was let go; the tick retries after the lease (or Retry-After).
    await pipeline.retryScheduled();
    expect(pipeline.slack.topLevel()).toHaveLength(1);
    // Released, not uncertain: the retry did not need to search.
    expect(pipeline.slack.calls.filter((call) => call.method === 'conversations.history')).toHaveLength(0);
    expect((await mainPost())?.attempts).toBe(1);
  });

  it('gives up on a permanent refusal without retrying forever', async () => {
    await start({ routes: [{ cluster: 'prod-*', channel: 'no-such-channel' }] });
    const incidentEvents = await pipeline.untilNotify([failed({ pod: 1, at: 0 })]);
    expect(await deliver(pipeline.notify, incidentEvents)).toEqual([]);
    expect(await deliver(pipeline.notify, incidentEvents)).toEqual([]);
    expect(pipeline.slack.calls.filter((call) => call.method === 'chat.postMessage')).toHaveLength(1);
    expect(pipeline.slack.calls[0]?.error).toBe('channel_not_found');
    expect(pipeline.metrics.notify.get(METRIC.slackPostsFailed)).toBe(1);
    // The line names the channel and says what to do.
    expect(pipeline.logs.notify.at('error')[0]?.message).toBe(
      'Slack refused the post to no-such-channel (channel_not_found): invite the bot to no-such-channel (/invite @<your app>), or route to a channel it is in; this post will not be retried',
    );
  });
});

describe('updates in place', () => {
  it('happen at most once per update interval, and at once when the status changes', async () => {
    await start();
    await pipeline.flow([failed({ pod: 1, at: 0 })]);
    for (let pod = 2; pod <= 5; pod++) {
      pipeline.clock.advance(MINUTE);
      await pipeline.flow([failed({ pod, at: pod })]);
    }
    expect(pipeline.slack.succeeded('chat.update')).toHaveLength(0);
    expect(await pipeline.notifyTick()).toEqual({ due: 0, owed: 0, failed: 0 });

    // Nothing new arrives, yet once the interval has passed the scheduled tick shows the 5 pods.
    pipeline.clock.advance(MINUTE + 1000);
    expect(await pipeline.notifyTick()).toEqual({ due: 1, owed: 0, failed: 0 });
    expect(pipeline.slack.succeeded('chat.update')).toHaveLength(1);
    expect(JSON.stringify(pipeline.slack.topLevel()[0]!.blocks)).toContain('5 pods');
    expect(await pipeline.notifyTick()).toEqual({ due: 0, owed: 0, failed: 0 });

    pipeline.clock.advance(5 * MINUTE);
    await pipeline.flow([failed({ pod: 6, at: 7 })]);
    expect(pipeline.slack.succeeded('chat.update')).toHaveLength(2);
    expect(pipeline.slack.topLevel()[0]!.text).toContain('Image tag or digest not found');
    expect(JSON.stringify(pipeline.slack.topLevel()[0]!.blocks)).toContain('6 pods');

    pipeline.clock.advance(30_000);
    await pipeline.flow([1, 2, 3, 4, 5, 6].map((pod) => recovered({ pod, at: 8 })));
    pipeline.clock.advance(3 * MINUTE);
    await pipeline.tickAndNotify();
    expect(pipeline.slack.succeeded('chat.update')).toHaveLength(3);
    expect(pipeline.slack.topLevel()[0]!.text).toMatch(/^Resolved: /);
  });
});

describe('routing', () => {
  it('follows the channel annotation over the rules, and records muted incidents without posting', async () => {
    await start({ routes: [{ cluster: 'prod-*', namespace: 'shop', channel: CHANNELS.platform }] });
    await pipeline.flow([
      failed({ pod: 1, at: 0, workload: 'web' }),
      failed({ pod: 1, at: 0, workload: 'api', annotations: { 'pullwatch.io/slack-channel': '#shop' } }),
      failed({ pod: 1, at: 0, workload: 'batch', annotations: { 'pullwatch.io/mute': 'true' } }),
    ]);
    const channels = pipeline.slack
      .topLevel()
      .map((message) => message.channel)
      .sort();
    expect(channels).toEqual([CHANNELS.platform, CHANNELS.shop].sort());
    expect(pipeline.metrics.dedupe.get(METRIC.incidentsOpened)).toBe(3);
  });
});
