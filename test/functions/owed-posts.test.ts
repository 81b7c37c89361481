/**
 * Posts owed (functions/_common/owed-posts.ts) and retries the tick owns
 * (functions/_common/slack-posts.ts): an event lost on its way to notify, or dead-lettered, does not
 * lose its post; a refused token is not "uncertain"; a Retry-After holds for every later post.
 */
import { METRIC } from '../../functions/_common/observability';
import { MINUTE, type Pipeline, deliver, failed, recovered, startPipeline } from './support/pipeline';

jest.setTimeout(30_000);

let pipeline: Pipeline;
afterEach(async () => {
  await pipeline.stop();
});

const postIds = () => pipeline.slack.messages.map((message) => message.metadata?.event_payload.post_id);

describe('an event that never reaches notify', () => {
  it('still gets its first post, from the tick, once the grace has passed; and its resolution reply', async () => {
    pipeline = await startPipeline({ windows: { quietPeriodMs: 5 * MINUTE } });
    // classify and dedupe store the incident; its event is lost (never delivered to notify).
    // Observed now (the clock is 30 s past T0): owed 20 s later.
    await pipeline.untilNotify([failed({ pod: 1, at: 0.5 })]);
    expect(await pipeline.notifyTick()).toEqual({ due: 0, owed: 0, failed: 0 });
    pipeline.clock.advance(30_000);
    expect(await pipeline.notifyTick()).toEqual({ due: 0, owed: 1, failed: 0 });
    expect(postIds()).toEqual(['main']);
    expect(pipeline.metrics.notify.get(METRIC.owedPostsSwept)).toBe(1);
    // Settled: the next tick finds nothing.
    expect(await pipeline.notifyTick()).toEqual({ due: 0, owed: 0, failed: 0 });

    // It resolves (dedupe's tick); that event is lost too; the tick posts the reply anyway.
    await pipeline.flow([recovered({ pod: 1, at: 1 })]);
    pipeline.clock.advance(6 * MINUTE);
    await pipeline.tick();
    pipeline.takeNew([]);
    pipeline.clock.advance(30_000);
    expect(await pipeline.notifyTick()).toMatchObject({ owed: 1, failed: 0 });
    expect(postIds()).toEqual(['main', 'resolved-1']);
    expect(JSON.stringify(pipeline.slack.topLevel()[0]!.blocks)).toContain('Resolved: ');
    expect(await pipeline.notifyTick()).toEqual({ due: 0, owed: 0, failed: 0 });
  });

  it('is not posted twice when the event arrives too: the event path settles what it posted', async () => {
    pipeline = await startPipeline();
    await pipeline.flow([failed({ pod: 1, at: 0 })]);
    pipeline.clock.advance(30_000);
    expect(await pipeline.notifyTick()).toEqual({ due: 0, owed: 0, failed: 0 });
    expect(postIds()).toEqual(['main']);
  });
});

describe('Slack faults the tick retries', () => {
  it('a refused token: nothing was posted, so the claim is released (not uncertain) and posted later', async () => {
    pipeline = await startPipeline();
    pipeline.slack.inject('chat.postMessage', { kind: 'error', error: 'token_revoked' });
    pipeline.slack.inject('chat.postMessage', { kind: 'error', error: 'token_revoked' });
    const incidentEvents = await pipeline.untilNotify([failed({ pod: 1, at: 0 })]);
    // Let go (the tick owns the retry), and not dead-lettered after a few receives.
    expect(await deliver(pipeline.notify, incidentEvents)).toEqual([]);
    expect(pipeline.metrics.notify.get(METRIC.slackAuthRefused)).toBe(1);
    expect(pipeline.metrics.notify.get(METRIC.slackPostsUncertain)).toBe(0);
    expect(pipeline.slack.topLevel()).toHaveLength(0);
    await pipeline.retryScheduled();
    expect(pipeline.slack.topLevel()).toHaveLength(1);
    // Released, so the retry posted without searching first.
    expect(pipeline.slack.calls.filter((call) => call.method === 'conversations.history')).toHaveLength(0);
  });

  it('a long Retry-After holds back every later post of the process, not only the one that got it', async () => {
    pipeline = await startPipeline();
    pipeline.slack.inject('chat.postMessage', { kind: 'rate-limit', retryAfterSeconds: 45 });
    const incidentEvents = await pipeline.untilNotify([
      failed({ workload: 'web', pod: 1, at: 0 }),
      failed({ workload: 'api', pod: 1, at: 0, image: 'nginx:1.27-alpine-x' }),
      failed({ workload: 'db', pod: 1, at: 0, image: 'nginx:1.27-alpine-y' }),
    ]);
    // One after the other: the first gets the 429, the others are held back without asking Slack.
    for (const event of incidentEvents) expect(await deliver(pipeline.notify, [event])).toEqual([]);
    expect(pipeline.slack.calls.filter((call) => call.method === 'chat.postMessage')).toHaveLength(1);
    pipeline.clock.advance(30_000);
    await pipeline.notifyTick();
    expect(pipeline.slack.calls.filter((call) => call.method === 'chat.postMessage')).toHaveLength(1);
    await pipeline.retryScheduled();
    expect(pipeline.slack.topLevel()).toHaveLength(3);
  });
});
