/**
 * The chain classify → dedupe → notify against dynalite, a local EventBridge and a local Slack:
 * exactly one incident and exactly one post, whatever the delivery does.
 */
import { PIPELINE_DETAIL_TYPE } from '#shared/incident-events';
import { METRIC } from '../../functions/_common/observability';
import {
  CHANNELS,
  MINUTE,
  type Pipeline,
  delivered,
  deliverUntilDone,
  failed,
  recovered,
  shuffle,
  startPipeline,
} from './support/pipeline';

jest.setTimeout(60_000);

let pipeline: Pipeline;
beforeEach(async () => {
  pipeline = await startPipeline();
});
afterEach(async () => {
  await pipeline.stop();
});

describe('one failing workload', () => {
  it('becomes one incident and one Slack post naming the cause and the fix', async () => {
    await pipeline.flow([failed({ pod: 1, at: 0 })]);

    const posts = pipeline.slack.topLevel();
    expect(posts).toHaveLength(1);
    expect(posts[0]!.channel).toBe(CHANNELS.alerts);
    expect(posts[0]!.text).toContain('Image tag or digest not found');
    const blocks = JSON.stringify(posts[0]!.blocks);
    expect(blocks).toContain('skopeo list-tags docker://docker.io/library/nginx');
    expect(posts[0]!.metadata).toEqual({
      event_type: 'pullwatch_post',
      event_payload: { incident_id: expect.stringMatching(/^pw-/), post_id: 'main' },
    });
    expect(await pipeline.incidentItems()).toHaveLength(1);
    expect(pipeline.bus.ofType(PIPELINE_DETAIL_TYPE.opened)).toHaveLength(1);
    expect(pipeline.metrics.dedupe.get(METRIC.incidentsOpened)).toBe(1);
    expect(pipeline.metrics.notify.get(METRIC.slackPosts)).toBe(1);
  });
});

describe('200 concurrent deliveries for one workload, duplicates included', () => {
  it('make exactly one incident and exactly one post', async () => {
    // 40 replicas, each failure delivered 5 times, in shuffled order, all at once.
    const distinct = Array.from({ length: 40 }, (_, pod) =>
      failed({ pod, at: 1 + (pod % 3), count: 1 + (pod % 4) }),
    );
    const deliveries = shuffle(
      distinct.flatMap((event) => Array.from({ length: 5 }, () => event)),
      7,
    );
    expect(deliveries).toHaveLength(200);

    pipeline.takeNew([]);
    await deliverUntilDone(pipeline.classify, deliveries, { batchSize: 1 });
    const classified = pipeline.takeNew([PIPELINE_DETAIL_TYPE.classified]).map(delivered);
    expect(classified).toHaveLength(200);

    // dedupe gets them as SQS would: batches of 10, all 20 invocations at once. (One record per
    // invocation also holds, only slower: 200 writers contending for one item.)
    await deliverUntilDone(pipeline.dedupe, classified, { batchSize: 10 });
    const incidentEvents = pipeline.takeNew(Object.values(PIPELINE_DETAIL_TYPE)).map(delivered);
    expect(incidentEvents.filter((e) => e['detail-type'] === PIPELINE_DETAIL_TYPE.opened)).toHaveLength(1);

    // And every incident event (repeated, to be sure) reaches notify concurrently.
    await deliverUntilDone(pipeline.notify, [...incidentEvents, ...incidentEvents], {
      batchSize: 1,
      between: () => pipeline.clock.advance(2 * MINUTE),
    });

    const items = await pipeline.incidentItems();
    expect(items).toHaveLength(1);
    expect(items[0]!.affectedPods).toBe(40);
    expect(items[0]!.occurrences).toBe(distinct.reduce((sum, e) => sum + e.detail.count, 0));
    expect(pipeline.slack.succeeded('chat.postMessage')).toHaveLength(1);
    expect(pipeline.slack.topLevel()).toHaveLength(1);
    expect(pipeline.metrics.dedupe.get(METRIC.duplicatesAbsorbed)).toBeGreaterThan(0);
  });
});

describe('a recovery delivered before its failure', () => {
  it('converges: the incident is recovering, then resolves, with one post and one resolution reply', async () => {
    await pipeline.flow([recovered({ pod: 1, at: 3 })]);
    await pipeline.flow([failed({ pod: 1, at: 1 })]);

    const [item] = await pipeline.incidentItems();
    expect(item?.failingContainers).toBe(0);
    expect(item?.status).toBe('open');

    pipeline.clock.ms = Date.parse('2026-03-01T10:06:00Z');
    await pipeline.tickAndNotify();
    const [resolved] = await pipeline.incidentItems();
    expect(resolved?.status).toBe('resolved');
    const [post] = pipeline.slack.topLevel();
    expect(pipeline.slack.topLevel()).toHaveLength(1);
    expect(post!.text).toContain('Resolved');
    expect(pipeline.slack.repliesTo(post!.ts).map((reply) => reply.text)).toEqual([
      expect.stringContaining('Resolved after'),
    ]);
  });
});
